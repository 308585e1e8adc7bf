// lib/cluster/host-scripts.ts and components/cluster/scripts/*.sh: shellcheck on every script, the prelude taken in
// once and inlined for the host, goldens of the remote command lines (test/unit/golden/host-scripts/, UPDATE_GOLDEN=1).
// The scripts run for real: test/unit/host-scripts-runs.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { JOIN_PLACEHOLDERS } from "../../lib/cluster/kubeadm-config";
import { ciliumMinKernel, createJoinTokenStep, deleteJoinTokenStep, hostStep, kubeadmInitStep, kubeadmJoinStep, labelNodeStep, loadScript, PRELUDE_PATH, PRELUDE_SOURCE_LINE, preflightStep, prepareHostStep, scriptPath, unlabelNodeStep, type HostStep } from "../../lib/cluster/host-scripts";
import { Secret } from "../../lib/base/secret";
import { assertGolden } from "../fixtures/golden";
import { STEPS, hostsOf, devCfg, prodCfg, noSudo } from "../fixtures/host-steps";

const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

describe("host-scripts", () => {
  it("shellcheck: every script is clean, as in the checkout (sourcing prelude.sh) and as sent to a host (composed)", { skip: shellcheck ? false : "shellcheck is not installed (apt-get install shellcheck)" }, () => {
    const files = STEPS.map(scriptPath);
    assert.deepEqual(fs.readdirSync(path.dirname(files[0]!)).sort(), [...STEPS.map((s) => `${s}.sh`), "prelude.sh"].sort(), "one script per step and the prelude, no other file");
    const r = spawnSync("shellcheck", ["-x", PRELUDE_PATH, ...files], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout);
    for (const s of STEPS) {
      const composed = spawnSync("shellcheck", ["-"], { input: loadScript(s), encoding: "utf8" });
      assert.equal(composed.status, 0, `${s} (composed): ${composed.stdout}`);
    }
  });

  it("every script takes the prelude in once, right after step=<its name>; the host gets it inlined, no source line", () => {
    const prelude = fs.readFileSync(PRELUDE_PATH, "utf8");
    const body = prelude.replace(/^#!.*\n/, "").replace(/\n$/, "");
    assert.ok(body.includes("set -euo pipefail\nexport PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
    for (const s of STEPS) {
      const text = fs.readFileSync(scriptPath(s), "utf8");
      assert.match(text, /^#!\/usr\/bin\/env bash\n/, s);
      assert.ok(text.includes(`\nstep=${s}\n# shellcheck source=components/cluster/scripts/prelude.sh\n${PRELUDE_SOURCE_LINE}\n`), s);
      for (const repeated of ["set -euo pipefail", "export PATH=", "fail() {", "log() {", "case $profile in", "k() {"]) {
        assert.ok(!text.includes(repeated), `${s}.sh repeats the prelude's ${repeated}`);
      }
      const sent = loadScript(s);
      assert.ok(sent.includes(`\nstep=${s}\n# shellcheck source=components/cluster/scripts/prelude.sh\n# --- prelude.sh\n${body}\n# --- ${s}.sh\n`), s);
      assert.ok(!sent.includes("prelude.sh\")"), `${s}: the composed script still sources prelude.sh`);
    }
  });

  it("the trigger hash covers the prelude: a step's hash is over the composed script", () => {
    const s = hostStep("remove-node", { NODE_NAME: "a" });
    assert.equal(s.script, loadScript("remove-node"));
    const expected = createHash("sha256")
      .update(JSON.stringify({ step: "remove-node", script: createHash("sha256").update(s.script).digest("hex"), env: [["NODE_NAME", "a"]] }))
      .digest("hex");
    assert.equal(s.triggerHash, expected);
    assert.deepEqual(s.stdin, { kind: "script", text: s.script });
  });

  it("kubeadm-join.sh replaces exactly the placeholders lib/cluster/kubeadm-config.ts renders", () => {
    const text = fs.readFileSync(scriptPath("kubeadm-join"), "utf8");
    assert.ok(text.includes(`placeholder_token=${JOIN_PLACEHOLDERS.token}\n`));
    assert.ok(text.includes(`placeholder_hash=${JOIN_PLACEHOLDERS.caCertHash}\n`));
    assert.ok(text.includes(`placeholder_key=${JOIN_PLACEHOLDERS.certificateKey}\n`));
  });

  describe("command lines", () => {
    it("golden: every step of the dev and prod stacks (script sha shown as <sha>)", () => {
      const lines: string[] = [];
      for (const [name, cfg] of [["dev", devCfg], ["prod", prodCfg]] as const) {
        const hosts = hostsOf(cfg);
        const steps: Array<[string, HostStep | undefined]> = [
          ["wait-ssh", hostStep("wait-ssh", {})],
          ["prepare-host", prepareHostStep(cfg)],
          ...hosts.map((h) => [`preflight ${h.name}`, preflightStep(cfg, h)] as [string, HostStep]),
          [`kubeadm-init ${hosts[0]!.name}`, kubeadmInitStep(cfg, hosts[0]!)],
          ...hosts.slice(1).flatMap((h) => [
            [`create-join-token ${h.name}`, createJoinTokenStep(h)] as [string, HostStep],
            [`kubeadm-join ${h.name}`, kubeadmJoinStep(cfg, h)] as [string, HostStep],
            [`delete-join-token ${h.name}`, deleteJoinTokenStep(h)] as [string, HostStep],
            [`label-node ${h.name}`, labelNodeStep(cfg, h)] as [string, HostStep | undefined],
          ]),
          ["read-kubeconfig", hostStep("read-kubeconfig", {})],
          ["drain-node worker-0", hostStep("drain-node", { NODE_NAME: "worker-0" })],
          ["remove-node worker-0", hostStep("remove-node", { NODE_NAME: "worker-0" })],
          ["kubeadm-reset", hostStep("kubeadm-reset", {})],
        ];
        for (const [label, s] of steps) {
          if (!s) continue;
          const extra = [s.upload ? `  upload: ${s.upload.path}` : "", `  stdin: ${s.stdin.kind}${s.secretStdout ? ", stdout secret" : ""}`].filter(Boolean);
          lines.push(`# ${name}: ${label}`, s.command, ...extra);
          for (const p of Object.values(JOIN_PLACEHOLDERS)) assert.ok(!s.command.includes(p), `${label}: placeholder on the command line`);
        }
      }
      assertGolden("host-scripts/commands.txt", `${lines.join("\n").replace(/scripts\/[0-9a-f]{12}-/g, "scripts/<sha>-")}\n`);
    });

    it("quotes values with shell-quote; refuses secrets, unknown inputs and non-strings with exact messages", () => {
      assert.equal(hostStep("label-node", { NODE_NAME: "w-0", NODE_LABELS: "a.example.com/x=it's here" }).command, "sudo -n env NODE_LABELS=\"a.example.com/x=it's here\" NODE_NAME=w-0 bash -s");
      assert.throws(() => hostStep("kubeadm-join", { KUBEADM_CONFIG_B64: Secret.of("x") as unknown as string }), {
        message: "kubeadm-join: KUBEADM_CONFIG_B64 is a secret; secrets never go on the command line (send them on stdin)",
      });
      assert.throws(() => hostStep("remove-node", { NODE: "w-0" }), {
        message: "remove-node: unknown input NODE; the script reads NODE_NAME, MICROSEG_HOST_PROFILE, MICROSEG_ROOT, MICROSEG_LAB_PATH, MICROSEG_LAB_CONTAINERD_VERSION",
      });
      assert.throws(() => hostStep("remove-node", { NODE_NAME: 3 as unknown as string }), { message: "remove-node: NODE_NAME must be a string, got number" });
    });

    it("unlabelNodeStep: label-node with no labels and no wait, the delete of the label step", () => {
      const worker = hostsOf(devCfg)[1]!;
      const s = unlabelNodeStep(worker);
      assert.equal(s.step, "label-node");
      assert.deepEqual(s.env, { NODE_NAME: worker.name, NODE_LABELS: "", NODE_WAIT_SECONDS: "0" });
      assert.equal(s.command, `sudo -n env NODE_LABELS='' NODE_NAME=${worker.name} NODE_WAIT_SECONDS=0 bash -s`);
      assert.deepEqual(s.stdin, { kind: "script", text: loadScript("label-node") });
      assert.equal(s.secretStdout, false);
      assert.equal(unlabelNodeStep(worker, noSudo).command, `env NODE_LABELS='' NODE_NAME=${worker.name} NODE_WAIT_SECONDS=0 bash -s`);
      assert.equal(unlabelNodeStep(worker, noSudo).triggerHash, s.triggerHash);
      assert.notEqual(s.triggerHash, labelNodeStep(devCfg, worker)!.triggerHash);
      assert.notEqual(unlabelNodeStep({ ...worker, name: "worker-9" }).triggerHash, s.triggerHash);
    });

    it("trigger hash: same script and inputs, same hash; any input change, new hash", () => {
      const h = hostStep("remove-node", { NODE_NAME: "a" }).triggerHash;
      assert.equal(hostStep("remove-node", { NODE_NAME: "a" }).triggerHash, h);
      assert.notEqual(hostStep("remove-node", { NODE_NAME: "b" }).triggerHash, h);
      assert.notEqual(hostStep("remove-node", { NODE_NAME: "a" }, noSudo).command, hostStep("remove-node", { NODE_NAME: "a" }).command);
      assert.equal(hostStep("remove-node", { NODE_NAME: "a" }, noSudo).triggerHash, h, "sudo or not, the remote work is the same");
    });

    it("Cilium's minimum kernel: 5.4 for 1.16/1.17, 5.10 from 1.18", () => {
      assert.deepEqual(["1.16.5", "1.17.0", "1.18.2", "1.19.0-rc.1"].map(ciliumMinKernel), ["5.4", "5.4", "5.10", "5.10"]);
    });
  });
});

// The real CLI (`node bin/microseg.js`) on temp files: exit codes, exact messages, never a stack trace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bin/microseg.js");

function run(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, MICROSEG_DEBUG: "" } });
  assert.ok(!r.stderr.includes("    at "), `stack trace printed:\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A temp project: Pulumi.yaml, a kubeconfig, and the given stack files. */
function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-cli-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: t\nruntime: nodejs\n");
  fs.writeFileSync(path.join(dir, "kubeconfig"), "apiVersion: v1\nclusters: []\ncontexts: []\n");
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const GOOD = `config:
  aws:region: eu-west-1
  microseg:environment: lab
  microseg:cluster:
    mode: existing
    kubeconfigPath: kubeconfig
    controlPlaneEndpoint: 127.0.0.1:6443
  microseg:cilium:
    version: 1.18.2
`;

describe("microseg check", () => {
  it("accepts a good file: exit 0 and one ok line", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    assert.deepEqual(run(["check", "--config", "Pulumi.t.yaml"], dir), { code: 0, stdout: "ok: Pulumi.t.yaml (lab, existing)\n", stderr: "" });
    assert.deepEqual(run(["check", "--stack", "t"], path.join(dir)), { code: 0, stdout: "ok: Pulumi.t.yaml (lab, existing)\n", stderr: "" });
  });

  it("finds the project from a sub-directory, and with --project-dir", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    fs.mkdirSync(path.join(dir, "sub"));
    assert.equal(run(["check", "--stack", "org/t/t"], path.join(dir, "sub")).code, 0);
    assert.equal(run(["check", "--stack", "t", "--project-dir", dir], os.tmpdir()).code, 0);
  });

  it("refuses a bad config: exit 1 and every problem, one per line", () => {
    const bad = GOOD.replace("controlPlaneEndpoint: 127.0.0.1:6443", "controlPlaneEndpoint: 127.0.0.1:6443\n    podCidr: 10.97.0.0/16")
      .replace("version: 1.18.2", "version: 1.18.2\n    kubeProxyReplacement: strict") + "  microseg:hubble:\n    relay:\n      nodePort: 4245\n";
    const dir = project({ "Pulumi.t.yaml": bad });
    assert.deepEqual(run(["check", "--config", "Pulumi.t.yaml"], dir), {
      code: 1,
      stdout: "",
      stderr: [
        "error: Pulumi.t.yaml: invalid microseg config (3 problems):",
        'cluster.podCidr: overlaps cluster.serviceCidr "10.96.0.0/12" ("10.97.0.0/16"). Choose a pod CIDR outside the service CIDR, e.g. "10.244.0.0/16".',
        'cilium.kubeProxyReplacement: must be true ("strict"). "strict" was removed in Cilium 1.15 and the chart only takes true or false. Use true.',
        'hubble.relay.nodePort: outside cluster.serviceNodePortRange "30000-32767" (4245). 4245 is the relay\'s container port, not a NodePort: pick a port in 30000-32767, e.g. 31245, or widen cluster.serviceNodePortRange explicitly.',
        "",
      ].join("\n"),
    });
  });

  it("refuses a missing kubeconfig file unless --no-file-checks", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD.replace("kubeconfigPath: kubeconfig", "kubeconfigPath: .lab/kubeconfig") });
    const r = run(["check", "--stack", "t"], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cluster\.kubeconfigPath: no readable file at ".*\.lab\/kubeconfig" \("\.lab\/kubeconfig"\)\. /m);
    assert.equal(run(["check", "--stack", "t", "--no-file-checks"], dir).code, 0);
  });

  it("refuses a plain-text secret in a stack file without printing it", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD.replace("kubeconfigPath: kubeconfig", "kubeconfig: |\n      apiVersion: v1\n      clusters: []\n      token: s3cr3t-value") });
    const r = run(["check", "--stack", "t"], dir);
    assert.equal(r.code, 1);
    assert.ok(!r.stderr.includes("s3cr3t"), r.stderr);
    assert.match(r.stderr, /^cluster\.kubeconfig: stored in plain text in the stack file \(\[secret\]\)\. Remove it and encrypt it: pulumi config set --secret --path 'microseg:cluster\.kubeconfig' < FILE\.$/m);
  });

  it("accepts secure: ciphertext as a present secret", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD.replace("kubeconfigPath: kubeconfig", "kubeconfig:\n      secure: v1:AAAA:BBBB") });
    assert.equal(run(["check", "--stack", "t"], dir).code, 0);
  });

  const unreadable: Array<[string, string | undefined, string]> = [
    ["a YAML syntax error, with line and column", "config:\n  microseg:environment: lab\n   bad: [\n", "error: Pulumi.t.yaml:2:25: YAML syntax error: Nested mappings are not allowed in compact mappings\n"],
    ["an empty file", "  \n", "error: Pulumi.t.yaml is empty: expected a Pulumi stack file with a config: block holding microseg:* keys\n"],
    ["a file without config:", "encryptionsalt: abc\n", "error: Pulumi.t.yaml has no config: block: expected microseg:* keys under config:\n"],
    ["a file without microseg keys", "config:\n  aws:region: eu-west-1\n", "error: Pulumi.t.yaml has no microseg:* keys under config: (found: aws:region)\n"],
    ["a list instead of a mapping", "- a\n", "error: Pulumi.t.yaml is not a Pulumi stack file: expected a mapping with a config: block holding microseg:* keys\n"],
    ["a whole-object secret", "config:\n  microseg:cluster:\n    secure: v1:abc\n", "error: Pulumi.t.yaml: microseg:cluster is encrypted as a whole, so it cannot be checked. Keep the object in plain text and encrypt only its secret leaves, e.g. pulumi config set --secret --path 'microseg:cluster.ssh.privateKey' < FILE\n"],
    ["a missing file", undefined, "error: cannot read Pulumi.t.yaml: no such file\n"],
  ];
  for (const [name, text, expected] of unreadable) {
    it(`refuses ${name}: exit 1, a message, no stack trace`, () => {
      const dir = project(text === undefined ? {} : { "Pulumi.t.yaml": text });
      const r = run(["check", "--config", "Pulumi.t.yaml"], dir);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, expected);
    });
  }

  it("names the stacks it knows when --stack names none", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    assert.deepEqual(run(["check", "--stack", "nope"], dir), { code: 1, stdout: "", stderr: 'error: no stack file Pulumi.nope.yaml for stack "nope". Stacks here: t\n' });
  });

  it("exits 2 on usage errors", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    assert.equal(run(["check"], dir).code, 2);
    assert.equal(run(["check", "--config", "a", "--stack", "b"], dir).code, 2);
    assert.equal(run(["check", "--bogus"], dir).code, 2);
    assert.equal(run(["nope"], dir).code, 2);
    assert.equal(run(["--help"], dir).code, 0);
  });
});

describe("microseg render", () => {
  it("says there is nothing to render yet, or renders YAML documents", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    const r = run(["render", "--stack", "t"], dir);
    assert.equal(r.code, 0);
    assert.ok(r.stderr === "nothing to render yet: no artefact kinds are registered in lib/artefacts.ts\n" || /^# \S+: /.test(r.stdout), r.stderr + r.stdout);
  });

  it("refuses an unknown --only kind with exit 2, and a bad config with exit 1", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD, "Pulumi.bad.yaml": GOOD.replace("lab", "qa") });
    const r = run(["render", "--stack", "t", "--only", "no-such-kind"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown kind "no-such-kind"; registered kinds: /);
    assert.equal(run(["render", "--stack", "bad"], dir).code, 1);
  });
});

describe("committed stack files", () => {
  const stacks = fs.readdirSync(ROOT).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => s !== undefined);
  it("include dev, staging, prod and lab", () => {
    for (const s of ["dev", "staging", "prod", "lab"]) assert.ok(stacks.includes(s), `Pulumi.${s}.yaml is missing`);
  });
  for (const s of stacks) {
    it(`Pulumi.${s}.yaml passes microseg check (local files not required)`, () => {
      const r = run(["check", "--stack", s, "--no-file-checks"], ROOT);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, new RegExp(`^ok: Pulumi\\.${s}\\.yaml \\(${s}, (kubeadm|existing)\\)\\n$`));
    });
  }
});

describe("microseg check: values, policies and raw policy files", () => {
  it("refuses a values override that breaks an invariant, naming the setting (the values builder runs as at preview)", () => {
    const bad = GOOD.replace("version: 1.18.2", "version: 1.18.2\n    valuesOverrides:\n      k8sServicePort: 443");
    const dir = project({ "Pulumi.t.yaml": bad });
    const r = run(["check", "--config", "Pulumi.t.yaml"], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: Pulumi\.t\.yaml: 1 problem:\n {2}- cilium\.valuesOverrides\.k8sServicePort: /);
  });

  it("checks raw CNP YAML: an ingress: [] deny-all is an error naming file, document, policy and field (exit 1)", () => {
    const dir = project({});
    fs.writeFileSync(path.join(dir, "deny-all.yaml"), [
      "apiVersion: cilium.io/v2", "kind: CiliumNetworkPolicy", "metadata: {name: deny-all, namespace: default}",
      "spec:", "  endpointSelector: {matchLabels: {app: test-app}}", "  ingress: []", "",
    ].join("\n"));
    const r = run(["check", "--policies", "deny-all.yaml"], dir);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^error deny-all\.yaml#0 default\/deny-all spec\.ingress \[empty-rule-list\]$/m);
    assert.match(r.stdout, /^1 error, 0 warnings$/m);
    assert.match(r.stderr, /^error: policies: 1 error\(s\) in deny-all\.yaml$/m);
  });

  it("passes raw CNP YAML with only warnings (exit 0)", () => {
    const dir = project({});
    fs.writeFileSync(path.join(dir, "world.yaml"), [
      "apiVersion: cilium.io/v2", "kind: CiliumNetworkPolicy", "metadata: {name: from-world, namespace: web}",
      "spec:", "  endpointSelector: {matchLabels: {app: web}}", "  ingress:", "    - fromEntities: [world]",
      "      toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]", "",
    ].join("\n"));
    const r = run(["check", "--policies", "world.yaml"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^warning world\.yaml#0 web\/from-world spec\.ingress\[0\]\.fromEntities/m);
    assert.match(r.stdout, /^0 errors, 1 warning$/m);
  });
});

describe("microseg render", () => {
  it("prints the Cilium values with kubeProxyReplacement true and the relay NodePort", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    const r = run(["render", "--stack", "t", "--only", "cilium-values"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# cilium-values: kube-system\/cilium\nkubeProxyReplacement: true\nk8sServiceHost: 127\.0\.0\.1\nk8sServicePort: 6443\n/);
    assert.match(r.stdout, /relay:\n {4}enabled: true\n {4}service:\n {6}type: NodePort\n {6}nodePort: 31245\n/);
  });

  it("prints the policy manifests of policies/ as YAML documents", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    const r = run(["render", "--stack", "t", "--only", "policies"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# policies: CiliumNetworkPolicy default\/deny-all\napiVersion: cilium\.io\/v2\nkind: CiliumNetworkPolicy\n/m);
    assert.match(r.stdout, /ingress:\n {4}- \{\}\n/);
  });

  it("refuses an unknown kind with the registered ones (exit 2)", () => {
    const dir = project({ "Pulumi.t.yaml": GOOD });
    const r = run(["render", "--stack", "t", "--only", "nope"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown kind "nope"; registered kinds: kubeadm, cilium-values, demo, policies/);
  });
});

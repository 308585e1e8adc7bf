// The CLI as a new user meets it (issue 11): a clean clone of this repository's HEAD, `npm ci` with an empty npm
// cache, then the README's commands through the installed bin (`npx --no-install microseg ...`, which installs the
// project's own bin into that empty cache's _npx directory first). Slow (npm ci), so it lives with the lab tests;
// it needs the npm registry, not the lab. `promote` through the bin is in test/lab/promote.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { microseg, type CliOptions } from "../unit/cli-bin";
import { repoRoot } from "./harness";

describe("a clean clone with an empty npm cache", { timeout: 20 * 60_000 }, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-clean-clone-"));
    const clone = path.join(tmp, "microseg");
    const cache = path.join(tmp, "npm-cache");
    // A HOME of the new user's: their SSH key where Pulumi.dev.yaml expects it (~/.ssh/id_ed25519), npm's user
    // settings copied from this machine's (registry and the like, no tokens are needed to install).
    const home = path.join(tmp, "home");
    let opts: CliOptions;

    before(() => {
        const r = spawnSync("git", ["clone", "--quiet", repoRoot, clone], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        fs.mkdirSync(cache);
        assert.deepEqual(fs.readdirSync(cache), []);
        fs.mkdirSync(path.join(home, ".ssh"), { recursive: true, mode: 0o700 });
        const npmrc = path.join(os.homedir(), ".npmrc");
        if (fs.existsSync(npmrc)) fs.copyFileSync(npmrc, path.join(home, ".npmrc"));
        const key = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(home, ".ssh", "id_ed25519")], { encoding: "utf8" });
        assert.equal(key.status, 0, key.stderr);
        const env = { HOME: home, npm_config_cache: cache };
        const ci = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: clone, encoding: "utf8", env: { ...process.env, ...env }, timeout: 15 * 60_000 });
        assert.equal(ci.status, 0, ci.stderr + ci.stdout);
        opts = { projectRoot: clone, env };
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("npx --no-install microseg check --config broken.yaml exits 1 with every problem (it exited 0, silent)", () => {
        fs.writeFileSync(path.join(clone, "broken.yaml"), "config:\n  microseg:environment: nope\n");
        const r = microseg(["check", "--config", "broken.yaml"], clone, opts);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^error: broken\.yaml: invalid microseg config \(3 problems\):\n/);
        assert.match(r.stderr, /^environment: must be one of "dev", "staging", "prod", "lab" \("nope"\)\./m);
        // npx installed the project's bin into the empty cache, and that is what ran.
        const npx = path.join(cache, "_npx");
        const bins = fs.readdirSync(npx).map((h) => path.join(npx, h, "node_modules", ".bin", "microseg")).filter((b) => fs.existsSync(b));
        assert.equal(bins.length, 1, `one microseg bin under ${npx}`);
        assert.equal(fs.realpathSync(bins[0]!), fs.realpathSync(path.join(clone, "bin", "microseg.js")));
    });

    it("the README's forms through the bin: check --stack dev, render --stack dev, matrix, matrix --format html", () => {
        const check = microseg(["check", "--stack", "dev"], clone, opts);
        assert.equal(check.code, 0, check.stderr);
        assert.equal(check.stdout, "ok: Pulumi.dev.yaml (dev, kubeadm)\n");

        const render = microseg(["render", "--stack", "dev", "--only", "cilium-values"], clone, opts);
        assert.equal(render.code, 0, render.stderr);
        assert.match(render.stdout, /^# cilium-values: kube-system\/cilium\nkubeProxyReplacement: true\n/);
        const all = microseg(["render", "--stack", "dev"], clone, opts);
        assert.equal(all.code, 0, all.stderr);
        assert.match(all.stdout, /^# kubeadm: kubeadm-init /m);
        assert.ok(!all.stdout.includes(fs.readFileSync(path.join(home, ".ssh", "id_ed25519"), "utf8").split("\n")[1]!), "the private key is printed");

        const table = microseg(["matrix"], clone, opts);
        assert.equal(table.code, 0, table.stderr);
        assert.match(table.stdout, /default\/busybox/);
        const html = microseg(["matrix", "--format", "html"], clone, opts);
        assert.equal(html.code, 0, html.stderr);
        assert.match(html.stdout, /^<!doctype html>/i);
    });
});

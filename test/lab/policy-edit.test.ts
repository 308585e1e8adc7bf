// The README's first step, `$EDITOR policies/default-test-app.ts`, leaves the unit suite green: the unit tests use
// their own fixtures (test/fixtures/policies/), not the user's policies/. Shown the way a user meets it: a copy of
// the repository's tracked files (what a clone has), the user's policies edited (an HTTP rule added, a policy
// removed), then the whole unit suite run in that copy. The copy shares this checkout's
// node_modules/, .lab/ and .engine/ (read-only for the unit suite) by symlink.
// Run: node --import tsx --test test/lab/policy-edit.test.ts
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "./harness";

/** The policies of `dir`'s policies/ (as the program imports them): a digest of their manifests and their names. */
function policiesOf(dir: string): { digest: string; names: string[] } {
  const script = `const { policies } = require("./policies");
    const digest = require("node:crypto").createHash("sha256").update(JSON.stringify(policies)).digest("hex");
    console.log(JSON.stringify({ digest, names: policies.map((p) => p.metadata.namespace + "/" + p.metadata.name) }));`;
  return JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: dir, encoding: "utf8" }));
}

function edit(dir: string, file: string, from: string, to: string): void {
  const f = path.join(dir, "policies", file);
  const text = fs.readFileSync(f, "utf8");
  assert.ok(text.includes(from), `policies/${file} no longer holds ${JSON.stringify(from)}: update this test's edit`);
  fs.writeFileSync(f, text.replace(from, to));
}

describe("editing policies/ leaves the unit suite green (a clone's tracked files, the user's policies edited)", { timeout: 20 * 60_000 }, () => {
  let copy: string;

  before(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-policy-edit-"));
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean);
    for (const f of tracked) {
      if (!fs.existsSync(path.join(repoRoot, f))) continue; // deleted in the working tree, not yet committed
      fs.mkdirSync(path.join(copy, path.dirname(f)), { recursive: true });
      fs.copyFileSync(path.join(repoRoot, f), path.join(copy, f));
    }
    for (const shared of ["node_modules", ".lab", ".engine"]) {
      if (fs.existsSync(path.join(repoRoot, shared))) fs.symlinkSync(path.join(repoRoot, shared), path.join(copy, shared));
    }
  });
  after(() => fs.rmSync(copy, { recursive: true, force: true }));

  it("the edits change the user's policies (so the run below is over edited data)", () => {
    const before = policiesOf(copy);
    edit(copy, "default-test-app.ts", `http.post("/submit")] }`, `http.post("/submit"), http.get("/health")] }`);
    edit(copy, "default-test-app.ts", "export const policies = [httpFiltering, denyAll, busyboxEgress];", "export const policies = [httpFiltering, denyAll];");
    const edited = policiesOf(copy);
    assert.notEqual(edited.digest, before.digest);
    assert.ok(before.names.includes("default/busybox-egress") && !edited.names.includes("default/busybox-egress"), JSON.stringify(edited.names));
  });

  it("the whole unit suite passes in the edited copy", () => {
    const units = fs.readdirSync(path.join(copy, "test", "unit")).filter((f) => f.endsWith(".test.ts")).map((f) => path.join("test", "unit", f));
    assert.ok(units.length >= 30, `only ${units.length} unit test files in the copy`);
    // NODE_TEST_CONTEXT would make the child report to this runner in its binary protocol instead of TAP.
    const { NODE_TEST_CONTEXT: _runner, UPDATE_GOLDEN: _update, ...unitEnv } = process.env;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--test", ...units], { cwd: copy, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: unitEnv });
    const summary = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, "m").exec(r.stdout)?.[1]);
    const failed = r.stdout.split("\n").filter((l) => /^\s*not ok /.test(l)).slice(0, 20);
    assert.equal(r.status, 0, `the unit suite failed in the edited copy:\n${failed.join("\n")}\n${r.stderr.slice(-2000)}`);
    assert.equal(summary("fail"), 0);
    assert.ok(summary("pass") > 500, `only ${summary("pass")} unit tests passed`);
  });
});

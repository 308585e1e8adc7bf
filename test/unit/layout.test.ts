// The layout's rules, read from the sources: the user's policies/ is data that only the composition roots
// (index.ts, cli/, bench/) import, so a user can edit policies/ freely and the unit suite (which uses
// test/fixtures/policies/) still passes; the pure modules import no Pulumi.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(__dirname, "../..");
const POLICIES = path.join(ROOT, "policies");

function tsFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(rel);
    return e.name.endsWith(".ts") ? [rel] : [];
  });
}

/** Every module specifier of a file: `from "x"`, `import("x")`, `require("x")`, `import "x"`. */
function specifiers(file: string): string[] {
  const src = fs.readFileSync(path.join(ROOT, file), "utf8");
  return [...src.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!);
}

/** The files of `dirs` that import something under the repository's policies/. */
function importersOfPolicies(dirs: readonly string[]): string[] {
  return dirs.flatMap(tsFiles).flatMap((f) =>
    specifiers(f)
      .filter((s) => s.startsWith("."))
      .map((s) => path.resolve(ROOT, path.dirname(f), s))
      .filter((abs) => abs === POLICIES || abs.startsWith(POLICIES + path.sep))
      .map((abs) => `${f} imports ${path.relative(ROOT, abs)}`),
  );
}

describe("layout", () => {
  it("nothing under lib/ or components/ imports the user's policies/", () => {
    assert.deepEqual(importersOfPolicies(["lib", "components"]), []);
  });

  it("no unit test imports the user's policies/: they use test/fixtures/policies/", () => {
    assert.deepEqual(importersOfPolicies(["test/unit", "test/fixtures"]), []);
  });

  it("policies/ holds only the user's data: the model lives in lib/policy/model/", () => {
    const model = path.join(ROOT, "lib", "policy", "model");
    const outside = tsFiles("policies").flatMap((f) =>
      specifiers(f)
        .filter((s) => s.startsWith("../"))
        .map((s) => path.resolve(ROOT, path.dirname(f), s))
        .filter((abs) => !abs.startsWith(model + path.sep))
        .map((abs) => `${f} imports ${path.relative(ROOT, abs)}`),
    );
    assert.deepEqual(outside, []);
    for (const f of tsFiles("policies")) assert.doesNotMatch(fs.readFileSync(path.join(ROOT, f), "utf8"), /\bz\.(object|strictObject|enum)\(/, `${f} defines a schema`);
  });

  it("the pure modules (config.ts, policies/, lib/) import no @pulumi/*", () => {
    const impure = ["config.ts", ...tsFiles("policies"), ...tsFiles("lib")].filter((f) => specifiers(f).some((s) => s.startsWith("@pulumi/")));
    assert.deepEqual(impure, []);
  });
});

// The layout's rules, read from the sources: the user's policies/ is data that only the composition roots
// (index.ts, cli/, bench/) import, so a user can edit policies/ freely and the unit suite (which uses
// test/fixtures/policies/) still passes; the pure modules import no Pulumi.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(__dirname, "../..");
const POLICIES = path.join(ROOT, "policies");

function filesEndingIn(dir: string, ends: readonly string[]): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : filesEndingIn(rel, ends);
    return ends.some((x) => e.name.endsWith(x)) ? [rel] : [];
  });
}
const tsFiles = (dir: string) => filesEndingIn(dir, [".ts"]);

/** A file a reader should take in at once: past this many lines, split it where a reader gains by it. */
const MAX_SOURCE_LINES = 450;

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

  it(`no source file (code, scripts, tests) is over ${MAX_SOURCE_LINES} lines`, () => {
    const sources = ["config.ts", "index.ts", ...["bench", "bin", "cli", "components", "lab", "lib", "policies", "test"].flatMap((d) => filesEndingIn(d, [".ts", ".sh", ".mjs", ".js"]))];
    assert.ok(sources.length > 150, `only ${sources.length} source files found: the walk missed the tree`);
    const long = sources.map((f) => ({ f, lines: fs.readFileSync(path.join(ROOT, f), "utf8").split("\n").length - 1 })).filter((x) => x.lines > MAX_SOURCE_LINES);
    assert.deepEqual(long.map((x) => `${x.f}: ${x.lines} lines`), []);
  });
});

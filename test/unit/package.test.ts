// package.json: every runtime dependency is one the program, the CLI or the lab scripts load (a dependency nothing
// imports is installed, audited and pinned for nothing), and every @types/* package types one of them.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(__dirname, "../..");
const SKIP = new Set(["node_modules", ".git", ".engine", ".lab", ".pulumi-state", "test", "bench"]);

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.(ts|js|mjs|cjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The package names a file imports or requires (`@scope/name/sub` → `@scope/name`), node: built-ins left out. */
function importedPackages(text: string): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"'.][^"']*)["']/gm)].map((m) => m[1]!);
  return specs.filter((s) => !s.startsWith("node:")).map((s) => s.split("/").slice(0, s.startsWith("@") ? 2 : 1).join("/"));
}

describe("package.json dependencies", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const used = new Map<string, string>();
  for (const f of sources(ROOT)) for (const p of importedPackages(fs.readFileSync(f, "utf8"))) if (!used.has(p)) used.set(p, path.relative(ROOT, f));

  it("finds the imports it looks for (the scan reads the program)", () => {
    assert.equal(used.get("@pulumi/pulumi") !== undefined, true);
    assert.equal(used.get("tsx"), "bin/microseg.js");
  });

  for (const name of Object.keys(pkg.dependencies)) {
    it(`${name} is loaded by the program, the CLI or the lab scripts`, () => {
      const typed = /^@types\/(.+)$/.exec(name)?.[1];
      const target = typed === undefined ? name : typed.includes("__") ? `@${typed.replace("__", "/")}` : typed;
      assert.ok(used.has(target), `${name}: nothing outside test/ and bench/ imports ${target}; remove it from package.json or use it`);
    });
  }
});

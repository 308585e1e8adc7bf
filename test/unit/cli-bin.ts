// Runs the CLI the way users do, never as `node bin/microseg.js`:
// - "npx": `npx --no-install microseg ...` for the project. npm installs the project's own bin into its npx cache
//   (a symlink .../_npx/<hash>/node_modules/.bin/microseg) and runs that, in the caller's working directory
//   (`--prefix` names the project, so a test's temp directory can be the working directory);
// - "path": a `microseg` symlink to bin/microseg.js in a temp directory on PATH, as `npm link` or a global
//   install leaves it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type Via = "npx" | "path";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** How the bin is reached. @default "npx" */
  via?: Via;
  /** The project whose bin runs (package.json, node_modules). @default this checkout */
  projectRoot?: string;
  /** Extra environment; a key set to undefined is removed. */
  env?: Record<string, string | undefined>;
  input?: string;
  /** @default 300_000 ms: a hung CLI fails the test instead of the whole run */
  timeoutMs?: number;
}

export const ROOT = path.resolve(__dirname, "../..");

let pathDir: string | undefined;
/** A temp directory holding only a `microseg` symlink to the checkout's bin, made once per process. */
function binDirOnPath(): string {
  if (pathDir === undefined) {
    pathDir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-bin-"));
    fs.symlinkSync(path.join(ROOT, "bin", "microseg.js"), path.join(pathDir, "microseg"));
  }
  return pathDir;
}

/** The environment of a CLI run: the test's own, minus npm's per-run variables, plus `extra`. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // npm_* variables set by an enclosing `npm test` would redirect the inner npx (its prefix, its command).
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.MICROSEG_DEBUG = "";
  // No registry round trip for the "new npm available" notice: it is noise on stderr, not the CLI's.
  env.npm_config_update_notifier = "false";
  env.PATH = [path.dirname(process.execPath), env.PATH ?? ""].join(path.delimiter);
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `microseg ...args` in `cwd` through the installed bin; asserts that no stack trace was printed. */
export function microseg(args: readonly string[], cwd: string, o: CliOptions = {}): CliRun {
  const via = o.via ?? "npx";
  const env = cliEnv(o.env);
  let cmd: string;
  let argv: string[];
  if (via === "npx") {
    cmd = "npx";
    argv = ["--prefix", o.projectRoot ?? ROOT, "--no-install", "microseg", ...args];
  } else {
    cmd = "microseg";
    argv = [...args];
    env.PATH = [binDirOnPath(), env.PATH].join(path.delimiter);
  }
  const r = spawnSync(cmd, argv, { cwd, env, encoding: "utf8", input: o.input, timeout: o.timeoutMs ?? 300_000, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.error, undefined, `${cmd} ${argv.join(" ")}: ${r.error?.message}`);
  assert.ok(!r.stderr.includes("    at "), `stack trace printed:\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `microseg ...args` both ways users reach it, `npx --no-install microseg` and a `microseg` symlink on PATH, which
 * must give the same answer (code, stdout, stderr); returns it.
 */
export function microsegBothWays(args: readonly string[], cwd: string, o: Omit<CliOptions, "via"> = {}): CliRun {
  const npx = microseg(args, cwd, { ...o, via: "npx" });
  assert.deepEqual(microseg(args, cwd, { ...o, via: "path" }), npx, `microseg ${args.join(" ")}: the symlink on PATH answers differently from npx`);
  return npx;
}

// Finds and reads a Pulumi stack file (`Pulumi.<stack>.yaml`) and returns its `microseg:*` keys without the
// namespace, i.e. exactly what index.ts hands to parseConfig(). Every failure is a CliError with a message
// meant for people, never a stack trace.
import * as fs from "node:fs";
import * as path from "node:path";
import { isAlias, LineCounter, parseDocument, visit } from "yaml";

const NAMESPACE = "microseg:";
/** Alias expansions a stack file may use (the yaml library's own default). */
const MAX_ALIAS_COUNT = 100;

/** A failure the CLI reports as one message and an exit code (1: bad input, 2: usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** The nearest directory holding Pulumi.yaml (or Pulumi.yml), from `start` upward. */
export function findProjectDir(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (["Pulumi.yaml", "Pulumi.yml"].some((f) => fs.existsSync(path.join(dir, f)))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Where the project keeps its stack files: Pulumi.yaml's `stackConfigDir`, else the project dir. */
function stackConfigDir(projectDir: string): string {
  for (const f of ["Pulumi.yaml", "Pulumi.yml"]) {
    const file = path.join(projectDir, f);
    if (!fs.existsSync(file)) continue;
    const doc = parseDocument(fs.readFileSync(file, "utf8"));
    const dir = doc.errors.length === 0 ? (doc.toJS() as { stackConfigDir?: unknown } | null)?.stackConfigDir : undefined;
    return typeof dir === "string" ? path.resolve(projectDir, dir) : projectDir;
  }
  return projectDir;
}

export interface StackSource {
  /** The stack file. */
  readonly file: string;
  /** Relative paths in the config resolve against it. */
  readonly projectDir: string;
}

/** Resolves `--config FILE` or `--stack NAME` (with an optional `--project-dir`) to a stack file. */
export function locateStack(args: { config?: string; stack?: string; projectDir?: string; cwd: string }): StackSource {
  if (args.config !== undefined) {
    const file = path.resolve(args.cwd, args.config);
    const projectDir = args.projectDir ? path.resolve(args.cwd, args.projectDir) : (findProjectDir(path.dirname(file)) ?? path.dirname(file));
    return { file, projectDir };
  }
  const name = args.stack!.split("/").pop()!;
  const projectDir = args.projectDir ? path.resolve(args.cwd, args.projectDir) : findProjectDir(args.cwd);
  if (!projectDir) throw new CliError(`no Pulumi.yaml in ${args.cwd} or any parent directory. Run from the project, or pass --project-dir DIR`);
  const dir = stackConfigDir(projectDir);
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  if (!fs.existsSync(file)) {
    const stacks = fs.existsSync(dir)
      ? fs.readdirSync(dir).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => s !== undefined).sort()
      : [];
    throw new CliError(`no stack file ${display(file, args.cwd)} for stack "${name}". Stacks here: ${stacks.join(", ") || "(none)"}`);
  }
  return { file, projectDir };
}

/** A path as shown to the user: relative to cwd when inside it. */
export function display(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

/** Reads a stack file and returns its microseg:* keys without the namespace. */
export function readStackConfig(file: string, shown: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${shown}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (code ?? String(e))}`);
  }
  if (text.trim() === "") throw new CliError(`${shown} is empty: expected a Pulumi stack file with a config: block holding microseg:* keys`);
  // merge: `<<: *anchor` merge keys, which Pulumi's own YAML reader (Go yaml.v3) applies in stack files.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { merge: true, lineCounter });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `${shown}:${pos.line}:${pos.col}` : shown;
    throw new CliError(`${where}: YAML syntax error: ${err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`);
  }
  let top: unknown;
  try {
    // The yaml library's default cap on alias expansion (maxAliasCount 100) refuses "billion laughs" documents.
    top = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (!(e instanceof ReferenceError) || !/alias/i.test(e.message)) throw e;
    let line: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        if (line === undefined && isAlias(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
        return line === undefined ? undefined : visit.BREAK;
      },
    });
    throw new CliError(`${shown}${line !== undefined ? `:${line}` : ""}: refused: its YAML aliases expand to more than ${MAX_ALIAS_COUNT} copies (a "billion laughs" pattern, or a very alias-heavy file). Write the repeated values out, or use fewer aliases`);
  }
  if (typeof top !== "object" || top === null || Array.isArray(top)) {
    throw new CliError(`${shown} is not a Pulumi stack file: expected a mapping with a config: block holding microseg:* keys`);
  }
  const config = (top as Record<string, unknown>).config;
  if (config === undefined || config === null) throw new CliError(`${shown} has no config: block: expected microseg:* keys under config:`);
  if (typeof config !== "object" || Array.isArray(config)) throw new CliError(`${shown}: config: must be a mapping of "namespace:key" settings`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (!key.startsWith(NAMESPACE)) continue;
    const name = key.slice(NAMESPACE.length);
    if (typeof value === "object" && value !== null && Object.keys(value).length === 1 && "secure" in value) {
      throw new CliError(
        `${shown}: ${key} is encrypted as a whole, so it cannot be checked. Keep the object in plain text and encrypt only its secret leaves, e.g. pulumi config set --secret --path '${key}.ssh.privateKey' < FILE`,
      );
    }
    out[name] = value;
  }
  if (Object.keys(out).length === 0) {
    const others = Object.keys(config as object);
    throw new CliError(`${shown} has no microseg:* keys under config:${others.length ? ` (found: ${others.join(", ")})` : ""}`);
  }
  return out;
}

// The checks that read local files (SSH keys, kubeconfig, a local chart) and refuse plaintext secrets in a stack
// file: they need the parse options, so they run beside the schema.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { quote } from "../base/text";
import { secretKind } from "../base/secret";
import { type Key, msg, rec, settingPath } from "./messages";
import { type ConfigProblem } from "./problems";

/** What lies at an absolute path: a readable file, a directory, or nothing usable. */
export type PathKind = "file" | "directory" | undefined;

export interface ParseOptions {
  /** Relative paths (privateKeyPath, kubeconfigPath, chart.path) resolve against it. @default process.cwd() */
  readonly projectDir?: string;
  /** `~/` in paths expands to it. @default os.homedir() */
  readonly homeDir?: string;
  /** Set false to skip every check that touches local files (CI without the keys). @default true */
  readonly checkFiles?: boolean;
  /** Injectable for tests. @default the real file system (readable file, directory, or undefined) */
  readonly pathKind?: (absPath: string) => PathKind;
  /** Injectable for tests; undefined when unreadable. @default fs.readFileSync(…, "utf8") */
  readonly readFile?: (absPath: string) => string | undefined;
  /**
   * "refuse" when reading a stack file: a secret setting written in plain text there is a leak.
   * Pulumi config at run time hands secrets over decrypted, so index.ts keeps "allow".
   * @default "allow"
   */
  readonly plaintextSecrets?: "allow" | "refuse";
}

function realPathKind(p: string): PathKind {
  try {
    const st = fs.statSync(p);
    if (st.isDirectory()) return "directory";
    fs.accessSync(p, fs.constants.R_OK);
    return st.isFile() ? "file" : undefined;
  } catch {
    return undefined;
  }
}

function realReadFile(p: string): string | undefined {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

/** Resolves a config path: `~/` against the home dir, relative paths against the project dir. */
export function resolveConfigPath(p: string, projectDir: string, homeDir: string = os.homedir()): string {
  if (p === "~" || p.startsWith("~/")) return path.join(homeDir, p.slice(1));
  return path.resolve(projectDir, p);
}

/** [path, ssh block] of every SSH block in the raw config. */
function sshBlocks(raw: unknown): Array<[Key[], Record<string, unknown>]> {
  const out: Array<[Key[], Record<string, unknown>]> = [];
  const push = (p: Key[], v: unknown) => {
    const r = rec(v);
    if (!r) return;
    out.push([p, r]);
    const b = rec(r.bastion);
    if (b) out.push([[...p, "bastion"], b]);
  };
  const cluster = rec(rec(raw)?.cluster);
  push(["cluster", "ssh"], cluster?.ssh);
  if (Array.isArray(cluster?.hosts)) cluster.hosts.forEach((h, i) => push(["cluster", "hosts", i, "ssh"], rec(h)?.ssh));
  return out;
}

export function sideChecks(raw: unknown, opts: ParseOptions): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const report = (p: Key[], what: string, value: unknown, fix: string, secret = false) =>
    problems.push({ path: settingPath(p), message: msg(what, value, fix, secret) });
  const cluster = rec(rec(raw)?.cluster);
  const cilium = rec(rec(raw)?.cilium);

  if (opts.plaintextSecrets === "refuse") {
    const secrets: Array<[Key[], unknown]> = sshBlocks(raw).map(([p, b]) => [[...p, "privateKey"], b.privateKey]);
    secrets.push([["cluster", "kubeconfig"], cluster?.kubeconfig]);
    for (const [p, v] of secrets) {
      if (typeof v !== "string") continue;
      const key = `microseg:${settingPath(p)}`;
      report(p, "stored in plain text in the stack file", v, `Remove it and encrypt it: pulumi config set --secret --path '${key}' < FILE`, true);
    }
  }

  if (opts.checkFiles === false) return problems;
  const projectDir = opts.projectDir ?? process.cwd();
  const homeDir = opts.homeDir ?? os.homedir();
  const kindOf = opts.pathKind ?? realPathKind;
  const read = opts.readFile ?? realReadFile;
  /** A path setting holding the secret itself (a pasted key or kubeconfig): say so, show nothing, point at the secret setting. */
  const pastedSecret = (p: Key[], value: string, secretSetting: string | undefined): boolean => {
    const kind = secretKind(value);
    if (!kind) return false;
    const key = secretSetting === undefined ? undefined : `microseg:${settingPath([...p.slice(0, -1), secretSetting])}`;
    report(p, `holds what looks like ${kind} itself, not a path`, value, key
      ? `Remove it and give the content as a secret instead: pulumi config set --secret --path '${key}' < FILE (and replace the credential if this file was shared)`
      : "Give the path of the file or directory, not its content");
    return true;
  };
  const requireFile = (p: Key[], value: unknown, fix: string, secretSetting: string): string | undefined => {
    if (typeof value !== "string" || value === "") return undefined;
    if (pastedSecret(p, value, secretSetting)) return undefined;
    const abs = resolveConfigPath(value, projectDir, homeDir);
    const kind = kindOf(abs);
    if (kind === "file") return abs;
    report(p, kind === "directory" ? `is a directory (${quote(abs)}), not a file` : `no readable file at ${quote(abs)}`, value, fix);
    return undefined;
  };

  for (const [p, block] of sshBlocks(raw)) {
    requireFile([...p, "privateKeyPath"], block.privateKeyPath, "Point it at a readable private key, or give privateKey as a secret instead", "privateKey");
  }
  if (cluster?.mode === "existing") {
    const abs = requireFile(["cluster", "kubeconfigPath"], cluster.kubeconfigPath, "Point it at a readable kubeconfig (for the lab, start the lab first), or give kubeconfig as a secret", "kubeconfig");
    const text = abs ? read(abs) : undefined;
    if (text !== undefined) {
      const problem = kubeconfigProblem(text, cluster.context);
      if (problem) report(["cluster", problem.where === "context" ? "context" : "kubeconfigPath"], problem.what, problem.where === "context" ? cluster.context : cluster.kubeconfigPath, problem.fix);
    }
  }

  const chartPath = rec(cilium?.chart)?.path;
  if (typeof chartPath === "string" && chartPath !== "" && !pastedSecret(["cilium", "chart", "path"], chartPath, undefined)) {
    const abs = resolveConfigPath(chartPath, projectDir, homeDir);
    const kind = kindOf(abs);
    const fix = "Point it at an unpacked chart directory (with Chart.yaml) or a .tgz chart archive";
    if (kind === undefined) report(["cilium", "chart", "path"], `nothing readable at ${quote(abs)}`, chartPath, fix);
    else if (kind === "file" && !/\.(tgz|tar\.gz)$/.test(abs)) report(["cilium", "chart", "path"], "not a .tgz chart archive", chartPath, fix);
    else if (kind === "directory") {
      const text = read(path.join(abs, "Chart.yaml"));
      let chart: Record<string, unknown> | undefined;
      try {
        chart = text === undefined ? undefined : rec(parseYaml(text));
      } catch {
        chart = undefined;
      }
      if (!chart) report(["cilium", "chart", "path"], "has no readable Chart.yaml", chartPath, fix);
      else if (chart.name !== "cilium") report(["cilium", "chart", "path"], `holds chart ${quote(chart.name)}, not "cilium"`, chartPath, "Point it at the Cilium chart");
      else if (typeof cilium?.version === "string" && typeof chart.version === "string" && chart.version !== cilium.version) {
        report(["cilium", "version"], `differs from the chart at cilium.chart.path, which is ${quote(chart.version)}`, cilium.version, `Set cilium.version to ${quote(chart.version)}, or point cilium.chart.path at a ${quote(cilium.version)} chart`);
      }
    }
  }
  return problems;
}

/** What is wrong with a kubeconfig's content, if anything. */
export function kubeconfigProblem(text: string, context: unknown): { where: "kubeconfig" | "context"; what: string; fix: string } | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    doc = undefined;
  }
  const r = rec(doc);
  if (!r || !Array.isArray(r.clusters)) {
    return { where: "kubeconfig", what: "not a kubeconfig (no clusters list)", fix: "Give the content of a kubeconfig file, e.g. /etc/kubernetes/admin.conf" };
  }
  if (typeof context === "string") {
    const names = (Array.isArray(r.contexts) ? r.contexts : []).map((c) => rec(c)?.name).filter((n): n is string => typeof n === "string");
    if (!names.includes(context)) {
      return { where: "context", what: "no such context in the kubeconfig", fix: names.length ? `Use one of: ${names.join(", ")}` : "Remove it to use the kubeconfig's current-context" };
    }
  }
  return undefined;
}

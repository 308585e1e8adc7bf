/**
 * Cilium policies as people keep them today: YAML or JSON files, one or many documents each, in
 * directories. Loads them, then validates and lints them with lib/policy/policy-checks.ts; every finding
 * names the file, the document (counting from 0), the policy and the field.
 *
 *   const loaded = loadPolicyFiles(["policies-yaml/"]);
 *   const findings = [...loaded.findings, ...checkPolicies(loaded.manifests, { ...ctx, sources: loaded.sources })];
 *   console.log(formatFindings(findings));
 *
 * (`checkPolicyFiles(paths, ctx)` does exactly that.)
 */
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { checkPolicies, type CheckContext, type Finding, type Source } from "./policy-checks";

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export interface LoadedPolicies {
  /** Raw policy documents, in file order then document order. */
  manifests: unknown[];
  /** Where each manifest came from, index for index. */
  sources: Source[];
  /** Problems found while reading: unreadable paths, syntax errors, numeric ports. */
  findings: Finding[];
}

function filesUnder(p: string, out: string[], findings: Finding[]): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch (e) {
    findings.push(fileFinding(p, "file-unreadable", `cannot read ${JSON.stringify(p)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, "check the path"));
    return;
  }
  if (stat.isDirectory()) {
    for (const name of fs.readdirSync(p).sort()) {
      const child = path.join(p, name);
      if (fs.statSync(child).isDirectory() || EXTENSIONS.has(path.extname(name).toLowerCase())) filesUnder(child, out, findings);
    }
  } else {
    out.push(p);
  }
}

function fileFinding(file: string, id: string, message: string, fix: string, document = 0, severity: Finding["severity"] = "error", policy = "<file>", at = "<document>"): Finding {
  return { id, severity, policy, path: at, message, fix, source: { file, document } };
}

/** A Cilium policy, or something meant to be one (a misspelt kind still gets validated). */
function looksLikePolicy(doc: unknown): boolean {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return false;
  const { apiVersion, kind } = doc as { apiVersion?: unknown; kind?: unknown };
  return (typeof apiVersion === "string" && apiVersion.startsWith("cilium.io/") && typeof kind === "string" && /networkpolicy/i.test(kind)) ||
    (typeof kind === "string" && /^cilium.*networkpolicy$/i.test(kind));
}

/** Ports written as YAML numbers: the CRD wants strings, so `kubectl apply` of the file fails. */
function numericPorts(doc: unknown, file: string, document: number): Finding[] {
  const out: Finding[] = [];
  const md = (doc as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  const policy = typeof md?.name === "string" ? md.name : "<unnamed>";
  const namespace = typeof md?.namespace === "string" ? md.namespace : undefined;
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
    if (v === null || typeof v !== "object") return;
    const o = v as Record<string, unknown>;
    if (/\.ports\[\d+\]$/.test(at) && typeof o["port"] === "number") {
      out.push({
        id: "port-number", severity: "warning", policy, ...(namespace === undefined ? {} : { namespace }), path: `${at}.port`,
        message: `port ${o["port"]} is a YAML number; the CRD requires a string, so kubectl apply refuses this document`,
        fix: `quote it: port: "${o["port"]}" (microseg renders it as a string)`,
        source: { file, document },
      });
    }
    for (const [k, x] of Object.entries(o)) walk(x, at === "" ? k : `${at}.${k}`);
  };
  walk(doc, "");
  return out;
}

/** Reads every `.yaml` / `.yml` / `.json` file under `paths` (files or directories, recursively). */
export function loadPolicyFiles(paths: readonly string[]): LoadedPolicies {
  const loaded: LoadedPolicies = { manifests: [], sources: [], findings: [] };
  const files: string[] = [];
  for (const p of paths) filesUnder(p, files, loaded.findings);
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    parseAllDocuments(text).forEach((d, document) => {
      if (d.errors.length > 0) {
        for (const e of d.errors) {
          const line = e.linePos?.[0];
          const where = line ? ` at line ${line.line}, column ${line.col}` : "";
          loaded.findings.push(fileFinding(file, "yaml-syntax", `YAML syntax error${where}: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`, "fix the YAML; the document was skipped", document));
        }
        return;
      }
      const doc: unknown = d.toJS();
      if (!looksLikePolicy(doc)) return;
      loaded.manifests.push(doc);
      loaded.sources.push({ file, document });
      loaded.findings.push(...numericPorts(doc, file, document));
    });
  }
  return loaded;
}

/** Loads and checks: reading problems first, then schema and lint findings. */
export function checkPolicyFiles(paths: readonly string[], ctx: Omit<CheckContext, "sources"> = {}): Finding[] {
  const loaded = loadPolicyFiles(paths);
  return [...loaded.findings, ...checkPolicies(loaded.manifests, { ...ctx, sources: loaded.sources })];
}

/**
 * One block per finding, then a count:
 *   error a.yaml#1 default/deny-all spec.ingress [empty-rule-list]
 *     ingress is an empty list: ...
 *     fix: ...
 */
export function formatFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    const where = f.source ? `${f.source.file}#${f.source.document} ` : "";
    const policy = f.namespace ? `${f.namespace}/${f.policy}` : f.policy;
    lines.push(`${f.severity} ${where}${policy} ${f.path} [${f.id}]`, `  ${f.message}`, `  fix: ${f.fix}`);
  }
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.length - errors;
  lines.push(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
  return lines.join("\n");
}

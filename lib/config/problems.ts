// zod issues as config problems: one `ConfigError` listing every problem, each with its setting and a fix.
import { z } from "zod";
import { closest, quote } from "../base/text";
import { ENVIRONMENTS, SECRET_KEYS } from "./constants";
import { AUTH_FIX, msg, oneOf, sentence, settingPath } from "./messages";

export interface ConfigProblem {
  /** Setting path, e.g. "cluster.podCidr". */
  readonly path: string;
  /** "<what is wrong> (<value>). <how to fix>." */
  readonly message: string;
}

/** How many problems a ConfigError's message lists; the rest are counted (a huge inventory stays readable). */
export const MAX_PROBLEMS_SHOWN = 50;

/** Every problem of a stack config at once. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `${p.path}: ${p.message}`);
    const more = problems.length - lines.length;
    if (more > 0) lines.push(`... and ${more} more problem${more === 1 ? "" : "s"} (the first ${MAX_PROBLEMS_SHOWN} are shown; fix them and check again)`);
    super(`invalid microseg config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }

  /** One line per problem: `<path>: <message>`. */
  get lines(): string[] {
    return this.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

const REQUIRED_FIX: Record<string, string> = {
  environment: `Set it to one of ${oneOf(ENVIRONMENTS)}`,
  cluster: 'Add it with mode "kubeadm" (hosts over SSH) or "existing" (a kubeconfig)',
  "cluster.mode": 'Set "kubeadm" (hosts over SSH) or "existing" (a kubeconfig)',
  "cluster.kubernetesVersion": 'Pin the Kubernetes version to install, e.g. "1.34.2"',
  "cluster.ssh": `Say how to reach the hosts. ${AUTH_FIX}`,
  "cluster.hosts": 'List the hosts, e.g. [{ name: cp-0, address: 10.0.0.10, role: control-plane }]',
  "cluster.hosts[].name": 'Give the node name, e.g. "worker-0"',
  "cluster.hosts[].address": "Give the address SSH connects to (IP address or DNS name)",
  "cluster.hosts[].role": 'Set "control-plane" or "worker"',
  "cluster.controlPlaneEndpoint": 'Give the API server\'s host:port as the nodes reach it, e.g. "10.0.0.10:6443": Cilium replaces kube-proxy and needs it',
  cilium: 'Add it with at least a version, e.g. { version: "1.18.2" }',
  "cilium.version": 'Pin the Cilium chart version, e.g. "1.18.2"',
};

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping of settings",
  record: "a mapping",
  array: "a list",
};

function valueAt(root: unknown, p: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const k of p) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function typeFix(expected: string, value: unknown): string {
  if (typeof value === "string" && (expected === "number" || expected === "int") && /^\d+$/.test(value)) return "Write the number without quotes";
  if (typeof value === "string" && expected === "boolean" && /^(true|false)$/.test(value)) return "Write true or false without quotes";
  if (typeof value === "number" && expected === "string") return `Quote it in YAML so it stays a string: "${value}"`;
  return `Write ${TYPE_NAMES[expected] ?? expected}`;
}

/** [key, fix] per unknown key: from strict()'s JSON message, or the bare keys of any other strict object. */
function unknownKeyFixes(issue: z.core.$ZodIssue & { code: "unrecognized_keys" }): Array<[string, string | undefined]> {
  try {
    const parsed: unknown = JSON.parse(issue.message);
    if (Array.isArray(parsed)) return parsed as Array<[string, string]>;
  } catch {
    // zod's own message: no hint
  }
  return issue.keys.map((k) => [k, undefined]);
}

/** Turns a zod issue into problems (an unknown-keys issue gives one problem per key). */
export function problemsOf(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem[] {
  const p = issue.path;
  const where = settingPath(p);
  const value = valueAt(raw, p);
  const secret = SECRET_KEYS.has(String(p[p.length - 1]));
  const generic = settingPath(p.map((k) => (typeof k === "number" ? "#" : k))).replace(/\[#\]/g, "[]");
  switch (issue.code) {
    case "unrecognized_keys":
      return unknownKeyFixes(issue).map(([key, fix]) => ({ path: settingPath([...p, key]), message: `unknown setting. ${fix ?? "Remove it."}` }));
    case "invalid_type":
      if (value === undefined) return [{ path: where, message: `required. ${sentence(REQUIRED_FIX[generic] ?? "Add it")}` }];
      return [{ path: where, message: msg(`must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`, value, typeFix(issue.expected, value), secret) }];
    case "invalid_value": {
      if (value === undefined) return [{ path: where, message: `required. ${sentence(REQUIRED_FIX[generic] ?? `Set one of ${oneOf(issue.values)}`)}` }];
      const near = typeof value === "string" ? closest(value, issue.values.map(String)) : undefined;
      const fix = near ? `Did you mean "${near}"?` : `Use one of ${oneOf(issue.values)}`;
      return [{ path: where, message: msg(`must be one of ${oneOf(issue.values)}`, value, fix, secret) }];
    }
    case "invalid_union": {
      const options = "options" in issue && Array.isArray(issue.options) ? (issue.options as unknown[]) : [];
      if (value === undefined) return [{ path: where, message: `required. ${sentence(REQUIRED_FIX[generic] ?? `Set one of ${oneOf(options)}`)}` }];
      const near = typeof value === "string" ? closest(value, options.map(String)) : undefined;
      return [{ path: where, message: msg(`must be one of ${oneOf(options)}`, value, near ? `Did you mean "${near}"?` : `Use one of ${oneOf(options)}`, secret) }];
    }
    case "too_small":
      if (issue.origin === "array") return [{ path: where, message: msg(`must list at least ${issue.minimum}`, value, REQUIRED_FIX[generic] ?? "Add entries") }];
      if (issue.origin === "string") return [{ path: where, message: msg("must not be empty", value, REQUIRED_FIX[generic] ?? "Give a value or remove the setting", secret) }];
      return [{ path: where, message: msg(`must be at least ${issue.minimum}`, value, `Use a value from ${issue.minimum}${p[p.length - 1] === "port" || String(p[p.length - 1]).endsWith("Port") ? " to 65535" : ""}`) }];
    case "too_big":
      return [{ path: where, message: msg(`must be at most ${issue.maximum}`, value, `Use a value up to ${issue.maximum}`) }];
    case "custom":
      return [{ path: where, message: issue.message }];
    case "invalid_key":
      // A record key failed its own schema: report the key's problem under the key's path.
      return issue.issues.flatMap((inner) => problemsOf({ ...inner, path: [...p, ...inner.path] } as z.core.$ZodIssue, raw)).map((q) => ({
        ...q,
        message: q.message.replace(/\((.*?)\)\. /, `(${quote(p[p.length - 1])}). `),
      }));
    default:
      return [{ path: where, message: msg(issue.message, value, "Fix the value", secret) }];
  }
}

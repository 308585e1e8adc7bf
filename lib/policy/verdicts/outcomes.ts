// Reading an outcome: one line for people (describeOutcome), and whether an HTTP request passes its L7 rules.
import type { DirectionDecision, L7Rule, Outcome } from "./types";

function describeDecision(d: DirectionDecision, endpoint: string): string {
  const at = `${d.direction} of ${endpoint}`;
  const from = d.policies.length > 0 ? ` from ${d.policies.join(", ")}` : "";
  switch (d.reason) {
    case "deny-rule":
      return `deny rule at ${at}${from}`;
    case "default-deny":
      return `default deny at ${at}${from}`;
    case "enforcement-always":
      return `default deny at ${at}: policyEnforcementMode always, no policy allows it`;
    case "allow-rule":
      return `allowed at ${at} by ${d.policies.join(", ")}`;
    case "l7-rule":
      return `L7 at ${at}: ${d.l7.map((r) => `${r.policy} ${r.text}`).join(", ")}`;
    case "allow-localhost":
      return `host always reaches local pods at ${at} (allow-localhost)`;
    case "enforcement-never":
      return "policyEnforcementMode never";
    case "not-enforced":
      return `no default deny at ${at}`;
  }
}

/** The outcome of one flow in one line: `denied-default (default deny at ingress of backend/backend-app from backend/namespace-isolation)`. */
export function describeOutcome(o: Outcome, from: string, to: string): string {
  const ds = [o.egress, o.ingress].filter((d): d is DirectionDecision => d !== undefined);
  const deciding = o.verdict.startsWith("denied") ? ds.filter((d) => d.verdict === o.verdict).slice(0, 1) : ds;
  const parts = [...new Set(deciding.filter((d) => d.reason !== "not-enforced").map((d) => describeDecision(d, d.direction === "egress" ? from : to)))];
  if (parts.length === 0) return `${o.verdict} (no policy applies)`;
  return `${o.verdict} (${parts.join("; ")})`;
}

/** Full-match of an Envoy (RE2) regular expression; undefined or empty matches everything. */
function fullMatch(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined || pattern === "") return true;
  try {
    return new RegExp(`^(?:${pattern})$`).test(value);
  } catch {
    return false;
  }
}

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
}

/**
 * Whether an HTTP request passes the L7 rules of an allowed flow: every direction that filters at L7 must have
 * a rule whose method and path (regular expressions, whole-string) match. Host and header conditions are not
 * evaluated (a rule with them counts as matching).
 */
export function httpAllowed(o: Outcome, req: HttpRequest): { allowed: boolean; rules: readonly L7Rule[] } {
  if (o.verdict !== "allowed-l7") return { allowed: o.verdict === "allowed", rules: [] };
  const dirs = [o.egress, o.ingress].filter((d): d is DirectionDecision => d !== undefined && d.verdict === "allowed-l7");
  const allowed = dirs.every((d) => d.l7.some((r) => r.kind === "http" && fullMatch(r.http?.method, req.method) && fullMatch(r.http?.path, req.path)));
  return { allowed, rules: dirs.flatMap((d) => d.l7) };
}

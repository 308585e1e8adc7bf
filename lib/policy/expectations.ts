/**
 * Checks expectations (policies/expectations.ts) against the verdict engine: each expectation names a flow and
 * whether it must be allowed or denied; a broken one says the flow, what was expected, what the policies decide
 * and the policy responsible.
 *
 *   default/busybox → default/test-app TCP/80 HTTP DELETE /delete: expected denied, got allowed-l7 (...)
 */
import type { Expectation } from "./model/expectation";
import type { PolicyManifest } from "./model/schema";
import type { Workloads } from "./model/workloads-schema";
import { buildVerdictEngine, httpAllowed, type EngineOptions, type FlowVerdict, type VerdictEngine } from "./verdicts";

export interface ExpectationResult {
  readonly expectation: Expectation;
  readonly ok: boolean;
  /** "allowed" | "allowed-l7" | "denied-default" | "denied-rule" | "denied-l7" | "unknown-endpoint" ... */
  readonly actual: string;
  /** `default/busybox → default/test-app TCP/80 HTTP GET /api` */
  readonly flow: string;
  /** One line for people; for a broken expectation it names the expected and actual verdicts and the policies. */
  readonly message: string;
  readonly verdict?: FlowVerdict;
}

export function flowText(e: Expectation): string {
  return `${e.from} → ${e.to} ${e.protocol}/${e.port}${e.http ? ` HTTP ${e.http.method} ${e.http.path}` : ""}`;
}

function evaluate(engine: VerdictEngine, e: Expectation): ExpectationResult {
  const flow = flowText(e);
  let v: FlowVerdict;
  try {
    v = engine.verdict({ from: e.from, to: e.to, port: e.port, protocol: e.protocol });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { expectation: e, ok: false, actual: "invalid", flow, message: `${flow}: cannot be evaluated: ${why}` };
  }
  let actual: string = v.verdict;
  let detail = v.summary;
  let allowed = v.verdict === "allowed" || v.verdict === "allowed-l7";
  if (e.http && v.verdict === "allowed-l7") {
    const r = httpAllowed(v, e.http);
    allowed = r.allowed;
    const rules = r.rules.map((x) => `${x.policy} ${x.text}`).join(", ");
    if (allowed) detail = `allowed-l7 (${rules})`;
    else {
      actual = "denied-l7";
      detail = `denied-l7 (${e.http.method} ${e.http.path} matches none of the L7 rules: ${rules})`;
    }
  }
  const ok = (e.expect === "allowed") === allowed;
  const message = ok ? `${flow}: ${e.expect} as expected: ${detail}` : `${flow}: expected ${e.expect}, got ${detail}${e.why ? `. Expected because: ${e.why}` : ""}`;
  return { expectation: e, ok, actual, flow, message, verdict: v };
}

/** Evaluates every expectation; results in the expectations' order. */
export function checkExpectations(expectations: readonly Expectation[], policies: readonly PolicyManifest[], workloads: Workloads, opts: EngineOptions = {}): ExpectationResult[] {
  const engine = buildVerdictEngine(policies, workloads, opts);
  return expectations.map((e) => evaluate(engine, e));
}

/** The broken ones as one block, or undefined when all hold. */
export function formatBroken(results: readonly ExpectationResult[], enforcement: string): string | undefined {
  const broken = results.filter((r) => !r.ok);
  if (broken.length === 0) return undefined;
  return [`expectations (policyEnforcementMode ${enforcement}): ${broken.length} of ${results.length} broken:`, ...broken.map((r) => `  - ${r.message}`)].join("\n");
}

/**
 * Pure checks of Cilium policies: the schema (lib/policy/model/schema.ts, CRD shape plus what Cilium refuses)
 * and a lint for policies that load but do not do what their author meant.
 *
 * Severity: `error` when Cilium refuses the policy or the policy cannot do what it says (an empty rule
 * list, a `namespace` pod label, a CIDR rule aimed at pods, admitting the whole cluster into a
 * namespaced policy, duplicate names); errors stop a preview. `warning` when the policy may be right
 * but usually is not (world ingress, FQDN rules without DNS visibility, default-deny egress without
 * DNS, selectors matching no declared workload); warnings are printed.
 */
import type { z } from "zod";
import { PolicyManifest, policyPath, type IssueMeta } from "./model/schema";
import { withSource, type CheckContext, type Finding } from "./findings";
import { checkDuplicates, lintSpec, type Located, type Manifest } from "./policy-lint";

export type { CheckContext, Finding, Severity, Source } from "./findings";

const q = (v: unknown): string => JSON.stringify(v);

// --------------------------------------------------------------------------------- schema issues

const GENERIC_FIX: Record<string, string> = {
  invalid_type: "give the field the type the CiliumNetworkPolicy v2 schema expects",
  invalid_value: "use one of the listed values",
  unrecognized_keys: "remove the key or correct its spelling; the CRD refuses unknown fields",
  invalid_union: "give the field one of the accepted forms",
  too_big: "shorten the value or list",
  too_small: "lengthen the value or list",
  invalid_format: "correct the value's format",
};

function schemaFindings(raw: unknown, error: z.ZodError): Finding[] {
  const md = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const policy = typeof md?.name === "string" ? md.name : "<unnamed>";
  const namespace = typeof md?.namespace === "string" && (raw as { kind?: unknown }).kind !== "CiliumClusterwideNetworkPolicy" ? md.namespace : undefined;
  return error.issues.map((i) => {
    const meta = (i as { params?: Partial<IssueMeta> }).params;
    // The value at the issue's path, quoted when it is a scalar (zod reports some issues on the parent).
    const input = i.path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);
    const quoted = i.code !== "custom" && i.code !== "unrecognized_keys" && input !== undefined && (typeof input !== "object" || input === null);
    return {
      id: meta?.id ?? "schema",
      severity: "error" as const,
      policy,
      ...(namespace === undefined ? {} : { namespace }),
      path: policyPath(i.path) || "<root>",
      message: quoted ? `${i.message}, got ${q(input)}` : i.message,
      fix: meta?.fix ?? GENERIC_FIX[i.code] ?? "correct the field",
    };
  });
}
// ----------------------------------------------------------------------------------------- entry

/**
 * Validates each manifest with the schema and runs the lint on those that parse.
 * Manifests may be typed policies (policies/index.ts) or raw documents (lib/policy/policy-files.ts).
 */
export function checkPolicies(manifests: readonly unknown[], ctx: CheckContext = {}): Finding[] {
  const findings: Finding[] = [];
  const located: Located[] = [];
  const parsed: { manifest: Manifest; index: number }[] = [];
  manifests.forEach((raw, index) => {
    const r = PolicyManifest.safeParse(raw, { reportInput: true });
    if (!r.success) {
      findings.push(...schemaFindings(raw, r.error).map((f) => withSource(f, index, ctx)));
      return;
    }
    const m = r.data;
    parsed.push({ manifest: m, index });
    if (m.spec) located.push({ manifest: m, index, spec: m.spec, at: "spec" });
    (m.specs ?? []).forEach((spec, i) => located.push({ manifest: m, index, spec, at: `specs[${i}]` }));
  });
  for (const l of located) findings.push(...lintSpec(l, located, ctx).map((f) => withSource(f, l.index, ctx)));
  findings.push(...checkDuplicates(parsed, ctx));
  return findings;
}

/** True when any finding is an error (what stops a preview). */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}

// What every schema of the policy model is built with: refinement issues with an id and a fix, closed objects that
// name the field a typo meant, and field paths as people read them.
import { z } from "zod";
import { closest, formatPath } from "../../base/text";

/** Extra data carried by every refinement issue, read back by lib/policy/policy-checks.ts. */
export interface IssueMeta {
  id: string;
  fix: string;
}

export function fail(ctx: z.RefinementCtx, path: (string | number)[], id: string, message: string, fix: string): void {
  ctx.addIssue({ code: "custom", path, message, params: { id, fix } satisfies IssueMeta });
}

/** Field path as people read it: `spec.ingress[0].toPorts[1].ports[0].port` (field names, shown as written). */
export function policyPath(path: readonly PropertyKey[]): string {
  return formatPath(path, { redact: false });
}

export const q = (v: unknown): string => JSON.stringify(v);

/** Common slips whose nearest spelling is another field: ports are only ever matched on the destination side. */
const MEANT: Readonly<Record<string, string>> = { fromPorts: "toPorts", fromPort: "toPorts", toPort: "toPorts", ports: "toPorts" };

/**
 * A closed object (the CRD refuses unknown fields) whose unknown keys are reported with the field they most likely
 * meant: `unknown field "toPort"; did you mean "toPorts"?`.
 */
export function strictObject<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      return iss.keys.map((k) => {
        const near = MEANT[k] !== undefined && known.includes(MEANT[k]) ? MEANT[k] : closest(k, known);
        return `unknown field ${q(k)}; ${near ? `did you mean ${q(near)}?` : `the fields here are ${known.join(", ")}`}`;
      }).join("; ");
    },
  });
}

// The schema of an expectation: a flow the policies must allow or deny (the user's list is policies/expectations.ts).
import { z } from "zod";

export const Expectation = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  port: z.union([z.number().int().min(1).max(65535), z.string().min(1)]),
  /** @default "TCP" */
  protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
  expect: z.enum(["allowed", "denied"]),
  http: z.strictObject({ method: z.string().min(1), path: z.string().startsWith("/") }).optional(),
  /** Why the flow must be so; shown when the expectation breaks. */
  why: z.string().optional(),
});
export type Expectation = z.infer<typeof Expectation>;
export type ExpectationInput = z.input<typeof Expectation>;

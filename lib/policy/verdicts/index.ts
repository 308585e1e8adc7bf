// The offline verdict engine (engine.ts has how it decides, after Cilium's documentation): its vocabulary
// (types.ts), the policies indexed by endpoint (policy-index.ts), the matching primitives (matching.ts), and
// reading an outcome (outcomes.ts). Importers use this module.
export * from "./types";
export { buildVerdictEngine } from "./engine";
export { policyId } from "./policy-index";
export { describeOutcome, httpAllowed, type HttpRequest } from "./outcomes";

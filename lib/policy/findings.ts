// What the policy checks report (policy-checks.ts) and what they are given.
import type { Workloads } from "./model/workloads-schema";

export type Severity = "error" | "warning";

/** Where a manifest came from, when it was read from a file. `document` counts from 0. */
export interface Source {
  file: string;
  document: number;
}

export interface Finding {
  /** Stable identifier of the check, e.g. "empty-rule-list". */
  id: string;
  severity: Severity;
  /** Policy name (metadata.name), "<unnamed>" when it has none. */
  policy: string;
  /** Namespace of a CiliumNetworkPolicy. */
  namespace?: string;
  /** Field path inside the manifest, e.g. "spec.ingress[0].fromEndpoints[0]". */
  path: string;
  message: string;
  fix: string;
  source?: Source;
}

export interface CheckContext {
  /** Whether Cilium's L7 proxy is on (Helm `l7Proxy`). @default true */
  l7ProxyEnabled?: boolean;
  /** The cluster's pod CIDR; CIDR rules inside it are findings. */
  podCidr?: string;
  /** The cluster's service CIDR; CIDR rules inside it are findings. */
  serviceCidr?: string;
  /** Declared workloads; when given, selectors matching none of them are findings. */
  workloads?: Workloads;
  /** Sources of the manifests, index for index (set by lib/policy/policy-files.ts). */
  sources?: readonly (Source | undefined)[];
}

/** The finding with the source of manifest `index`, when the context has one. */
export function withSource(f: Finding, index: number, ctx: CheckContext): Finding {
  const s = ctx.sources?.[index];
  return s ? { ...f, source: s } : f;
}

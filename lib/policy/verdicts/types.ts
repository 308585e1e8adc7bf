// The verdict engine's vocabulary: flows, endpoints, decisions and outcomes, and the engine's interface.
import type { HttpRule } from "../model/schema";

export type EnforcementMode = "default" | "always" | "never";
export type Verdict = "allowed" | "allowed-l7" | "denied-default" | "denied-rule";
export type FlowProtocol = "TCP" | "UDP" | "SCTP";
export type Direction = "ingress" | "egress";

/** Entities that are flow ends of their own (`cluster`, `all`, `none` and `ingress` only appear as peers). */
export const ENTITY_ENDPOINTS = ["world", "host", "remote-node", "kube-apiserver", "health", "init", "unmanaged"] as const;
export type EntityEndpoint = (typeof ENTITY_ENDPOINTS)[number];

/** Members of the `cluster` entity besides every pod (Cilium's InitEntities; kube-apiserver runs on a kubeadm control-plane node). */
export const CLUSTER_ENTITIES: readonly string[] = ["host", "remote-node", "kube-apiserver", "health", "init", "unmanaged", "ingress"];

export const POD_NAMESPACE_KEY = "io.kubernetes.pod.namespace";
export const NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";

/** An address outside the cluster that CIDR rules can name. */
export interface External {
  /** Shown as `external:<name>`. */
  readonly name: string;
  /** An IPv4 or IPv6 address, e.g. "20.1.1.1". */
  readonly address: string;
}

export interface EngineOptions {
  /** Cilium's `policyEnforcementMode`. @default "default" */
  readonly enforcement?: EnforcementMode;
  /**
   * Cilium's `allow-localhost`: with "always" (Cilium's default on Kubernetes) the local host reaches every
   * pod whatever the pod's ingress policy says (deny rules still apply); "policy" leaves it to policy.
   * @default "always"
   */
  readonly allowLocalhost?: "always" | "policy";
  /** Named external addresses, matched by CIDR rules and the `world` entity. @default [] */
  readonly externals?: readonly External[];
}

export type EndpointKind = "pod" | "entity" | "external";

export interface ServedPort {
  /** A number as a string ("80") or a container port name ("http"). */
  readonly port: string;
  readonly protocol: FlowProtocol;
}

export interface Endpoint {
  /** `namespace/name` for a pod, the entity name (`world`, `host`, ...), `external:<name>`. */
  readonly id: string;
  readonly kind: EndpointKind;
  readonly namespace?: string;
  /** Ports the endpoint serves (pods: declared; entities and externals: the ports egress rules name). */
  readonly serves: readonly ServedPort[];
  /** Whether Cilium enforces policy at this endpoint (pods and the health endpoint). */
  readonly enforced: boolean;
}

/** One L7 rule that a flow is subject to. */
export interface L7Rule {
  readonly direction: Direction;
  /** Policy id: `namespace/name` (CiliumNetworkPolicy) or `name` (CiliumClusterwideNetworkPolicy). */
  readonly policy: string;
  readonly kind: "http" | "dns";
  /** As people read it: `GET /api`, `dns *.example.com`. */
  readonly text: string;
  readonly http?: HttpRule;
}

export type Reason =
  | "not-enforced" // no policy puts this endpoint in default deny in this direction
  | "enforcement-never"
  | "allow-rule"
  | "l7-rule"
  | "allow-localhost"
  | "default-deny"
  | "enforcement-always"
  | "deny-rule";

/** What one end of a flow decides: the source at egress, the destination at ingress. */
export interface DirectionDecision {
  /** egress: the source's policy decides; ingress: the destination's. */
  readonly direction: Direction;
  readonly verdict: Verdict;
  readonly reason: Reason;
  /** Deciding policies, sorted: the allowing, default-deny-making or denying ones. */
  readonly policies: readonly string[];
  readonly l7: readonly L7Rule[];
}

/**
 * The verdict of a flow: the first end that drops it (egress comes first), else both ends' allows. Shared by
 * every flow decided the same way (it names no endpoint); `describeOutcome` says it for one flow.
 */
export interface Outcome {
  readonly verdict: Verdict;
  readonly reason: Reason;
  readonly policies: readonly string[];
  readonly l7: readonly L7Rule[];
  /** Absent when the source is not a Cilium endpoint (world, host, ...). */
  readonly egress?: DirectionDecision;
  /** Absent when the destination is not a Cilium endpoint. */
  readonly ingress?: DirectionDecision;
}

export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly port: number | string;
  /** @default "TCP" */
  readonly protocol?: FlowProtocol;
}

export interface FlowVerdict extends Outcome {
  readonly from: string;
  readonly to: string;
  readonly port: string;
  readonly protocol: FlowProtocol;
  /** One line: `denied-default (default deny at ingress of backend/backend-app from backend/namespace-isolation)`. */
  readonly summary: string;
}

export interface MatrixColumn {
  readonly to: string;
  readonly port: string;
  readonly protocol: FlowProtocol;
}

export interface Matrix {
  readonly enforcement: EnforcementMode;
  readonly sources: readonly Endpoint[];
  readonly columns: readonly MatrixColumn[];
  /** Interned outcomes; cells index into it. */
  readonly outcomes: readonly Outcome[];
  /** Row-major (source x column) outcome indices; -1 where no policy can apply (self, or neither end enforced). */
  readonly cells: Int32Array;
  /** The outcome of one cell, undefined where not evaluated. */
  at(row: number, column: number): Outcome | undefined;
}

/** Parts of the policies the engine cannot evaluate, each once: `default/api: spec.egress[0].toFQDNs: FQDN resolution is not modelled; it matches nothing here`. */
export type EngineNote = string;

export interface VerdictEngine {
  readonly enforcement: EnforcementMode;
  readonly endpoints: readonly Endpoint[];
  readonly notes: readonly EngineNote[];
  /** The verdict of one flow; throws on an undeclared endpoint. */
  verdict(flow: Flow): FlowVerdict;
  /** Every source x every destination port. */
  matrix(): Matrix;
}

/**
 * Small typed constructors for the common pieces of a Cilium policy. Everything returns plain data
 * typed by lib/policy/model/schema.ts; `cnp` / `ccnp` validate the whole manifest and throw one error listing
 * every problem.
 */
import { z } from "zod";
import {
  CiliumClusterwideNetworkPolicy,
  CiliumNetworkPolicy,
  policyPath,
  type EgressRule,
  type EndpointSelector,
  type HttpRule,
  type PolicySpec,
  type PolicySpecInput,
  type PortProtocol,
} from "./schema";

/** The label Cilium gives every pod for its namespace. Selecting on it is how a policy names a namespace. */
export const NAMESPACE_LABEL = "k8s:io.kubernetes.pod.namespace";

/** Pods of one namespace (all of them). Use in fromEndpoints; in a CNP it lifts the same-namespace default. */
export function fromNamespace(namespace: string): EndpointSelector {
  return { matchLabels: { [NAMESPACE_LABEL]: namespace } };
}

/** Pods of one namespace, as an egress peer (toEndpoints). Same selector as fromNamespace. */
export const toNamespace = fromNamespace;

/**
 * Pods by label, optionally in another namespace.
 * @param namespace default: the policy's own namespace (a CNP scopes selectors without a namespace key to it)
 */
export function fromEndpoints(labels: Readonly<Record<string, string>>, opts: { namespace?: string } = {}): EndpointSelector {
  return { matchLabels: { ...labels, ...(opts.namespace === undefined ? {} : { [NAMESPACE_LABEL]: opts.namespace }) } };
}

/** Egress peer by label; same selector as fromEndpoints. */
export const toEndpoints = fromEndpoints;

/** A TCP port (or range up to endPort). */
export function tcp(port: number | string, endPort?: number): PortProtocol {
  return { port: String(port), protocol: "TCP", ...(endPort === undefined ? {} : { endPort }) };
}

/** A UDP port (or range up to endPort). */
export function udp(port: number | string, endPort?: number): PortProtocol {
  return { port: String(port), protocol: "UDP", ...(endPort === undefined ? {} : { endPort }) };
}

/** HTTP rules. `path` is a regular expression matched against the whole path by Envoy. */
export const http = {
  get: (path: string): HttpRule => ({ method: "GET", path }),
  post: (path: string): HttpRule => ({ method: "POST", path }),
  put: (path: string): HttpRule => ({ method: "PUT", path }),
  delete: (path: string): HttpRule => ({ method: "DELETE", path }),
};

/** kube-dns as kubeadm deploys it (CoreDNS pods keep the `k8s-app: kube-dns` label). */
export const KUBE_DNS: EndpointSelector = fromEndpoints({ "k8s:k8s-app": "kube-dns" }, { namespace: "kube-system" });

/**
 * Egress to kube-dns on UDP and TCP 53, through Cilium's DNS proxy (`matchPattern: "*"`): the proxy
 * must see the lookups for toFQDNs rules to learn addresses, and Hubble shows the queries.
 */
export function allowDns(): EgressRule {
  return {
    toEndpoints: [KUBE_DNS],
    toPorts: [{ ports: [udp(53), tcp(53)], rules: { dns: [{ matchPattern: "*" }] } }],
  };
}

/**
 * Default deny for the selected endpoints, as rule lists holding one empty rule (`ingress: [{}]`).
 *
 * Why not `enableDefaultDeny` alone: the CRD requires at least one of ingress/ingressDeny/egress/
 * egressDeny, so a spec with only `enableDefaultDeny` is refused by the API server; and an empty rule
 * list (`ingress: []`) means "this policy does not apply at ingress". A list holding one empty rule
 * turns default deny on for that direction (Cilium's default for a direction that has rules) and
 * allows nothing by itself; other policies selecting the same pods add the allows.
 */
export function defaultDeny(dirs: { ingress?: boolean; egress?: boolean }): Pick<PolicySpec, "ingress" | "egress"> {
  return { ...(dirs.ingress ? { ingress: [{}] } : {}), ...(dirs.egress ? { egress: [{}] } : {}) };
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const fix = (i as { params?: { fix?: string } }).params?.fix;
    return `  ${policyPath(i.path)}: ${i.message}${fix ? `. ${fix}` : ""}`;
  });
  throw new Error(`${what} is invalid:\n${lines.join("\n")}`);
}

/** A CiliumNetworkPolicy, validated (throws listing every problem). */
export function cnp(name: string, namespace: string, spec: PolicySpecInput): CiliumNetworkPolicy {
  return parseOrThrow(
    CiliumNetworkPolicy,
    { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name, namespace }, spec },
    `CiliumNetworkPolicy ${namespace}/${name}`,
  );
}

/** A CiliumClusterwideNetworkPolicy, validated (throws listing every problem). */
export function ccnp(name: string, spec: PolicySpecInput): CiliumClusterwideNetworkPolicy {
  return parseOrThrow(
    CiliumClusterwideNetworkPolicy,
    { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name }, spec },
    `CiliumClusterwideNetworkPolicy ${name}`,
  );
}

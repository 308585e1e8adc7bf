/**
 * lib/policy/policy-checks.ts: each case asserts the exact findings (severity, id, path, message).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPolicies, hasErrors, type CheckContext } from "../../lib/policy/policy-checks";
import { policies } from "../fixtures/policies/index";
import { workloads } from "../fixtures/policies/workloads";
import { allowDns, tcp, udp } from "../../lib/policy/model/helpers";

const cnpDoc = (spec: unknown, name = "p", namespace = "default") => ({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name, namespace }, spec });
const ccnpDoc = (spec: unknown, name = "c") => ({ apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name }, spec });
const app = (a: string) => ({ matchLabels: { app: a } });
const ing = (...rules: unknown[]) => cnpDoc({ endpointSelector: app("test-app"), ingress: rules });
const egr = (...rules: unknown[]) => cnpDoc({ endpointSelector: app("test-app"), egress: rules });
const egrDns = (...rules: unknown[]) => cnpDoc({ endpointSelector: app("test-app"), egress: [allowDns(), ...rules] });

type Row = [severity: string, id: string, path: string, message: string];
const run = (docs: unknown[], ctx: CheckContext = {}): Row[] => checkPolicies(docs, ctx).map((f) => [f.severity, f.id, f.path, f.message]);

interface Case {
  docs: unknown[];
  ctx?: CheckContext;
  want: Row[];
}
const cidrs = { podCidr: "10.97.0.0/16", serviceCidr: "10.96.0.0/16" };

const cases: Record<string, Case> = {
  // ---- empty rule lists
  "ingress: [] (the walk-through's deny-all)": { docs: [ing()], want: [["error", "empty-rule-list", "spec.ingress", "ingress is an empty list: the policy does not apply at ingress and denies nothing"]] },
  "egress: []": { docs: [egr()], want: [["error", "empty-rule-list", "spec.egress", "egress is an empty list: the policy does not apply at egress and denies nothing"]] },
  "ingressDeny: []": { docs: [cnpDoc({ endpointSelector: {}, ingressDeny: [] })], want: [["error", "empty-rule-list", "spec.ingressDeny", "ingressDeny is an empty list: the policy does not apply at ingress and denies nothing"]] },
  "egressDeny: [] beside a real egress list": {
    docs: [cnpDoc({ endpointSelector: {}, egress: [allowDns()], egressDeny: [] })],
    want: [["error", "empty-rule-list", "spec.egressDeny", "egressDeny is an empty list: the policy does not apply at egress and denies nothing"]],
  },
  "empty list inside specs[1]": {
    docs: [{ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: "p", namespace: "default" }, specs: [{ endpointSelector: {}, ingress: [{}] }, { endpointSelector: {}, ingress: [] }] }],
    want: [["error", "empty-rule-list", "specs[1].ingress", "ingress is an empty list: the policy does not apply at ingress and denies nothing"]],
  },
  "ingress: [{}] is a real default deny: no finding": { docs: [ing({})], want: [] },
  "empty list in a clusterwide policy": { docs: [ccnpDoc({ endpointSelector: {}, ingress: [] })], want: [["error", "empty-rule-list", "spec.ingress", "ingress is an empty list: the policy does not apply at ingress and denies nothing"]] },

  // ---- namespace label
  "namespace label in fromEndpoints (the walk-through's namespace-isolation)": {
    docs: [ing({ fromEndpoints: [{ matchLabels: { namespace: "frontend" } }] })],
    want: [["error", "namespace-label", "spec.ingress[0].fromEndpoints[0].matchLabels.namespace", 'selector label "namespace: frontend" is a pod label no pod carries; it does not select the namespace "frontend"']],
  },
  "k8s:namespace label": {
    docs: [ing({ fromEndpoints: [{ matchLabels: { "k8s:namespace": "frontend" } }] })],
    want: [["error", "namespace-label", "spec.ingress[0].fromEndpoints[0].matchLabels.k8s:namespace", 'selector label "k8s:namespace: frontend" is a pod label no pod carries; it does not select the namespace "frontend"']],
  },
  "namespace label in toEndpoints": {
    docs: [egrDns({ toEndpoints: [{ matchLabels: { namespace: "backend" } }] })],
    want: [["error", "namespace-label", "spec.egress[1].toEndpoints[0].matchLabels.namespace", 'selector label "namespace: backend" is a pod label no pod carries; it does not select the namespace "backend"']],
  },
  "namespace label in endpointSelector": {
    docs: [cnpDoc({ endpointSelector: { matchLabels: { namespace: "default" } }, ingress: [{}] })],
    want: [["error", "namespace-label", "spec.endpointSelector.matchLabels.namespace", 'selector label "namespace: default" is a pod label no pod carries; it does not select the namespace "default"']],
  },
  "namespace key in matchExpressions": {
    docs: [ing({ fromEndpoints: [{ matchExpressions: [{ key: "namespace", operator: "In", values: ["a"] }] }] })],
    want: [["error", "namespace-label", "spec.ingress[0].fromEndpoints[0].matchExpressions[0].key", 'selector key "namespace" is a pod label no pod carries; it does not select namespaces']],
  },
  "fromRequires (removed in Cilium 1.19): refused by the schema, with the way out": {
    docs: [ing({ fromEndpoints: [{}], fromRequires: [{ matchLabels: { namespace: "x" } }] })],
    want: [["error", "removed-field", "spec.ingress[0].fromRequires", "fromRequires was removed in Cilium 1.19; the 1.20 CRD takes only an empty list"]],
  },
  "namespace label declared on a workload: no finding": {
    docs: [ing({ fromEndpoints: [{ matchLabels: { namespace: "frontend", app: "busybox" } }] })],
    ctx: { workloads: { namespaces: [{ name: "default", labels: { "kubernetes.io/metadata.name": "default" } }], workloads: [{ name: "b", namespace: "default", labels: { app: "busybox", namespace: "frontend" }, serves: [] }, { name: "t", namespace: "default", labels: { app: "test-app" }, serves: [] }] } },
    want: [],
  },
  "the proper namespace key: no finding": { docs: [ing({ fromEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "frontend" } }] })], want: [] },

  // ---- entities
  "fromEntities cluster in a CNP (the walk-through)": {
    docs: [ing({ fromEntities: ["cluster"] })],
    want: [["error", "entities-widen", "spec.ingress[0].fromEntities[0]", 'fromEntities "cluster" admits every endpoint of the cluster (all namespaces, hosts, remote nodes) into a policy scoped to namespace "default"']],
  },
  "fromEntities all in a CNP": {
    docs: [ing({ fromEntities: ["host", "all"] })],
    want: [["error", "entities-widen", "spec.ingress[0].fromEntities[1]", 'fromEntities "all" admits every source, inside the cluster and out, into a policy scoped to namespace "default"']],
  },
  "fromEntities world in a CNP": {
    docs: [ing({ fromEntities: ["world"] })],
    want: [["warning", "entities-widen", "spec.ingress[0].fromEntities[0]", 'fromEntities "world" admits any address outside the cluster into namespace "default"']],
  },
  "toEntities cluster in a CNP": {
    docs: [egrDns({ toEntities: ["cluster"] })],
    want: [["warning", "entities-widen", "spec.egress[1].toEntities[0]", 'toEntities "cluster" lets pods of namespace "default" reach every endpoint of the cluster']],
  },
  "toEntities all in a CNP": {
    docs: [egrDns({ toEntities: ["all"] })],
    want: [["warning", "entities-widen", "spec.egress[1].toEntities[0]", 'toEntities "all" lets pods of namespace "default" reach any destination']],
  },
  "toEntities world: no finding": { docs: [egrDns({ toEntities: ["world"] })], want: [] },
  "fromEntities cluster in a CCNP: no finding": { docs: [ccnpDoc({ endpointSelector: {}, ingress: [{ fromEntities: ["cluster"] }] })], want: [] },
  "fromEntities cluster in ingressDeny: no finding": { docs: [cnpDoc({ endpointSelector: {}, ingressDeny: [{ fromEntities: ["cluster"] }] })], want: [] },
  "fromEntities host, remote-node, health: no finding": { docs: [ing({ fromEntities: ["host", "remote-node", "health"] })], want: [] },

  // ---- L7
  "HTTP on UDP (Cilium refuses)": {
    docs: [ing({ toPorts: [{ ports: [udp(80)], rules: { http: [{ method: "GET" }] } }] })],
    want: [["error", "l7-non-tcp", "spec.ingress[0].toPorts[0].ports[0].protocol", 'L7 rules only apply to TCP, but port "80" has protocol "UDP"']],
  },
  "HTTP on a port without protocol": {
    docs: [ing({ toPorts: [{ ports: [{ port: "8080" }], rules: { http: [{}] } }] })],
    want: [["error", "l7-non-tcp", "spec.ingress[0].toPorts[0].ports[0].protocol", 'L7 rules only apply to TCP, but port "8080" has protocol "ANY" (the default)']],
  },
  "HTTP on SCTP": {
    docs: [egrDns({ toEndpoints: [{}], toPorts: [{ ports: [{ port: "9092", protocol: "SCTP" }], rules: { http: [{}] } }] })],
    want: [["error", "l7-non-tcp", "spec.egress[1].toPorts[0].ports[0].protocol", 'L7 rules only apply to TCP, but port "9092" has protocol "SCTP"']],
  },
  "DNS rules on UDP: no finding": { docs: [egrDns()], want: [] },
  "L7 with the proxy off, ingress": {
    docs: [ing({ toPorts: [{ ports: [tcp(80)], rules: { http: [{ method: "GET" }] } }] })],
    ctx: { l7ProxyEnabled: false },
    want: [["error", "l7-proxy-off", "spec.ingress[0].toPorts[0].rules", "L7 rules need Cilium's L7 proxy, which is off (l7Proxy: false); Cilium refuses the policy"]],
  },
  "DNS rules with the proxy off": {
    docs: [egrDns()],
    ctx: { l7ProxyEnabled: false },
    want: [["error", "l7-proxy-off", "spec.egress[0].toPorts[0].rules", "L7 rules need Cilium's L7 proxy, which is off (l7Proxy: false); Cilium refuses the policy"]],
  },
  "L7 with the proxy on: no finding": { docs: [ing({ toPorts: [{ ports: [tcp(80)], rules: { http: [{}] } }] })], ctx: { l7ProxyEnabled: true }, want: [] },
  "L4 only with the proxy off: no finding": { docs: [ing({ toPorts: [{ ports: [tcp(80)] }] })], ctx: { l7ProxyEnabled: false }, want: [] },

  // ---- FQDN and DNS
  "toFQDNs without any DNS rule": {
    docs: [cnpDoc({ endpointSelector: {}, egress: [{ toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system" } }], toPorts: [{ ports: [udp(53)] }] }, { toFQDNs: [{ matchName: "api.example.com" }] }] })],
    want: [["warning", "fqdn-without-dns", "spec.egress[1].toFQDNs", "toFQDNs only matches addresses Cilium's DNS proxy saw being looked up, and no egress rule with DNS rules (rules.dns) covers these pods"]],
  },
  "toFQDNs with allowDns() in the same policy: no finding": { docs: [egrDns({ toFQDNs: [{ matchPattern: "*.example.com" }] })], want: [] },
  "toFQDNs with the DNS rule in another policy of the namespace: no finding": {
    docs: [cnpDoc({ endpointSelector: {}, egress: [allowDns()] }, "dns"), cnpDoc({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: "a.com" }] }] }, "fqdn")],
    want: [],
  },
  "toFQDNs with the DNS rule in a clusterwide policy: no finding": {
    docs: [ccnpDoc({ endpointSelector: {}, egress: [allowDns()] }), cnpDoc({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: "a.com" }] }] })],
    want: [],
  },
  "toFQDNs with the DNS rule only in another namespace": {
    docs: [cnpDoc({ endpointSelector: {}, egress: [allowDns()] }, "dns", "other"), cnpDoc({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [udp(53)] }] }, { toFQDNs: [{ matchName: "a.com" }] }] }, "fqdn")],
    want: [["warning", "fqdn-without-dns", "spec.egress[1].toFQDNs", "toFQDNs only matches addresses Cilium's DNS proxy saw being looked up, and no egress rule with DNS rules (rules.dns) covers these pods"]],
  },
  "default-deny egress without DNS": {
    docs: [egr({ toEndpoints: [app("db")], toPorts: [{ ports: [tcp(5432)] }] })],
    want: [["warning", "default-deny-egress-without-dns", "spec.egress", "egress default deny is on and no egress rule allows DNS (port 53): name lookups from these pods will fail"]],
  },
  "egress: [{}] without DNS": {
    docs: [egr({})],
    want: [["warning", "default-deny-egress-without-dns", "spec.egress", "egress default deny is on and no egress rule allows DNS (port 53): name lookups from these pods will fail"]],
  },
  "enableDefaultDeny.egress false: no finding": { docs: [cnpDoc({ endpointSelector: {}, egress: [{ toEndpoints: [{}] }], enableDefaultDeny: { egress: false } })], want: [] },
  "egress default deny with allowDns(): no finding": { docs: [egrDns({ toEndpoints: [app("db")] })], want: [] },
  "egress default deny with port 53 by a range: no finding": { docs: [egr({ toEntities: ["world"], toPorts: [{ ports: [{ port: "1", endPort: 1024, protocol: "UDP" }] }] })], want: [] },
  "enableDefaultDeny.egress true with only egressDeny": {
    docs: [cnpDoc({ endpointSelector: {}, egressDeny: [{ toEntities: ["world"] }], enableDefaultDeny: { egress: true } })],
    want: [["warning", "default-deny-egress-without-dns", "spec.egress", "egress default deny is on and no egress rule allows DNS (port 53): name lookups from these pods will fail"]],
  },

  // ---- CIDRs
  "fromCIDR inside the pod CIDR": {
    docs: [ing({ fromCIDR: ["10.97.3.0/24"] })],
    ctx: cidrs,
    want: [["error", "cidr-covers-cluster", "spec.ingress[0].fromCIDR[0]", 'fromCIDR "10.97.3.0/24" lies inside the pod CIDR "10.97.0.0/16": Cilium matches pods by identity, not by address, so this rule never matches']],
  },
  "toCIDR equal to the service CIDR": {
    docs: [egrDns({ toCIDR: ["10.96.0.0/16"] })],
    ctx: cidrs,
    want: [["error", "cidr-covers-cluster", "spec.egress[1].toCIDR[0]", 'toCIDR "10.96.0.0/16" lies inside the service CIDR "10.96.0.0/16": service addresses are translated to backends before policy applies, so this rule never matches']],
  },
  "toCIDRSet covering the pod CIDR": {
    docs: [egrDns({ toCIDRSet: [{ cidr: "10.0.0.0/8" }] })],
    ctx: { podCidr: "10.97.0.0/16" },
    want: [["warning", "cidr-covers-cluster", "spec.egress[1].toCIDRSet[0].cidr", 'toCIDRSet "10.0.0.0/8" covers the pod CIDR "10.97.0.0/16", but does not match that traffic: Cilium matches pods by identity, not by address']],
  },
  "toCIDRSet covering the pod CIDR with it excepted: no finding": { docs: [egrDns({ toCIDRSet: [{ cidr: "10.0.0.0/8", except: ["10.96.0.0/15"] }] })], ctx: cidrs, want: [] },
  "fromCIDR outside the cluster ranges: no finding": { docs: [ing({ fromCIDR: ["192.168.0.0/16"] })], ctx: cidrs, want: [] },
  "fromCIDR with a host address inside the pod CIDR": {
    docs: [ing({ fromCIDR: ["10.97.0.15/32"] })],
    ctx: { podCidr: "10.97.0.0/16" },
    want: [["error", "cidr-covers-cluster", "spec.ingress[0].fromCIDR[0]", 'fromCIDR "10.97.0.15/32" lies inside the pod CIDR "10.97.0.0/16": Cilium matches pods by identity, not by address, so this rule never matches']],
  },
  "CIDR checks without cluster CIDRs: no finding": { docs: [ing({ fromCIDR: ["10.97.3.0/24"] })], want: [] },
  "IPv6 CIDR against an IPv4 pod CIDR: no finding": { docs: [ing({ fromCIDR: ["2001:db8::/32"] })], ctx: cidrs, want: [] },
  "egressDeny toCIDR inside the service CIDR": {
    docs: [cnpDoc({ endpointSelector: {}, egress: [allowDns()], egressDeny: [{ toCIDR: ["10.96.0.10/32"] }] })],
    ctx: cidrs,
    want: [["error", "cidr-covers-cluster", "spec.egressDeny[0].toCIDR[0]", 'toCIDR "10.96.0.10/32" lies inside the service CIDR "10.96.0.0/16": service addresses are translated to backends before policy applies, so this rule never matches']],
  },

  // ---- namespace labels in a CNP
  "namespace-label selector in a CNP": {
    docs: [ing({ fromEndpoints: [{ matchLabels: { "k8s:io.cilium.k8s.namespace.labels.team": "web" } }] })],
    want: [["warning", "namespace-labels-in-cnp", "spec.ingress[0].fromEndpoints[0]", 'selector on namespace label "io.cilium.k8s.namespace.labels.team" in a CiliumNetworkPolicy only matches pods of its own namespace "default": Cilium adds that namespace to every selector without a namespace key']],
  },
  "namespace-label expression in a CNP egress": {
    docs: [egrDns({ toEndpoints: [{ matchExpressions: [{ key: "io.cilium.k8s.namespace.labels.env", operator: "Exists" }] }] })],
    want: [["warning", "namespace-labels-in-cnp", "spec.egress[1].toEndpoints[0]", 'selector on namespace label "io.cilium.k8s.namespace.labels.env" in a CiliumNetworkPolicy only matches pods of its own namespace "default": Cilium adds that namespace to every selector without a namespace key']],
  },
  "namespace-label selector in a CCNP: no finding": { docs: [ccnpDoc({ endpointSelector: {}, ingress: [{ fromEndpoints: [{ matchLabels: { "k8s:io.cilium.k8s.namespace.labels.team": "web" } }] }] })], want: [] },
  "namespace-label selector with the namespace key: no finding": {
    docs: [ing({ fromEndpoints: [{ matchExpressions: [{ key: "k8s:io.kubernetes.pod.namespace", operator: "Exists" }], matchLabels: { "k8s:io.cilium.k8s.namespace.labels.team": "web" } }] })],
    want: [],
  },

  // ---- peers combined (Cilium refuses)
  "fromEndpoints with fromEntities": {
    docs: [ing({ fromEndpoints: [{}], fromEntities: ["host"] })],
    want: [["error", "peers-combined", "spec.ingress[0].fromEntities", 'fromEndpoints and fromEntities are combined in one rule; Cilium refuses it ("Combining fromEndpoints and fromEntities is not supported")']],
  },
  "fromCIDR with fromCIDRSet": {
    docs: [ing({ fromCIDR: ["1.2.3.0/24"], fromCIDRSet: [{ cidr: "5.6.0.0/16" }] })],
    want: [["error", "peers-combined", "spec.ingress[0].fromCIDRSet", 'fromCIDR and fromCIDRSet are combined in one rule; Cilium refuses it ("Combining fromCIDR and fromCIDRSet is not supported")']],
  },
  "toEndpoints with toCIDR": {
    docs: [egr({ toEndpoints: [{}], toCIDR: ["1.2.3.0/24"] })],
    want: [["error", "peers-combined", "spec.egress[0].toCIDR", 'toEndpoints and toCIDR are combined in one rule; Cilium refuses it ("Combining toEndpoints and toCIDR is not supported")']],
  },
  "empty peer lists are not a combination: no finding": { docs: [ing({ fromEndpoints: [{}], fromCIDR: [] })], want: [] },

  // ---- duplicates
  "same CNP twice": {
    docs: [ing({}), ing({})],
    want: [["error", "duplicate-name", "metadata.name", "CiliumNetworkPolicy default/p is defined twice (first in policy #0 of the set); the second silently replaces the first"]],
  },
  "same name in two namespaces: no finding": { docs: [cnpDoc({ endpointSelector: {}, ingress: [{}] }, "p", "a"), cnpDoc({ endpointSelector: {}, ingress: [{}] }, "p", "b")], want: [] },
  "same name as CNP and CCNP: no finding": { docs: [ing({}), ccnpDoc({ endpointSelector: {}, ingress: [{}] }, "p")], want: [] },
  "same CCNP three times": {
    docs: [ccnpDoc({ endpointSelector: {}, ingress: [{}] }), ccnpDoc({ endpointSelector: {}, ingress: [{}] }), ccnpDoc({ endpointSelector: {}, ingress: [{}] })],
    want: [
      ["error", "duplicate-name", "metadata.name", "CiliumClusterwideNetworkPolicy c is defined twice (first in policy #0 of the set); the second silently replaces the first"],
      ["error", "duplicate-name", "metadata.name", "CiliumClusterwideNetworkPolicy c is defined twice (first in policy #0 of the set); the second silently replaces the first"],
    ],
  },

  // ---- selectors against declared workloads
  "typo in endpointSelector": {
    docs: [cnpDoc({ endpointSelector: app("test-ap"), ingress: [{}] })],
    ctx: { workloads },
    want: [["warning", "selector-matches-nothing", "spec.endpointSelector", 'selector {"matchLabels":{"app":"test-ap"}} matches no declared workload in namespace "default"']],
  },
  "peer in another namespace that has no such pod": {
    docs: [ing({ fromEndpoints: [{ matchLabels: { app: "backend-app", "k8s:io.kubernetes.pod.namespace": "frontend" } }] })],
    ctx: { workloads },
    want: [["warning", "selector-matches-nothing", "spec.ingress[0].fromEndpoints[0]", 'selector {"matchLabels":{"app":"backend-app","k8s:io.kubernetes.pod.namespace":"frontend"}} matches no declared workload']],
  },
  "peer without namespace key is scoped to the policy's namespace": {
    docs: [ing({ fromEndpoints: [app("backend-app")] })],
    ctx: { workloads },
    want: [["warning", "selector-matches-nothing", "spec.ingress[0].fromEndpoints[0]", 'selector {"matchLabels":{"app":"backend-app"}} matches no declared workload in namespace "default"']],
  },
  "fromNamespace(frontend) matches the frontend busybox: no finding": {
    docs: [cnpDoc({ endpointSelector: app("backend-app"), ingress: [{ fromEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "frontend" } }] }] }, "n", "backend")],
    ctx: { workloads },
    want: [],
  },
  "matchExpressions NotIn matching a pod: no finding": { docs: [ing({ fromEndpoints: [{ matchExpressions: [{ key: "app", operator: "NotIn", values: ["test-app"] }] }] })], ctx: { workloads }, want: [] },
  "matchExpressions DoesNotExist matching nothing": {
    docs: [ing({ fromEndpoints: [{ matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }] })],
    ctx: { workloads },
    want: [["warning", "selector-matches-nothing", "spec.ingress[0].fromEndpoints[0]", 'selector {"matchExpressions":[{"key":"app","operator":"DoesNotExist"}]} matches no declared workload in namespace "default"']],
  },
  "CCNP selector over all namespaces: no finding": { docs: [ccnpDoc({ endpointSelector: app("backend-app"), ingress: [{}] })], ctx: { workloads }, want: [] },
  "namespace label selector through namespace labels: no finding": {
    docs: [ccnpDoc({ endpointSelector: { matchLabels: { "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": "test" } }, ingress: [{}] })],
    ctx: { workloads },
    want: [],
  },
  "allowDns() matches the declared kube-dns: no finding": { docs: [egrDns()], ctx: { workloads }, want: [] },
  "reserved: selectors are skipped: no finding": { docs: [ing({ fromEndpoints: [{ matchLabels: { "reserved:host": "" } }] })], ctx: { workloads }, want: [] },
  "selectors are not checked without workloads: no finding": { docs: [cnpDoc({ endpointSelector: app("nope"), ingress: [{}] })], want: [] },

  // ---- schema issues come through as findings
  "port above 65535": {
    docs: [ing({ toPorts: [{ ports: [{ port: "99999", protocol: "TCP" }] }] })],
    want: [["error", "port-range", "spec.ingress[0].toPorts[0].ports[0].port", 'port "99999" is above 65535']],
  },
  "unknown field": { docs: [ing({ fromPorts: [] })], want: [["error", "schema", "spec.ingress[0]", 'unknown field "fromPorts"; did you mean "toPorts"?']] },
  "wrong kind": {
    docs: [{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "x" }, spec: {} }],
    want: [["error", "schema", "kind", `Invalid discriminator value. Expected 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy', got "NetworkPolicy"`]],
  },
  "bad enum value quoted": {
    docs: [ing({ fromEntities: ["cluster-wide"] })],
    want: [["error", "schema", "spec.ingress[0].fromEntities[0]", 'Invalid option: expected one of "all"|"world"|"cluster"|"host"|"init"|"ingress"|"unmanaged"|"remote-node"|"health"|"none"|"kube-apiserver", got "cluster-wide"']],
  },
  "the walk-through's namespace-isolation, whole": {
    docs: [cnpDoc({ endpointSelector: app("backend-app"), ingress: [{ fromEntities: ["cluster"] }, { fromEndpoints: [{ matchLabels: { namespace: "frontend" } }] }] }, "namespace-isolation", "backend")],
    ctx: { workloads },
    want: [
      ["error", "namespace-label", "spec.ingress[1].fromEndpoints[0].matchLabels.namespace", 'selector label "namespace: frontend" is a pod label no pod carries; it does not select the namespace "frontend"'],
      ["error", "entities-widen", "spec.ingress[0].fromEntities[0]", 'fromEntities "cluster" admits every endpoint of the cluster (all namespaces, hosts, remote nodes) into a policy scoped to namespace "backend"'],
      ["warning", "selector-matches-nothing", "spec.ingress[1].fromEndpoints[0]", 'selector {"matchLabels":{"namespace":"frontend"}} matches no declared workload in namespace "backend"'],
    ],
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(name, () => assert.deepEqual(run(c.docs, c.ctx), c.want));
}

test("findings name the policy, its namespace and carry a fix", () => {
  const [f] = checkPolicies([ing()]);
  assert.deepEqual(f, {
    id: "empty-rule-list",
    severity: "error",
    policy: "p",
    namespace: "default",
    path: "spec.ingress",
    message: "ingress is an empty list: the policy does not apply at ingress and denies nothing",
    fix: "to deny all ingress write ingress: [{}] (defaultDeny({ ingress: true })); otherwise remove ingress",
  });
});

test("findings of a manifest carry its source when sources are given", () => {
  const fs = checkPolicies([ing({}), ing()], { sources: [{ file: "a.yaml", document: 0 }, { file: "b.yaml", document: 2 }] });
  assert.deepEqual(fs.map((f) => [f.id, f.source, f.message]), [
    ["empty-rule-list", { file: "b.yaml", document: 2 }, "ingress is an empty list: the policy does not apply at ingress and denies nothing"],
    ["duplicate-name", { file: "b.yaml", document: 2 }, "CiliumNetworkPolicy default/p is defined twice (first in a.yaml document 0); the second silently replaces the first"],
  ]);
});

test("the committed policies/ set passes with no errors and no warnings", () => {
  const fs = checkPolicies(policies, { workloads, l7ProxyEnabled: true, podCidr: "10.97.0.0/16", serviceCidr: "10.96.0.0/12" });
  assert.deepEqual(fs, []);
  assert.equal(hasErrors(fs), false);
});

test("hasErrors is true when an error is present and false for warnings only", () => {
  assert.equal(hasErrors(checkPolicies([ing()])), true);
  assert.equal(hasErrors(checkPolicies([ing({ fromEntities: ["world"] })])), false);
});

test("there are at least 60 cases", () => assert.ok(Object.keys(cases).length >= 60, String(Object.keys(cases).length)));

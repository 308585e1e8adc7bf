/**
 * lib/policy/model/schema.ts against the real CRD schema of the pinned release (ajv, see crd-ajv.ts): every valid fixture passes
 * both; every invalid one is refused by zod with an exact message, and the test states whether the
 * CRD can tell. Generated policies: policy-schema-generated.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PolicyManifest } from "../../lib/policy/model/schema";
import { policies } from "../fixtures/policies/index";
import { allowDns, cnp, ccnp, fromNamespace, tcp, udp, http } from "../../lib/policy/model/helpers";
import { crdAccepts } from "./crd-ajv";
import { meta, doc, sel, ing, egr, zodIssues } from "../fixtures/policy-docs";

// ------------------------------------------------------------------------------------------ valid

const valid: Record<string, unknown> = {
  "walk-through allow-test-app": doc({ endpointSelector: sel, ingress: [{ fromEndpoints: [{ matchLabels: { app: "busybox" } }] }] }),
  "walk-through deny-all (valid, denies nothing: the lint says so)": doc({ endpointSelector: sel, ingress: [] }),
  "egress with DNS proxy and FQDNs": doc({
    endpointSelector: sel,
    egress: [allowDns(), { toFQDNs: [{ matchName: "api.example.com" }, { matchPattern: "*.example.org" }], toPorts: [{ ports: [tcp(443)] }] }],
  }),
  "CIDR sets, ICMP, services, entities": doc({
    endpointSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["a", "b"] }, { key: "k8s:tier", operator: "Exists" }] },
    ingress: [
      { fromCIDRSet: [{ cidr: "10.0.0.0/8", except: ["10.96.0.0/12"] }] },
      { fromCIDR: ["192.168.0.0/16", "2001:db8::/32"] },
      { fromEntities: ["host", "remote-node"], fromRequires: [] },
      { icmps: [{ fields: [{ type: 8, family: "IPv4" }, { type: "EchoRequest", family: "IPv6" }] }] },
      { fromEndpoints: [fromNamespace("frontend")], toPorts: [{ ports: [{ port: "8000", endPort: 8080, protocol: "TCP" }, { port: "http" }] }], authentication: { mode: "required" } },
    ],
    egress: [
      { toServices: [{ k8sService: { serviceName: "db", namespace: "data" } }] },
      { toCIDRSet: [{ cidrGroupRef: "office-ranges" }], toPorts: [{ ports: [udp(123)] }] },
      { toEndpoints: [{ matchLabels: { app: "kafka" } }], toPorts: [{ ports: [tcp(9092)] }] },
      { toEntities: ["world"], toPorts: [{ ports: [tcp(443)], terminatingTLS: { secret: { name: "t" } }, originatingTLS: { secret: { name: "o", namespace: "x" } }, serverNames: ["api.example.com"], rules: { http: [{ method: "GET", path: "/v1/.*", host: "api.example.com", headers: ["X-A: 1"], headerMatches: [{ name: "X-Token", secret: { name: "tok" }, mismatch: "REPLACE" }] }] } }] },
    ],
    ingressDeny: [{ fromEntities: ["world"], toPorts: [{ ports: [tcp(22)] }] }],
    egressDeny: [{ toCIDR: ["169.254.169.254/32"] }],
    enableDefaultDeny: { ingress: true, egress: false },
    labels: [{ key: "team", value: "net", source: "k8s" }],
    log: { value: "audit" },
    description: "everything at once",
  }),
  "specs list": { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: meta(), specs: [{ endpointSelector: sel, ingress: [{}] }, { endpointSelector: {}, egress: [allowDns()] }] },
  "clusterwide host policy": { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "host-ssh" }, spec: { nodeSelector: { matchLabels: { "node-role.kubernetes.io/control-plane": "" } }, ingress: [{ fromEntities: ["cluster"], toPorts: [{ ports: [tcp(22)] }] }] } },
  "helpers: cnp": cnp("h", "default", { endpointSelector: sel, egress: [allowDns()], ingress: [{ toPorts: [{ ports: [tcp(80)], rules: { http: [http.get("/api"), http.post("/submit")] } }] }] }),
  "helpers: ccnp": ccnp("dns-everywhere", { endpointSelector: {}, egress: [allowDns()] }),
};
policies.forEach((p) => (valid[`committed ${p.metadata.namespace}/${p.metadata.name}`] = p));

for (const [name, d] of Object.entries(valid)) {
  test(`valid: ${name}: zod and the CRD accept it`, () => {
    assert.deepEqual(zodIssues(d), []);
    const parsed = PolicyManifest.parse(d);
    assert.equal(crdAccepts(parsed), true, "CRD refuses zod's output");
    assert.equal(crdAccepts(d as { kind: string }), true, "CRD refuses the input");
  });
}

// ---------------------------------------------------------------------------------------- invalid

interface Invalid {
  doc: unknown;
  zod: string[];
  /** true: the CRD refuses it too; false: the CRD lets it through and only Cilium (or zod) refuses it. */
  crdRefuses: boolean;
}

const invalid: Record<string, Invalid> = {
  "port above 65535 as a string (the CRD pattern is only anchored at one end)": {
    doc: ing({ toPorts: [{ ports: [{ port: "99999", protocol: "TCP" }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].port: port "99999" is above 65535'],
    crdRefuses: false,
  },
  "port as a number above 65535": {
    doc: ing({ toPorts: [{ ports: [{ port: 70000, protocol: "TCP" }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].port: port "70000" is above 65535'],
    crdRefuses: true,
  },
  "port with a leading zero": {
    doc: ing({ toPorts: [{ ports: [{ port: "080", protocol: "TCP" }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].port: port "080" has a leading zero (Cilium parses it as octal)'],
    crdRefuses: false,
  },
  "port name too long": {
    doc: ing({ toPorts: [{ ports: [{ port: "a-very-long-port-name" }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].port: port "a-very-long-port-name" is neither a number 0-65535 nor an IANA port name (1-15 letters, digits, single inner "-", at least one letter)'],
    crdRefuses: false,
  },
  "endPort below port": {
    doc: ing({ toPorts: [{ ports: [{ port: "8080", endPort: 8000, protocol: "TCP" }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].endPort: endPort 8000 is below port "8080"'],
    crdRefuses: false,
  },
  "endPort on a named port": {
    doc: ing({ toPorts: [{ ports: [{ port: "http", endPort: 90 }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].endPort: endPort 90 is set on the named port "http"'],
    crdRefuses: false,
  },
  "HTTP rules on a UDP port": {
    doc: ing({ toPorts: [{ ports: [{ port: "80", protocol: "UDP" }], rules: { http: [{ method: "GET" }] } }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules only apply to TCP, but port "80" has protocol "UDP"'],
    crdRefuses: false,
  },
  "HTTP rules on a port without protocol (ANY)": {
    doc: ing({ toPorts: [{ ports: [{ port: "80" }], rules: { http: [{ method: "GET" }] } }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules only apply to TCP, but port "80" has protocol "ANY" (the default)'],
    crdRefuses: false,
  },
  "L7 rules on port 0": {
    doc: ing({ toPorts: [{ ports: [{ port: "0", protocol: "TCP" }], rules: { http: [{}] } }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].port: L7 rules cannot apply to port "0" (every port)'],
    crdRefuses: false,
  },
  "DNS rules on ingress": {
    doc: ing({ toPorts: [{ ports: [udp(53)], rules: { dns: [{ matchPattern: "*" }] } }] }),
    zod: ["spec.ingress[0].toPorts[0].rules.dns: DNS rules are not allowed on ingress; Cilium only proxies DNS on egress"],
    crdRefuses: false,
  },
  "DNS rules without a port": {
    doc: egr({ toPorts: [{ rules: { dns: [{ matchPattern: "*" }] } }] }),
    zod: ["spec.egress[0].toPorts[0].ports: DNS rules need the DNS port listed"],
    crdRefuses: false,
  },
  "DNS rules on a port range": {
    doc: egr({ toPorts: [{ ports: [{ port: "53", endPort: 54, protocol: "UDP" }], rules: { dns: [{ matchPattern: "*" }] } }] }),
    zod: ['spec.egress[0].toPorts[0].ports[0].endPort: DNS rules do not support port ranges (port "53", endPort 54)'],
    crdRefuses: false,
  },
  "two L7 protocols in one rules block": {
    doc: egr({ toPorts: [{ ports: [tcp(53)], rules: { http: [{}], dns: [{ matchName: "a.b" }] } }] }),
    zod: ["spec.egress[0].toPorts[0].rules: rules needs exactly one of http, dns; got http, dns"],
    crdRefuses: true,
  },
  "an empty rules block": {
    doc: egr({ toPorts: [{ ports: [tcp(80)], rules: {} }] }),
    zod: ["spec.egress[0].toPorts[0].rules: rules needs exactly one of http, dns; got none"],
    crdRefuses: true,
  },
  // Fields the 1.18 CRD had that the pinned 1.20 CRD does not: each refused by name, and by the CRD.
  "Kafka rules (removed in Cilium 1.20)": {
    doc: egr({ toEndpoints: [{}], toPorts: [{ ports: [tcp(9092)], rules: { kafka: [{ role: "produce", topic: "events" }] } }] }),
    zod: ["spec.egress[0].toPorts[0].rules.kafka: rules.kafka was removed in Cilium 1.20 (with the Kafka and Envoy Go extension parsers); its CRD has no such field"],
    crdRefuses: true,
  },
  "l7proto and l7 rules (removed in Cilium 1.20)": {
    doc: egr({ toEndpoints: [{}], toPorts: [{ ports: [tcp(6379)], rules: { l7proto: "r2d2", l7: [{ cmd: "READ" }] } }] }),
    zod: [
      "spec.egress[0].toPorts[0].rules.l7proto: rules.l7proto was removed in Cilium 1.20 (with the Kafka and Envoy Go extension parsers); its CRD has no such field",
      "spec.egress[0].toPorts[0].rules.l7: rules.l7 was removed in Cilium 1.20 (with the Kafka and Envoy Go extension parsers); its CRD has no such field",
    ],
    crdRefuses: true,
  },
  "fromRequires (removed in Cilium 1.19)": {
    doc: ing({ fromEndpoints: [{ matchLabels: { role: "frontend" } }], fromRequires: [{ matchLabels: { env: "prod" } }] }),
    zod: ["spec.ingress[0].fromRequires: fromRequires was removed in Cilium 1.19; the 1.20 CRD takes only an empty list"],
    crdRefuses: true,
  },
  "toRequires in a deny rule (removed in Cilium 1.19)": {
    doc: doc({ endpointSelector: sel, egressDeny: [{ toRequires: [{ matchLabels: { env: "prod" } }] }] }),
    zod: ["spec.egressDeny[0].toRequires: toRequires was removed in Cilium 1.19; the 1.20 CRD takes only an empty list"],
    crdRefuses: true,
  },
  // What the 1.20 CRD newly lets through, and microseg does not.
  "an extended IP protocol (GRE)": {
    doc: ing({ toPorts: [{ ports: [{ port: "0", protocol: "GRE" }] }] }),
    zod: ["spec.ingress[0].toPorts[0].ports[0].protocol: protocol \"GRE\" (an extended IP protocol of Cilium 1.20) needs the agent's enable-extended-ip-protocols, which microseg does not set (nor does the verdict engine model it); the protocols here are TCP, UDP, SCTP, ANY"],
    crdRefuses: false,
  },
  "a port entry without port": {
    doc: ing({ toPorts: [{ ports: [{ protocol: "TCP" }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].port: port is missing; Cilium refuses a port entry without one ("port must be specified")'],
    crdRefuses: false,
  },
  "the cluster-mesh entity": {
    doc: ing({ fromEntities: ["cluster-mesh"] }),
    zod: ['spec.ingress[0].fromEntities[0]: entity "cluster-mesh" (Cilium 1.20: every endpoint of a ClusterMesh) is not supported here: microseg manages one cluster, where "cluster" is what it selects, and Cilium before 1.20 refuses it'],
    crdRefuses: false,
  },
  "fromEndpoints and fromCIDR in one rule": {
    doc: ing({ fromEndpoints: [{}], fromCIDR: ["10.0.0.0/8"] }),
    zod: ['spec.ingress[0].fromCIDR: fromEndpoints and fromCIDR are combined in one rule; Cilium refuses it ("Combining fromEndpoints and fromCIDR is not supported")'],
    crdRefuses: false,
  },
  "toFQDNs and toEndpoints in one rule": {
    doc: egr({ toEndpoints: [{}], toFQDNs: [{ matchName: "a.b" }] }),
    zod: ['spec.egress[0].toFQDNs: toEndpoints and toFQDNs are combined in one rule; Cilium refuses it ("Combining toEndpoints and toFQDNs is not supported")'],
    crdRefuses: false,
  },
  "toServices with toPorts": {
    doc: egr({ toServices: [{ k8sService: { serviceName: "db" } }], toPorts: [{ ports: [tcp(5432)] }] }),
    zod: ["spec.egress[0].toPorts: toServices and toPorts are combined in one rule; Cilium refuses it"],
    crdRefuses: false,
  },
  "icmps with toPorts": {
    doc: ing({ icmps: [{ fields: [{ type: 8 }] }], toPorts: [{ ports: [tcp(80)] }] }),
    zod: ["spec.ingress[0].icmps: icmps and toPorts are in the same rule; Cilium refuses it"],
    crdRefuses: false,
  },
  "unknown entity": {
    doc: ing({ fromEntities: ["everything"] }),
    zod: ['spec.ingress[0].fromEntities[0]: Invalid option: expected one of "all"|"world"|"cluster"|"host"|"init"|"ingress"|"unmanaged"|"remote-node"|"health"|"none"|"kube-apiserver"'],
    crdRefuses: true,
  },
  "unknown field fromPorts": {
    doc: ing({ fromEndpoints: [{}], fromPorts: [] }),
    zod: ['spec.ingress[0]: unknown field "fromPorts"; did you mean "toPorts"?'],
    crdRefuses: true,
  },
  "lowercase protocol": {
    doc: ing({ toPorts: [{ ports: [{ port: "80", protocol: "tcp" }] }] }),
    zod: ['spec.ingress[0].toPorts[0].ports[0].protocol: Invalid option: expected one of "TCP"|"UDP"|"SCTP"|"ANY"'],
    crdRefuses: true,
  },
  "both endpointSelector and nodeSelector": {
    doc: { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "x" }, spec: { endpointSelector: {}, nodeSelector: {}, ingress: [{}] } },
    zod: ["spec.nodeSelector: endpointSelector and nodeSelector are mutually exclusive"],
    crdRefuses: true,
  },
  "no selector": {
    doc: doc({ ingress: [{}] }),
    zod: ["spec: the spec has neither endpointSelector nor nodeSelector"],
    crdRefuses: true,
  },
  "no rule list": {
    doc: doc({ endpointSelector: sel, enableDefaultDeny: { ingress: true } }),
    zod: ["spec: the spec has none of ingress, ingressDeny, egress, egressDeny (the CRD requires one)"],
    crdRefuses: true,
  },
  "invalid label value": {
    doc: doc({ endpointSelector: { matchLabels: { app: "test app" } }, ingress: [{}] }),
    zod: ['spec.endpointSelector.matchLabels.app: label value "test app" is not a valid label value (at most 63 characters: letters, digits, "-", "_", "." , starting and ending alphanumeric)'],
    crdRefuses: true,
  },
  "invalid label key": {
    doc: doc({ endpointSelector: { matchLabels: { "k8s:my app": "x" } }, ingress: [{}] }),
    zod: ['spec.endpointSelector.matchLabels.k8s:my app: selector key "k8s:my app" is invalid: its name "my app" is not a qualified name (1-63 letters, digits, "-", "_", ".", starting and ending alphanumeric)'],
    crdRefuses: false,
  },
  "In without values": {
    doc: doc({ endpointSelector: { matchExpressions: [{ key: "app", operator: "In" }] }, ingress: [{}] }),
    zod: ['spec.endpointSelector.matchExpressions[0].values: operator "In" on key "app" needs at least one value'],
    crdRefuses: false,
  },
  "Exists with values": {
    doc: doc({ endpointSelector: { matchExpressions: [{ key: "app", operator: "Exists", values: ["x"] }] }, ingress: [{}] }),
    zod: ['spec.endpointSelector.matchExpressions[0].values: operator "Exists" on key "app" takes no values, got ["x"]'],
    crdRefuses: false,
  },
  "address without prefix": {
    doc: ing({ fromCIDR: ["10.0.0.1"] }),
    zod: ['spec.ingress[0].fromCIDR[0]: "10.0.0.1" is not a CIDR (address/prefix-length)'],
    crdRefuses: true,
  },
  "except outside its cidr": {
    doc: ing({ fromCIDRSet: [{ cidr: "10.0.0.0/16", except: ["10.1.0.0/24"] }] }),
    zod: ['spec.ingress[0].fromCIDRSet[0].except[0]: except "10.1.0.0/24" is not inside cidr "10.0.0.0/16"; Cilium refuses the rule'],
    crdRefuses: false,
  },
  "CIDR set entry with two sources": {
    doc: ing({ fromCIDRSet: [{ cidr: "10.0.0.0/16", cidrGroupRef: "g" }] }),
    zod: ["spec.ingress[0].fromCIDRSet[0]: a CIDR set entry needs exactly one of cidr, cidrGroupRef, cidrGroupSelector; got cidr, cidrGroupRef"],
    crdRefuses: true,
  },
  "FQDN selector with both fields": {
    doc: egr({ toFQDNs: [{ matchName: "a.b", matchPattern: "*.b" }] }),
    zod: ["spec.egress[0].toFQDNs[0]: a name selector needs exactly one of matchName, matchPattern; got both"],
    crdRefuses: true,
  },
  "listener on ingress": {
    doc: ing({ toPorts: [{ ports: [tcp(80)], listener: { name: "l", envoyConfig: { name: "cec" } } }] }),
    zod: ['spec.ingress[0].toPorts[0].listener: listener "l" is not allowed on ingress'],
    crdRefuses: false,
  },
  "duplicate serverNames": {
    doc: egr({ toPorts: [{ ports: [tcp(443)], serverNames: ["a.com", "a.com"] }] }),
    zod: ['spec.egress[0].toPorts[0].serverNames: serverNames lists a name twice: ["a.com","a.com"]'],
    crdRefuses: true,
  },
  "serverNames with L7 rules, no TLS termination": {
    doc: egr({ toPorts: [{ ports: [tcp(443)], serverNames: ["a.com"], rules: { http: [{}] } }] }),
    zod: ["spec.egress[0].toPorts[0].serverNames: serverNames with L7 rules need terminatingTLS"],
    crdRefuses: false,
  },
  "CNP without namespace": {
    doc: { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: "p" }, spec: { endpointSelector: sel, ingress: [{}] } },
    zod: ['metadata.namespace: CiliumNetworkPolicy "p" has no metadata.namespace'],
    crdRefuses: false,
  },
  "CCNP with a namespace": {
    doc: { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "p", namespace: "default" }, spec: { endpointSelector: sel, ingress: [{}] } },
    zod: ['metadata.namespace: CiliumClusterwideNetworkPolicy "p" is cluster-scoped but has metadata.namespace "default"'],
    crdRefuses: false,
  },
  "nodeSelector in a CNP": {
    doc: doc({ nodeSelector: {}, ingress: [{}] }),
    zod: ["spec.nodeSelector: nodeSelector can only be used in a CiliumClusterwideNetworkPolicy"],
    crdRefuses: false,
  },
  "L7 in a host policy": {
    doc: { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "h" }, spec: { nodeSelector: {}, ingress: [{ toPorts: [{ ports: [tcp(80)], rules: { http: [{}] } }] }] } },
    zod: ["spec.ingress[0].toPorts[0].rules: host policies (nodeSelector) do not support L7 rules"],
    crdRefuses: false,
  },
  "wrong apiVersion": {
    doc: { ...doc({ endpointSelector: sel, ingress: [{}] }), apiVersion: "cilium.io/v1" },
    zod: ['apiVersion: Invalid input: expected "cilium.io/v2"'],
    crdRefuses: false,
  },
  "neither spec nor specs (the 1.20 CRD's CEL rule refuses it too)": {
    doc: { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: meta() },
    zod: ['<root>: CiliumNetworkPolicy "p" has no spec and no specs'],
    crdRefuses: true,
  },
  "bad policy name": {
    doc: { ...doc({ endpointSelector: sel, ingress: [{}] }), metadata: { name: "Allow_Test", namespace: "default" } },
    zod: ['metadata.name: name "Allow_Test" is not a DNS subdomain (lowercase letters, digits, "-", ".")'],
    crdRefuses: false,
  },
};

for (const [name, c] of Object.entries(invalid)) {
  test(`invalid: ${name}: zod refuses it; the CRD ${c.crdRefuses ? "refuses it too" : "lets it through"}`, () => {
    assert.deepEqual(zodIssues(c.doc).map((s) => (s.startsWith(": ") ? `<root>${s}` : s)), c.zod);
    assert.equal(crdAccepts(c.doc as { kind: string }), !c.crdRefuses);
  });
}

test("refinement issues carry an id and a fix", () => {
  const r = PolicyManifest.safeParse(invalid["endPort below port"]!.doc);
  assert.equal(r.success, false);
  assert.deepEqual((r.error!.issues[0] as { params?: unknown }).params, { id: "port-range", fix: "set endPort to at least 8080, or swap the two" });
});

test("cnp() throws one error listing every problem", () => {
  assert.throws(
    () => cnp("bad", "default", { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: "70000", protocol: "UDP" }], rules: { http: [{}] } }] }] }),
    {
      message:
        "CiliumNetworkPolicy default/bad is invalid:\n" +
        '  spec.ingress[0].toPorts[0].ports[0].port: port "70000" is above 65535. use a port number 0-65535 (0 means every port), or endPort for a range',
    },
  );
});

// lib/policy/verdicts.ts against Cilium's documented examples. Every expected verdict is written from the
// documentation page named in the describe() title (docs.cilium.io/en/stable/security/policy/<page>/, the
// examples under cilium/cilium examples/policies/), never from the engine's output. Differences from the
// published YAML (a namespace added because a CiliumNetworkPolicy needs one here; operator case) are noted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parse } from "yaml";
import { PolicyManifest } from "../../lib/policy/model/schema";
import { Workloads } from "../../lib/policy/model/workloads-schema";
import { buildVerdictEngine, httpAllowed, type EngineOptions, type FlowProtocol, type FlowVerdict } from "../../lib/policy/verdicts";

/** Policies from YAML as the docs print them; a CNP without a namespace lands in "default", as kubectl would put it. */
function policies(...docs: string[]): PolicyManifest[] {
  return docs.flatMap((text) =>
    text.split(/^---$/m).map((d) => {
      const raw = parse(d) as { kind: string; metadata: { namespace?: string } };
      if (raw.kind === "CiliumNetworkPolicy" && raw.metadata.namespace === undefined) raw.metadata.namespace = "default";
      return PolicyManifest.parse(raw);
    }),
  );
}

/** Pods as "ns/name", labels, and served ports ("80/TCP"). */
type Pod = [id: string, labels: Record<string, string>, ports?: string[]];

function cluster(pods: Pod[], nsLabels: Record<string, Record<string, string>> = {}): Workloads {
  const names = [...new Set(["default", ...pods.map(([id]) => id.split("/")[0]!), ...Object.keys(nsLabels)])];
  return Workloads.parse({
    namespaces: names.map((n) => ({ name: n, labels: { "kubernetes.io/metadata.name": n, ...(nsLabels[n] ?? {}) } })),
    workloads: pods.map(([id, labels, ports = ["80/TCP"]]) => ({
      namespace: id.split("/")[0],
      name: id.split("/")[1],
      labels,
      serves: ports.map((p) => ({ port: p.split("/")[0], protocol: p.split("/")[1] })),
    })),
  });
}

function engine(ps: PolicyManifest[], pods: Pod[], opts: EngineOptions = {}, nsLabels: Record<string, Record<string, string>> = {}) {
  const e = buildVerdictEngine(ps, cluster(pods, nsLabels), opts);
  return (from: string, to: string, port: number | string = 80, protocol: FlowProtocol = "TCP"): FlowVerdict => e.verdict({ from, to, port, protocol });
}

/** verdict + deciding policies, the two things the docs let us state. */
const vp = (v: FlowVerdict) => [v.verdict, [...v.policies]];

describe("layer3.rst: endpoints based", () => {
  const L3 = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l3-rule"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
`;
  const pods: Pod[] = [["default/frontend", { role: "frontend" }], ["default/backend", { role: "backend" }], ["default/other", { role: "other" }]];
  const v = engine(policies(L3), pods);

  it("Simple Ingress Allow: role=frontend may reach role=backend", () => {
    assert.deepEqual(vp(v("default/frontend", "default/backend")), ["allowed", ["default/l3-rule"]]);
  });
  it("Simple Ingress Allow: any other source is dropped by backend's ingress default deny (Ingress/Egress Default Deny)", () => {
    const r = v("default/other", "default/backend");
    assert.deepEqual(vp(r), ["denied-default", ["default/l3-rule"]]);
    assert.equal(r.summary, "denied-default (default deny at ingress of default/backend from default/l3-rule)");
  });
  it("Simple Ingress Allow: the policy has no egress section, so backend's egress stays open (per-direction)", () => {
    assert.deepEqual(vp(v("default/backend", "default/frontend")), ["allowed", []]);
    assert.equal(v("default/backend", "default/frontend").summary, "allowed (no policy applies)");
  });
  it("Simple Ingress Allow: `any:` and `k8s:` key sources select the same pod labels", () => {
    const any = engine(policies(L3.replace("role: frontend", "any:role: frontend")), pods);
    const k8s = engine(policies(L3.replace("role: frontend", "k8s:role: frontend")), pods);
    const reserved = engine(policies(L3.replace("role: frontend", "reserved:role: frontend")), pods);
    assert.equal(any("default/frontend", "default/backend").verdict, "allowed");
    assert.equal(k8s("default/frontend", "default/backend").verdict, "allowed");
    assert.equal(reserved("default/frontend", "default/backend").verdict, "denied-default");
  });

  const ALLOW_ALL = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "allow-all-to-victim"
spec:
  endpointSelector:
    matchLabels:
      role: victim
  ingress:
  - fromEndpoints:
    - {}
`;
  const DENY_EGRESS = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "deny-all-egress"
spec:
  endpointSelector:
    matchLabels:
      role: restricted
  egress:
  - {}
`;
  const victims: Pod[] = [["default/victim", { role: "victim" }], ["default/any", { app: "x" }], ["other/any", { app: "x" }], ["default/restricted", { role: "restricted" }]];

  it("Ingress Allow All Endpoints: an empty selector admits every endpoint of the policy's namespace", () => {
    assert.deepEqual(vp(engine(policies(ALLOW_ALL), victims)("default/any", "default/victim")), ["allowed", ["default/allow-all-to-victim"]]);
  });
  it("Ingress Allow All Endpoints: in a CiliumNetworkPolicy the empty selector is limited to its namespace (Egress Allow All Endpoints, 'based on the CiliumNetworkPolicy namespace')", () => {
    assert.deepEqual(vp(engine(policies(ALLOW_ALL), victims)("other/any", "default/victim")), ["denied-default", ["default/allow-all-to-victim"]]);
  });
  it("Ingress Allow All Endpoints: 'policy must be configured on both sides' — a sender in egress default deny still cannot send", () => {
    const r = engine(policies(ALLOW_ALL, DENY_EGRESS), victims)("default/restricted", "default/victim");
    assert.deepEqual(vp(r), ["denied-default", ["default/deny-all-egress"]]);
    assert.equal(r.egress?.verdict, "denied-default");
    assert.equal(r.ingress?.verdict, "allowed");
  });
  it("Ingress/Egress Default Deny: `egress: [{}]` puts role=restricted in egress default deny without allowing anything", () => {
    const v2 = engine(policies(DENY_EGRESS), victims);
    assert.deepEqual(vp(v2("default/restricted", "default/any")), ["denied-default", ["default/deny-all-egress"]]);
    assert.deepEqual(vp(v2("default/restricted", "world", 443)), ["denied-default", ["default/deny-all-egress"]]);
    assert.deepEqual(vp(v2("default/any", "default/restricted")), ["allowed", []], "its ingress is untouched");
  });

  const EGRESS = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l3-egress-rule"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEndpoints:
    - matchLabels:
        role: backend
`;
  it("Simple Egress Allow: role=frontend may send to role=backend and to nothing else", () => {
    const v2 = engine(policies(EGRESS), pods);
    assert.deepEqual(vp(v2("default/frontend", "default/backend")), ["allowed", ["default/l3-egress-rule"]]);
    assert.deepEqual(vp(v2("default/frontend", "default/other")), ["denied-default", ["default/l3-egress-rule"]]);
    assert.deepEqual(vp(v2("default/frontend", "world", 443)), ["denied-default", ["default/l3-egress-rule"]]);
  });

  const EGRESS_ALL = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "allow-all-from-frontend"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEndpoints:
    - {}
`;
  it("Egress Allow All Endpoints: all egress to endpoints of the same namespace, not to other namespaces", () => {
    const v2 = engine(policies(EGRESS_ALL), [...pods, ["other/pod", { role: "backend" }]]);
    assert.equal(v2("default/frontend", "default/other").verdict, "allowed");
    assert.deepEqual(vp(v2("default/frontend", "other/pod")), ["denied-default", ["default/allow-all-from-frontend"]]);
  });

  const EGRESS_DENY = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "deny-egress-example"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEntities:
    - all
  egressDeny:
  - toEndpoints:
    - matchLabels:
        role: backend
`;
  it("Simple Egress Deny: the egressDeny rule wins over `toEntities: all`", () => {
    const v2 = engine(policies(EGRESS_DENY), pods);
    const r = v2("default/frontend", "default/backend");
    assert.deepEqual(vp(r), ["denied-rule", ["default/deny-egress-example"]]);
    assert.equal(r.summary, "denied-rule (deny rule at egress of default/frontend from default/deny-egress-example)");
  });
  it("Simple Egress Deny: everything else stays allowed by `toEntities: all` ('whitelists all communication', Entities based)", () => {
    const v2 = engine(policies(EGRESS_DENY), pods);
    assert.deepEqual(vp(v2("default/frontend", "default/other")), ["allowed", ["default/deny-egress-example"]]);
    assert.deepEqual(vp(v2("default/frontend", "world", 443)), ["allowed", ["default/deny-egress-example"]]);
    assert.deepEqual(vp(v2("default/frontend", "host", 10250)), ["allowed", ["default/deny-egress-example"]]);
  });

  // The docs' "Additional Label Requirements" example (fromRequires) is gone: removed in Cilium 1.19, refused by the
  // schema (lib/policy/model/schema.ts) before any policy reaches the engine.
  it("Additional Label Requirements: fromRequires was removed in Cilium 1.19, and is refused before the engine sees it", () => {
    const r = PolicyManifest.safeParse(parse(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "requires-rule"
  namespace: default
specs:
  - endpointSelector:
      matchLabels:
        env: prod
    ingress:
    - fromRequires:
      - matchLabels:
          env: prod
`));
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues.map((i) => [i.path.join("."), i.message]), [["specs.0.ingress.0.fromRequires", "fromRequires was removed in Cilium 1.19; the 1.20 CRD takes only an empty list"]]);
  });

  it("match-expressions and-statement: both requirements of one selector must hold", () => {
    const AND = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "and-statement-policy"
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints:
    - matchExpressions:
      - key: "k8s:io.kubernetes.pod.namespace"
        operator: "In"
        values:
        - "production"
      - key: "k8s:cilium.example.com/policy"
        operator: "In"
        values:
        - "strict"
`; // published with operator "in"; the CRD schema takes "In"
    const v2 = engine(policies(AND), [["default/target", {}], ["production/strict", { "cilium.example.com/policy": "strict" }], ["production/loose", {}]]);
    assert.equal(v2("production/strict", "default/target").verdict, "allowed");
    assert.equal(v2("production/loose", "default/target").verdict, "denied-default");
  });
  it("match-expressions or-statement: either selector of the list admits the source", () => {
    const OR = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "or-statement-policy"
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints:
    - matchExpressions:
      - key: "k8s:io.kubernetes.pod.namespace"
        operator: "In"
        values:
        - "production"
    - matchExpressions:
      - key: "k8s:cilium.example.com/policy"
        operator: "In"
        values:
        - "strict"
`; // published with key "k8s.io.kubernetes.pod.namespace" (a typo for "k8s:") and operator "in"
    const v2 = engine(policies(OR), [["default/target", {}], ["production/any", {}], ["default/strict", { "cilium.example.com/policy": "strict" }], ["default/loose", {}], ["staging/strict", { "cilium.example.com/policy": "strict" }]]);
    assert.equal(v2("production/any", "default/target").verdict, "allowed");
    assert.equal(v2("default/strict", "default/target").verdict, "allowed");
    assert.equal(v2("default/loose", "default/target").verdict, "denied-default");
    assert.equal(v2("staging/strict", "default/target").verdict, "denied-default", "the second selector has no namespace key, so the CNP's namespace applies");
  });
});

describe("layer3.rst: entities based", () => {
  const pods: Pod[] = [["default/dev", { env: "dev" }], ["default/public", { role: "public" }], ["other/pod", { app: "x" }]];
  const egressTo = (name: string, entity: string) => `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "${name}"
spec:
  endpointSelector:
    matchLabels:
      env: dev
  egress:
    - toEntities:
      - ${entity}
`;
  it("Access to/from kube-apiserver: env=dev may reach the kube-apiserver, and nothing else at egress", () => {
    const v = engine(policies(egressTo("dev-to-kube-apiserver", "kube-apiserver")), pods);
    assert.deepEqual(vp(v("default/dev", "kube-apiserver", 6443)), ["allowed", ["default/dev-to-kube-apiserver"]]);
    assert.equal(v("default/dev", "world", 443).verdict, "denied-default");
    assert.equal(v("default/dev", "host", 443).verdict, "denied-default");
  });
  it("Access to/from local host: env=dev may reach its host, not the other nodes", () => {
    const v = engine(policies(egressTo("dev-to-host", "host")), pods);
    assert.deepEqual(vp(v("default/dev", "host", 10250)), ["allowed", ["default/dev-to-host"]]);
    assert.equal(v("default/dev", "remote-node", 10250).verdict, "denied-default");
  });
  it("Access to/from all nodes: host and remote-node may reach env=dev; world may not", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "to-dev-from-nodes-in-cluster"
spec:
  endpointSelector:
    matchLabels:
      env: dev
  ingress:
    - fromEntities:
      - host
      - remote-node
`), pods);
    assert.deepEqual(vp(v("remote-node", "default/dev")), ["allowed", ["default/to-dev-from-nodes-in-cluster"]]);
    assert.deepEqual(vp(v("world", "default/dev")), ["denied-default", ["default/to-dev-from-nodes-in-cluster"]]);
  });
  it("Access to/from local host: 'Kubernetes will automatically allow all communication from the local host' unless --allow-localhost=policy", () => {
    const only = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "only-world"
spec:
  endpointSelector:
    matchLabels:
      role: public
  ingress:
    - fromEntities:
      - world
`;
    assert.equal(engine(policies(only), pods)("host", "default/public").reason, "allow-localhost");
    assert.deepEqual(vp(engine(policies(only), pods, { allowLocalhost: "policy" })("host", "default/public")), ["denied-default", ["default/only-world"]]);
  });
  it("Access to/from outside cluster: world may reach role=public; pods of the cluster may not", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "from-world-to-role-public"
spec:
  endpointSelector:
    matchLabels:
      role: public
  ingress:
    - fromEntities:
      - world
`), pods, { externals: [{ name: "client", address: "198.51.100.7" }] });
    assert.deepEqual(vp(v("world", "default/public")), ["allowed", ["default/from-world-to-role-public"]]);
    assert.equal(v("external:client", "default/public").verdict, "allowed", "any address outside the cluster is world");
    assert.equal(v("other/pod", "default/public").verdict, "denied-default");
  });
  it("cluster entity: every pod of every namespace, host, remote-node, init and unmanaged — not world", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "from-cluster"
spec:
  endpointSelector:
    matchLabels:
      env: dev
  ingress:
    - fromEntities:
      - cluster
`), pods, { allowLocalhost: "policy" });
    for (const src of ["other/pod", "host", "remote-node", "init", "unmanaged", "health"]) assert.equal(v(src, "default/dev").verdict, "allowed", src);
    assert.deepEqual(vp(v("world", "default/dev")), ["denied-default", ["from-cluster"]]);
  });
  it("Deny Policies (deny.rst): external-lockdown denies world everywhere and leaves in-cluster traffic allowed", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "external-lockdown"
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities:
    - "world"
  ingress:
  - fromEntities:
    - "all"
`), pods, { externals: [{ name: "scanner", address: "203.0.113.9" }] });
    assert.deepEqual(vp(v("world", "default/public")), ["denied-rule", ["external-lockdown"]]);
    assert.deepEqual(vp(v("external:scanner", "other/pod")), ["denied-rule", ["external-lockdown"]]);
    assert.deepEqual(vp(v("other/pod", "default/public")), ["allowed", ["external-lockdown"]]);
    assert.deepEqual(vp(v("remote-node", "default/dev")), ["allowed", ["external-lockdown"]]);
  });
});

describe("layer3.rst: IP/CIDR based", () => {
  const CIDR = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "cidr-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
  - toCIDR:
    - 20.1.1.1/32
  - toCIDRSet:
    - cidr: 10.0.0.0/8
      except:
      - 10.96.0.0/12
`;
  const externals = [{ name: "ext", address: "20.1.1.1" }, { name: "ten", address: "10.1.2.3" }, { name: "svc", address: "10.96.0.10" }, { name: "dns", address: "8.8.8.8" }];
  const v = engine(policies(CIDR), [["default/my", { app: "myService" }], ["default/peer", { app: "peer" }]], { externals });
  it("Allow to external CIDR block: the external IP 20.1.1.1 and 10.0.0.0/8 are allowed", () => {
    assert.deepEqual(vp(v("default/my", "external:ext", 443)), ["allowed", ["default/cidr-rule"]]);
    assert.deepEqual(vp(v("default/my", "external:ten", 443)), ["allowed", ["default/cidr-rule"]]);
  });
  it("Allow to external CIDR block: 'but not CIDR prefix 10.96.0.0/12', nor any other address", () => {
    assert.deepEqual(vp(v("default/my", "external:svc", 443)), ["denied-default", ["default/cidr-rule"]]);
    assert.deepEqual(vp(v("default/my", "external:dns", 53, "UDP")), ["denied-default", ["default/cidr-rule"]]);
    assert.equal(v("default/my", "world", 443).verdict, "denied-default", "world as a whole is not inside these CIDRs");
  });
  it("'CIDR rules do not apply to traffic where both sides of the connection are managed by Cilium'", () => {
    assert.equal(v("default/my", "default/peer").verdict, "denied-default");
  });
});

describe("layer4.rst", () => {
  const pods: Pod[] = [["default/my", { app: "myService" }, ["80/TCP", "443/TCP", "444/TCP", "445/TCP", "80/UDP"]], ["default/frontend", { role: "frontend" }], ["default/backend", { role: "backend" }, ["80/TCP", "8080/TCP"]], ["default/crawler", { role: "crawler" }], ["default/other", { role: "other" }]];
  it("Example (L4): myService may emit TCP/80 'to any layer 3 destination', nothing else", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
    - toPorts:
      - ports:
        - port: "80"
          protocol: TCP
`), pods);
    assert.deepEqual(vp(v("default/my", "world", 80)), ["allowed", ["default/l4-rule"]]);
    assert.deepEqual(vp(v("default/my", "default/backend", 80)), ["allowed", ["default/l4-rule"]]);
    assert.deepEqual(vp(v("default/my", "world", 443)), ["denied-default", ["default/l4-rule"]]);
    assert.deepEqual(vp(v("default/my", "default/backend", 80, "UDP")), ["denied-default", ["default/l4-rule"]]);
  });
  it("Example Port Ranges: TCP 80-444 is allowed, 445 is not", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-port-range-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
    - toPorts:
      - ports:
        - port: "80"
          endPort: 444
          protocol: TCP
`), pods);
    for (const p of [80, 443, 444]) assert.equal(v("default/my", "world", p).verdict, "allowed", String(p));
    assert.equal(v("default/my", "world", 445).verdict, "denied-default");
    assert.equal(v("default/my", "world", 79).verdict, "denied-default");
  });
  it("Labels-dependent Layer 4 rule: frontend → backend on TCP/80 only; other labels not at all", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-rule"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`), pods);
    assert.deepEqual(vp(v("default/frontend", "default/backend", 80)), ["allowed", ["default/l4-rule"]]);
    assert.deepEqual(vp(v("default/frontend", "default/backend", 8080)), ["denied-default", ["default/l4-rule"]]);
    assert.deepEqual(vp(v("default/other", "default/backend", 80)), ["denied-default", ["default/l4-rule"]]);
  });
  it("CIDR-dependent Layer 4 Rule: crawler → 192.0.2.0/24 on TCP/80 only; endpoints without the label are not restricted by it", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "cidr-l4-rule"
spec:
  endpointSelector:
    matchLabels:
      role: crawler
  egress:
  - toCIDR:
    - 192.0.2.0/24
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`), pods, { externals: [{ name: "site", address: "192.0.2.10" }, { name: "elsewhere", address: "198.51.100.1" }] });
    assert.deepEqual(vp(v("default/crawler", "external:site", 80)), ["allowed", ["default/cidr-l4-rule"]]);
    assert.equal(v("default/crawler", "external:site", 443).verdict, "denied-default");
    assert.equal(v("default/crawler", "external:elsewhere", 80).verdict, "denied-default");
    assert.equal(v("default/other", "external:site", 443).verdict, "allowed");
  });
  it("PortProtocol: an omitted protocol matches any protocol; port \"0\" every port", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "any-proto"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
    toPorts:
    - ports:
      - port: "80"
  - fromEndpoints:
    - matchLabels:
        role: crawler
    toPorts:
    - ports:
      - port: "0"
        protocol: UDP
`), pods);
    assert.equal(v("default/frontend", "default/backend", 80, "UDP").verdict, "allowed");
    assert.equal(v("default/frontend", "default/backend", 80, "TCP").verdict, "allowed");
    assert.equal(v("default/crawler", "default/backend", 9999, "UDP").verdict, "allowed");
    assert.equal(v("default/crawler", "default/backend", 9999, "TCP").verdict, "denied-default");
  });
});

describe("layer7.rst: HTTP", () => {
  // The published l7.yaml splits fromEndpoints and toPorts into two rules; the page's text describes one rule
  // ("allows GET requests to the URL /public from the endpoints with the labels env=prod to endpoints with the
  // labels app=service"), which is what is written here.
  const GET_PUBLIC = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "rule1"
spec:
  endpointSelector:
    matchLabels:
      app: service
  ingress:
  - fromEndpoints:
    - matchLabels:
        env: prod
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: "GET"
          path: "/public"
`;
  const pods: Pod[] = [["default/service", { app: "service" }, ["80/TCP", "8080/TCP"]], ["default/prod", { env: "prod" }], ["default/dev", { env: "dev" }], ["default/my", { app: "myService" }]];
  const v = engine(policies(GET_PUBLIC), pods);
  it("Allow GET /public: env=prod reaches service:80 through the proxy, with the rule GET /public", () => {
    const r = v("default/prod", "default/service", 80);
    assert.deepEqual(vp(r), ["allowed-l7", ["default/rule1"]]);
    assert.deepEqual(r.l7.map((x) => `${x.direction} ${x.policy} ${x.text}`), ["ingress default/rule1 GET /public"]);
  });
  it("Allow GET /public: GET /public passes; 'requests to any other URL, or using another method, will be rejected'", () => {
    const r = v("default/prod", "default/service", 80);
    assert.equal(httpAllowed(r, { method: "GET", path: "/public" }).allowed, true);
    assert.equal(httpAllowed(r, { method: "GET", path: "/private" }).allowed, false);
    assert.equal(httpAllowed(r, { method: "PUT", path: "/public" }).allowed, false);
    assert.equal(httpAllowed(r, { method: "GET", path: "/public/x" }).allowed, false, "the path regex matches the whole path");
  });
  it("Allow GET /public: 'Requests on ports other than port 80 will be dropped'", () => {
    assert.deepEqual(vp(v("default/prod", "default/service", 8080)), ["denied-default", ["default/rule1"]]);
    assert.deepEqual(vp(v("default/dev", "default/service", 80)), ["denied-default", ["default/rule1"]]);
  });
  const PATHS = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l7-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  ingress:
  - toPorts:
    - ports:
      - port: '80'
        protocol: TCP
      rules:
        http:
        - method: GET
          path: "/path1$"
        - method: PUT
          path: "/path2$"
          headers:
          - 'X-My-Header: true'
`; // published with "HTTP:"; the CRD field is "http"
  it("All GET /path1 and PUT /path2 when header set: only those calls, from any peer, on TCP/80", () => {
    const r = engine(policies(PATHS), pods)("default/dev", "default/my", 80);
    assert.deepEqual(vp(r), ["allowed-l7", ["default/l7-rule"]]);
    assert.deepEqual(r.l7.map((x) => x.text), ["GET /path1$", "PUT /path2$ header X-My-Header: true"]);
    assert.equal(httpAllowed(r, { method: "GET", path: "/path1" }).allowed, true);
    assert.equal(httpAllowed(r, { method: "DELETE", path: "/path1" }).allowed, false);
    assert.equal(httpAllowed(r, { method: "GET", path: "/path2" }).allowed, false);
  });
  it("'If a layer 4 rule is specified ... and a similar layer 4 rule with layer 7 rules is also specified, then the layer 7 portions of the latter rule will have no effect'", () => {
    const l4 = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-80"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  ingress:
  - toPorts:
    - ports:
      - port: '80'
        protocol: TCP
`;
    const r = engine(policies(PATHS, l4), pods)("default/dev", "default/my", 80);
    assert.deepEqual(vp(r), ["allowed", ["default/l4-80"]]);
    assert.equal(httpAllowed(r, { method: "DELETE", path: "/anything" }).allowed, true);
  });
});

describe("intro.rst: policy enforcement modes and default deny", () => {
  const ONE = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l3-rule"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
`;
  const pods: Pod[] = [["default/frontend", { role: "frontend" }], ["default/backend", { role: "backend" }], ["default/loner", { role: "loner" }]];
  it("default: 'endpoints have unrestricted network access until selected by policy'", () => {
    const v = engine(policies(ONE), pods);
    assert.deepEqual(vp(v("default/frontend", "default/loner")), ["allowed", []]);
    assert.deepEqual(vp(v("world", "default/loner")), ["allowed", []]);
  });
  it("always: 'policy enforcement is enabled on all endpoints even if no rules select specific endpoints'", () => {
    const v = engine(policies(ONE), pods, { enforcement: "always" });
    const r = v("default/backend", "default/loner");
    assert.deepEqual(vp(r), ["denied-default", []]);
    assert.equal(r.reason, "enforcement-always");
    assert.equal(r.summary, "denied-default (default deny at egress of default/backend: policyEnforcementMode always, no policy allows it)");
    assert.equal(v("world", "default/loner").verdict, "denied-default");
  });
  it("always: what a policy allows at ingress still needs the sender's egress allowed", () => {
    const egressAll = `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "frontend-out"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEndpoints:
    - {}
`;
    assert.equal(engine(policies(ONE), pods, { enforcement: "always" })("default/frontend", "default/backend").verdict, "denied-default");
    assert.deepEqual(vp(engine(policies(ONE, egressAll), pods, { enforcement: "always" })("default/frontend", "default/backend")), ["allowed", ["default/frontend-out", "default/l3-rule"]]);
  });
  it("never: 'all traffic is allowed from any source (on ingress) or destination (on egress)', even where rules select", () => {
    const v = engine(policies(ONE), pods, { enforcement: "never" });
    assert.deepEqual(vp(v("default/loner", "default/backend")), ["allowed", []]);
    assert.equal(v("default/loner", "default/backend").reason, "enforcement-never");
  });
  const DNS = `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: intercept-all-dns
spec:
  endpointSelector:
    matchExpressions:
      - key: "io.kubernetes.pod.namespace"
        operator: "NotIn"
        values:
        - "kube-system"
      - key: "k8s-app"
        operator: "NotIn"
        values:
        - kube-dns
  enableDefaultDeny:
    egress: false
    ingress: false
  egress:
    - toEndpoints:
        - matchLabels:
            io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts:
        - ports:
          - port: "53"
            protocol: TCP
          - port: "53"
            protocol: UDP
          rules:
            dns:
              - matchPattern: "*"
`;
  const withDns: Pod[] = [...pods, ["kube-system/coredns", { "k8s-app": "kube-dns" }, ["53/UDP", "53/TCP"]]];
  it("EnableDefaultDeny: intercept-all-dns 'does not block any traffic, even if it is the first policy to apply to an endpoint'", () => {
    const v = engine(policies(DNS), withDns);
    assert.deepEqual(vp(v("default/loner", "world", 443)), ["allowed", []]);
    assert.deepEqual(vp(v("default/loner", "default/frontend")), ["allowed", []]);
  });
  it("EnableDefaultDeny: 'does not apply to layer-7 policy' — DNS to kube-dns goes through the DNS proxy", () => {
    const r = engine(policies(DNS), withDns)("default/loner", "kube-system/coredns", 53, "UDP");
    assert.deepEqual(vp(r), ["allowed-l7", ["intercept-all-dns"]]);
    assert.deepEqual(r.l7.map((x) => `${x.direction} ${x.kind} ${x.text}`), ["egress dns dns *"]);
  });
  it("enableDefaultDeny (CRD): 'default deny will be enabled if any policy requests it'", () => {
    const v = engine(policies(DNS, `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "loner-out"
spec:
  endpointSelector:
    matchLabels:
      role: loner
  egress:
  - toEndpoints:
    - matchLabels:
        role: frontend
`), withDns);
    assert.deepEqual(vp(v("default/loner", "world", 443)), ["denied-default", ["default/loner-out"]]);
    assert.deepEqual(vp(v("default/backend", "world", 443)), ["allowed", []]);
  });
  it("Rule (intro.rst): 'If omitted or empty, this rule does not apply at ingress' — ingress: [] denies nothing", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "deny-all"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress: []
`), pods);
    assert.deepEqual(vp(v("default/loner", "default/backend")), ["allowed", []]);
  });
  it("Ingress/Egress Default Deny (layer3.rst): ingress: [{}] denies all ingress", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "deny-all"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - {}
`), pods);
    assert.deepEqual(vp(v("default/frontend", "default/backend")), ["denied-default", ["default/deny-all"]]);
  });
});

describe("deny.rst: the allow/deny table, client → server (curl server:81, curl server:80)", () => {
  const allow = (name: string, ingress: string) => `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "${name}"
spec:
  endpointSelector:
    matchLabels:
      app: server
  ingress:
${ingress}`;
  const deny = (name: string, ingressDeny: string) => `
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "${name}"
spec:
  endpointSelector:
    matchLabels:
      app: server
  ingressDeny:
${ingressDeny}`;
  const ALLOW = [
    allow("allow-l7", `  - fromEndpoints:\n    - matchLabels:\n        app: client\n    toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n      rules:\n        http:\n        - method: GET\n`),
    allow("allow-l4-80", `  - toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n`),
    allow("allow-l4-81", `  - toPorts:\n    - ports:\n      - port: "81"\n        protocol: TCP\n`),
    allow("allow-l3-client", `  - fromEndpoints:\n    - matchLabels:\n        app: client\n`),
  ];
  const DENY_80 = deny("deny-l4-80", `  - toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n`);
  const DENY_CLIENT = deny("deny-l3-client", `  - fromEndpoints:\n    - matchLabels:\n        app: client\n`);
  const pods: Pod[] = [["default/client", { app: "client" }], ["default/server", { app: "server" }, ["80/TCP", "81/TCP"]]];
  const columns: [string, string[], [string, string]][] = [
    ["column 1: all allows, no deny", [...ALLOW], ["allowed", "allowed"]],
    ["column 2: all allows, deny 80/TCP", [...ALLOW, DENY_80], ["allowed", "denied-rule"]],
    ["column 3: all allows, deny the client (L3)", [...ALLOW, DENY_CLIENT], ["denied-rule", "denied-rule"]],
    ["column 4: all allows, both denies", [...ALLOW, DENY_80, DENY_CLIENT], ["denied-rule", "denied-rule"]],
    ["column 5: no allow, deny 80/TCP (the deny policy alone puts the server in default deny)", [DENY_80], ["denied-default", "denied-rule"]],
  ];
  for (const [title, docs, [at81, at80]] of columns) {
    it(title, () => {
      const v = engine(policies(...docs), pods);
      assert.equal(v("default/client", "default/server", 81).verdict, at81, "curl server:81");
      assert.equal(v("default/client", "default/server", 80).verdict, at80, "curl server:80");
    });
  }
  it("column 2 names the deny policy that drops port 80", () => {
    assert.deepEqual(vp(engine(policies(...ALLOW, DENY_80), pods)("default/client", "default/server", 80)), ["denied-rule", ["default/deny-l4-80"]]);
  });
});

describe("kubernetes.rst: namespaces and clusterwide policies", () => {
  it("Enforce namespace boundaries: pods of ns1 reach ns1; ns2 cannot; pods still egress anywhere else", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "isolate-ns1"
  namespace: ns1
spec:
  endpointSelector:
    matchLabels:
      {}
  ingress:
  - fromEndpoints:
    - matchLabels:
        {}
---
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "isolate-ns1"
  namespace: ns2
spec:
  endpointSelector:
    matchLabels:
      {}
  ingress:
  - fromEndpoints:
    - matchLabels:
        {}
`), [["ns1/a", { app: "a" }], ["ns1/b", { app: "b" }], ["ns2/c", { app: "c" }], ["ns3/d", { app: "d" }]]);
    assert.deepEqual(vp(v("ns1/a", "ns1/b")), ["allowed", ["ns1/isolate-ns1"]]);
    assert.deepEqual(vp(v("ns2/c", "ns1/a")), ["denied-default", ["ns1/isolate-ns1"]]);
    assert.deepEqual(vp(v("ns1/a", "ns2/c")), ["denied-default", ["ns2/isolate-ns1"]]);
    assert.deepEqual(vp(v("ns1/a", "ns3/d")), ["allowed", []]);
  });
  it("Expose pods across namespaces: luke in ns2 reaches leia in ns1; a luke in ns1 does not", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "k8s-expose-across-namespace"
  namespace: ns1
spec:
  endpointSelector:
    matchLabels:
      name: leia
  ingress:
  - fromEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: ns2
        name: luke
`), [["ns1/leia", { name: "leia" }], ["ns2/luke", { name: "luke" }], ["ns1/luke", { name: "luke" }], ["ns2/han", { name: "han" }]]);
    assert.deepEqual(vp(v("ns2/luke", "ns1/leia")), ["allowed", ["ns1/k8s-expose-across-namespace"]]);
    assert.equal(v("ns1/luke", "ns1/leia").verdict, "denied-default");
    assert.equal(v("ns2/han", "ns1/leia").verdict, "denied-default");
  });
  it("Allow egress to kube-dns in kube-system: UDP/53 to kube-dns only, from every pod of the policy's namespace", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "allow-to-kubedns"
  namespace: public
spec:
  endpointSelector:
    {}
  egress:
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s-app: kube-dns
    toPorts:
    - ports:
      - port: '53'
        protocol: UDP
`), [["public/app", { app: "x" }], ["kube-system/coredns", { "k8s-app": "kube-dns" }, ["53/UDP", "53/TCP"]], ["public/web", { app: "web" }]]);
    assert.deepEqual(vp(v("public/app", "kube-system/coredns", 53, "UDP")), ["allowed", ["public/allow-to-kubedns"]]);
    assert.deepEqual(vp(v("public/app", "kube-system/coredns", 53, "TCP")), ["denied-default", ["public/allow-to-kubedns"]]);
    assert.deepEqual(vp(v("public/app", "public/web")), ["denied-default", ["public/allow-to-kubedns"]]);
  });
  const ALLIANCE = (kind: string, ns: string) => `
apiVersion: "cilium.io/v2"
kind: ${kind}
metadata:
  name: "alliance-only"${ns}
spec:
  endpointSelector:
    matchLabels:
      name: rebel-base
  ingress:
  - fromEndpoints:
    - matchLabels:
        io.cilium.k8s.namespace.labels.faction: "alliance"
`;
  const galaxy: Pod[] = [["hoth/rebel-base", { name: "rebel-base" }], ["yavin/x-wing", { name: "x-wing" }], ["empire/tie", { name: "tie" }]];
  const factions = { hoth: { faction: "alliance" }, yavin: { faction: "alliance" }, empire: { faction: "empire" } };
  it("namespace labels in a CiliumClusterwideNetworkPolicy select pods of every namespace carrying the label", () => {
    const v = engine(policies(ALLIANCE("CiliumClusterwideNetworkPolicy", "")), galaxy, {}, factions);
    assert.deepEqual(vp(v("yavin/x-wing", "hoth/rebel-base")), ["allowed", ["alliance-only"]]);
    assert.deepEqual(vp(v("empire/tie", "hoth/rebel-base")), ["denied-default", ["alliance-only"]]);
  });
  it("'io.cilium.k8s.namespace.labels will be ignored in CiliumNetworkPolicy resources': no other namespace gets in", () => {
    const v = engine(policies(ALLIANCE("CiliumNetworkPolicy", "\n  namespace: hoth")), galaxy, {}, factions);
    assert.deepEqual(vp(v("yavin/x-wing", "hoth/rebel-base")), ["denied-default", ["hoth/alliance-only"]]);
  });
  it("Clusterwide Policies: luke from any namespace reaches leia in any namespace", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "clusterwide-policy-example"
spec:
  description: "Policy for selective ingress allow to a pod from only a pod with given label"
  endpointSelector:
    matchLabels:
      name: leia
  ingress:
  - fromEndpoints:
    - matchLabels:
        name: luke
`), [["a/leia", { name: "leia" }], ["b/luke", { name: "luke" }], ["b/han", { name: "han" }], ["c/leia", { name: "leia" }]]);
    assert.deepEqual(vp(v("b/luke", "a/leia")), ["allowed", ["clusterwide-policy-example"]]);
    assert.deepEqual(vp(v("b/luke", "c/leia")), ["allowed", ["clusterwide-policy-example"]]);
    assert.deepEqual(vp(v("b/han", "a/leia")), ["denied-default", ["clusterwide-policy-example"]]);
  });
  it("Allow all ingress to kube-dns: every Cilium-managed endpoint of the cluster, on UDP/53; not world", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "wildcard-from-endpoints"
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: kube-system
      k8s-app: kube-dns
  ingress:
  - fromEndpoints:
    - {}
    toPorts:
    - ports:
      - port: "53"
        protocol: UDP
`), [["kube-system/coredns", { "k8s-app": "kube-dns" }, ["53/UDP", "53/TCP"]], ["a/app", { app: "a" }], ["b/app", { app: "b" }]]);
    assert.deepEqual(vp(v("a/app", "kube-system/coredns", 53, "UDP")), ["allowed", ["wildcard-from-endpoints"]]);
    assert.deepEqual(vp(v("b/app", "kube-system/coredns", 53, "UDP")), ["allowed", ["wildcard-from-endpoints"]]);
    assert.deepEqual(vp(v("world", "kube-system/coredns", 53, "UDP")), ["denied-default", ["wildcard-from-endpoints"]]);
    assert.deepEqual(vp(v("a/app", "kube-system/coredns", 53, "TCP")), ["denied-default", ["wildcard-from-endpoints"]]);
  });
  it("Add health endpoint: the health endpoint talks to remote nodes both ways; world cannot reach it", () => {
    const v = engine(policies(`
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "cilium-health-checks"
spec:
  endpointSelector:
    matchLabels:
      'reserved:health': ''
  ingress:
    - fromEntities:
      - remote-node
  egress:
    - toEntities:
      - remote-node
`), [["a/app", { app: "a" }]], { enforcement: "always" });
    assert.deepEqual(vp(v("remote-node", "health", 4240)), ["allowed", ["cilium-health-checks"]]);
    assert.deepEqual(vp(v("health", "remote-node", 4240)), ["allowed", ["cilium-health-checks"]]);
    assert.deepEqual(vp(v("world", "health", 4240)), ["denied-default", ["cilium-health-checks"]]);
  });
});

describe("the engine's own contract", () => {
  const pods: Pod[] = [["default/a", { app: "a" }]];
  it("refuses an undeclared endpoint, naming it and the way out", () => {
    assert.throws(() => engine([], pods)("default/nope", "default/a"), {
      message: 'unknown endpoint "default/nope": declare the workload in the workloads (namespace/name), or use an entity (world, host, remote-node, kube-apiserver, health, init, unmanaged)',
    });
  });
  it("refuses a flow between two ends where no endpoint policy applies", () => {
    assert.throws(() => engine([], pods)("world", "host"), { message: "flow world → host: neither end is a Cilium endpoint, so no endpoint policy applies" });
  });
  it("notes what it cannot evaluate: toFQDNs, toServices, host policies", () => {
    const e = buildVerdictEngine(policies(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: fqdn
spec:
  endpointSelector: {}
  egress:
  - toFQDNs:
    - matchName: api.example.com
  - toServices:
    - k8sService:
        serviceName: db
        namespace: default
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: hosts
spec:
  nodeSelector: {}
  ingress:
  - fromEntities:
    - cluster
`), cluster(pods));
    assert.deepEqual(e.notes, [
      "default/fqdn: spec.egress[0].toFQDNs: FQDN resolution is not modelled; toFQDNs matches nothing here",
      "default/fqdn: spec.egress[1].toServices: Kubernetes Services are not declared; toServices matches nothing here",
      "hosts: spec.nodeSelector: host policies (nodeSelector) are not modelled; this spec is ignored",
    ]);
    assert.equal(e.verdict({ from: "default/a", to: "world", port: 443 }).verdict, "denied-default", "toFQDNs still puts the pod in egress default deny");
  });
  it("a named port in a rule matches a destination that serves that port name", () => {
    const v = engine(policies(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: named
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - toPorts:
    - ports:
      - port: http
        protocol: TCP
`), [["default/web", { app: "web" }, ["http/TCP", "9090/TCP"]], ["default/c", { app: "c" }]]);
    assert.equal(v("default/c", "default/web", "http").verdict, "allowed");
    assert.equal(v("default/c", "default/web", 9090).verdict, "denied-default");
  });
  it("the matrix leaves out self-flows and flows between two non-endpoints, and agrees with verdict()", () => {
    const e = buildVerdictEngine([], cluster([["default/a", { app: "a" }], ["default/b", { app: "b" }]]));
    const m = e.matrix();
    const ids = m.sources.map((s) => s.id);
    const col = m.columns.findIndex((c) => c.to === "default/a");
    assert.equal(m.at(ids.indexOf("default/a"), col), undefined);
    assert.equal(m.at(ids.indexOf("world"), m.columns.findIndex((c) => c.to === "host")), undefined);
    assert.equal(m.at(ids.indexOf("default/b"), col)?.verdict, "allowed");
  });
});

// ------------------------------------------------------------------------------------------- properties

const LABELS = ["a", "b", "c"];
const NAMESPACES = ["n1", "n2"];
const PODS: Pod[] = NAMESPACES.flatMap((ns) => LABELS.map((l): Pod => [`${ns}/${l}`, { app: l }, ["80/TCP", "53/UDP"]]));

const selectorArb = fc.oneof(
  fc.constant({}),
  fc.constantFrom(...LABELS).map((l) => ({ matchLabels: { app: l } })),
  fc.tuple(fc.constantFrom(...LABELS), fc.constantFrom(...NAMESPACES)).map(([l, ns]) => ({ matchLabels: { app: l, "k8s:io.kubernetes.pod.namespace": ns } })),
  fc.constantFrom(...LABELS).map((l) => ({ matchExpressions: [{ key: "app", operator: "NotIn" as const, values: [l] }] })),
);
const portsArb = fc.option(fc.constantFrom([{ port: "80", protocol: "TCP" as const }], [{ port: "53", protocol: "UDP" as const }], [{ port: "0" }]), { nil: undefined });
const ruleArb = (dir: "in" | "out") =>
  fc.record({
    peer: fc.oneof(
      selectorArb.map((s) => ({ [dir === "in" ? "fromEndpoints" : "toEndpoints"]: [s] })),
      fc.constantFrom("world", "cluster", "all", "host").map((e) => ({ [dir === "in" ? "fromEntities" : "toEntities"]: [e] })),
      fc.constant({}),
    ),
    ports: portsArb,
  }).map(({ peer, ports }) => ({ ...peer, ...(ports ? { toPorts: [{ ports }] } : {}) }));
const policyArb = (i: number) =>
  fc.record({
    clusterwide: fc.boolean(),
    ns: fc.constantFrom(...NAMESPACES),
    subject: selectorArb,
    ingress: fc.option(fc.array(ruleArb("in"), { maxLength: 2 }), { nil: undefined }),
    egress: fc.option(fc.array(ruleArb("out"), { maxLength: 2 }), { nil: undefined }),
    ingressDeny: fc.option(fc.array(ruleArb("in"), { minLength: 1, maxLength: 1 }), { nil: undefined }),
    defaultDenyOff: fc.boolean(),
  }).map((p) => {
    const spec: Record<string, unknown> = { endpointSelector: p.subject, ingress: p.ingress ?? [{}] };
    if (p.egress) spec["egress"] = p.egress;
    if (p.ingressDeny) spec["ingressDeny"] = p.ingressDeny;
    if (p.defaultDenyOff) spec["enableDefaultDeny"] = { ingress: false };
    return PolicyManifest.parse(p.clusterwide
      ? { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: `p${i}` }, spec }
      : { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: `p${i}`, namespace: p.ns }, spec });
  });
const policySetArb = fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => policyArb(i))));
const modeArb = fc.constantFrom("default" as const, "always" as const);

function verdicts(ps: readonly PolicyManifest[], opts: EngineOptions = {}): Map<string, string> {
  const m = buildVerdictEngine(ps, cluster(PODS), opts).matrix();
  const out = new Map<string, string>();
  m.sources.forEach((s, r) => m.columns.forEach((c, k) => {
    const o = m.at(r, k);
    if (o) out.set(`${s.id}>${c.to}:${c.protocol}/${c.port}`, o.verdict);
  }));
  return out;
}
const isAllowed = (v: string | undefined) => v === "allowed" || v === "allowed-l7";

describe("properties (fast-check)", () => {
  it("adding a deny policy never turns a denied flow into an allowed one", () => {
    fc.assert(fc.property(policySetArb, selectorArb, ruleArb("in"), modeArb, (ps, subject, rule, enforcement) => {
      const deny = PolicyManifest.parse({ apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "added-deny" }, spec: { endpointSelector: subject, ingressDeny: [rule] } });
      const before = verdicts(ps, { enforcement });
      const after = verdicts([...ps, deny], { enforcement });
      for (const [k, v] of after) if (isAllowed(v)) assert.ok(isAllowed(before.get(k)), `${k}: ${before.get(k)} -> ${v}`);
    }), { numRuns: 150 });
  });
  it("policyEnforcementMode never allows every flow", () => {
    fc.assert(fc.property(policySetArb, (ps) => {
      for (const [k, v] of verdicts(ps, { enforcement: "never" })) assert.equal(v, "allowed", k);
    }), { numRuns: 100 });
  });
  it("a policy selecting nothing changes nothing", () => {
    fc.assert(fc.property(policySetArb, ruleArb("in"), ruleArb("out"), modeArb, (ps, ing, eg, enforcement) => {
      const idle = PolicyManifest.parse({ apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "selects-nothing" }, spec: { endpointSelector: { matchLabels: { app: "no-such-app" } }, ingress: [ing], egress: [eg], ingressDeny: [ing] } });
      assert.deepEqual(verdicts([...ps, idle], { enforcement }), verdicts(ps, { enforcement }));
    }), { numRuns: 100 });
  });
  it("always is at least as strict as default: what always allows, default allows", () => {
    fc.assert(fc.property(policySetArb, (ps) => {
      const def = verdicts(ps);
      for (const [k, v] of verdicts(ps, { enforcement: "always" })) if (isAllowed(v)) assert.ok(isAllowed(def.get(k)), k);
    }), { numRuns: 100 });
  });
  it("the order of the policies does not matter", () => {
    fc.assert(fc.property(policySetArb, (ps) => {
      assert.deepEqual(verdicts([...ps].reverse()), verdicts(ps));
    }), { numRuns: 100 });
  });
});

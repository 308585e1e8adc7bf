// lib/policy/verdicts against Cilium's documented examples (layer3.rst). Every expected verdict is written from the
// documentation page named in the describe() title (docs.cilium.io/en/stable/security/policy/<page>/, the
// examples under cilium/cilium examples/policies/), never from the engine's output. Differences from the
// published YAML (a namespace added because a CiliumNetworkPolicy needs one here; operator case) are noted.
// Helpers: test/fixtures/verdict-cluster.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { PolicyManifest } from "../../lib/policy/model/schema";
import { policies, engine, vp, type Pod } from "../fixtures/verdict-cluster";

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

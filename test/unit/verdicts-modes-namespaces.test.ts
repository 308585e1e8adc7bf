// lib/policy/verdicts against Cilium's documented examples (intro.rst, deny.rst, kubernetes.rst). Every expected verdict is written from the
// documentation page named in the describe() title (docs.cilium.io/en/stable/security/policy/<page>/, the
// examples under cilium/cilium examples/policies/), never from the engine's output. Differences from the
// published YAML (a namespace added because a CiliumNetworkPolicy needs one here; operator case) are noted.
// Helpers: test/fixtures/verdict-cluster.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { policies, engine, vp, type Pod } from "../fixtures/verdict-cluster";

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

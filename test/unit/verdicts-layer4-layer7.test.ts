// lib/policy/verdicts against Cilium's documented examples (layer4.rst, layer7.rst). Every expected verdict is written from the
// documentation page named in the describe() title (docs.cilium.io/en/stable/security/policy/<page>/, the
// examples under cilium/cilium examples/policies/), never from the engine's output. Differences from the
// published YAML (a namespace added because a CiliumNetworkPolicy needs one here; operator case) are noted.
// Helpers: test/fixtures/verdict-cluster.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { httpAllowed } from "../../lib/policy/verdicts";
import { policies, engine, vp, type Pod } from "../fixtures/verdict-cluster";

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

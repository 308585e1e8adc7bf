// lib/policy/verdicts against Cilium's documented examples (the engine's own contract, and properties checked with fast-check). Every expected verdict is written from the
// documentation page named in the describe() title (docs.cilium.io/en/stable/security/policy/<page>/, the
// examples under cilium/cilium examples/policies/), never from the engine's output. Differences from the
// published YAML (a namespace added because a CiliumNetworkPolicy needs one here; operator case) are noted.
// Helpers: test/fixtures/verdict-cluster.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { buildVerdictEngine, type EngineOptions } from "../../lib/policy/verdicts";
import { PolicyManifest } from "../../lib/policy/model/schema";
import { policies, cluster, engine, type Pod } from "../fixtures/verdict-cluster";

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

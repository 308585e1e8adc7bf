/**
 * lib/policy/model/schema.ts on generated policies (fast-check): zod-accept implies CRD-accept against the real
 * CRD schema of the pinned release (ajv, see crd-ajv.ts), and the typo messages. Fixed cases: policy-schema.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { PolicyManifest } from "../../lib/policy/model/schema";
import { crdAccepts } from "./crd-ajv";
import { ing } from "../fixtures/policy-docs";

const labelKey = fc.constantFrom("app", "k8s:app", "tier", "k8s:io.kubernetes.pod.namespace", "app.kubernetes.io/name", "bad key", "k8s:");
const labelValue = fc.oneof(fc.constantFrom("web", "a.b-c_d", "", "x".repeat(63)), fc.constantFrom("bad value", "-x", "y".repeat(64)));
const selector = fc.record(
  {
    matchLabels: fc.dictionary(labelKey, labelValue, { maxKeys: 3 }),
    matchExpressions: fc.array(
      fc.record({ key: labelKey, operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"), values: fc.array(labelValue, { maxLength: 2 }) }, { requiredKeys: ["key", "operator"] }),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const port = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.integer({ min: 0, max: 65535 }), fc.constantFrom("http", "dns-tcp", "080", "h--x", "99999"));
const portProtocol = fc.record(
  { port, protocol: fc.constantFrom("TCP", "UDP", "SCTP", "ANY"), endPort: fc.integer({ min: 0, max: 65535 }) },
  { requiredKeys: ["port"] },
);
const l7 = fc.oneof(
  fc.record({ http: fc.array(fc.record({ method: fc.constantFrom("GET", "POST"), path: fc.constantFrom("/api", "/submit", "/v1/.*") }, { requiredKeys: [] }), { maxLength: 2 }) }),
  fc.record({ dns: fc.array(fc.oneof(fc.record({ matchName: fc.constantFrom("a.example.com", "bad name") }), fc.record({ matchPattern: fc.constantFrom("*", "*.example.com") })), { maxLength: 2 }) }),
  fc.record({ kafka: fc.array(fc.record({ topic: fc.constantFrom("t1", "t2"), role: fc.constantFrom("produce", "consume") }, { requiredKeys: [] }), { maxLength: 1 }) }),
);
const portRule = fc.record({ ports: fc.array(portProtocol, { minLength: 1, maxLength: 2 }), rules: l7 }, { requiredKeys: ["ports"] });
const cidr = fc.constantFrom("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "10.0.0.1", "300.0.0.0/8");
const entity = fc.constantFrom("world", "cluster", "host", "all", "kube-apiserver", "everything");
const ingressRule = fc.record(
  { fromEndpoints: fc.array(selector, { maxLength: 2 }), fromCIDR: fc.array(cidr, { maxLength: 2 }), fromEntities: fc.array(entity, { maxLength: 2 }), toPorts: fc.array(portRule, { maxLength: 2 }) },
  { requiredKeys: [] },
);
const egressRule = fc.record(
  {
    toEndpoints: fc.array(selector, { maxLength: 2 }),
    toCIDRSet: fc.array(fc.record({ cidr, except: fc.array(cidr, { maxLength: 1 }) }, { requiredKeys: ["cidr"] }), { maxLength: 1 }),
    toFQDNs: fc.array(fc.record({ matchName: fc.constantFrom("api.example.com") }), { maxLength: 1 }),
    toPorts: fc.array(portRule, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const spec = fc.record(
  {
    endpointSelector: selector,
    ingress: fc.array(ingressRule, { maxLength: 2 }),
    egress: fc.array(egressRule, { maxLength: 2 }),
    enableDefaultDeny: fc.record({ ingress: fc.boolean(), egress: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: ["endpointSelector"] },
);
const manifest = fc.oneof(
  spec.map((s) => ({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: "gen", namespace: "default" }, spec: s })),
  spec.map((s) => ({ apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "gen" }, spec: s })),
);

test("generated: whatever zod accepts, the CRD accepts (and both verdicts occur)", () => {
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(manifest, (m) => {
      const r = PolicyManifest.safeParse(m);
      if (!r.success) {
        refused++;
        return true;
      }
      accepted++;
      return crdAccepts(r.data);
    }),
    { numRuns: 3000, seed: 6 },
  );
  // The property would be vacuous if the generator produced only one kind of policy.
  assert.ok(accepted > 150, `only ${accepted} generated policies were accepted`);
  assert.ok(refused > 150, `only ${refused} generated policies were refused`);
});

test("a numeric port is accepted by zod and emitted as the string the CRD requires", () => {
  const raw = ing({ toPorts: [{ ports: [{ port: 80, protocol: "TCP" }] }] });
  assert.equal(crdAccepts(raw as { kind: string }), false);
  const parsed = PolicyManifest.parse(raw);
  assert.deepEqual(parsed.spec?.ingress?.[0]?.toPorts?.[0]?.ports, [{ port: "80", protocol: "TCP" }]);
  assert.equal(crdAccepts(parsed), true);
});

/** The one conversion zod makes: numeric ports become strings. */
const portsAsStrings = (m: unknown): unknown => JSON.parse(JSON.stringify(m, (k, v) => (k === "port" && typeof v === "number" ? String(v) : v)));

test("generated: what the CRD refuses, zod refuses (numeric ports written as strings first)", () => {
  let crdRefused = 0;
  fc.assert(
    fc.property(manifest, (m) => {
      if (crdAccepts(portsAsStrings(m) as { kind: string })) return true;
      crdRefused++;
      return !PolicyManifest.safeParse(m).success;
    }),
    { numRuns: 2000, seed: 7 },
  );
  assert.ok(crdRefused > 100, `only ${crdRefused} generated policies were refused by the CRD`);
});

// Issue 11, point 5: unknown keys under any object, with "did you mean".
test("unknown keys in a policy: named, with the field meant", async (t) => {
  const cnp = (metadata: Record<string, unknown>, spec: Record<string, unknown>) => ({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata, spec });
  const messages = (doc: unknown) => {
    const r = PolicyManifest.safeParse(doc);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  await t.test("a typo in metadata (was silently accepted: the policy would land in the default namespace)", () => {
    assert.deepEqual(messages(cnp({ name: "a", namespace: "web", namepsace: "web" }, { endpointSelector: {}, ingress: [{}] })), ['metadata: unknown field "namepsace"; did you mean "namespace"?']);
  });
  await t.test("kubectl's ObjectMeta fields pass", () => {
    assert.deepEqual(messages(cnp({ name: "a", namespace: "web", uid: "x", resourceVersion: "1", creationTimestamp: "t", generation: 2 }, { endpointSelector: {}, ingress: [{}] })), []);
  });
  await t.test("typos deep in a rule", () => {
    assert.deepEqual(messages(cnp({ name: "a", namespace: "web" }, { endpointSelector: { matchLabel: { app: "x" } }, ingress: [{ fromEndpoint: [{}] }] })), [
      'spec.endpointSelector: unknown field "matchLabel"; did you mean "matchLabels"?',
      'spec.ingress.0: unknown field "fromEndpoint"; did you mean "fromEndpoints"?',
    ]);
  });
});

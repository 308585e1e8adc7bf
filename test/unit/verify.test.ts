// lib/policy/verify.ts: the probes verify sends (expectations and matrix, with the offline engine's verdicts), how a probe's
// outcome and Hubble's flows are read, when a row agrees, and the table; lib/stack/stack-plan.ts withoutHttpRules (the lab's
// policies.httpRules "omit"). The probing itself runs against the datapath lab (test/lab/datapath.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { policies } from "../fixtures/policies";
import { expectations } from "../fixtures/policies/expectations";
import { workloads } from "../fixtures/policies/workloads";
import { policiesNeedL7Proxy, withoutHttpRules } from "../../lib/stack/stack-plan";
import { buildVerdictEngine } from "../../lib/policy/verdicts";
import {
    datapathVerdict, expectationProbes, flowsOfProbe, hubbleReading, matrixProbes, probeable, renderVerifyTable, verifyRow, verifySummary,
    type FlowProbe, type HubbleFlow,
} from "../../lib/policy/verify";

const probes = expectationProbes(expectations, policies, workloads, { enforcement: "default" });
const byFlow = (f: string) => probes.find((p) => p.flow === f)!;

describe("verify: the probes", () => {
    it("one per expectation, with the expectation, the offline verdict and its L3/L4 part", () => {
        assert.equal(probes.length, expectations.length);
        const del = byFlow("default/busybox → default/test-app TCP/80 HTTP DELETE /delete");
        assert.deepEqual([del.expected, del.offline, del.offlineL4, del.offlineText], ["denied", "denied", "allowed", "denied-l7"]);
        const get = byFlow("default/busybox → default/test-app TCP/80 HTTP GET /api");
        assert.deepEqual([get.expected, get.offline, get.offlineL4, get.offlineText], ["allowed", "allowed", "allowed", "allowed-l7"]);
        const iso = byFlow("test/busybox → backend/backend-app TCP/80");
        assert.deepEqual([iso.expected, iso.offline, iso.offlineL4], ["denied", "denied", "denied"]);
        assert.deepEqual(byFlow("default/busybox → kube-system/coredns UDP/53").protocol, "UDP");
    });
    it("--all: every evaluated matrix cell, no expectation", () => {
        const engine = buildVerdictEngine(policies, workloads, { enforcement: "default" });
        const m = matrixProbes(engine);
        const cells = engine.matrix();
        let evaluated = 0;
        cells.sources.forEach((_, r) => cells.columns.forEach((_, c) => (evaluated += cells.at(r, c) ? 1 : 0)));
        assert.equal(m.length, evaluated);
        assert.ok(m.every((p) => p.expected === undefined));
        assert.equal(m.find((p) => p.flow === "test/busybox → backend/backend-app TCP/80")?.offline, "denied");
        assert.equal(m.find((p) => p.flow === "frontend/busybox → backend/backend-app TCP/80")?.offline, "allowed");
    });
});

describe("verify: what the lab can probe", () => {
    it("pods, world and host to pods, pods to world; no other entity", () => {
        const can = (from: string, to: string) => probeable({ from, to });
        assert.deepEqual([can("default/a", "b/c"), can("default/a", "world"), can("world", "b/c"), can("host", "b/c")], [true, true, true, true]);
        assert.deepEqual([can("host", "world"), can("world", "world"), can("remote-node", "b/c"), can("default/a", "kube-apiserver"), can("default/a", "host")], [false, false, false, false, false]);
    });
});

describe("verify: reading a probe and Hubble", () => {
    it("reply, handshake and refusal pass; silence is a drop; Envoy's 403 is an L7 refusal", () => {
        assert.equal(datapathVerdict({ result: "answered", detail: "HTTP 404 Not Found" }).verdict, "allowed");
        assert.equal(datapathVerdict({ result: "connected", detail: "" }).verdict, "allowed");
        assert.equal(datapathVerdict({ result: "refused", detail: "connection refused" }).verdict, "allowed");
        assert.equal(datapathVerdict({ result: "timeout", detail: "" }).verdict, "denied");
        assert.equal(datapathVerdict({ result: "answered", detail: 'HTTP 403 Forbidden "Access denied"' }).verdict, "denied");
        assert.equal(datapathVerdict({ result: "answered", detail: "HTTP 403 Forbidden" }).verdict, "allowed");
        assert.equal(datapathVerdict({ result: "error", detail: "EHOSTUNREACH" }).verdict, "unknown");
    });
    const drop: HubbleFlow = { verdict: "DROPPED", drop_reason_desc: "POLICY_DENIED", traffic_direction: "EGRESS", IP: { source: "10.0.0.1", destination: "10.0.1.2" }, l4: { TCP: { destination_port: 80 } }, egress_denied_by: [{ namespace: "default", name: "x" }] };
    const fwd: HubbleFlow = { verdict: "FORWARDED", traffic_direction: "INGRESS", IP: { source: "10.0.0.1", destination: "10.0.1.2" }, l4: { TCP: { destination_port: 80 } }, ingress_allowed_by: [{ namespace: "backend", name: "namespace-isolation" }] };
    it("a policy drop wins over forwards, replies are ignored, the deciding policy is named", () => {
        assert.deepEqual(hubbleReading([fwd, drop]), { verdict: "denied", text: "DROPPED POLICY_DENIED at egress (denied by default/x)" });
        assert.deepEqual(hubbleReading([fwd]), { verdict: "allowed", text: "FORWARDED (ingress: backend/namespace-isolation)" });
        assert.deepEqual(hubbleReading([{ ...drop, is_reply: true }]), { verdict: "none", text: "no flow seen" });
        // The two nodes' flows come back in either order; the policies are listed in path order all the same.
        const egressFwd: HubbleFlow = { ...fwd, traffic_direction: "EGRESS", ingress_allowed_by: undefined, egress_allowed_by: [{ namespace: "frontend", name: "busybox-egress" }] };
        for (const flows of [[fwd, egressFwd], [egressFwd, fwd]]) {
            assert.deepEqual(hubbleReading(flows), { verdict: "allowed", text: "FORWARDED (egress: frontend/busybox-egress, ingress: backend/namespace-isolation)" });
        }
        assert.equal(hubbleReading([{ ...drop, drop_reason_desc: "CT_NO_MAP_FOUND" }]).verdict, "none");
    });
    it("a probe's flows: destination IP and port, and the source IP or identity", () => {
        const host: HubbleFlow = { ...fwd, IP: { source: "10.0.1.9", destination: "10.0.1.2" }, source: { identity: 1 } };
        assert.deepEqual(flowsOfProbe([drop, fwd, host], { dstIp: "10.0.1.2", port: 80, srcIp: "10.0.0.1" }), [drop, fwd]);
        assert.deepEqual(flowsOfProbe([drop, fwd, host], { dstIp: "10.0.1.2", port: 80, srcIdentity: 1 }), [host]);
        assert.deepEqual(flowsOfProbe([drop], { dstIp: "10.0.1.2", port: 8080, srcIp: "10.0.0.1" }), []);
    });
});

describe("verify: rows", () => {
    const dropped = { verdict: "denied" as const, text: "DROPPED" };
    const forwarded = { verdict: "allowed" as const, text: "FORWARDED" };
    const iso = byFlow("test/busybox → backend/backend-app TCP/80");
    it("agrees when expected, offline, datapath and Hubble say the same", () => {
        assert.equal(verifyRow(iso, { result: "timeout", detail: "" }, dropped, { l7Enforced: true }).status, "agree");
    });
    it("disagrees when the datapath lets through what the engine denies, or Hubble saw nothing, or says otherwise", () => {
        const r = verifyRow(iso, { result: "answered", detail: "HTTP 200" }, forwarded, { l7Enforced: true });
        assert.equal(r.status, "disagree");
        assert.match(r.why!, /the datapath let it through, the offline engine says denied/);
        assert.match(verifyRow(iso, { result: "timeout", detail: "" }, { verdict: "none", text: "no flow seen" }, { l7Enforced: true }).why!, /Hubble shows no verdict/);
        assert.match(verifyRow(iso, { result: "timeout", detail: "" }, forwarded, { l7Enforced: true }).why!, /Hubble says allowed, the probe denied/);
    });
    it("an expectation the engine breaks is a disagreement even when the datapath matches the engine", () => {
        const broken: FlowProbe = { ...iso, expected: "allowed" };
        assert.match(verifyRow(broken, { result: "timeout", detail: "" }, dropped, { l7Enforced: true }).why!, /the offline engine says denied, the expectation allowed/);
    });
    it("an HTTP flow without the HTTP rules deployed is compared at L3/L4 and marked, never called agreeing", () => {
        const del = byFlow("default/busybox → default/test-app TCP/80 HTTP DELETE /delete");
        const r = verifyRow(del, { result: "answered", detail: "HTTP 404 Not Found" }, forwarded, { l7Enforced: false });
        assert.equal(r.status, "l7-not-enforced");
        assert.equal(verifyRow(del, { result: "answered", detail: "HTTP 404 Not Found" }, forwarded, { l7Enforced: true }).status, "disagree");
        assert.equal(verifyRow(del, { result: "timeout", detail: "" }, dropped, { l7Enforced: false }).status, "disagree");
    });
    it("a flow the prober cannot send is 'not probed', with the reason", () => {
        const r = verifyRow(iso, { result: "not-probed", detail: "no Running pod of test/busybox" }, { verdict: "none", text: "-" }, { l7Enforced: true });
        assert.deepEqual([r.status, r.why], ["not-probed", "not probed: no Running pod of test/busybox"]);
    });
    it("the table: one line per flow, the why of each disagreement under it, the summary last", () => {
        const rows = [
            verifyRow(iso, { result: "timeout", detail: "" }, dropped, { l7Enforced: true }),
            verifyRow(iso, { result: "answered", detail: "HTTP 200" }, forwarded, { l7Enforced: true }),
        ];
        const lines = renderVerifyTable(rows).trimEnd().split("\n");
        assert.match(lines[0]!, /^flow\s+expected\s+offline\s+datapath\s+Hubble\s+result$/);
        assert.match(lines[2]!, /^test\/busybox → backend\/backend-app TCP\/80\s+denied\s+denied-default\s+dropped \(no answer\)\s+DROPPED\s+agree$/);
        assert.match(lines[3]!, /DISAGREE$/);
        assert.match(lines[4]!, /^ {4}the datapath let it through/);
        assert.equal(lines.at(-1), "verify: 2 flows: 1 agree, 1 disagree");
        assert.equal(verifySummary([]), "verify: 0 flows: 0 agree, 0 disagree");
    });
});

describe("withoutHttpRules (policies.httpRules omit)", () => {
    it("drops the http lists and nothing else: same peers and ports, DNS rules kept", () => {
        const stripped = policies.map(withoutHttpRules);
        assert.ok(!JSON.stringify(stripped).includes('"http"'));
        assert.ok(JSON.stringify(stripped).includes('"dns"'), "allowDns's DNS rules stay");
        assert.ok(policiesNeedL7Proxy(stripped), "DNS rules still need the proxy");
        const engine = (ps: typeof policies) => buildVerdictEngine(ps, workloads, { enforcement: "default" }).matrix();
        const [a, b] = [engine(policies), engine(stripped)];
        const l4 = (m: typeof a) => m.sources.flatMap((_, r) => m.columns.map((_, c) => m.at(r, c)?.verdict.replace("allowed-l7", "allowed") ?? "-"));
        assert.deepEqual(l4(b), l4(a), "the L3/L4 matrix is unchanged");
    });
});

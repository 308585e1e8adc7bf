// lib/policy/traffic-diff.ts: the deployed matrix as recorded in the StackRecord ConfigMap (gzip+base64, deterministic,
// bounded) and the lines preview prints for the flows whose verdict changes. Expected lines are written from
// the policies (policies/*.ts) and Cilium's rules, not copied from the output.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import {
    decodeTraffic,
    diffTraffic,
    encodeTraffic,
    MAX_ENCODED_CHARS,
    trafficReport,
    trafficSnapshot,
    type TrafficSnapshot,
} from "../../lib/policy/traffic-diff";
import { buildVerdictEngine, type EnforcementMode } from "../../lib/policy/verdicts";
import { policies } from "../fixtures/policies";
import { httpFiltering } from "../fixtures/policies/default-test-app";
import { namespaceIsolation } from "../fixtures/policies/backend";
import { allowDns, cnp, fromEndpoints, fromNamespace, http, tcp } from "../../lib/policy/model/helpers";
import type { PolicyManifest } from "../../lib/policy/model/schema";
import { workloads } from "../fixtures/policies/workloads";

const snap = (ps: readonly PolicyManifest[], enforcement: EnforcementMode = "default"): TrafficSnapshot =>
    trafficSnapshot(buildVerdictEngine(ps, workloads, { enforcement }).matrix());
const replace = (old: PolicyManifest, by: PolicyManifest) => policies.map((p) => (p === old ? by : p));
const report = (before: readonly PolicyManifest[], after: readonly PolicyManifest[], enforcement: EnforcementMode = "default") =>
    trafficReport(encodeTraffic(snap(before, enforcement)), snap(after, enforcement));

/** http-filtering with one more L7 rule: GET /health. */
const withHealth = cnp("http-filtering", "default", {
    endpointSelector: { matchLabels: { app: "test-app" } },
    ingress: [{ fromEndpoints: [fromEndpoints({ app: "busybox" })], toPorts: [{ ports: [tcp(80)], rules: { http: [http.get("/api"), http.post("/submit"), http.get("/health")] } }] }],
});

describe("the recorded matrix", () => {
    it("round-trips, encodes the same matrix to the same string, and leaves out the no-policy baseline", () => {
        const s = snap(policies);
        const enc = encodeTraffic(s);
        assert.equal(encodeTraffic(snap(policies)), enc);
        const back = decodeTraffic(enc);
        assert.equal(back.enforcement, "default");
        assert.deepEqual([...back.flows.entries()].sort(), [...s.flows.entries()].sort());
        // test/busybox → kube-system/coredns: no egress policy on test/busybox, allow-kube-dns allows it at ingress.
        assert.deepEqual(back.flows.get("test/busybox\tkube-system/coredns\tUDP/53"), { verdict: "allowed", why: "allowed by allow-kube-dns", l7: [] });
        assert.deepEqual(back.flows.get("frontend/busybox\tbackend/backend-app\tTCP/80"), { verdict: "allowed", why: "allowed by backend/namespace-isolation, frontend/busybox-egress", l7: [] });
        // world → frontend/busybox: nothing selects either end in default mode.
        assert.equal([...back.flows.keys()].some((k) => k.startsWith("world\tfrontend/busybox")), false);
        assert.ok(enc.length < 4096, `${enc.length} characters`);
    });

    it("is order-independent: the same policies in another order encode alike", () => {
        assert.equal(encodeTraffic(snap([...policies].reverse(), "always")), encodeTraffic(snap(policies, "always")));
    });

    it("past the size limit records only its size, and the report says no per-flow diff is possible", () => {
        const enc = encodeTraffic(snap(policies), 100);
        const back = decodeTraffic(enc);
        assert.equal(back.flows.size, 0);
        assert.equal(back.omitted?.flows, snap(policies).flows.size);
        assert.deepEqual(trafficReport(enc, snap(policies)), [{
            level: "info",
            message: `traffic diff unavailable: the deployed matrix (${back.omitted!.flows} flows, ${back.omitted!.chars} characters encoded) was over the ${MAX_ENCODED_CHARS}-character record limit, so only its size was recorded`,
        }]);
    });

    it("refuses what is not a recorded matrix", () => {
        assert.throws(() => decodeTraffic("not base64 gzip"), /not a recorded traffic matrix/);
        assert.throws(() => decodeTraffic(gzipSync(JSON.stringify({ v: 9 })).toString("base64")), /unknown traffic matrix format 9/);
        assert.throws(() => decodeTraffic(gzipSync(JSON.stringify({ v: 1, enforcement: "default", endpoints: ["a"], ports: ["TCP/1"], outcomes: [["allowed-l7", "x", []]], cells: [0, 5, 0, 0] })).toString("base64")), /cell 0 points outside its tables/);
        const [line] = trafficReport("garbage", snap(policies));
        assert.equal(line!.level, "warn");
        assert.match(line!.message, /^traffic diff unavailable: the deployed record's traffic\.matrix is unreadable: not a recorded traffic matrix/);
    });
});

describe("what preview prints", () => {
    it("nothing when nothing changes, and nothing before a first up (no record)", () => {
        assert.deepEqual(report(policies, policies), []);
        assert.deepEqual(report(policies, policies, "always"), []);
        assert.deepEqual(trafficReport(undefined, snap(policies)), []);
    });

    it("a newly denied flow is a warning naming the policy that makes the endpoint default-deny", () => {
        const onlyTest = cnp("namespace-isolation", "backend", { endpointSelector: { matchLabels: { app: "backend-app" } }, ingress: [{ fromEndpoints: [fromNamespace("test")] }] });
        assert.deepEqual(report(policies, replace(namespaceIsolation, onlyTest)), [
            { level: "warn", message: "frontend/busybox → backend/backend-app TCP/80: allowed → DENIED (default deny at ingress from backend/namespace-isolation)" },
            { level: "info", message: "test/busybox → backend/backend-app TCP/80: DENIED → allowed (allowed by backend/namespace-isolation)" },
        ]);
    });

    it("an added L7 rule: one line with the rule added, in default and in always mode", () => {
        const line = "default/busybox → default/test-app TCP/80: allowed through L7 rules → allowed through L7 rules (L7 rules added: default/http-filtering GET /health)";
        assert.deepEqual(report(policies, replace(httpFiltering, withHealth)), [{ level: "info", message: line }]);
        assert.deepEqual(report(policies, replace(httpFiltering, withHealth), "always"), [{ level: "info", message: line }]);
        assert.deepEqual(report(replace(httpFiltering, withHealth), policies), [{ level: "info", message: line.replace("added", "removed") }]);
    });

    it("an egress policy for test/busybox (DNS only) under policyEnforcementMode always: DNS becomes allowed through the DNS proxy", () => {
        const testDns = cnp("busybox-egress", "test", { endpointSelector: { matchLabels: { app: "busybox" } }, egress: [allowDns()] });
        assert.deepEqual(report(policies, [...policies, testDns], "always"), [
            { level: "info", message: "test/busybox → kube-system/coredns TCP/53: DENIED → allowed through L7 rules (L7 rules: test/busybox-egress dns *)" },
            { level: "info", message: "test/busybox → kube-system/coredns UDP/53: DENIED → allowed through L7 rules (L7 rules: test/busybox-egress dns *)" },
        ]);
    });

    it("a new reason for the same verdict is not a traffic change (default deny → deny rule)", () => {
        const deny = cnp("no-test", "backend", { endpointSelector: { matchLabels: { app: "backend-app" } }, ingressDeny: [{ fromEndpoints: [fromNamespace("test")] }] });
        const after = snap([...policies, deny]);
        assert.equal(after.flows.get("test/busybox\tbackend/backend-app\tTCP/80")?.verdict, "denied-rule");
        assert.equal(snap(policies).flows.get("test/busybox\tbackend/backend-app\tTCP/80")?.verdict, "denied-default");
        assert.deepEqual(diffTraffic(snap(policies), after), []);
    });

    it("a change of enforcement mode is diffed as well (default → always: busybox's own egress is not touched, test/busybox loses DNS)", () => {
        const lines = trafficReport(encodeTraffic(snap(policies, "default")), snap(policies, "always")).map((l) => l.message);
        assert.ok(lines.includes("test/busybox → kube-system/coredns UDP/53: allowed → DENIED (default deny at egress: policyEnforcementMode always)"), lines.join("\n"));
        assert.ok(!lines.some((l) => l.startsWith("default/busybox → default/test-app")), lines.join("\n"));
    });
});

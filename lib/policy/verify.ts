/**
 * `microseg verify`, the pure part: which flows to probe (the expectations, or the whole matrix), what a probe's
 * outcome and Hubble's flows say about a flow, whether expected / offline engine / datapath / Hubble agree, and
 * the table. The probing and the Hubble query are cli/verify.ts's; nothing here does I/O.
 */
import type { Expectation } from "./model/expectation";
import { checkExpectations } from "./expectations";
import type { EngineOptions, Matrix, Outcome, VerdictEngine } from "./verdicts";
import type { PolicyManifest } from "./model/schema";
import type { Workloads } from "./model/workloads-schema";

export type Allowed = "allowed" | "denied";

/** One flow to probe: from a source endpoint to a destination port, with what the offline engine says. */
export interface FlowProbe {
    /** `default/busybox → default/test-app TCP/80 HTTP GET /api` */
    readonly flow: string;
    readonly from: string;
    readonly to: string;
    readonly port: number;
    readonly protocol: "TCP" | "UDP" | "SCTP";
    readonly http?: { readonly method: string; readonly path: string };
    /** From policies/expectations.ts; absent for a matrix cell. */
    readonly expected?: Allowed;
    /** The offline engine's verdict of the whole flow (L7 included), and its one-line reason. */
    readonly offline: Allowed;
    readonly offlineText: string;
    /** The offline verdict at L3/L4 alone (an L7-filtered flow passes L3/L4 to reach the proxy). */
    readonly offlineL4: Allowed;
}

/** What a probe saw (lab/probe.mjs's JSON line), or why it was not sent. */
export interface ProbeOutcome {
    readonly result: "answered" | "connected" | "refused" | "timeout" | "error" | "not-probed";
    readonly detail: string;
}

/** The fields of a Hubble flow (`hubble observe -o json`, `.flow`) that verify reads. */
export interface HubbleFlow {
    readonly verdict?: string;
    readonly drop_reason_desc?: string;
    readonly traffic_direction?: string;
    readonly is_reply?: boolean;
    readonly IP?: { readonly source?: string; readonly destination?: string };
    readonly l4?: { readonly TCP?: { readonly destination_port?: number }; readonly UDP?: { readonly destination_port?: number } };
    readonly source?: { readonly identity?: number; readonly labels?: readonly string[] };
    readonly egress_allowed_by?: readonly PolicyRef[];
    readonly ingress_allowed_by?: readonly PolicyRef[];
    readonly egress_denied_by?: readonly PolicyRef[];
    readonly ingress_denied_by?: readonly PolicyRef[];
    readonly l7?: { readonly http?: { readonly code?: number } };
}
interface PolicyRef { readonly name?: string; readonly namespace?: string; readonly kind?: string }

/** Hubble's reading of one probe's flows. */
export interface HubbleReading {
    readonly verdict: Allowed | "none";
    /** `DROPPED POLICY_DENIED at egress`, `FORWARDED (ingress: default/http-filtering)`, `no flow seen`. */
    readonly text: string;
}

export type RowStatus = "agree" | "disagree" | "l7-not-enforced" | "not-probed";

export interface VerifyRow {
    readonly probe: FlowProbe;
    readonly datapath: Allowed | "unknown";
    readonly datapathText: string;
    readonly hubble: HubbleReading;
    readonly status: RowStatus;
    /** Why a row does not simply agree. */
    readonly why?: string;
}

const isAllowed = (o: Outcome): boolean => o.verdict === "allowed" || o.verdict === "allowed-l7";

/** The expectations as probes, with the offline engine's verdicts (lib/expectations.ts decides L7 requests). */
export function expectationProbes(expectations: readonly Expectation[], policies: readonly PolicyManifest[], workloads: Workloads, opts: EngineOptions): FlowProbe[] {
    return checkExpectations(expectations, policies, workloads, opts).map((r) => {
        const e = r.expectation;
        const l4 = r.verdict !== undefined && isAllowed(r.verdict) ? "allowed" : "denied";
        const offline: Allowed = r.actual === "allowed" || r.actual === "allowed-l7" ? "allowed" : "denied";
        return {
            flow: r.flow, from: e.from, to: e.to, port: Number(e.port), protocol: e.protocol,
            ...(e.http ? { http: e.http } : {}), expected: e.expect, offline, offlineL4: l4,
            offlineText: r.verdict ? (e.http && r.actual === "denied-l7" ? `denied-l7` : r.verdict.verdict) : r.actual,
        };
    });
}

/** Every evaluated cell of the matrix (source x destination port) as a probe, without an expectation. */
export function matrixProbes(engine: VerdictEngine, matrix: Matrix = engine.matrix()): FlowProbe[] {
    const out: FlowProbe[] = [];
    matrix.sources.forEach((src, row) => {
        matrix.columns.forEach((col, c) => {
            const o = matrix.at(row, c);
            const port = Number(col.port);
            if (o === undefined || !Number.isInteger(port)) return;
            const allowed: Allowed = isAllowed(o) ? "allowed" : "denied";
            out.push({ flow: `${src.id} → ${col.to} ${col.protocol}/${port}`, from: src.id, to: col.to, port, protocol: col.protocol, offline: allowed, offlineL4: allowed, offlineText: o.verdict });
        });
    });
    return out;
}

/**
 * Whether the prober can send the flow: pod to pod, pod to world, world to pod and host to pod (from the destination's
 * node). Cells with other entities (remote-node, health, kube-apiserver, init, unmanaged) have nobody to send or
 * answer them here; `--all` leaves them out and says how many.
 */
export function probeable(p: Pick<FlowProbe, "from" | "to">): boolean {
    const pod = (e: string) => e.includes("/");
    return (pod(p.from) && (pod(p.to) || p.to === "world")) || ((p.from === "world" || p.from === "host") && pod(p.to));
}

/**
 * What the probe says about the flow: a reply, a handshake or a refusal (RST, ICMP unreachable) mean the packets
 * passed the policy; nothing back means dropped. An HTTP 403 with Envoy's `Access denied` body is the L7 proxy's refusal.
 */
export function datapathVerdict(o: ProbeOutcome): { verdict: Allowed | "unknown"; text: string } {
    switch (o.result) {
        case "answered":
            if (/^HTTP 403\b/.test(o.detail) && /Access denied/.test(o.detail)) return { verdict: "denied", text: `refused by the L7 proxy (${o.detail})` };
            return { verdict: "allowed", text: `passed (${o.detail})` };
        case "connected":
            return { verdict: "allowed", text: `passed (connected${o.detail ? `, ${o.detail}` : ""})` };
        case "refused":
            return { verdict: "allowed", text: `passed (${o.detail || "refused"} by the destination)` };
        case "timeout":
            return { verdict: "denied", text: "dropped (no answer)" };
        case "not-probed":
            return { verdict: "unknown", text: `not probed: ${o.detail}` };
        default:
            return { verdict: "unknown", text: `probe failed: ${o.detail}` };
    }
}

// A rule Cilium derives itself (e.g. allow-localhost for the host's probes) comes without a name: not listed.
const refs = (list: readonly PolicyRef[] | undefined): string[] => (list ?? []).filter((p) => p.name).map((p) => `${p.namespace ? `${p.namespace}/` : ""}${p.name}`);
const POLICY_DROPS = ["POLICY_DENIED", "POLICY_DENY", "AUTH_REQUIRED"];

/** Hubble's verdict over the flows of one probe (replies ignored): a policy drop wins, then a forward. */
export function hubbleReading(flows: readonly HubbleFlow[]): HubbleReading {
    const sent = flows.filter((f) => f.is_reply !== true);
    const drop = sent.find((f) => f.verdict === "DROPPED" && POLICY_DROPS.includes(f.drop_reason_desc ?? ""));
    if (drop) {
        const by = refs(drop.traffic_direction === "EGRESS" ? drop.egress_denied_by : drop.ingress_denied_by);
        return { verdict: "denied", text: `DROPPED ${drop.drop_reason_desc} at ${(drop.traffic_direction ?? "?").toLowerCase()}${by.length ? ` (denied by ${by.join(", ")})` : ""}` };
    }
    const l7Denied = sent.find((f) => f.verdict === "DROPPED" && f.l7?.http?.code === 403);
    if (l7Denied) return { verdict: "denied", text: "DROPPED by the L7 proxy (HTTP 403)" };
    const other = sent.find((f) => f.verdict === "DROPPED");
    const fwd = sent.filter((f) => f.verdict === "FORWARDED" || f.verdict === "REDIRECTED");
    if (fwd.length > 0) {
        // In path order (egress, then ingress), whatever order Hubble returned the two nodes' flows in.
        const by = [...new Set([...fwd.flatMap((f) => refs(f.egress_allowed_by).map((r) => `egress: ${r}`)), ...fwd.flatMap((f) => refs(f.ingress_allowed_by).map((r) => `ingress: ${r}`))])];
        return { verdict: "allowed", text: `FORWARDED${by.length ? ` (${by.join(", ")})` : ""}` };
    }
    if (other) return { verdict: "none", text: `DROPPED ${other.drop_reason_desc ?? "?"} (not a policy drop)` };
    return { verdict: "none", text: "no flow seen" };
}

/** The flows of `flows` that belong to a probe to `dstIp:port` from `srcIp` (or, with no source IP, from identity `srcIdentity`). */
export function flowsOfProbe(flows: readonly HubbleFlow[], p: { dstIp: string; port: number; srcIp?: string; srcIdentity?: number }): HubbleFlow[] {
    return flows.filter((f) => {
        const port = f.l4?.TCP?.destination_port ?? f.l4?.UDP?.destination_port;
        if (f.IP?.destination !== p.dstIp || port !== p.port) return false;
        return p.srcIp !== undefined ? f.IP?.source === p.srcIp : f.source?.identity === p.srcIdentity;
    });
}

/**
 * One row: expected (when there is one), offline engine, datapath and Hubble must all say the same. A flow with
 * HTTP rules in a stack that deploys none (policies.httpRules "omit") is checked at L3/L4 only and marked.
 */
export function verifyRow(probe: FlowProbe, outcome: ProbeOutcome, hubble: HubbleReading, opts: { l7Enforced: boolean }): VerifyRow {
    const dp = datapathVerdict(outcome);
    const base = { probe, datapath: dp.verdict, datapathText: dp.text, hubble };
    if (dp.verdict === "unknown") return { ...base, status: outcome.result === "not-probed" ? "not-probed" : "disagree", why: dp.text };
    const l7Only = probe.http !== undefined && !opts.l7Enforced;
    const want = l7Only ? probe.offlineL4 : probe.offline;
    const wrong: string[] = [];
    if (!l7Only && probe.expected !== undefined && probe.expected !== probe.offline) wrong.push(`the offline engine says ${probe.offline}, the expectation ${probe.expected}`);
    if (dp.verdict !== want) wrong.push(`the datapath ${dp.verdict === "allowed" ? "let it through" : "dropped it"}, the offline engine says ${want}${l7Only ? " at L3/L4" : ""}`);
    if (hubble.verdict === "none") wrong.push(`Hubble shows no verdict (${hubble.text})`);
    else if (hubble.verdict !== dp.verdict) wrong.push(`Hubble says ${hubble.verdict}, the probe ${dp.verdict}`);
    if (wrong.length > 0) return { ...base, status: "disagree", why: wrong.join("; ") };
    if (l7Only) return { ...base, status: "l7-not-enforced", why: `L3/L4 agree; the HTTP rules are not deployed in this stack (policies.httpRules "omit"), so ${probe.http!.method} ${probe.http!.path} is not filtered: expected ${probe.expected ?? probe.offline} at L7` };
    return { ...base, status: "agree" };
}

const STATUS_TEXT: Record<RowStatus, string> = { "agree": "agree", "disagree": "DISAGREE", "l7-not-enforced": "L4 agree, L7 not enforced", "not-probed": "not probed" };

/** The table (one row per flow, aligned columns), each disagreement explained under it, and a summary line. */
export function renderVerifyTable(rows: readonly VerifyRow[]): string {
    const header = ["flow", "expected", "offline", "datapath", "Hubble", "result"];
    const cells = rows.map((r) => [r.probe.flow, r.probe.expected ?? "-", r.probe.offlineText, r.datapathText, r.hubble.text, STATUS_TEXT[r.status]]);
    const width = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: readonly string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(width[i]!))).join("  ");
    const out = [line(header), line(width.map((w) => "-".repeat(w)))];
    rows.forEach((r, i) => {
        out.push(line(cells[i]!));
        if (r.status === "disagree" || r.status === "not-probed") out.push(`    ${r.why}`);
    });
    out.push("", verifySummary(rows));
    return `${out.join("\n")}\n`;
}

export function verifySummary(rows: readonly VerifyRow[]): string {
    const n = (s: RowStatus) => rows.filter((r) => r.status === s).length;
    const parts = [`${n("agree")} agree`, `${n("disagree")} disagree`];
    if (n("l7-not-enforced") > 0) parts.push(`${n("l7-not-enforced")} agree at L3/L4 with L7 not enforced (policies.httpRules "omit")`);
    if (n("not-probed") > 0) parts.push(`${n("not-probed")} not probed`);
    return `verify: ${rows.length} flow${rows.length === 1 ? "" : "s"}: ${parts.join(", ")}`;
}

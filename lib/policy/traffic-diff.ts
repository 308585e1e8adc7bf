/**
 * What a policy change means for traffic: the deployed verdict matrix, kept compact in the cluster, and the
 * flows whose verdict changes against it, one line each:
 *
 *   frontend/busybox → backend/backend-app TCP/80: allowed → DENIED (default deny at ingress from backend/namespace-isolation)
 *
 * Where the deployed matrix lives: in the StackRecord ConfigMap (`kube-system/microseg-stack`, key
 * {@link TRAFFIC_MATRIX_KEY}), written at every `up` and read back at the next preview with the kubeconfig. In the
 * cluster rather than in a stack output so it does not depend on the backend (file, S3, Pulumi Cloud read the
 * same way), it says what runs on *that cluster* (a person with kubectl can decode it), and `promote` can compare
 * two stacks without opening either one's state.
 *
 * Encoding: gzip (level 9) of a canonical JSON, base64. Every evaluated cell except the baseline "allowed, no
 * policy applies" (a cell absent is that baseline), with endpoint, port and outcome tables so a cell is four
 * integers; sorted, so the same matrix always encodes to the same string and an unchanged stack shows no diff
 * on the ConfigMap. Bounded to {@link MAX_ENCODED_CHARS} (a ConfigMap holds 1 MiB in all): past that only the
 * size is recorded, and the diff says that no per-flow comparison is possible. Pure: no `@pulumi/*`, no I/O.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { DirectionDecision, EnforcementMode, Matrix, Outcome, Verdict } from "./verdicts";

/** The ConfigMap key of the encoded matrix. */
export const TRAFFIC_MATRIX_KEY = "traffic.matrix";
/** Upper bound of the encoded value (base64 characters): half of a ConfigMap's 1 MiB, the rest for the record. */
export const MAX_ENCODED_CHARS = 512 * 1024;
/** Refuse to inflate a recorded value past this (a tampered ConfigMap cannot make preview allocate more). */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;
const FORMAT_VERSION = 1;

/** What the policies decide for one flow, as far as traffic goes. */
export interface FlowState {
    readonly verdict: Verdict;
    /** Why, in a few words: `default deny at ingress from backend/namespace-isolation`, `allowed by default/x`. */
    readonly why: string;
    /** L7 rules the flow goes through (`default/http-filtering GET /api`), sorted; empty unless allowed-l7. */
    readonly l7: readonly string[];
}

/** The baseline of an absent cell. */
export const NO_POLICY: FlowState = { verdict: "allowed", why: "no policy applies", l7: [] };

/** A matrix as recorded: flows keyed `from\tto\tPROTO/port`, baseline cells left out. */
export interface TrafficSnapshot {
    readonly enforcement: EnforcementMode;
    readonly flows: ReadonlyMap<string, FlowState>;
    /** Set when the matrix was too large to record: only its size is known. */
    readonly omitted?: { readonly flows: number; readonly chars: number };
}

export class TrafficDecodeError extends Error {}

const flowKey = (from: string, to: string, port: string) => `${from}\t${to}\t${port}`;

function decidingWhy(o: Outcome): string {
    const ds = [o.egress, o.ingress].filter((d): d is DirectionDecision => d !== undefined);
    if (o.verdict === "denied-default" || o.verdict === "denied-rule") {
        const d = ds.find((x) => x.verdict === o.verdict);
        if (!d) return o.verdict === "denied-rule" ? "deny rule" : "default deny";
        if (d.reason === "enforcement-always") return `default deny at ${d.direction}: policyEnforcementMode always`;
        if (d.reason === "deny-rule") return `deny rule at ${d.direction} in ${d.policies.join(", ")}`;
        return `default deny at ${d.direction}${d.policies.length > 0 ? ` from ${d.policies.join(", ")}` : ""}`;
    }
    if (o.verdict === "allowed-l7") return `L7 rules: ${l7Texts(o).join(", ")}`;
    if (ds.some((d) => d.reason === "enforcement-never")) return "policyEnforcementMode never";
    if (ds.some((d) => d.reason === "allow-localhost") && o.policies.length === 0) return "allow-localhost";
    return o.policies.length > 0 ? `allowed by ${o.policies.join(", ")}` : NO_POLICY.why;
}

function l7Texts(o: Outcome): string[] {
    return [...new Set(o.l7.map((r) => `${r.policy} ${r.text}`))].sort();
}

/** The state of one flow from the engine's outcome. */
export function flowState(o: Outcome): FlowState {
    return { verdict: o.verdict, why: decidingWhy(o), l7: o.verdict === "allowed-l7" ? l7Texts(o) : [] };
}

const isBaseline = (s: FlowState) => s.verdict === NO_POLICY.verdict && s.why === NO_POLICY.why && s.l7.length === 0;

/** The matrix as a snapshot: every evaluated cell that is not the baseline. */
export function trafficSnapshot(m: Matrix): TrafficSnapshot {
    const states = m.outcomes.map(flowState);
    const flows = new Map<string, FlowState>();
    const cols = m.columns.length;
    m.sources.forEach((src, r) => {
        for (let c = 0; c < cols; c++) {
            const o = m.cells[r * cols + c]!;
            if (o < 0) continue;
            const s = states[o]!;
            if (isBaseline(s)) continue;
            const col = m.columns[c]!;
            flows.set(flowKey(src.id, col.to, `${col.protocol}/${col.port}`), s);
        }
    });
    return { enforcement: m.enforcement, flows };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const stateId = (s: FlowState) => JSON.stringify([s.verdict, s.why, s.l7]);

/** gzip+base64 of the canonical JSON; deterministic. Past `limit` characters only the size is recorded. */
export function encodeTraffic(s: TrafficSnapshot, limit = MAX_ENCODED_CHARS): string {
    const keys = [...s.flows.keys()].sort(cmp);
    const endpoints = new Map<string, number>();
    const ports = new Map<string, number>();
    const names = new Set<string>();
    const portNames = new Set<string>();
    for (const k of keys) {
        const [from, to, port] = k.split("\t") as [string, string, string];
        names.add(from).add(to);
        portNames.add(port);
    }
    [...names].sort(cmp).forEach((n, i) => endpoints.set(n, i));
    [...portNames].sort(cmp).forEach((p, i) => ports.set(p, i));
    const outcomes: [Verdict, string, readonly string[]][] = [];
    const outcomeIds = new Map<string, number>();
    const cells: number[] = [];
    for (const k of keys) {
        const [from, to, port] = k.split("\t") as [string, string, string];
        const st = s.flows.get(k)!;
        const id = stateId(st);
        let o = outcomeIds.get(id);
        if (o === undefined) {
            o = outcomes.length;
            outcomeIds.set(id, o);
            outcomes.push([st.verdict, st.why, st.l7]);
        }
        cells.push(endpoints.get(from)!, endpoints.get(to)!, ports.get(port)!, o);
    }
    const doc = { v: FORMAT_VERSION, enforcement: s.enforcement, endpoints: [...endpoints.keys()], ports: [...ports.keys()], outcomes, cells };
    const encoded = pack(doc);
    if (encoded.length <= limit) return encoded;
    return pack({ v: FORMAT_VERSION, enforcement: s.enforcement, omitted: { flows: keys.length, chars: encoded.length } });
}

function pack(doc: unknown): string {
    return gzipSync(JSON.stringify(doc), { level: 9 }).toString("base64");
}

const VERDICTS: readonly Verdict[] = ["allowed", "allowed-l7", "denied-default", "denied-rule"];

/** The snapshot back from its encoding. @throws TrafficDecodeError on anything that is not one. */
export function decodeTraffic(value: string): TrafficSnapshot {
    let doc: Record<string, unknown>;
    try {
        doc = JSON.parse(gunzipSync(Uint8Array.from(Buffer.from(value, "base64")), { maxOutputLength: MAX_DECODED_BYTES }).toString("utf8")) as Record<string, unknown>;
    } catch (e) {
        throw new TrafficDecodeError(`not a recorded traffic matrix (${e instanceof Error ? e.message : String(e)})`);
    }
    if (doc === null || typeof doc !== "object" || doc["v"] !== FORMAT_VERSION) {
        throw new TrafficDecodeError(`unknown traffic matrix format ${JSON.stringify((doc as { v?: unknown } | null)?.v)} (this version reads ${FORMAT_VERSION})`);
    }
    const enforcement = doc["enforcement"] as EnforcementMode;
    const omitted = doc["omitted"] as { flows: number; chars: number } | undefined;
    if (omitted) return { enforcement, flows: new Map(), omitted };
    const endpoints = doc["endpoints"] as string[];
    const ports = doc["ports"] as string[];
    const outcomes = doc["outcomes"] as [Verdict, string, string[]][];
    const cells = doc["cells"] as number[];
    const ok = Array.isArray(endpoints) && Array.isArray(ports) && Array.isArray(outcomes) && Array.isArray(cells) && cells.length % 4 === 0 &&
        outcomes.every((o) => Array.isArray(o) && VERDICTS.includes(o[0]) && typeof o[1] === "string" && Array.isArray(o[2]));
    if (!ok) throw new TrafficDecodeError("malformed traffic matrix (tables missing or of the wrong shape)");
    const flows = new Map<string, FlowState>();
    for (let i = 0; i < cells.length; i += 4) {
        const [f, t, p, o] = [endpoints[cells[i]!], endpoints[cells[i + 1]!], ports[cells[i + 2]!], outcomes[cells[i + 3]!]];
        if (f === undefined || t === undefined || p === undefined || o === undefined) throw new TrafficDecodeError(`malformed traffic matrix (cell ${i / 4} points outside its tables)`);
        flows.set(flowKey(f, t, p), { verdict: o[0], why: o[1], l7: o[2] });
    }
    return { enforcement, flows };
}

/** One flow whose traffic verdict changes. */
export interface TrafficChange {
    readonly from: string;
    readonly to: string;
    /** `TCP/80` */
    readonly port: string;
    readonly before: FlowState;
    readonly after: FlowState;
    /** Allowed (at L3/L4 or through L7 rules) before, denied now. */
    readonly newlyDenied: boolean;
}

const denied = (v: Verdict) => v === "denied-default" || v === "denied-rule";
/** What traffic sees: allowed, allowed through some L7 rules, or dropped (by default deny or a rule alike). */
const trafficClass = (s: FlowState) => (denied(s.verdict) ? "denied" : s.verdict === "allowed-l7" ? `l7:${s.l7.join("\n")}` : "allowed");

/**
 * The flows whose traffic verdict differs between two snapshots, sorted by source, destination, port. A flow
 * counts as changed when it goes between allowed, allowed through L7 rules and denied, or when its L7 rules
 * change; a new reason for the same verdict (another policy allows it, a deny rule instead of default deny) is
 * not a traffic change.
 */
export function diffTraffic(before: TrafficSnapshot, after: TrafficSnapshot): TrafficChange[] {
    const keys = new Set([...before.flows.keys(), ...after.flows.keys()]);
    const out: TrafficChange[] = [];
    for (const k of [...keys].sort(cmp)) {
        const b = before.flows.get(k) ?? NO_POLICY;
        const a = after.flows.get(k) ?? NO_POLICY;
        if (trafficClass(b) === trafficClass(a)) continue;
        const [from, to, port] = k.split("\t") as [string, string, string];
        out.push({ from, to, port, before: b, after: a, newlyDenied: !denied(b.verdict) && denied(a.verdict) });
    }
    return out;
}

/** The new state's reason; between two sets of L7 rules, the rules added and removed. */
function changeWhy(c: TrafficChange): string {
    if (c.before.verdict !== "allowed-l7" || c.after.verdict !== "allowed-l7") return c.after.why;
    const added = c.after.l7.filter((r) => !c.before.l7.includes(r));
    const removed = c.before.l7.filter((r) => !c.after.l7.includes(r));
    return [added.length > 0 ? `L7 rules added: ${added.join(", ")}` : "", removed.length > 0 ? `L7 rules removed: ${removed.join(", ")}` : ""].filter(Boolean).join("; ");
}

function label(s: FlowState): string {
    return denied(s.verdict) ? "DENIED" : s.verdict === "allowed-l7" ? "allowed through L7 rules" : "allowed";
}

/** `frontend/busybox → backend/backend-app TCP/80: allowed → DENIED (default deny at ingress from backend/namespace-isolation)` */
export function formatChange(c: TrafficChange): string {
    return `${c.from} → ${c.to} ${c.port}: ${label(c.before)} → ${label(c.after)} (${changeWhy(c)})`;
}

export interface TrafficLine {
    readonly level: "info" | "warn";
    readonly message: string;
}

/**
 * What preview prints: one line per changed flow (warn for a newly denied flow, info otherwise), nothing when
 * nothing changes or nothing was recorded yet (a first `up`). A recorded value that cannot be read, or a
 * matrix too large to have been recorded, gives one line saying so.
 */
export function trafficReport(recorded: string | undefined, current: TrafficSnapshot): TrafficLine[] {
    if (recorded === undefined) return [];
    let before: TrafficSnapshot;
    try {
        before = decodeTraffic(recorded);
    } catch (e) {
        return [{ level: "warn", message: `traffic diff unavailable: the deployed record's ${TRAFFIC_MATRIX_KEY} is unreadable: ${(e as Error).message}` }];
    }
    if (before.omitted) {
        return [{ level: "info", message: `traffic diff unavailable: the deployed matrix (${before.omitted.flows} flows, ${before.omitted.chars} characters encoded) was over the ${MAX_ENCODED_CHARS}-character record limit, so only its size was recorded` }];
    }
    return diffTraffic(before, current).map((c) => ({ level: c.newlyDenied ? "warn" : "info", message: formatChange(c) }));
}

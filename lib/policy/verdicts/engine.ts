/**
 * The offline verdict engine: for each (source, destination, port/protocol) of the declared workloads,
 * the verdict Cilium's policy engine reaches, and the policies that decide it.
 *
 * How Cilium decides, as its documentation states it (docs.cilium.io, security/policy/*):
 * - both ends: the source's egress policy AND the destination's ingress policy must allow
 *   ("policy must be configured on both sides (sender and receiver)", layer3.rst);
 * - deny first: a matching ingressDeny/egressDeny rule drops the flow, whatever allows it (deny.rst);
 * - then allows: an allow rule whose peer and port match; an allow without L7 rules for that peer and port
 *   makes the L7 rules of other rules void ("the layer 7 portions of the latter rule will have no effect",
 *   layer7.rst), otherwise the flow is allowed through the proxy with the L7 rules listed;
 * - else default deny, per direction: an endpoint selected by a policy with rules in a direction (allow or
 *   deny, a non-empty list) denies what is not allowed in that direction, unless the policy says
 *   `enableDefaultDeny: false` for it (intro.rst); `policyEnforcementMode: always` makes every endpoint
 *   default-deny in both directions, `never` allows everything.
 *
 * The engine indexes policies by the endpoints they select: each rule's peers become a bitset over the
 * endpoints, each endpoint keeps the rules that apply to it, and decisions are interned, so a matrix of
 * 1,000 workloads x 500 policies is a few bit tests per cell. Pure: no `@pulumi/*`, no I/O.
 */
import type { PolicyManifest } from "../model/schema";
import type { Workloads } from "../model/workloads-schema";
import { portMatches } from "./matching";
import { describeOutcome } from "./outcomes";
import { PolicyIndex, sortedUnique, type Rule } from "./policy-index";
import {
  ENTITY_ENDPOINTS,
  type Direction,
  type DirectionDecision,
  type EnforcementMode,
  type Endpoint,
  type EngineOptions,
  type Flow,
  type FlowProtocol,
  type FlowVerdict,
  type L7Rule,
  type Matrix,
  type MatrixColumn,
  type Outcome,
  type VerdictEngine,
  type Verdict,
} from "./types";

class Engine implements VerdictEngine {
  readonly enforcement: EnforcementMode;
  private readonly ix: PolicyIndex;
  private readonly allowLocalhost: boolean;
  // Interning: decisions and outcomes get numeric ids; per (endpoint, direction, port) rule lists are cached.
  private readonly decisions: DirectionDecision[] = [];
  private readonly decisionKeys = new Map<string, number>();
  private readonly outcomes: Outcome[] = [];
  private readonly outcomeKeys = new Map<number, number>();
  private readonly portRules = new Map<number, PortRules>();
  private readonly portIds = new Map<string, number>();

  constructor(policies: readonly PolicyManifest[], workloads: Workloads, opts: EngineOptions) {
    this.enforcement = opts.enforcement ?? "default";
    this.allowLocalhost = (opts.allowLocalhost ?? "always") === "always";
    this.ix = new PolicyIndex(policies, workloads, opts.externals ?? []);
  }

  get endpoints(): readonly Endpoint[] {
    return this.ix.endpoints;
  }

  get notes(): readonly string[] {
    return this.ix.notes;
  }

  private endpointIndex(id: string): number {
    const i = this.ix.index.get(id);
    if (i === undefined) {
      throw new Error(`unknown endpoint ${JSON.stringify(id)}: declare the workload in the workloads (namespace/name), or use an entity (${ENTITY_ENDPOINTS.join(", ")})`);
    }
    return i;
  }

  private portId(port: string, protocol: FlowProtocol): number {
    const k = `${protocol}/${port}`;
    let id = this.portIds.get(k);
    if (id === undefined) {
      id = this.portIds.size;
      this.portIds.set(k, id);
    }
    return id;
  }

  private rulesFor(x: number, direction: Direction, port: string, protocol: FlowProtocol, portId: number): PortRules {
    const key = (portId * this.ix.n + x) * 2 + (direction === "ingress" ? 1 : 0);
    const cached = this.portRules.get(key);
    if (cached) return cached;
    const side = this.ix.sides[x]![direction];
    const numeric = /^[0-9]+$/.test(port) ? Number(port) : -1;
    const hits = (r: Rule) => r.entries.filter((e) => e.ports === undefined || e.ports.some((m) => portMatches(m, port, numeric, protocol)));
    const deny: Rule[] = [];
    const plain: Rule[] = [];
    const l7: { rule: Rule; l7: L7Rule[] }[] = [];
    for (const r of side.deny) if (hits(r).length > 0) deny.push(r);
    for (const r of side.allow) {
      const es = hits(r);
      if (es.some((e) => e.l7.length === 0)) plain.push(r);
      else if (es.length > 0) l7.push({ rule: r, l7: es.flatMap((e) => e.l7) });
    }
    const out: PortRules = { deny, plain, l7, l7Rules: l7.map((x) => x.rule), masks: new Map(), wideMasks: new Map() };
    this.portRules.set(key, out);
    return out;
  }

  private intern(d: Omit<DirectionDecision, "policies" | "l7"> & { policies: readonly string[]; l7?: readonly L7Rule[] }): number {
    const l7 = d.l7 ?? [];
    const key = `${d.direction}|${d.verdict}|${d.reason}|${d.policies.join(",")}|${l7.map((r) => `${r.policy}:${r.text}`).join(",")}`;
    let id = this.decisionKeys.get(key);
    if (id === undefined) {
      id = this.decisions.push({ ...d, l7 }) - 1;
      this.decisionKeys.set(key, id);
    }
    return id;
  }

  /** The decision of endpoint x in a direction about peer y on a port: an interned decision id. */
  private decide(x: number, direction: Direction, y: number, port: string, protocol: FlowProtocol, portId: number): number {
    if (this.enforcement === "never") return this.intern({ direction, verdict: "allowed", reason: "enforcement-never", policies: [] });
    const side = this.ix.sides[x]![direction];
    const pr = this.rulesFor(x, direction, port, protocol, portId);
    // Which of the port's deny / plain / l7 rules match y: the decision is interned per match pattern.
    const allowOk = side.requires === undefined || side.requires.has(y);
    const localhost = direction === "ingress" && y === this.ix.hostIndex && this.allowLocalhost;
    let mask = 0;
    let bit = 0;
    let wide: string | undefined;
    const groups: readonly (readonly Rule[])[] = [pr.deny, pr.plain, pr.l7Rules];
    for (let g = 0; g < 3; g++) {
      const rs = groups[g]!;
      const ok = g === 0 || allowOk;
      for (let k = 0; k < rs.length; k++, bit++) {
        if (!ok || !rs[k]!.peers.has(y)) continue;
        if (bit < 52) mask += 2 ** bit;
        else wide = `${wide ?? ""},${bit}`;
      }
    }
    const fast = wide === undefined && !localhost;
    const key = fast ? "" : `${mask}${wide ?? ""}${localhost ? "h" : ""}`;
    const hit = fast ? pr.masks.get(mask) : pr.wideMasks.get(key);
    if (hit !== undefined) return hit;
    const names = (rs: readonly Rule[]) => sortedUnique(rs.map((r) => this.ix.policyNames[r.policy]!));
    const denying = pr.deny.filter((r) => r.peers.has(y));
    let id: number;
    if (denying.length > 0) {
      id = this.intern({ direction, verdict: "denied-rule", reason: "deny-rule", policies: names(denying) });
    } else if (localhost) {
      id = this.intern({ direction, verdict: "allowed", reason: "allow-localhost", policies: [] });
    } else {
      const plain = allowOk ? pr.plain.filter((r) => r.peers.has(y)) : [];
      const l7 = allowOk ? pr.l7.filter((r) => r.rule.peers.has(y)) : [];
      if (plain.length > 0) {
        id = this.intern({ direction, verdict: "allowed", reason: "allow-rule", policies: names(plain) });
      } else if (l7.length > 0) {
        id = this.intern({ direction, verdict: "allowed-l7", reason: "l7-rule", policies: names(l7.map((r) => r.rule)), l7: l7.flatMap((r) => r.l7) });
      } else if (side.defaultDeny.length > 0) {
        id = this.intern({ direction, verdict: "denied-default", reason: "default-deny", policies: sortedUnique(side.defaultDeny.map((p) => this.ix.policyNames[p]!)) });
      } else if (this.enforcement === "always") {
        id = this.intern({ direction, verdict: "denied-default", reason: "enforcement-always", policies: [] });
      } else {
        id = this.intern({ direction, verdict: "allowed", reason: "not-enforced", policies: [] });
      }
    }
    if (fast) pr.masks.set(mask, id);
    else pr.wideMasks.set(key, id);
    return id;
  }

  private combine(egress: number, ingress: number): number {
    const key = (egress + 1) * 2 ** 26 + (ingress + 1); // fewer than 2^26 distinct decisions
    let id = this.outcomeKeys.get(key);
    if (id !== undefined) return id;
    const e = egress >= 0 ? this.decisions[egress] : undefined;
    const i = ingress >= 0 ? this.decisions[ingress] : undefined;
    const denied = [e, i].find((d) => d !== undefined && d.verdict.startsWith("denied"));
    let outcome: Outcome;
    if (denied) {
      outcome = { verdict: denied.verdict, reason: denied.reason, policies: denied.policies, l7: [], ...(e ? { egress: e } : {}), ...(i ? { ingress: i } : {}) };
    } else {
      const both = [e, i].filter((d): d is DirectionDecision => d !== undefined);
      const l7 = both.flatMap((d) => d.l7);
      const verdict: Verdict = l7.length > 0 ? "allowed-l7" : "allowed";
      const reason = both.find((d) => d.verdict === "allowed-l7")?.reason ?? both.find((d) => d.reason !== "not-enforced")?.reason ?? both[0]?.reason ?? "not-enforced";
      outcome = { verdict, reason, policies: sortedUnique(both.flatMap((d) => d.policies)), l7, ...(e ? { egress: e } : {}), ...(i ? { ingress: i } : {}) };
    }
    id = this.outcomes.push(outcome) - 1;
    this.outcomeKeys.set(key, id);
    return id;
  }

  private outcomeOf(s: number, d: number, port: string, protocol: FlowProtocol, portId: number): number {
    const eg = this.ix.endpoints[s]!.enforced ? this.decide(s, "egress", d, port, protocol, portId) : -1;
    const ing = this.ix.endpoints[d]!.enforced ? this.decide(d, "ingress", s, port, protocol, portId) : -1;
    return this.combine(eg, ing);
  }

  verdict(flow: Flow): FlowVerdict {
    const s = this.endpointIndex(flow.from);
    const d = this.endpointIndex(flow.to);
    const protocol = flow.protocol ?? "TCP";
    const port = String(flow.port);
    if (s === d) throw new Error(`flow ${flow.from} → ${flow.to}: source and destination are the same endpoint; Cilium does not apply policy to a pod talking to itself`);
    if (!this.ix.endpoints[s]!.enforced && !this.ix.endpoints[d]!.enforced) {
      throw new Error(`flow ${flow.from} → ${flow.to}: neither end is a Cilium endpoint, so no endpoint policy applies`);
    }
    const o = this.outcomes[this.outcomeOf(s, d, port, protocol, this.portId(port, protocol))]!;
    return { from: flow.from, to: flow.to, port, protocol, ...o, summary: describeOutcome(o, flow.from, flow.to) };
  }

  matrix(): Matrix {
    const sources = this.ix.endpoints;
    const columns: MatrixColumn[] = [];
    const colIndex: number[] = [];
    const colPort: number[] = [];
    this.ix.endpoints.forEach((e, i) => {
      for (const p of e.serves) {
        columns.push({ to: e.id, port: p.port, protocol: p.protocol });
        colIndex.push(i);
        colPort.push(this.portId(p.port, p.protocol));
      }
    });
    const cells = new Int32Array(sources.length * columns.length).fill(-1);
    for (let s = 0; s < sources.length; s++) {
      const row = s * columns.length;
      const sEnforced = sources[s]!.enforced;
      for (let c = 0; c < columns.length; c++) {
        const d = colIndex[c]!;
        if (d === s || (!sEnforced && !this.ix.endpoints[d]!.enforced)) continue;
        const col = columns[c]!;
        cells[row + c] = this.outcomeOf(s, d, col.port, col.protocol, colPort[c]!);
      }
    }
    const outcomes = this.outcomes;
    return {
      enforcement: this.enforcement,
      sources,
      columns,
      outcomes,
      cells,
      at(row, column) {
        const o = cells[row * columns.length + column]!;
        return o < 0 ? undefined : outcomes[o];
      },
    };
  }
}

interface PortRules {
  deny: Rule[];
  plain: Rule[];
  l7: { rule: Rule; l7: L7Rule[] }[];
  l7Rules: Rule[];
  /** Decision ids by the bitmask of matching rules (the first 52), and by a string key past that or for the host. */
  masks: Map<number, number>;
  wideMasks: Map<string, number>;
}

/**
 * Builds the engine over typed (already validated) policies and the declared workloads.
 * @throws on a duplicate endpoint id or an external that is not an IP address
 */
export function buildVerdictEngine(policies: readonly PolicyManifest[], workloads: Workloads, opts: EngineOptions = {}): VerdictEngine {
  return new Engine(policies, workloads, opts);
}

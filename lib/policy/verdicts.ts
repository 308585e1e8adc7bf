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
import ipaddr from "ipaddr.js";
import {
  hasL7,
  type EndpointSelector,
  type HttpRule,
  type L7Rules,
  type PolicyManifest,
  type PolicySpec,
  type PortProtocol,
} from "./model/schema";
import type { Workloads } from "./model/workloads-schema";

export type EnforcementMode = "default" | "always" | "never";
export type Verdict = "allowed" | "allowed-l7" | "denied-default" | "denied-rule";
export type FlowProtocol = "TCP" | "UDP" | "SCTP";
export type Direction = "ingress" | "egress";

/** Entities that are flow ends of their own (`cluster`, `all`, `none` and `ingress` only appear as peers). */
export const ENTITY_ENDPOINTS = ["world", "host", "remote-node", "kube-apiserver", "health", "init", "unmanaged"] as const;
export type EntityEndpoint = (typeof ENTITY_ENDPOINTS)[number];

/** Members of the `cluster` entity besides every pod (Cilium's InitEntities; kube-apiserver runs on a kubeadm control-plane node). */
const CLUSTER_ENTITIES: readonly string[] = ["host", "remote-node", "kube-apiserver", "health", "init", "unmanaged", "ingress"];

export const POD_NAMESPACE_KEY = "io.kubernetes.pod.namespace";
export const NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";

/** An address outside the cluster that CIDR rules can name. */
export interface External {
  /** Shown as `external:<name>`. */
  readonly name: string;
  /** An IPv4 or IPv6 address, e.g. "20.1.1.1". */
  readonly address: string;
}

export interface EngineOptions {
  /** Cilium's `policyEnforcementMode`. @default "default" */
  readonly enforcement?: EnforcementMode;
  /**
   * Cilium's `allow-localhost`: with "always" (Cilium's default on Kubernetes) the local host reaches every
   * pod whatever the pod's ingress policy says (deny rules still apply); "policy" leaves it to policy.
   * @default "always"
   */
  readonly allowLocalhost?: "always" | "policy";
  /** Named external addresses, matched by CIDR rules and the `world` entity. @default [] */
  readonly externals?: readonly External[];
}

export type EndpointKind = "pod" | "entity" | "external";

export interface ServedPort {
  /** A number as a string ("80") or a container port name ("http"). */
  readonly port: string;
  readonly protocol: FlowProtocol;
}

export interface Endpoint {
  /** `namespace/name` for a pod, the entity name (`world`, `host`, ...), `external:<name>`. */
  readonly id: string;
  readonly kind: EndpointKind;
  readonly namespace?: string;
  /** Ports the endpoint serves (pods: declared; entities and externals: the ports egress rules name). */
  readonly serves: readonly ServedPort[];
  /** Whether Cilium enforces policy at this endpoint (pods and the health endpoint). */
  readonly enforced: boolean;
}

/** One L7 rule that a flow is subject to. */
export interface L7Rule {
  readonly direction: Direction;
  /** Policy id: `namespace/name` (CiliumNetworkPolicy) or `name` (CiliumClusterwideNetworkPolicy). */
  readonly policy: string;
  readonly kind: "http" | "dns" | "kafka" | "l7proto";
  /** As people read it: `GET /api`, `dns *.example.com`, `kafka produce empire-announce`. */
  readonly text: string;
  readonly http?: HttpRule;
}

export type Reason =
  | "not-enforced" // no policy puts this endpoint in default deny in this direction
  | "enforcement-never"
  | "allow-rule"
  | "l7-rule"
  | "allow-localhost"
  | "default-deny"
  | "enforcement-always"
  | "deny-rule";

/** What one end of a flow decides: the source at egress, the destination at ingress. */
export interface DirectionDecision {
  /** egress: the source's policy decides; ingress: the destination's. */
  readonly direction: Direction;
  readonly verdict: Verdict;
  readonly reason: Reason;
  /** Deciding policies, sorted: the allowing, default-deny-making or denying ones. */
  readonly policies: readonly string[];
  readonly l7: readonly L7Rule[];
}

/**
 * The verdict of a flow: the first end that drops it (egress comes first), else both ends' allows. Shared by
 * every flow decided the same way (it names no endpoint); `describeOutcome` says it for one flow.
 */
export interface Outcome {
  readonly verdict: Verdict;
  readonly reason: Reason;
  readonly policies: readonly string[];
  readonly l7: readonly L7Rule[];
  /** Absent when the source is not a Cilium endpoint (world, host, ...). */
  readonly egress?: DirectionDecision;
  /** Absent when the destination is not a Cilium endpoint. */
  readonly ingress?: DirectionDecision;
}

export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly port: number | string;
  /** @default "TCP" */
  readonly protocol?: FlowProtocol;
}

export interface FlowVerdict extends Outcome {
  readonly from: string;
  readonly to: string;
  readonly port: string;
  readonly protocol: FlowProtocol;
  /** One line: `denied-default (default deny at ingress of backend/backend-app from backend/namespace-isolation)`. */
  readonly summary: string;
}

export interface MatrixColumn {
  readonly to: string;
  readonly port: string;
  readonly protocol: FlowProtocol;
}

export interface Matrix {
  readonly enforcement: EnforcementMode;
  readonly sources: readonly Endpoint[];
  readonly columns: readonly MatrixColumn[];
  /** Interned outcomes; cells index into it. */
  readonly outcomes: readonly Outcome[];
  /** Row-major (source x column) outcome indices; -1 where no policy can apply (self, or neither end enforced). */
  readonly cells: Int32Array;
  /** The outcome of one cell, undefined where not evaluated. */
  at(row: number, column: number): Outcome | undefined;
}

/** Parts of the policies the engine cannot evaluate, each once: `default/api: spec.egress[0].toFQDNs: FQDN resolution is not modelled; it matches nothing here`. */
export type EngineNote = string;

export interface VerdictEngine {
  readonly enforcement: EnforcementMode;
  readonly endpoints: readonly Endpoint[];
  readonly notes: readonly EngineNote[];
  /** The verdict of one flow; throws on an undeclared endpoint. */
  verdict(flow: Flow): FlowVerdict;
  /** Every source x every destination port. */
  matrix(): Matrix;
}

// ------------------------------------------------------------------------------------------ bitsets

class Bits {
  readonly words: Uint32Array;
  constructor(readonly size: number) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
  or(o: Bits): void {
    for (let i = 0; i < this.words.length; i++) this.words[i]! |= o.words[i]!;
  }
  and(o: Bits): void {
    for (let i = 0; i < this.words.length; i++) this.words[i]! &= o.words[i]!;
  }
  fill(): void {
    this.words.fill(0xffffffff);
  }
  *members(): Generator<number> {
    for (let w = 0; w < this.words.length; w++) {
      let v = this.words[w]!;
      while (v !== 0) {
        const b = 31 - Math.clz32(v & -v);
        const i = (w << 5) + b;
        if (i < this.size) yield i;
        v &= v - 1;
      }
    }
  }
}

// ----------------------------------------------------------------------------------------- labels

interface Label {
  readonly source: string;
  readonly value: string;
}

interface Requirement {
  readonly key: string;
  /** undefined: any source (`any:` or no prefix). */
  readonly source: string | undefined;
  readonly op: "In" | "NotIn" | "Exists" | "DoesNotExist";
  readonly values: readonly string[];
}

function splitKey(raw: string): { key: string; source: string | undefined } {
  const colon = raw.indexOf(":");
  if (colon < 0) return { key: raw, source: undefined };
  const source = raw.slice(0, colon);
  return { key: raw.slice(colon + 1), source: source === "any" ? undefined : source };
}

function requirements(s: EndpointSelector): Requirement[] {
  const out: Requirement[] = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) out.push({ ...splitKey(k), op: "In", values: [v] });
  for (const e of s.matchExpressions ?? []) out.push({ ...splitKey(e.key), op: e.operator, values: e.values ?? [] });
  return out;
}

function matches(reqs: readonly Requirement[], labels: ReadonlyMap<string, Label>): boolean {
  for (const r of reqs) {
    const l = labels.get(r.key);
    const present = l !== undefined && (r.source === undefined || r.source === l.source);
    let ok: boolean;
    switch (r.op) {
      case "In":
        ok = present && r.values.includes(l!.value);
        break;
      case "NotIn":
        ok = !present || !r.values.includes(l!.value);
        break;
      case "Exists":
        ok = present;
        break;
      case "DoesNotExist":
        ok = !present;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------------ ports

interface PortMatcher {
  /** undefined: any protocol. */
  readonly protocol: FlowProtocol | undefined;
  /** A named port, or a numeric range (port "0" = every port). */
  readonly name?: string;
  readonly from: number;
  readonly to: number;
}

function portMatcher(p: PortProtocol): PortMatcher {
  const protocol = p.protocol === undefined || p.protocol === "ANY" ? undefined : p.protocol;
  if (!/^[0-9]+$/.test(p.port)) return { protocol, name: p.port, from: 0, to: 0 };
  const n = Number(p.port);
  if (n === 0) return { protocol, from: 0, to: 65535 };
  return { protocol, from: n, to: p.endPort !== undefined && p.endPort > n ? p.endPort : n };
}

function portMatches(m: PortMatcher, port: string, numeric: number, protocol: FlowProtocol): boolean {
  if (m.protocol !== undefined && m.protocol !== protocol) return false;
  if (m.name !== undefined) return m.name === port;
  if (m.from === 0 && m.to === 65535) return true;
  return numeric >= m.from && numeric <= m.to;
}

// ------------------------------------------------------------------------------------------- rules

interface PortEntry {
  /** undefined: every port and protocol. */
  readonly ports: readonly PortMatcher[] | undefined;
  readonly l7: readonly L7Rule[];
}

interface Rule {
  readonly policy: number;
  readonly deny: boolean;
  readonly peers: Bits;
  readonly entries: readonly PortEntry[];
}

interface Side {
  allow: Rule[];
  deny: Rule[];
  /** Policies (indices) that make this endpoint default-deny in this direction. */
  defaultDeny: number[];
  /** fromRequires / toRequires of the policies selecting the endpoint, ANDed. */
  requires: Bits | undefined;
}

function l7Rules(rules: L7Rules, direction: Direction, policy: string): L7Rule[] {
  const out: L7Rule[] = [];
  for (const h of rules.http ?? []) {
    const extra = [h.host === undefined ? "" : ` host ${h.host}`, ...(h.headers ?? []).map((x) => ` header ${x}`), ...(h.headerMatches ?? []).map((x) => ` header ${x.name}${x.value === undefined ? "" : `=${x.value}`}`)].join("");
    out.push({ direction, policy, kind: "http", text: `${h.method ?? "ANY"} ${h.path ?? "/*"}${extra}`, http: h });
  }
  for (const d of rules.dns ?? []) out.push({ direction, policy, kind: "dns", text: `dns ${d.matchName ?? d.matchPattern}` });
  for (const k of rules.kafka ?? []) {
    out.push({ direction, policy, kind: "kafka", text: `kafka ${[k.role ?? k.apiKey ?? "any", k.topic, k.clientID].filter((x) => x !== undefined).join(" ")}` });
  }
  if ((rules.l7proto ?? "") !== "") out.push({ direction, policy, kind: "l7proto", text: `l7proto ${rules.l7proto}` });
  return out;
}

// ------------------------------------------------------------------------------------------ engine

const PEERS: Record<Direction, readonly string[]> = {
  ingress: ["fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups"],
  egress: ["toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes"],
};

interface Parsed {
  cidr: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
}

function parseCidrText(text: string): Parsed | undefined {
  if (!ipaddr.isValidCIDR(text)) return undefined;
  const [cidr, bits] = ipaddr.parseCIDR(text);
  return { cidr, bits };
}

function inCidr(addr: ipaddr.IPv4 | ipaddr.IPv6, c: Parsed): boolean {
  return addr.kind() === c.cidr.kind() && addr.match(c.cidr, c.bits);
}

/** Policy id as results carry it: `namespace/name` for a CNP, `name` for a CCNP. */
export function policyId(m: PolicyManifest): string {
  return m.kind === "CiliumNetworkPolicy" ? `${m.metadata.namespace}/${m.metadata.name}` : m.metadata.name;
}

function sortedUnique(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort();
}

class Engine implements VerdictEngine {
  readonly enforcement: EnforcementMode;
  readonly endpoints: Endpoint[] = [];
  readonly notes: string[] = [];
  private readonly labels: Map<string, Label>[] = [];
  private readonly addresses: (ipaddr.IPv4 | ipaddr.IPv6 | undefined)[] = [];
  private readonly index = new Map<string, number>();
  private readonly policyNames: string[] = [];
  private readonly sides: { ingress: Side; egress: Side }[] = [];
  private readonly allowLocalhost: boolean;
  private readonly selectorCache = new Map<string, Bits>();
  private hostIndex = -1;
  private readonly n: number;
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
    this.addEndpoints(workloads, opts.externals ?? []);
    this.n = this.endpoints.length;
    for (let i = 0; i < this.n; i++) {
      this.sides.push({ ingress: { allow: [], deny: [], defaultDeny: [], requires: undefined }, egress: { allow: [], deny: [], defaultDeny: [], requires: undefined } });
    }
    policies.forEach((m) => {
      const id = this.policyNames.push(policyId(m)) - 1;
      if (m.spec) this.addSpec(m, m.spec, id, "spec");
      (m.specs ?? []).forEach((s, i) => this.addSpec(m, s, id, `specs[${i}]`));
    });
    this.fillEntityPorts();
  }

  // ---- endpoints

  private addEndpoint(e: Endpoint, labels: Map<string, Label>, address?: ipaddr.IPv4 | ipaddr.IPv6): void {
    if (this.index.has(e.id)) throw new Error(`endpoint ${JSON.stringify(e.id)} is declared twice`);
    this.index.set(e.id, this.endpoints.length);
    this.endpoints.push(e);
    this.labels.push(labels);
    this.addresses.push(address);
  }

  private addEndpoints(w: Workloads, externals: readonly External[]): void {
    const nsLabels = new Map(w.namespaces.map((n) => [n.name, n.labels]));
    for (const wl of w.workloads) {
      const labels = new Map<string, Label>();
      for (const [k, v] of Object.entries(wl.labels)) labels.set(k, { source: "k8s", value: v });
      labels.set(POD_NAMESPACE_KEY, { source: "k8s", value: wl.namespace });
      for (const [k, v] of Object.entries(nsLabels.get(wl.namespace) ?? {})) labels.set(NAMESPACE_LABELS_PREFIX + k, { source: "k8s", value: v });
      const serves = wl.serves.map((s) => ({ port: s.port, protocol: (s.protocol === "ANY" ? "TCP" : s.protocol) as FlowProtocol }));
      this.addEndpoint({ id: `${wl.namespace}/${wl.name}`, kind: "pod", namespace: wl.namespace, serves, enforced: true }, labels);
    }
    for (const e of ENTITY_ENDPOINTS) {
      if (e === "host") this.hostIndex = this.endpoints.length;
      this.addEndpoint({ id: e, kind: "entity", serves: [], enforced: e === "health" }, new Map([[e, { source: "reserved", value: "" }]]));
    }
    for (const x of externals) {
      if (!ipaddr.isValid(x.address)) throw new Error(`external ${JSON.stringify(x.name)}: ${JSON.stringify(x.address)} is not an IP address`);
      this.addEndpoint({ id: `external:${x.name}`, kind: "external", serves: [], enforced: false }, new Map([["world", { source: "reserved", value: "" }]]), ipaddr.parse(x.address));
    }
  }

  /** Entities and externals have no declared ports: probe them on the ports egress rules name (TCP/443 when none). */
  private fillEntityPorts(): void {
    const seen = new Map<string, ServedPort>();
    for (const side of this.sides) {
      for (const r of [...side.egress.allow, ...side.egress.deny]) {
        for (const e of r.entries) {
          for (const m of e.ports ?? []) {
            if (m.name !== undefined || (m.from === 0 && m.to === 65535)) continue;
            const p = { port: String(m.from), protocol: m.protocol ?? "TCP" } as const;
            seen.set(`${p.protocol}/${p.port}`, p);
          }
        }
      }
    }
    const probe = [...seen.values()].sort((a, b) => Number(a.port) - Number(b.port) || a.protocol.localeCompare(b.protocol));
    const ports = probe.length > 0 ? probe : [{ port: "443", protocol: "TCP" as const }];
    this.endpoints.forEach((e, i) => {
      if (e.kind !== "pod") this.endpoints[i] = { ...e, serves: ports };
    });
  }

  // ---- policies

  private note(policy: string, at: string, what: string): void {
    const line = `${policy}: ${at}: ${what}`;
    if (!this.notes.includes(line)) this.notes.push(line);
  }

  /** Endpoints a selector matches, as Cilium scopes it: a CNP adds its namespace unless the selector names one; a CCNP's `{}` peer means every pod. */
  private select(s: EndpointSelector, namespace: string | undefined, role: "subject" | "peer"): Bits {
    const key = `${role}|${namespace ?? ""}|${JSON.stringify(s)}`;
    const cached = this.selectorCache.get(key);
    if (cached) return cached;
    const reqs = requirements(s);
    const namesNamespace = reqs.some((r) => r.key === POD_NAMESPACE_KEY && (r.source === undefined || r.source === "k8s"));
    if (namespace !== undefined && (role === "subject" || !namesNamespace)) reqs.push({ key: POD_NAMESPACE_KEY, source: "k8s", op: "In", values: [namespace] });
    if (namespace === undefined && role === "peer" && reqs.length === 0) reqs.push({ key: POD_NAMESPACE_KEY, source: "k8s", op: "Exists", values: [] });
    const bits = new Bits(this.n);
    for (let i = 0; i < this.n; i++) {
      if (role === "subject" && !this.endpoints[i]!.enforced) continue;
      if (matches(reqs, this.labels[i]!)) bits.set(i);
    }
    this.selectorCache.set(key, bits);
    return bits;
  }

  private entityBits(entity: string): Bits {
    const bits = new Bits(this.n);
    this.endpoints.forEach((e, i) => {
      const isWorld = e.kind === "external" || e.id === "world";
      const hit =
        entity === "all" ? true
        : entity === "none" ? false
        : entity === "world" ? isWorld
        : entity === "cluster" ? e.kind === "pod" || CLUSTER_ENTITIES.includes(e.id)
        : e.kind === "entity" && e.id === entity;
      if (hit) bits.set(i);
    });
    return bits;
  }

  private cidrBits(cidr: string, except: readonly string[]): Bits {
    const bits = new Bits(this.n);
    const c = parseCidrText(cidr);
    if (!c) return bits;
    const ex = except.map(parseCidrText).filter((x): x is Parsed => x !== undefined);
    this.endpoints.forEach((e, i) => {
      const a = this.addresses[i];
      if (a !== undefined) {
        if (inCidr(a, c) && !ex.some((x) => inCidr(a, x))) bits.set(i);
      } else if (e.id === "world" && c.bits === 0 && ex.length === 0) {
        bits.set(i); // only a whole-family CIDR covers "any external address"
      }
    });
    return bits;
  }

  private peers(rule: Record<string, unknown>, direction: Direction, namespace: string | undefined, policy: string, at: string): Bits {
    const bits = new Bits(this.n);
    const used = PEERS[direction].filter((k) => Array.isArray(rule[k]) && (rule[k] as unknown[]).length > 0);
    if (used.length === 0) {
      // No L3 peer: a rule with ports (or ICMP) applies to every peer; an empty rule `{}` allows nothing.
      const l4 = ((rule["toPorts"] as unknown[] | undefined)?.length ?? 0) > 0 || ((rule["icmps"] as unknown[] | undefined)?.length ?? 0) > 0;
      if (l4) bits.fill();
      return bits;
    }
    for (const field of used) {
      const list = rule[field] as unknown[];
      const here = `${at}.${field}`;
      switch (field) {
        case "fromEndpoints":
        case "toEndpoints":
          for (const s of list as EndpointSelector[]) bits.or(this.select(s, namespace, "peer"));
          break;
        case "fromEntities":
        case "toEntities":
          for (const e of list as string[]) {
            if (e === "ingress") this.note(policy, here, `entity "ingress" (Cilium's Envoy ingress) is not an endpoint here; it matches nothing`);
            bits.or(this.entityBits(e));
          }
          break;
        case "fromCIDR":
        case "toCIDR":
          for (const c of list as string[]) bits.or(this.cidrBits(c, []));
          break;
        case "fromCIDRSet":
        case "toCIDRSet":
          for (const s of list as { cidr?: string; except?: string[] }[]) {
            if (s.cidr === undefined) this.note(policy, here, "CIDR groups (cidrGroupRef, cidrGroupSelector) are not resolved; they match nothing here");
            else bits.or(this.cidrBits(s.cidr, s.except ?? []));
          }
          break;
        case "toFQDNs":
          this.note(policy, here, "FQDN resolution is not modelled; toFQDNs matches nothing here");
          break;
        case "toServices":
          this.note(policy, here, "Kubernetes Services are not declared; toServices matches nothing here");
          break;
        case "fromNodes":
        case "toNodes":
          this.note(policy, here, "nodes are not declared; node selectors match nothing here (use the host / remote-node entities)");
          break;
        default:
          this.note(policy, here, "cloud groups are not resolved; they match nothing here");
      }
    }
    return bits;
  }

  private entries(rule: Record<string, unknown>, direction: Direction, policy: string): PortEntry[] {
    const toPorts = (rule["toPorts"] as { ports?: PortProtocol[]; rules?: L7Rules }[] | undefined) ?? [];
    if (((rule["icmps"] as unknown[] | undefined)?.length ?? 0) > 0) return []; // ICMP flows are not modelled
    if (toPorts.length === 0) return [{ ports: undefined, l7: [] }];
    return toPorts.map((pr) => ({
      ports: (pr.ports ?? []).length === 0 ? undefined : pr.ports!.map(portMatcher),
      l7: hasL7(pr.rules) ? l7Rules(pr.rules!, direction, policy) : [],
    }));
  }

  private addSpec(m: PolicyManifest, spec: PolicySpec, policy: number, at: string): void {
    const name = this.policyNames[policy]!;
    if (spec.nodeSelector !== undefined || spec.endpointSelector === undefined) {
      this.note(name, `${at}.nodeSelector`, "host policies (nodeSelector) are not modelled; this spec is ignored");
      return;
    }
    const namespace = m.kind === "CiliumNetworkPolicy" ? m.metadata.namespace : undefined;
    const subjects = [...this.select(spec.endpointSelector, namespace, "subject").members()];
    if (subjects.length === 0) return;
    for (const direction of ["ingress", "egress"] as const) {
      const allowList = (spec[direction] ?? []) as Record<string, unknown>[];
      const denyList = (spec[direction === "ingress" ? "ingressDeny" : "egressDeny"] ?? []) as Record<string, unknown>[];
      const explicit = spec.enableDefaultDeny?.[direction];
      const defaultDeny = explicit ?? allowList.length + denyList.length > 0;
      const rules: Rule[] = [];
      let requires: Bits | undefined;
      allowList.forEach((r, i) => {
        const where = `${at}.${direction}[${i}]`;
        rules.push({ policy, deny: false, peers: this.peers(r, direction, namespace, name, where), entries: this.entries(r, direction, name) });
        const req = (r[direction === "ingress" ? "fromRequires" : "toRequires"] as EndpointSelector[] | undefined) ?? [];
        for (const s of req) {
          if (requires === undefined) {
            requires = new Bits(this.n);
            requires.fill();
          }
          requires.and(this.select(s, namespace, "peer"));
        }
      });
      denyList.forEach((r, i) => {
        const where = `${at}.${direction}Deny[${i}]`;
        rules.push({ policy, deny: true, peers: this.peers(r, direction, namespace, name, where), entries: this.entries(r, direction, name) });
      });
      for (const x of subjects) {
        const side = this.sides[x]![direction];
        for (const r of rules) (r.deny ? side.deny : side.allow).push(r);
        if (defaultDeny) side.defaultDeny.push(policy);
        if (requires) {
          if (side.requires === undefined) {
            side.requires = new Bits(this.n);
            side.requires.fill();
          }
          side.requires.and(requires);
        }
      }
    }
  }

  // ---- decisions

  private endpointIndex(id: string): number {
    const i = this.index.get(id);
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
    const key = (portId * this.n + x) * 2 + (direction === "ingress" ? 1 : 0);
    const cached = this.portRules.get(key);
    if (cached) return cached;
    const side = this.sides[x]![direction];
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
    const side = this.sides[x]![direction];
    const pr = this.rulesFor(x, direction, port, protocol, portId);
    // Which of the port's deny / plain / l7 rules match y: the decision is interned per match pattern.
    const allowOk = side.requires === undefined || side.requires.has(y);
    const localhost = direction === "ingress" && y === this.hostIndex && this.allowLocalhost;
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
    const names = (rs: readonly Rule[]) => sortedUnique(rs.map((r) => this.policyNames[r.policy]!));
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
        id = this.intern({ direction, verdict: "denied-default", reason: "default-deny", policies: sortedUnique(side.defaultDeny.map((p) => this.policyNames[p]!)) });
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
    const eg = this.endpoints[s]!.enforced ? this.decide(s, "egress", d, port, protocol, portId) : -1;
    const ing = this.endpoints[d]!.enforced ? this.decide(d, "ingress", s, port, protocol, portId) : -1;
    return this.combine(eg, ing);
  }

  verdict(flow: Flow): FlowVerdict {
    const s = this.endpointIndex(flow.from);
    const d = this.endpointIndex(flow.to);
    const protocol = flow.protocol ?? "TCP";
    const port = String(flow.port);
    if (s === d) throw new Error(`flow ${flow.from} → ${flow.to}: source and destination are the same endpoint; Cilium does not apply policy to a pod talking to itself`);
    if (!this.endpoints[s]!.enforced && !this.endpoints[d]!.enforced) {
      throw new Error(`flow ${flow.from} → ${flow.to}: neither end is a Cilium endpoint, so no endpoint policy applies`);
    }
    const o = this.outcomes[this.outcomeOf(s, d, port, protocol, this.portId(port, protocol))]!;
    return { from: flow.from, to: flow.to, port, protocol, ...o, summary: describeOutcome(o, flow.from, flow.to) };
  }

  matrix(): Matrix {
    const sources = this.endpoints;
    const columns: MatrixColumn[] = [];
    const colIndex: number[] = [];
    const colPort: number[] = [];
    this.endpoints.forEach((e, i) => {
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
        if (d === s || (!sEnforced && !this.endpoints[d]!.enforced)) continue;
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

function describeDecision(d: DirectionDecision, endpoint: string): string {
  const at = `${d.direction} of ${endpoint}`;
  const from = d.policies.length > 0 ? ` from ${d.policies.join(", ")}` : "";
  switch (d.reason) {
    case "deny-rule":
      return `deny rule at ${at}${from}`;
    case "default-deny":
      return `default deny at ${at}${from}`;
    case "enforcement-always":
      return `default deny at ${at}: policyEnforcementMode always, no policy allows it`;
    case "allow-rule":
      return `allowed at ${at} by ${d.policies.join(", ")}`;
    case "l7-rule":
      return `L7 at ${at}: ${d.l7.map((r) => `${r.policy} ${r.text}`).join(", ")}`;
    case "allow-localhost":
      return `host always reaches local pods at ${at} (allow-localhost)`;
    case "enforcement-never":
      return "policyEnforcementMode never";
    case "not-enforced":
      return `no default deny at ${at}`;
  }
}

/** The outcome of one flow in one line: `denied-default (default deny at ingress of backend/backend-app from backend/namespace-isolation)`. */
export function describeOutcome(o: Outcome, from: string, to: string): string {
  const ds = [o.egress, o.ingress].filter((d): d is DirectionDecision => d !== undefined);
  const deciding = o.verdict.startsWith("denied") ? ds.filter((d) => d.verdict === o.verdict).slice(0, 1) : ds;
  const parts = [...new Set(deciding.filter((d) => d.reason !== "not-enforced").map((d) => describeDecision(d, d.direction === "egress" ? from : to)))];
  if (parts.length === 0) return `${o.verdict} (no policy applies)`;
  return `${o.verdict} (${parts.join("; ")})`;
}

/**
 * Builds the engine over typed (already validated) policies and the declared workloads.
 * @throws on a duplicate endpoint id or an external that is not an IP address
 */
export function buildVerdictEngine(policies: readonly PolicyManifest[], workloads: Workloads, opts: EngineOptions = {}): VerdictEngine {
  return new Engine(policies, workloads, opts);
}

/** Full-match of an Envoy (RE2) regular expression; undefined or empty matches everything. */
function fullMatch(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined || pattern === "") return true;
  try {
    return new RegExp(`^(?:${pattern})$`).test(value);
  } catch {
    return false;
  }
}

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
}

/**
 * Whether an HTTP request passes the L7 rules of an allowed flow: every direction that filters at L7 must have
 * a rule whose method and path (regular expressions, whole-string) match. Host and header conditions are not
 * evaluated (a rule with them counts as matching).
 */
export function httpAllowed(o: Outcome, req: HttpRequest): { allowed: boolean; rules: readonly L7Rule[] } {
  if (o.verdict !== "allowed-l7") return { allowed: o.verdict === "allowed", rules: [] };
  const dirs = [o.egress, o.ingress].filter((d): d is DirectionDecision => d !== undefined && d.verdict === "allowed-l7");
  const allowed = dirs.every((d) => d.l7.some((r) => r.kind === "http" && fullMatch(r.http?.method, req.method) && fullMatch(r.http?.path, req.path)));
  return { allowed, rules: dirs.flatMap((d) => d.l7) };
}

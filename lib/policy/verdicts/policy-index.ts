// The policies indexed by the endpoints they apply to: every declared workload, entity and external becomes an
// endpoint with its labels; each rule of each policy becomes its peers as a bitset over those endpoints and its
// port entries, listed at every endpoint it selects, per direction. The engine (engine.ts) decides flows from it.
import ipaddr from "ipaddr.js";
import { hasL7, type EndpointSelector, type L7Rules, type PolicyManifest, type PolicySpec, type PortProtocol } from "../model/schema";
import type { Workloads } from "../model/workloads-schema";
import { Bits, inCidr, matches, parseCidrText, portMatcher, requirements, type Label, type Parsed, type PortMatcher } from "./matching";
import {
  CLUSTER_ENTITIES,
  ENTITY_ENDPOINTS,
  NAMESPACE_LABELS_PREFIX,
  POD_NAMESPACE_KEY,
  type Direction,
  type Endpoint,
  type External,
  type FlowProtocol,
  type L7Rule,
  type ServedPort,
} from "./types";

export interface PortEntry {
  /** undefined: every port and protocol. */
  readonly ports: readonly PortMatcher[] | undefined;
  readonly l7: readonly L7Rule[];
}

export interface Rule {
  readonly policy: number;
  readonly deny: boolean;
  readonly peers: Bits;
  readonly entries: readonly PortEntry[];
}

export interface Side {
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
  // kafka, l7proto and l7 rules were removed in Cilium 1.20: the model refuses them, so none reach the engine.
  return out;
}

const PEERS: Record<Direction, readonly string[]> = {
  ingress: ["fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups"],
  egress: ["toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes"],
};
export function policyId(m: PolicyManifest): string {
  return m.kind === "CiliumNetworkPolicy" ? `${m.metadata.namespace}/${m.metadata.name}` : m.metadata.name;
}

export function sortedUnique(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort();
}

export class PolicyIndex {
  /** Pods, then entities, then externals. */
  readonly endpoints: Endpoint[] = [];
  /** What the index could not model, each once (see `EngineNote`). */
  readonly notes: string[] = [];
  /** Policy ids, by policy index. */
  readonly policyNames: string[] = [];
  /** Per endpoint, the rules that apply to it in each direction. */
  readonly sides: { ingress: Side; egress: Side }[] = [];
  /** Endpoint index by id. */
  readonly index = new Map<string, number>();
  /** The number of endpoints. */
  readonly n: number;
  private readonly labels: Map<string, Label>[] = [];
  private readonly addresses: (ipaddr.IPv4 | ipaddr.IPv6 | undefined)[] = [];
  private readonly selectorCache = new Map<string, Bits>();
  private host = -1;

  constructor(policies: readonly PolicyManifest[], workloads: Workloads, externals: readonly External[]) {
    this.addEndpoints(workloads, externals);
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

  /** The index of the `host` entity. */
  get hostIndex(): number {
    return this.host;
  }

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
      if (e === "host") this.host = this.endpoints.length;
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
}

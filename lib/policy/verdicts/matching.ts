// What the engine matches with: bitsets over endpoints, label selectors (with Cilium's label sources),
// port/protocol matchers and CIDRs.
import ipaddr from "ipaddr.js";
import type { EndpointSelector, PortProtocol } from "../model/schema";
import type { FlowProtocol } from "./types";

// ------------------------------------------------------------------------------------------ bitsets

export class Bits {
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

export interface Label {
  readonly source: string;
  readonly value: string;
}

export interface Requirement {
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

export function requirements(s: EndpointSelector): Requirement[] {
  const out: Requirement[] = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) out.push({ ...splitKey(k), op: "In", values: [v] });
  for (const e of s.matchExpressions ?? []) out.push({ ...splitKey(e.key), op: e.operator, values: e.values ?? [] });
  return out;
}

export function matches(reqs: readonly Requirement[], labels: ReadonlyMap<string, Label>): boolean {
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

export interface PortMatcher {
  /** undefined: any protocol. */
  readonly protocol: FlowProtocol | undefined;
  /** A named port, or a numeric range (port "0" = every port). */
  readonly name?: string;
  readonly from: number;
  readonly to: number;
}

export function portMatcher(p: PortProtocol): PortMatcher {
  const protocol = p.protocol === undefined || p.protocol === "ANY" ? undefined : p.protocol;
  if (!/^[0-9]+$/.test(p.port)) return { protocol, name: p.port, from: 0, to: 0 };
  const n = Number(p.port);
  if (n === 0) return { protocol, from: 0, to: 65535 };
  return { protocol, from: n, to: p.endPort !== undefined && p.endPort > n ? p.endPort : n };
}

export function portMatches(m: PortMatcher, port: string, numeric: number, protocol: FlowProtocol): boolean {
  if (m.protocol !== undefined && m.protocol !== protocol) return false;
  if (m.name !== undefined) return m.name === port;
  if (m.from === 0 && m.to === 65535) return true;
  return numeric >= m.from && numeric <= m.to;
}

// ------------------------------------------------------------------------------------------ CIDRs

export interface Parsed {
  cidr: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
}

export function parseCidrText(text: string): Parsed | undefined {
  if (!ipaddr.isValidCIDR(text)) return undefined;
  const [cidr, bits] = ipaddr.parseCIDR(text);
  return { cidr, bits };
}

export function inCidr(addr: ipaddr.IPv4 | ipaddr.IPv6, c: Parsed): boolean {
  return addr.kind() === c.cidr.kind() && addr.match(c.cidr, c.bits);
}


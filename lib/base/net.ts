// Pure network helpers shared by config validation and renderers: CIDRs, addresses, host:port, port ranges.
// Address and CIDR math goes through ipaddr.js; only the tiny grammars it does not cover (host:port,
// "from-to" port ranges, DNS names) are written here.
import ipaddr from "ipaddr.js";

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
export type IpFamily = "ipv4" | "ipv6";

/** A parsed CIDR whose host bits are all zero. */
export interface Cidr {
  /** The CIDR as written, e.g. "10.244.0.0/16". */
  readonly text: string;
  readonly family: IpFamily;
  readonly network: IpAddress;
  readonly prefix: number;
}

/** Why a string is not usable, as "<what is wrong>" and "<how to fix>" sentences. */
export interface Refusal {
  readonly problem: string;
  readonly fix: string;
}

export type Parsed<T> = { ok: true; value: T } | ({ ok: false } & Refusal);

const CIDR_EXAMPLE = 'Write a network address and a prefix length, e.g. "10.244.0.0/16"';

/**
 * Parses an IP address strictly: IPv4 only in dotted four-part decimal (ipaddr.js alone would also take
 * "10.1" or hex forms, which kubeadm and Cilium do not).
 */
export function parseIp(text: string): IpAddress | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (text.includes(":") && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

/** Parses "address/prefix" and refuses a missing mask or set host bits with a suggestion (cdk8s style). */
export function parseCidr(text: string): Parsed<Cidr> {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const ip = parseIp(text);
    if (ip) {
      const full = ip.kind() === "ipv4" ? 32 : 128;
      return { ok: false, problem: "CIDR mask is missing", fix: `Did you mean "${text}/${full}"?` };
    }
    return { ok: false, problem: "not a CIDR", fix: CIDR_EXAMPLE };
  }
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip) return { ok: false, problem: "not a CIDR: the address part is not an IP address", fix: CIDR_EXAMPLE };
  const max = ip.kind() === "ipv4" ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return { ok: false, problem: `prefix length must be a number from 0 to ${max}`, fix: CIDR_EXAMPLE };
  }
  const prefix = Number(prefixText);
  const network =
    ip.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(`${ip.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${ip.toString()}/${prefix}`);
  if (network.toString() !== ip.toString()) {
    return { ok: false, problem: "host bits are set", fix: `Did you mean "${network.toString()}/${prefix}"?` };
  }
  return { ok: true, value: { text, family: ip.kind(), network, prefix } };
}

/** The CIDR if `text` is a valid one, else undefined (for cross-field checks on possibly invalid input). */
export function cidrOrUndefined(text: unknown): Cidr | undefined {
  if (typeof text !== "string") return undefined;
  const r = parseCidr(text);
  return r.ok ? r.value : undefined;
}

/** True when `ip` lies inside `cidr` (false across families). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (ip.kind() !== cidr.family) return false;
  return ip.match(cidr.network, cidr.prefix);
}

/** True when the two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b.network) || cidrContains(b, a.network);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 label as Kubernetes uses it for node names: lower case, digits, '-', at most 63 characters. */
export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

/** RFC 1123 host name (dot-separated labels, at most 253 characters); case-insensitive, as DNS is. */
export function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  // An all-numeric dotted name is a malformed IPv4 address, not a host name.
  if (/^[0-9.]+$/.test(text)) return false;
  return text.toLowerCase().split(".").every((label) => DNS_LABEL.test(label));
}

/** True for an IP address or a DNS name. */
export function isHostAddress(text: string): boolean {
  return parseIp(text) !== undefined || isDnsName(text);
}

export interface HostPort {
  /** Host name or IP address, IPv6 without brackets. */
  readonly host: string;
  /** Absent when the text named only a host. */
  readonly port?: number;
}

/** Parses "host", "host:port", "[v6]:port" or a bare IPv6 address. */
export function parseHostPort(text: string): Parsed<HostPort> {
  const example = 'Write "host" or "host:port", e.g. "10.0.0.10:6443" or "[fd00::10]:6443"';
  let host = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (parseIp(host)?.kind() !== "ipv6") return { ok: false, problem: "only IPv6 addresses go inside brackets", fix: example };
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host, portText] = text.split(":") as [string, string];
  }
  if (!isHostAddress(host)) return { ok: false, problem: "not a host name or IP address", fix: example };
  if (portText === undefined) return { ok: true, value: { host } };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return { ok: false, problem: "port must be a number from 1 to 65535", fix: example };
  }
  return { ok: true, value: { host, port: Number(portText) } };
}

/** "host:port", with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return parseIp(host)?.kind() === "ipv6" ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** Parses kube-apiserver's `--service-node-port-range` syntax "from-to" (both inclusive). */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from < 1 || to > 65535 || from > to) return undefined;
  return { from, to };
}

export function inPortRange(range: PortRange, port: number): boolean {
  return port >= range.from && port <= range.to;
}

// The lint of lib/policy/policy-checks.ts: policies that Cilium loads but that do not do what their author meant,
// each finding with its id, severity, field path, message and fix (see policy-checks.ts for what is an error).
import ipaddr from "ipaddr.js";
import type { z } from "zod";
import { cidrContains, cidrOrUndefined, type Cidr } from "../base/net";
import { RULE_LISTS, hasL7, type EgressRule, type EndpointSelector, type PolicyManifest, type PolicySpec } from "./model/schema";
import type { Workloads } from "./model/workloads-schema";
import { withSource, type CheckContext, type Finding, type Severity } from "./findings";
import { NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY } from "./verdicts";

const q = (v: unknown): string => JSON.stringify(v);

export type Manifest = z.infer<typeof PolicyManifest>;

/** One spec of a parsed manifest, where the lint looks. */
export interface Located {
  manifest: Manifest;
  index: number;
  spec: PolicySpec;
  /** "spec" or "specs[i]". */
  at: string;
}

// ------------------------------------------------------------------------------------ selectors

/** Selector key without a `k8s:` / `any:` source; undefined for other sources (reserved:, cidr:, ...). */
function plainKey(key: string): string | undefined {
  const colon = key.indexOf(":");
  if (colon < 0) return key;
  const source = key.slice(0, colon);
  return source === "k8s" || source === "any" ? key.slice(colon + 1) : undefined;
}

function selectorKeys(s: EndpointSelector): string[] {
  return [...Object.keys(s.matchLabels ?? {}), ...(s.matchExpressions ?? []).map((e) => e.key)];
}

/** Labels Cilium sees on a declared workload: its own plus those derived from its namespace. */
function endpointLabels(w: Workloads, name: string, namespace: string): Record<string, string> | undefined {
  const wl = w.workloads.find((x) => x.name === name && x.namespace === namespace);
  const ns = w.namespaces.find((n) => n.name === namespace);
  if (!wl) return undefined;
  const out: Record<string, string> = { ...wl.labels, [POD_NAMESPACE_KEY]: namespace };
  for (const [k, v] of Object.entries(ns?.labels ?? {})) out[NAMESPACE_LABELS_PREFIX + k] = v;
  return out;
}

/** Label-selector semantics (Kubernetes), keys compared without their `k8s:`/`any:` source. */
export function selectorMatches(s: EndpointSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) {
    const key = plainKey(k);
    if (key === undefined || labels[key] !== v) return false;
  }
  for (const e of s.matchExpressions ?? []) {
    const key = plainKey(e.key);
    if (key === undefined) return false;
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const value = labels[key];
    const values = e.values ?? [];
    const ok =
      e.operator === "In" ? has && values.includes(value!)
      : e.operator === "NotIn" ? !has || !values.includes(value!)
      : e.operator === "Exists" ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

interface SelectorAt {
  selector: EndpointSelector;
  path: string;
  /** endpointSelector (subject) or a peer selector. */
  role: "subject" | "peer";
}

function selectorsOf(l: Located): SelectorAt[] {
  const out: SelectorAt[] = [];
  if (l.spec.endpointSelector) out.push({ selector: l.spec.endpointSelector, path: `${l.at}.endpointSelector`, role: "subject" });
  for (const list of RULE_LISTS) {
    (l.spec[list] ?? []).forEach((rule, i) => {
      const r = rule as Record<string, unknown>;
      for (const field of ["fromEndpoints", "toEndpoints", "fromRequires", "toRequires"]) {
        ((r[field] as EndpointSelector[] | undefined) ?? []).forEach((selector, j) =>
          out.push({ selector, path: `${l.at}.${list}[${i}].${field}[${j}]`, role: "peer" }),
        );
      }
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------- the checks

function finding(l: Located, id: string, severity: Severity, path: string, message: string, fix: string): Finding {
  const m = l.manifest;
  return {
    id,
    severity,
    policy: m.metadata.name,
    ...(m.kind === "CiliumNetworkPolicy" ? { namespace: m.metadata.namespace } : {}),
    path,
    message,
    fix,
  };
}

function checkEmptyRuleLists(l: Located): Finding[] {
  return RULE_LISTS.filter((k) => l.spec[k] !== undefined && l.spec[k]!.length === 0).map((k) => {
    const dir = k.startsWith("ingress") ? "ingress" : "egress";
    return finding(
      l, "empty-rule-list", "error", `${l.at}.${k}`,
      `${k} is an empty list: the policy does not apply at ${dir} and denies nothing`,
      k.endsWith("Deny")
        ? `list the traffic to deny, or remove ${k}`
        : `to deny all ${dir} write ${k}: [{}] (defaultDeny({ ${dir}: true })); otherwise remove ${k}`,
    );
  });
}

function checkNamespaceLabel(l: Located, ctx: CheckContext): Finding[] {
  const declared = ctx.workloads?.workloads.some((w) => "namespace" in w.labels) ?? false;
  if (declared) return [];
  const out: Finding[] = [];
  for (const s of selectorsOf(l)) {
    for (const [k, v] of Object.entries(s.selector.matchLabels ?? {})) {
      if (plainKey(k) !== "namespace") continue;
      out.push(finding(
        l, "namespace-label", "error", `${s.path}.matchLabels.${k}`,
        `selector label "${k}: ${v}" is a pod label no pod carries; it does not select the namespace ${q(v)}`,
        `select the namespace with "k8s:${POD_NAMESPACE_KEY}": ${q(v)} (fromNamespace(${q(v)}))`,
      ));
    }
    (s.selector.matchExpressions ?? []).forEach((e, i) => {
      if (plainKey(e.key) !== "namespace") return;
      out.push(finding(
        l, "namespace-label", "error", `${s.path}.matchExpressions[${i}].key`,
        `selector key ${q(e.key)} is a pod label no pod carries; it does not select namespaces`,
        `use the key "k8s:${POD_NAMESPACE_KEY}"`,
      ));
    });
  }
  return out;
}

function checkEntities(l: Located): Finding[] {
  if (l.manifest.kind !== "CiliumNetworkPolicy") return [];
  const ns = l.manifest.metadata.namespace;
  const out: Finding[] = [];
  (l.spec.ingress ?? []).forEach((r, i) =>
    (r.fromEntities ?? []).forEach((e, j) => {
      const path = `${l.at}.ingress[${i}].fromEntities[${j}]`;
      if (e === "cluster" || e === "all") {
        out.push(finding(
          l, "entities-widen", "error", path,
          `fromEntities ${q(e)} admits ${e === "all" ? "every source, inside the cluster and out," : "every endpoint of the cluster (all namespaces, hosts, remote nodes)"} into a policy scoped to namespace ${q(ns)}`,
          `list the peers with fromEndpoints (fromNamespace("<ns>") for a namespace); a deliberate cluster-wide allow belongs in a CiliumClusterwideNetworkPolicy`,
        ));
      } else if (e === "world") {
        out.push(finding(
          l, "entities-widen", "warning", path,
          `fromEntities "world" admits any address outside the cluster into namespace ${q(ns)}`,
          `narrow it with fromCIDRSet, unless these pods are meant to be public`,
        ));
      }
    }),
  );
  (l.spec.egress ?? []).forEach((r, i) =>
    (r.toEntities ?? []).forEach((e, j) => {
      if (e !== "cluster" && e !== "all") return;
      out.push(finding(
        l, "entities-widen", "warning", `${l.at}.egress[${i}].toEntities[${j}]`,
        `toEntities ${q(e)} lets pods of namespace ${q(ns)} reach ${e === "all" ? "any destination" : "every endpoint of the cluster"}`,
        `list the destinations with toEndpoints / toNamespace("<ns>")`,
      ));
    }),
  );
  return out;
}

function checkL7Proxy(l: Located, ctx: CheckContext): Finding[] {
  if (ctx.l7ProxyEnabled !== false) return [];
  const out: Finding[] = [];
  for (const dir of ["ingress", "egress"] as const) {
    (l.spec[dir] ?? []).forEach((r, i) =>
      (r.toPorts ?? []).forEach((pr, j) => {
        if (!hasL7(pr.rules)) return;
        out.push(finding(
          l, "l7-proxy-off", "error", `${l.at}.${dir}[${i}].toPorts[${j}].rules`,
          `L7 rules need Cilium's L7 proxy, which is off (l7Proxy: false); Cilium refuses the policy`,
          `turn l7Proxy on in the Cilium values, or drop the L7 rules`,
        ));
      }),
    );
  }
  return out;
}

function hasDnsRule(rules: readonly EgressRule[]): boolean {
  return rules.some((r) => (r.toPorts ?? []).some((pr) => (pr.rules?.dns?.length ?? 0) > 0));
}

function allowsPort53(rules: readonly EgressRule[]): boolean {
  return rules.some((r) =>
    (r.toPorts ?? []).some((pr) => (pr.ports ?? []).some((p) => p.port === "53" || (p.port === "0") || (p.endPort !== undefined && Number(p.port) <= 53 && p.endPort >= 53))),
  );
}

/** Egress rules of every policy that can apply to the pods `l` selects (same namespace, or clusterwide). */
function egressInScope(l: Located, all: readonly Located[]): EgressRule[] {
  const ns = l.manifest.kind === "CiliumNetworkPolicy" ? l.manifest.metadata.namespace : undefined;
  return all
    .filter((o) => o === l || o.manifest.kind === "CiliumClusterwideNetworkPolicy" || (ns !== undefined && o.manifest.kind === "CiliumNetworkPolicy" && o.manifest.metadata.namespace === ns))
    .flatMap((o) => o.spec.egress ?? []);
}

function checkDns(l: Located, all: readonly Located[]): Finding[] {
  const out: Finding[] = [];
  const scope = egressInScope(l, all);
  (l.spec.egress ?? []).forEach((r, i) => {
    if ((r.toFQDNs?.length ?? 0) === 0 || hasDnsRule(scope)) return;
    out.push(finding(
      l, "fqdn-without-dns", "warning", `${l.at}.egress[${i}].toFQDNs`,
      `toFQDNs only matches addresses Cilium's DNS proxy saw being looked up, and no egress rule with DNS rules (rules.dns) covers these pods`,
      `add allowDns() to egress (DNS to kube-dns with matchPattern "*")`,
    ));
  });
  const egressDeny = l.spec.enableDefaultDeny?.egress ?? (l.spec.egress ?? []).length + (l.spec.egressDeny ?? []).length > 0;
  if (egressDeny && !allowsPort53(scope)) {
    out.push(finding(
      l, "default-deny-egress-without-dns", "warning", `${l.at}.egress`,
      `egress default deny is on and no egress rule allows DNS (port 53): name lookups from these pods will fail`,
      `add allowDns() to egress`,
    ));
  }
  return out;
}

function toCidr(text: string): Cidr | undefined {
  if (!ipaddr.isValidCIDR(text)) return undefined;
  const [addr, prefix] = ipaddr.parseCIDR(text);
  const network = addr.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  return { text, family: addr.kind(), network, prefix };
}

function checkClusterCidrs(l: Located, ctx: CheckContext): Finding[] {
  const ranges = [
    { name: "pod", cidr: cidrOrUndefined(ctx.podCidr), why: "Cilium matches pods by identity, not by address" },
    { name: "service", cidr: cidrOrUndefined(ctx.serviceCidr), why: "service addresses are translated to backends before policy applies" },
  ].filter((r): r is { name: string; cidr: Cidr; why: string } => r.cidr !== undefined);
  if (ranges.length === 0) return [];
  const out: Finding[] = [];
  const look = (text: string, except: readonly string[], field: string, path: string, dir: "from" | "to") => {
    const c = toCidr(text);
    if (!c) return;
    for (const r of ranges) {
      const inside = cidrContains(r.cidr, c.network) && c.prefix >= r.cidr.prefix;
      const covers = cidrContains(c, r.cidr.network) && r.cidr.prefix >= c.prefix;
      const excepted = except.some((e) => {
        const x = toCidr(e);
        return x !== undefined && cidrContains(x, r.cidr.network) && r.cidr.prefix >= x.prefix;
      });
      const peer = dir === "from" ? "fromEndpoints / fromNamespace(...)" : "toEndpoints / toNamespace(...)";
      if (inside) {
        out.push(finding(
          l, "cidr-covers-cluster", "error", path,
          `${field} ${q(text)} lies inside the ${r.name} CIDR ${q(r.cidr.text)}: ${r.why}, so this rule never matches`,
          `select the pods with ${peer}`,
        ));
      } else if (covers && !excepted) {
        out.push(finding(
          l, "cidr-covers-cluster", "warning", path,
          `${field} ${q(text)} covers the ${r.name} CIDR ${q(r.cidr.text)}, but does not match that traffic: ${r.why}`,
          `add ${q(r.cidr.text)} to except (in a CIDR set) and select the pods with ${peer}`,
        ));
      }
    }
  };
  for (const list of RULE_LISTS) {
    const dir = list.startsWith("ingress") ? "from" : "to";
    (l.spec[list] ?? []).forEach((rule, i) => {
      const r = rule as Record<string, unknown>;
      ((r[`${dir}CIDR`] as string[] | undefined) ?? []).forEach((c, j) => look(c, [], `${dir}CIDR`, `${l.at}.${list}[${i}].${dir}CIDR[${j}]`, dir));
      ((r[`${dir}CIDRSet`] as { cidr?: string; except?: string[] }[] | undefined) ?? []).forEach((s, j) => {
        if (s.cidr !== undefined) look(s.cidr, s.except ?? [], `${dir}CIDRSet`, `${l.at}.${list}[${i}].${dir}CIDRSet[${j}].cidr`, dir);
      });
    });
  }
  return out;
}

function checkNamespaceLabelsInCnp(l: Located): Finding[] {
  if (l.manifest.kind !== "CiliumNetworkPolicy") return [];
  const ns = l.manifest.metadata.namespace;
  const out: Finding[] = [];
  for (const s of selectorsOf(l)) {
    if (s.role !== "peer") continue;
    const keys = selectorKeys(s.selector).map((k) => plainKey(k) ?? k);
    if (keys.includes(POD_NAMESPACE_KEY)) continue;
    const nsKey = keys.find((k) => k.startsWith(NAMESPACE_LABELS_PREFIX));
    if (nsKey === undefined) continue;
    out.push(finding(
      l, "namespace-labels-in-cnp", "warning", s.path,
      `selector on namespace label ${q(nsKey)} in a CiliumNetworkPolicy only matches pods of its own namespace ${q(ns)}: Cilium adds that namespace to every selector without a namespace key`,
      `select namespaces by name with "k8s:${POD_NAMESPACE_KEY}", or move the rule to a CiliumClusterwideNetworkPolicy`,
    ));
  }
  return out;
}

function checkSelectorsMatch(l: Located, ctx: CheckContext): Finding[] {
  const w = ctx.workloads;
  if (!w) return [];
  const ns = l.manifest.kind === "CiliumNetworkPolicy" ? l.manifest.metadata.namespace : undefined;
  const out: Finding[] = [];
  for (const s of selectorsOf(l)) {
    const keys = selectorKeys(s.selector);
    if (keys.length === 0 || keys.some((k) => plainKey(k) === undefined)) continue; // {} or reserved:/cidr: sources
    // A CNP scopes its subject, and peers without a namespace key, to its own namespace.
    const scoped = ns !== undefined && (s.role === "subject" || !keys.some((k) => plainKey(k) === POD_NAMESPACE_KEY));
    const candidates = w.workloads.filter((x) => !scoped || x.namespace === ns);
    const hit = candidates.some((x) => selectorMatches(s.selector, endpointLabels(w, x.name, x.namespace)!));
    if (hit) continue;
    const shown = { ...(s.selector.matchLabels ? { matchLabels: s.selector.matchLabels } : {}), ...(s.selector.matchExpressions ? { matchExpressions: s.selector.matchExpressions } : {}) };
    out.push(finding(
      l, "selector-matches-nothing", "warning", s.path,
      `selector ${q(shown)} matches no declared workload${scoped ? ` in namespace ${q(ns)}` : ""}`,
      `check the labels against the declared workloads (policies/workloads.ts), or declare the workload`,
    ));
  }
  return out;
}

export function checkDuplicates(parsed: readonly { manifest: Manifest; index: number }[], ctx: CheckContext): Finding[] {
  const first = new Map<string, number>();
  const out: Finding[] = [];
  for (const { manifest: m, index } of parsed) {
    const id = m.kind === "CiliumNetworkPolicy" ? `${m.metadata.namespace}/${m.metadata.name}` : m.metadata.name;
    const key = `${m.kind} ${id}`;
    const at = first.get(key);
    if (at === undefined) {
      first.set(key, index);
      continue;
    }
    const src = ctx.sources?.[at];
    const where = src ? `${src.file} document ${src.document}` : `policy #${at} of the set`;
    const l: Located = { manifest: m, index, spec: {} as PolicySpec, at: "spec" };
    out.push(withSource(finding(
      l, "duplicate-name", "error", "metadata.name",
      `${key} is defined twice (first in ${where}); the second silently replaces the first`,
      `rename one of them, or merge their rules into one policy`,
    ), index, ctx));
  }
  return out;
}

/** Every lint of one spec (`all`: every spec, for checks that look across policies). */
export function lintSpec(l: Located, all: readonly Located[], ctx: CheckContext): Finding[] {
  return [
    ...checkEmptyRuleLists(l),
    ...checkNamespaceLabel(l, ctx),
    ...checkEntities(l),
    ...checkL7Proxy(l, ctx),
    ...checkDns(l, all),
    ...checkClusterCidrs(l, ctx),
    ...checkNamespaceLabelsInCnp(l),
    ...checkSelectorsMatch(l, ctx),
  ];
}

// The invariants of the built values: what the builder guarantees (see cilium-values.ts), checked on the values
// merged with the overrides; a violated one can only come from the overrides, since the base values satisfy them all.
import * as ipaddr from "ipaddr.js";
import { formatPath } from "../base/text";
import { isObject, quoteValue } from "./chart-schema";
import { argName, type Resolved } from "./values-args";


type Seg = string | number;

interface Invariant {
    readonly path: readonly string[];
    /** Returns a problem description `<what>` and `<fix>` when the merged value is wrong. */
    readonly check: (value: unknown) => { what: string; fix: string } | undefined;
}

/** `eq(want, what, fix)`: a check that the value is exactly `want`. */
const eq = (want: unknown, what: string, fix: string) => (v: unknown) => v === want ? undefined : { what, fix };

function invariants(r: Resolved): Invariant[] {
    return [...endpointInvariants(r), ...hubbleInvariants(r), ...policyAndIpamInvariants(r)];
}

/** kube-proxy replacement, the apiserver endpoint, the IPAM mode. */
function endpointInvariants(r: Resolved): Invariant[] {
    const n = r.names;
    return [
        {
            path: ["kubeProxyReplacement"],
            check: (v) => {
                if (v === true) return undefined;
                if (typeof v === "string" && ["strict", "partial", "probe", "disabled"].includes(v)) {
                    return { what: "legacy value removed in Cilium 1.15, the chart accepts only true or false", fix: "Remove the override; the builder sets true because kube-proxy is not installed" };
                }
                return { what: "must be true: kube-proxy is not installed, the agent replaces it", fix: "Remove the override" };
            },
        },
        {
            path: ["k8sServiceHost"],
            check: eq(r.host, `must stay the control-plane endpoint ${JSON.stringify(r.host)} (without kube-proxy the agent dials the apiserver directly)`, `Change ${n.k8sServiceHost} instead of overriding it`),
        },
        {
            path: ["k8sServicePort"],
            check: eq(r.port, `must stay the control-plane endpoint port ${r.port}`, `Change the port of ${n.k8sServicePort} instead of overriding it`),
        },
        {
            path: ["k8sServiceHostRef", "name"],
            check: (v) => v === undefined || v === null || v === ""
                ? undefined
                : { what: "conflicts with k8sServiceHost, which the builder sets (the chart fails when both are set)", fix: "Remove the override" },
        },
        {
            path: ["ipam", "mode"],
            check: eq(r.ipamMode, `conflicts with ${n.ipamMode} ${JSON.stringify(r.ipamMode)} and the pod CIDR ${r.podCidr}`, `Set ${n.ipamMode} instead`),
        },
    ];
}

/** Hubble on, its TLS, the relay and the UI as the settings say (exposed or not). */
function hubbleInvariants(r: Resolved): Invariant[] {
    const n = r.names;
    const exposed = r.relay.nodePort !== undefined;
    const relayTls = r.relay.enabled && r.relay.tls;
    return [
        {
            path: ["hubble", "enabled"],
            check: eq(true, "Hubble must stay on (flows are how policies are verified)", "Remove the override"),
        },
        {
            path: ["hubble", "relay", "enabled"],
            check: eq(r.relay.enabled, r.relay.enabled
                ? `turns the relay off while microseg deploys it${exposed ? ` and exposes it on NodePort ${r.relay.nodePort}` : ""} (the Hubble UI and the hubble CLI read flows through it)`
                : `turns the relay on while ${argName("relay.enabled")} is false`, r.relay.enabled ? `Remove the override (${n.relayExpose} decides only whether the relay is on a NodePort)` : "Remove the override"),
        },
        {
            path: ["hubble", "ui", "enabled"],
            check: eq(r.ui.enabled, r.ui.enabled ? "turns the Hubble UI off while microseg deploys it" : `turns the Hubble UI on while ${argName("ui.enabled")} is false`, r.ui.enabled ? `Remove the override (${n.uiExpose} decides only whether the UI is on a NodePort)` : "Remove the override"),
        },
        {
            path: ["hubble", "tls", "enabled"],
            check: eq(r.tls.enabled, r.tls.enabled ? "turns Hubble TLS off (microseg keeps it on: the relay authenticates the agents with it)" : `turns Hubble TLS on while ${argName("tls.enabled")} is false`, "Remove the override"),
        },
        {
            path: ["hubble", "tls", "auto", "enabled"],
            check: eq(r.tls.enabled, r.tls.enabled ? "turns certificate generation off while Hubble TLS is on" : `turns certificate generation on while ${argName("tls.enabled")} is false`, "Remove the override"),
        },
        {
            path: ["hubble", "tls", "auto", "method"],
            check: eq(r.tls.method, `conflicts with the certificate method microseg uses, ${JSON.stringify(r.tls.method)} (a certmanager issuer is not created here)`, "Remove the override"),
        },
        {
            path: ["hubble", "relay", "tls", "server", "enabled"],
            check: eq(relayTls, relayTls ? `turns relay TLS off while ${n.relayTls} is true` : `turns relay TLS on while ${n.relayTls} is false`, `Set ${n.relayTls} instead`),
        },
        {
            path: ["hubble", "relay", "tls", "server", "mtls"],
            check: eq(relayTls && exposed, relayTls && exposed ? `turns client-certificate checks off on a relay exposed on NodePort ${r.relay.nodePort}` : "conflicts with the relay settings (mTLS is on only when the relay is exposed with TLS)", "Remove the override"),
        },
        {
            path: ["hubble", "relay", "service", "type"],
            check: exposed
                ? eq("NodePort", `must stay NodePort: the relay is exposed on NodePort ${r.relay.nodePort}`, `Remove the override, or turn ${n.relayExpose} off`)
                : (v) => v === undefined || v === null || v === "ClusterIP" ? undefined : { what: `exposes the relay while ${n.relayExpose} is off`, fix: `Set ${n.relayExpose}: true (and ${n.relayNodePort}) instead` },
        },
        {
            path: ["hubble", "relay", "service", "nodePort"],
            check: exposed
                ? eq(r.relay.nodePort, `conflicts with ${n.relayNodePort} ${r.relay.nodePort}`, `Set ${n.relayNodePort} instead`)
                : () => undefined,
        },
        {
            path: ["hubble", "ui", "service", "type"],
            check: r.ui.nodePort !== undefined
                ? eq("NodePort", `must stay NodePort: the UI is exposed on NodePort ${r.ui.nodePort}`, `Remove the override, or turn ${n.uiExpose} off`)
                // LoadBalancer is allowed here and reported by hubbleUiExposures (warned; refused in prod-like stacks).
                : (v) => v === undefined || v === null || v === "ClusterIP" || v === "LoadBalancer" ? undefined : { what: `exposes the UI while ${n.uiExpose} is off`, fix: `Set ${n.uiExpose}: true (and ${n.uiNodePort}) instead` },
        },
        {
            path: ["hubble", "ui", "service", "nodePort"],
            check: r.ui.nodePort !== undefined
                ? eq(r.ui.nodePort, `conflicts with ${n.uiNodePort} ${r.ui.nodePort}`, `Set ${n.uiNodePort} instead`)
                : () => undefined,
        },
    ];
}

/** The enforcement mode; the L7 proxy when policies need it; the IPAM pool wired to the pod CIDR. */
function policyAndIpamInvariants(r: Resolved): Invariant[] {
    const n = r.names;
    const list: Invariant[] = [
        {
            path: ["policyEnforcementMode"],
            check: eq(r.policyEnforcementMode, `conflicts with ${n.policyEnforcementMode} ${JSON.stringify(r.policyEnforcementMode)}`, `Set ${n.policyEnforcementMode} instead`),
        },
    ];
    if (r.l7Proxy) {
        list.push({
            path: ["l7Proxy"],
            check: eq(true, "turns the L7 proxy off while policies have L7 (HTTP/Kafka/DNS) rules", "Remove the override, or remove the L7 rules"),
        });
    }
    if (r.ipamMode === "kubernetes") {
        list.push({
            path: ["ipam", "operator", "clusterPoolIPv4PodCIDRList"],
            check: (v) => v === undefined ? undefined : { what: `has no effect with ${n.ipamMode} "kubernetes" (node podCIDRs come from kubeadm's podSubnet ${r.podCidr})`, fix: `Remove the override, or set ${n.ipamMode} "cluster-pool"` },
        });
        list.push({
            path: ["k8s", "requireIPv4PodCIDR"],
            check: eq(true, `with ${n.ipamMode} "kubernetes" the agent must wait for its node's podCIDR`, "Remove the override"),
        });
    } else {
        list.push({
            path: ["ipam", "operator", "clusterPoolIPv4PodCIDRList"],
            check: (v) => {
                const items = typeof v === "string" ? [v] : v;
                if (!Array.isArray(items) || items.length === 0) {
                    return { what: `must list the pod CIDR ${r.podCidr}`, fix: "Remove the override; the builder sets [podCidr]" };
                }
                const outside = items.find((c) => typeof c !== "string" || !cidrInside(c, r.podCidr));
                return outside === undefined ? undefined : {
                    what: `pool ${quoteValue(outside)} is not inside the pod CIDR ${r.podCidr} (kubeadm's podSubnet)`,
                    fix: `Remove the override (the builder sets [podCidr]), or change ${n.podCidr}`,
                };
            },
        });
        list.push({
            path: ["ipam", "operator", "clusterPoolIPv4MaskSize"],
            check: eq(r.maskSize, `conflicts with the per-node block size /${r.maskSize} microseg uses (the same as kube-controller-manager's --node-cidr-mask-size, which ${n.podCidr} is checked against)`, "Remove the override"),
        });
    }
    return list;
}

export function checkInvariants(r: Resolved, merged: Record<string, unknown>): string[] {
    const problems: string[] = [];
    for (const inv of invariants(r)) {
        const value = getAt(merged, inv.path);
        const bad = inv.check(value);
        if (!bad) continue;
        // Name the override that did it: the longest prefix of the path the overrides set.
        const at = overridePathOf(r.overrides, inv.path);
        const shown = at.length === inv.path.length ? value : getAt(r.overrides, at);
        problems.push(`${r.names.overrides}.${formatPath(at)}: ${bad.what} (${quoteValue(shown)}). ${bad.fix}.`);
    }
    return problems;
}

function overridePathOf(overrides: unknown, path: readonly string[]): Seg[] {
    const at: Seg[] = [];
    let cur: unknown = overrides;
    for (const seg of path) {
        if (!isObject(cur) || !(seg in cur)) break;
        at.push(seg);
        cur = cur[seg];
    }
    return at.length > 0 ? at : [...path];
}

/** Helm-style merge: objects merge key by key, everything else (arrays, scalars, null) replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
    if (!isObject(base) || !isObject(over)) return over === undefined ? base : structuredClone(over);
    const out: Record<string, unknown> = structuredClone(base);
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
    return out;
}

export function getAt(v: unknown, segs: readonly Seg[]): unknown {
    let cur: unknown = v;
    for (const s of segs) {
        if (!isObject(cur) && !Array.isArray(cur)) return undefined;
        cur = (cur as Record<string | number, unknown>)[s];
    }
    return cur;
}
function cidrInside(inner: string, outer: string): boolean {
    try {
        const [a, alen] = ipaddr.parseCIDR(inner);
        const [b, blen] = ipaddr.parseCIDR(outer);
        return a.kind() === b.kind() && alen >= blen && a.match(b, blen);
    } catch {
        return false;
    }
}

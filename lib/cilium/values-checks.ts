// The builder's argument checks: each problem `<setting>: <what> (<quoted value>). <fix>.`, all of them at once.
import * as ipaddr from "ipaddr.js";
import { isDnsName, parseHostPort, parseIp } from "../base/net";
import { isObject, quoteValue } from "./chart-schema";
import { argName, HUBBLE_TLS_METHODS, IPAM_MODES, POLICY_ENFORCEMENT_MODES, type CiliumValuesArgs, type Resolved } from "./values-args";

export function checkArgs(r: Resolved, a: CiliumValuesArgs): string[] {
    const p = [...checkEndpointArgs(r, a), ...checkHubbleArgs(r)];
    if (!isObject(r.overrides)) {
        p.push(`${r.names.overrides}: must be a map of chart values (${quoteValue(r.overrides)}). Give an object, e.g. { operator: { replicas: 1 } }.`);
    }
    return p;
}

/** The apiserver endpoint, the pod CIDR and IPAM, the enforcement mode. */
function checkEndpointArgs(r: Resolved, a: CiliumValuesArgs): string[] {
    const p: string[] = [];
    const n = r.names;
    const host = a.k8sServiceHost;
    const hostProblem = typeof host === "string" ? bareHostProblem(host) : undefined;
    if (typeof host !== "string" || host.trim() === "") {
        p.push(`${n.k8sServiceHost}: missing (${quoteValue(host)}). Set it to the control-plane endpoint host (an IP or DNS name the nodes can reach).`);
    } else if (hostProblem !== undefined) {
        p.push(`${n.k8sServiceHost}: ${hostProblem}`);
    }
    if (!isPort(r.port)) {
        p.push(`${n.k8sServicePort}: not a TCP port (${quoteValue(r.port)}). Use the apiserver's port, 1-65535 (kubeadm: 6443).`);
    }
    p.push(...checkPodCidr(r.podCidr, n.podCidr));
    if (!IPAM_MODES.includes(r.ipamMode)) {
        p.push(`${n.ipamMode}: not supported (${quoteValue(r.ipamMode)}). Use one of ${IPAM_MODES.map((m) => JSON.stringify(m)).join(", ")}.`);
    }
    // The per-node block size only matters to cluster-pool IPAM (kubernetes IPAM takes kube-controller-manager's
    // node podCIDRs). A block as large as the whole pod CIDR is allowed: one node, one block.
    const prefix = cidrPrefix(r.podCidr);
    if (r.ipamMode === "cluster-pool") {
        if (r.maskGiven && (!Number.isInteger(r.maskSize) || r.maskSize > 30 || r.maskSize < 1)) {
            p.push(`${argName("clusterPoolMaskSize")}: must be a whole number from 1 to 30 (${quoteValue(r.maskSize)}). Use e.g. 24.`);
        } else if (prefix !== undefined && r.maskSize < prefix) {
            p.push(r.maskGiven
                ? `${argName("clusterPoolMaskSize")}: per-node blocks of /${r.maskSize} do not fit in the pod CIDR ${r.podCidr} (${quoteValue(r.maskSize)}). Use a mask of /${prefix} or longer.`
                : `${n.podCidr}: smaller than one per-node /${r.maskSize} block of cluster-pool IPAM (${quoteValue(r.podCidr)}). Use a /${r.maskSize} or larger pod CIDR, e.g. "10.244.0.0/16".`);
        }
    }
    if (!POLICY_ENFORCEMENT_MODES.includes(r.policyEnforcementMode)) {
        p.push(`${n.policyEnforcementMode}: not a Cilium enforcement mode (${quoteValue(r.policyEnforcementMode)}). Use one of ${POLICY_ENFORCEMENT_MODES.map((m) => JSON.stringify(m)).join(", ")}.`);
    }
    return p;
}

/** Hubble TLS, the NodePorts of the relay and the UI, and what each needs. */
function checkHubbleArgs(r: Resolved): string[] {
    const p: string[] = [];
    const n = r.names;
    if (!HUBBLE_TLS_METHODS.includes(r.tls.method)) {
        p.push(`${argName("tls.method")}: not supported (${quoteValue(r.tls.method)}). Use "helm" or "cronJob" (certmanager needs an issuer this program does not create).`);
    }
    if (!Number.isInteger(r.tls.days) || r.tls.days < 1 || r.tls.days > 3650) {
        p.push(`${argName("tls.certValidityDays")}: must be a whole number of days, 1-3650 (${quoteValue(r.tls.days)}). Use e.g. 365.`);
    }
    const { min, max } = r.range;
    if (!isPort(min) || !isPort(max) || min > max) {
        p.push(`${n.nodePortRange}: not a port range (${quoteValue(`${min}-${max}`)}). Use the apiserver's --service-node-port-range, e.g. "30000-32767".`);
    }
    for (const [name, port] of [[n.relayNodePort, r.relay.nodePort], [n.uiNodePort, r.ui.nodePort]] as const) {
        if (port === undefined) continue;
        if (!Number.isInteger(port) || port < min || port > max) {
            const hint = Number.isInteger(port) && port < min && port + 27000 >= min && port + 27000 <= max ? ` (e.g. ${port + 27000})` : "";
            p.push(`${name}: outside the cluster's NodePort range ${min}-${max} (${quoteValue(port)}). Choose a port in ${min}-${max}${hint}, or widen ${n.nodePortRange}.`);
        }
    }
    if (r.relay.nodePort !== undefined && r.relay.nodePort === r.ui.nodePort) {
        p.push(`${n.uiNodePort}: same NodePort as ${n.relayNodePort} (${quoteValue(r.ui.nodePort)}). Give the UI and the relay different ports.`);
    }
    if (r.relay.nodePort !== undefined && !r.relay.enabled) {
        p.push(`${argName("relay.nodePort")}: the relay is exposed but not deployed (relay.enabled ${quoteValue(r.relay.enabled)}). Set relay.enabled true, or remove relay.nodePort.`);
    }
    if (r.relay.nodePort !== undefined && r.relay.enabled && !r.relay.tls) {
        p.push(`${n.relayTls}: a relay exposed on a NodePort must serve TLS with client certificates (${quoteValue(r.relay.tls)}). Set ${n.relayTls} true, or turn ${n.relayExpose} off and use kubectl port-forward.`);
    }
    if (r.relay.enabled && r.relay.tls && !r.tls.enabled) {
        p.push(`${argName("relay.tls")}: relay TLS uses the certificates of Hubble TLS, which is off (tls.enabled ${quoteValue(r.tls.enabled)}). Set tls.enabled true, or relay.tls false.`);
    }
    if (r.ui.enabled && !r.relay.enabled) {
        p.push(`${argName("ui.enabled")}: the Hubble UI needs the relay (relay.enabled ${quoteValue(r.relay.enabled)}). Set relay.enabled true, or ui.enabled false.`);
    }
    if (r.ui.nodePort !== undefined && !r.ui.enabled) {
        p.push(`${argName("ui.nodePort")}: the UI is exposed but not deployed (ui.enabled ${quoteValue(r.ui.enabled)}). Set ui.enabled true, or remove ui.nodePort.`);
    }
    return p;
}

/**
 * What is wrong with a k8sServiceHost, if anything: it must be a bare IP address (IPv6 without brackets, as the
 * chart puts it in KUBERNETES_SERVICE_HOST and client-go joins host and port) or DNS name.
 */
function bareHostProblem(host: string): string | undefined {
    if (parseIp(host) !== undefined || isDnsName(host)) return undefined;
    const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
    if (bracketed && parseIp(bracketed[1]!)?.kind() === "ipv6") {
        return `must be a bare address, an IPv6 address without brackets or port (${quoteValue(host)}). Use ${JSON.stringify(bracketed[1])}.`;
    }
    const noScheme = host.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
    const hp = parseHostPort(noScheme);
    const bare = hp.ok ? hp.value.host : undefined;
    if (bare !== undefined && bare !== host) {
        return `must be a bare host, without scheme, port or path (${quoteValue(host)}). Use ${JSON.stringify(bare)}; the port is the endpoint's port.`;
    }
    return `not an IP address or DNS name (${quoteValue(host)}). Give the host the nodes reach the API server at, e.g. "10.0.0.10" or "k8s-api.example.com".`;
}

function checkPodCidr(cidr: string, at: string): string[] {
    if (typeof cidr !== "string" || !cidr.includes("/")) {
        const fix = typeof cidr === "string" && ipaddr.IPv4.isValidFourPartDecimal(cidr) ? `Did you mean "${cidr}/16"?` : `Use the kubeadm podSubnet, e.g. "10.244.0.0/16".`;
        return [`${at}: not a CIDR, the prefix length is missing (${quoteValue(cidr)}). ${fix}`];
    }
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
        parsed = ipaddr.parseCIDR(cidr);
    } catch {
        return [`${at}: not a CIDR (${quoteValue(cidr)}). Use the kubeadm podSubnet, e.g. "10.244.0.0/16".`];
    }
    const [addr, len] = parsed;
    if (addr.kind() !== "ipv4") {
        return [`${at}: only IPv4 pod CIDRs are supported (${quoteValue(cidr)}). Use an IPv4 CIDR, e.g. "10.244.0.0/16".`];
    }
    const network = ipaddr.IPv4.networkAddressFromCIDR(cidr).toString();
    if (network !== addr.toString()) {
        return [`${at}: host bits are set (${quoteValue(cidr)}). Did you mean "${network}/${len}"?`];
    }
    if (len > 28) {
        return [`${at}: too small for a cluster (${quoteValue(cidr)}). Use a /28 or larger, typically a /16.`];
    }
    return [];
}

function isPort(n: unknown): n is number {
    return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
}
function cidrPrefix(cidr: string): number | undefined {
    try {
        return ipaddr.parseCIDR(cidr)[1];
    } catch {
        return undefined;
    }
}

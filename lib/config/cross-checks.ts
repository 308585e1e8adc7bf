// Cross-field checks of the stack config (run by the schema's superRefine): CIDR overlaps, ports, versions, hosts, Hubble
// exposure, environment rules. They run even when other fields failed, so every input is re-checked defensively.
import semver from "semver";
import { cidrContains, cidrOrUndefined, cidrsOverlap, formatHostPort, inPortRange, parseHostPort, parseIp, parsePortRange, type Cidr, type PortRange } from "../base/net";
import { hubbleUiExposures, hubbleUiPortForwardCommand } from "../cilium/cilium-values";
import { quote } from "../base/text";
import { CILIUM_EXAMPLES, CILIUM_KUBERNETES_COMPATIBILITY, DEFAULT_API_SERVER_PORT, DEFAULT_NODE_PORT_RANGE, DEFAULT_RELAY_NODE_PORT, DEFAULT_SERVICE_CIDR, DEFAULT_UI_NODE_PORT, HOST_PORTS, MAX_NODES, NODE_CIDR_MASK_V4, POD_CIDR_CANDIDATES, PROD_LIKE, SERVICE_CIDR_CANDIDATES, SERVICE_CIDR_PREFIX, SUPPORTED_CILIUM_MINORS, SUPPORTED_KUBERNETES_MINORS } from "./constants";
import { type Ctx, type Key, add, rec, settingPath } from "./messages";

function firstFree(candidates: readonly string[], taken: readonly Cidr[], addresses: readonly string[]): string | undefined {
  return candidates.find((c) => {
    const cidr = cidrOrUndefined(c)!;
    return !taken.some((t) => cidrsOverlap(t, cidr)) && !addresses.some((a) => {
      const ip = parseIp(a);
      return ip !== undefined && cidrContains(cidr, ip);
    });
  });
}

export function crossChecks(v: unknown, ctx: Ctx): void {
  const top = rec(v);
  const cluster = rec(top?.cluster);
  if (!top) return;
  if (cluster) clusterChecks(top, cluster, ctx);
  hubbleChecks(top, cluster, ctx);
  environmentChecks(top, ctx);
}

function clusterChecks(top: Record<string, unknown>, c: Record<string, unknown>, ctx: Ctx): void {
  const pod = cidrOrUndefined(c.podCidr);
  const svc = cidrOrUndefined(c.serviceCidr);
  const hosts = Array.isArray(c.hosts) ? c.hosts.map(rec) : [];
  // [setting path, address] of every node-side address we know.
  const addresses: Array<[string, string]> = [];
  if (c.mode === "kubeadm") {
    hosts.forEach((h, i) => typeof h?.address === "string" && addresses.push([`cluster.hosts[${i}].address`, h.address]));
  } else if (Array.isArray(c.nodeAddresses)) {
    c.nodeAddresses.forEach((a, i) => typeof a === "string" && addresses.push([`cluster.nodeAddresses[${i}]`, a]));
  }
  const endpoint = typeof c.controlPlaneEndpoint === "string" ? parseHostPort(c.controlPlaneEndpoint) : undefined;
  if (endpoint?.ok && parseIp(endpoint.value.host)) addresses.push(["cluster.controlPlaneEndpoint", endpoint.value.host]);
  const plain = addresses.map(([, a]) => a);

  if (pod && svc) {
    if (pod.family !== svc.family) {
      add(ctx, ["cluster", "serviceCidr"], `is ${svc.family} but cluster.podCidr "${pod.text}" is ${pod.family}`, svc.text, "Use one IP family for both CIDRs (dual-stack is not supported yet)");
    } else if (cidrsOverlap(pod, svc)) {
      const alt = firstFree(POD_CIDR_CANDIDATES, [svc], plain);
      add(ctx, ["cluster", "podCidr"], `overlaps cluster.serviceCidr "${svc.text}"`, pod.text, `Choose a pod CIDR outside the service CIDR${alt ? `, e.g. "${alt}"` : ""}`);
    }
  }
  for (const [key, cidr, candidates, others] of [
    ["podCidr", pod, POD_CIDR_CANDIDATES, svc],
    ["serviceCidr", svc, SERVICE_CIDR_CANDIDATES, pod],
  ] as const) {
    if (!cidr) continue;
    const inside = addresses.filter(([, a]) => {
      const ip = parseIp(a);
      return ip !== undefined && cidrContains(cidr, ip);
    });
    if (inside.length > 0) {
      const alt = firstFree(candidates, others ? [others] : [], plain);
      const list = inside.map(([p, a]) => `${p} "${a}"`).join(", ");
      add(ctx, ["cluster", key], `contains ${list}`, cidr.text, `Choose a ${key === "podCidr" ? "pod" : "service"} CIDR that no node address falls in${alt ? `, e.g. "${alt}"` : ""}`);
    }
  }

  if (c.mode !== "kubeadm") return;
  const hostList = hosts.filter((h): h is Record<string, unknown> => h !== undefined);
  if (hosts.length > MAX_NODES) {
    add(ctx, ["cluster", "hosts"], `${hosts.length} hosts: Kubernetes is tested with at most ${MAX_NODES} nodes per cluster`, undefined, "Split them into several clusters (one stack each)");
  }
  if (svc) {
    const limits = SERVICE_CIDR_PREFIX[svc.family];
    const size = svc.family === "ipv4" ? `${2 ** (32 - svc.prefix)} addresses` : `2^${128 - svc.prefix} addresses`;
    if (svc.prefix > limits.smallest) {
      add(ctx, ["cluster", "serviceCidr"], `too small for the cluster's Services: a /${svc.prefix} has ${size}; the API server takes the first, kube-dns the tenth, Cilium's Hubble Services and every application Service one each`, svc.text, `Use a /${limits.smallest} or larger, e.g. "${DEFAULT_SERVICE_CIDR}" (kubeadm's default)`);
    } else if (svc.prefix < limits.largest) {
      add(ctx, ["cluster", "serviceCidr"], `too large: kube-apiserver refuses a service CIDR larger than /${limits.largest}`, svc.text, `Use a /${limits.largest} to /${limits.smallest}, e.g. "${DEFAULT_SERVICE_CIDR}" (kubeadm's default)`);
    }
  }
  kubernetesCompatibility(top, c, ctx);
  hostKeyChecks(c, hosts, ctx);
  hosts.forEach((h, i) => h && nodeLabelAndTaintChecks(h, i, ctx));
  if (pod && pod.family === "ipv4" && hostList.length > 0) {
    const blocks = pod.prefix <= NODE_CIDR_MASK_V4 ? 2 ** (NODE_CIDR_MASK_V4 - pod.prefix) : 0;
    if (blocks < hostList.length) {
      add(ctx, ["cluster", "podCidr"], `has room for ${blocks} per-node /${NODE_CIDR_MASK_V4} block(s) but ${hostList.length} hosts are listed`, pod.text, 'Use a larger pod CIDR, e.g. "10.244.0.0/16"');
    }
  }

  for (const field of ["name", "address"] as const) {
    const seen = new Map<string, number>();
    hosts.forEach((h, i) => {
      const raw = h?.[field];
      if (typeof raw !== "string") return;
      const norm = parseIp(raw)?.toNormalizedString() ?? raw.toLowerCase();
      const first = seen.get(norm);
      if (first === undefined) seen.set(norm, i);
      else add(ctx, ["cluster", "hosts", i, field], `duplicates cluster.hosts[${first}].${field}`, raw, `Give every host a unique ${field}`);
    });
  }

  const cps = hostList.filter((h) => h.role === "control-plane");
  const rolesKnown = hostList.every((h) => h.role === "control-plane" || h.role === "worker");
  if (rolesKnown && hostList.length > 0 && cps.length === 0) {
    add(ctx, ["cluster", "hosts"], 'no host has role "control-plane"', undefined, 'Give one host (or 3 or 5, for HA) role: "control-plane"');
  } else if (cps.length % 2 === 0 && cps.length > 0) {
    add(ctx, ["cluster", "hosts"], `${cps.length} control-plane hosts: etcd needs an odd number to keep a quorum through a failure`, undefined, "Use 1, 3 or 5 control-plane hosts");
  }
  if (cps.length === 1 && endpoint?.ok) {
    // One control plane: the endpoint must reach it, so it cannot be another node's address.
    const norm = (a: string) => parseIp(a)?.toNormalizedString() ?? a.toLowerCase();
    const target = norm(endpoint.value.host);
    const cp = cps[0]!;
    const cpNames = [cp.address, cp.publicAddress, cp.name].filter((a): a is string => typeof a === "string").map(norm);
    const other = hosts.findIndex((h) => h !== undefined && h.role !== "control-plane" && [h.address, h.publicAddress, h.name].some((a) => typeof a === "string" && norm(a) === target));
    if (other >= 0 && !cpNames.includes(target)) {
      const field = [hosts[other]!.address, hosts[other]!.publicAddress].some((a) => typeof a === "string" && norm(a) === target) ? (norm(String(hosts[other]!.address)) === target ? "address" : "publicAddress") : "name";
      add(ctx, ["cluster", "controlPlaneEndpoint"], `is cluster.hosts[${other}].${field}, a worker, but the only control plane is ${quote(cp.name)}`, c.controlPlaneEndpoint, `Point it at ${quote(cp.name)} (e.g. ${quote(formatHostPort(String(cp.address), endpoint.value.port ?? DEFAULT_API_SERVER_PORT))}) or at a load balancer in front of it, or remove it to use the control plane's address`);
    }
  }
  if (cps.length > 1) {
    const hostNames = new Set(hostList.flatMap((h) => [h.address, h.publicAddress, h.name]).filter((a): a is string => typeof a === "string").map((a) => parseIp(a)?.toNormalizedString() ?? a.toLowerCase()));
    if (c.controlPlaneEndpoint === undefined) {
      add(ctx, ["cluster", "controlPlaneEndpoint"], `required with ${cps.length} control-plane hosts`, undefined, 'Set it to a load-balanced address in front of every control-plane host, e.g. "k8s-api.example.com:6443"');
    } else if (endpoint?.ok && hostNames.has(parseIp(endpoint.value.host)?.toNormalizedString() ?? endpoint.value.host.toLowerCase())) {
      add(ctx, ["cluster", "controlPlaneEndpoint"], `is a single host, so the API goes down with it although there are ${cps.length} control-plane hosts`, c.controlPlaneEndpoint, "Point it at a load balancer or DNS name in front of every control-plane host");
    }
  }

  const range = typeof c.serviceNodePortRange === "string" ? parsePortRange(c.serviceNodePortRange) : undefined;
  if (range) {
    const used: Array<readonly [number, string]> = [...HOST_PORTS];
    const ssh = rec(c.ssh);
    const sshPorts = new Set<number>([typeof ssh?.port === "number" ? ssh.port : 22]);
    hostList.forEach((h) => typeof rec(h.ssh)?.port === "number" && sshPorts.add(rec(h.ssh)!.port as number));
    sshPorts.forEach((p) => used.push([p, "sshd"]));
    if (endpoint?.ok && endpoint.value.port !== undefined && endpoint.value.port !== DEFAULT_API_SERVER_PORT) {
      used.push([endpoint.value.port, "the control-plane endpoint"]);
    }
    const clashes = used.filter(([p]) => inPortRange(range, p)).sort(([a], [b]) => a - b);
    if (clashes.length > 0) {
      add(ctx, ["cluster", "serviceNodePortRange"], `contains ports the nodes already use: ${clashes.map(([p, w]) => `${p} (${w})`).join(", ")}`, c.serviceNodePortRange, `Keep NodePorts clear of host ports, e.g. "${DEFAULT_NODE_PORT_RANGE}"`);
    }
  }
}

/** The Cilium minor must be tested with the Kubernetes minor (CILIUM_KUBERNETES_COMPATIBILITY). */
function kubernetesCompatibility(top: Record<string, unknown>, c: Record<string, unknown>, ctx: Ctx): void {
  const cilium = rec(top.cilium)?.version;
  const k8s = c.kubernetesVersion;
  if (typeof cilium !== "string" || typeof k8s !== "string" || !semver.valid(cilium) || !semver.valid(k8s)) return;
  const cMinor = `${semver.major(cilium)}.${semver.minor(cilium)}` as keyof typeof CILIUM_KUBERNETES_COMPATIBILITY;
  const kMinor = `${semver.major(k8s)}.${semver.minor(k8s)}`;
  const tested = CILIUM_KUBERNETES_COMPATIBILITY[cMinor];
  // An unsupported minor on either side is reported by its own setting already.
  if (!tested || tested.includes(kMinor) || !(SUPPORTED_KUBERNETES_MINORS as readonly string[]).includes(kMinor)) return;
  const fitting = SUPPORTED_CILIUM_MINORS.filter((m) => CILIUM_KUBERNETES_COMPATIBILITY[m].includes(kMinor));
  const alt = fitting.length > 0 ? `Use a Cilium minor tested with Kubernetes ${kMinor}: ${fitting.join(", ")} (e.g. "${CILIUM_EXAMPLES[fitting[fitting.length - 1]!]}"), or` : "Use";
  add(ctx, ["cilium", "version"], `Cilium ${cMinor} is not tested with Kubernetes ${kMinor} (cluster.kubernetesVersion ${quote(k8s)}); Cilium's compatibility table lists ${tested.join(", ")} for it`, cilium, `${alt} a Kubernetes minor Cilium ${cMinor} is tested with`);
}

/** Every pinned host key (hosts and bastions), by the address it is pinned for. */
function hostKeyChecks(c: Record<string, unknown>, hosts: Array<Record<string, unknown> | undefined>, ctx: Ctx): void {
  const pins: Array<[Key[], string, string]> = [];
  const norm = (a: unknown) => (typeof a === "string" ? parseIp(a)?.toNormalizedString() ?? a.toLowerCase() : "");
  const bastionPin = (p: Key[], ssh: unknown) => {
    const b = rec(rec(ssh)?.bastion);
    if (typeof b?.hostKey === "string") pins.push([[...p, "bastion", "hostKey"], norm(b.address), b.hostKey]);
  };
  bastionPin(["cluster", "ssh"], c.ssh);
  hosts.forEach((h, i) => {
    if (typeof h?.hostKey === "string") pins.push([["cluster", "hosts", i, "hostKey"], norm(h.address), h.hostKey]);
    bastionPin(["cluster", "hosts", i, "ssh"], h?.ssh);
  });
  const seen = new Map<string, [Key[], string]>();
  for (const [p, address, key] of pins) {
    const blob = key.trim().split(/\s+/).slice(0, 2).join(" ");
    const first = seen.get(blob);
    if (!first) seen.set(blob, [p, address]);
    else if (first[1] !== address) {
      add(ctx, p, `the same key as ${settingPath(first[0])}: two hosts cannot share a host key, so a pin could not tell them apart`, key, "Pin each host's own key (`ssh-keyscan -t ed25519 ADDRESS`); hosts cloned from one image share keys until they are regenerated (`rm /etc/ssh/ssh_host_*; ssh-keygen -A`)");
    }
  }
}

/**
 * Node labels the kubelet, kubeadm or Kubernetes own: kubernetes.io/hostname, os and arch are set by the kubelet from
 * the machine (k8s.io/kubelet/pkg/apis/well_known_labels.go) and would be overwritten; node-role.kubernetes.io/
 * control-plane is kubeadm's; the deprecated beta labels have GA names; any other key under kubernetes.io or k8s.io is
 * reserved for Kubernetes itself ("Well-Known Labels, Annotations and Taints"), except the prefixes meant for
 * cluster admins: node-role.kubernetes.io/<role>, node-restriction.kubernetes.io/<name>, and what the kubelet may set
 * (node.kubernetes.io/*, kubelet.kubernetes.io/*, topology.kubernetes.io/zone and region).
 */
function reservedLabel(key: string, role: unknown): { what: string; fix: string } | undefined {
  const own = "Use a key under your own prefix, e.g. \"node.example.com/zone\"";
  if (["kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch"].includes(key)) {
    return { what: "is set by the kubelet from the machine (it would be overwritten, and schedulers rely on it)", fix: `Remove it. ${own}` };
  }
  if (key === "node-role.kubernetes.io/control-plane" || key === "node-role.kubernetes.io/master") {
    return { what: role === "control-plane" ? "is set by kubeadm on control-plane hosts" : "is kubeadm's control-plane role label, on a worker", fix: role === "control-plane" ? "Remove it (kubeadm sets it)" : 'Remove it, or give the host role: "control-plane"' };
  }
  const renamed: Record<string, string> = {
    "failure-domain.beta.kubernetes.io/zone": "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region": "topology.kubernetes.io/region",
    "beta.kubernetes.io/instance-type": "node.kubernetes.io/instance-type",
  };
  if (renamed[key]) return { what: "is a deprecated label", fix: `Use "${renamed[key]}"` };
  const slash = key.indexOf("/");
  const ns = slash < 0 ? "" : key.slice(0, slash);
  const under = (d: string) => ns === d || ns.endsWith(`.${d}`);
  if (!under("kubernetes.io") && !under("k8s.io")) return undefined;
  if (["node-role.kubernetes.io", "node-restriction.kubernetes.io", "node.kubernetes.io", "kubelet.kubernetes.io"].some(under)) return undefined;
  if (["topology.kubernetes.io/zone", "topology.kubernetes.io/region"].includes(key)) return undefined;
  return { what: `is in the ${ns} namespace, reserved for Kubernetes components`, fix: `${own}; node-role.kubernetes.io/<role> and node-restriction.kubernetes.io/<name> are the Kubernetes prefixes meant for you` };
}

function nodeLabelAndTaintChecks(h: Record<string, unknown>, i: number, ctx: Ctx): void {
  const labels = rec(h.labels);
  for (const key of Object.keys(labels ?? {})) {
    const r = reservedLabel(key, h.role);
    if (r) add(ctx, ["cluster", "hosts", i, "labels", key], r.what, labels![key], r.fix);
  }
  if (!Array.isArray(h.taints)) return;
  const seen = new Map<string, number>();
  h.taints.forEach((t, j) => {
    const r = rec(t);
    if (typeof r?.key !== "string" || typeof r.effect !== "string") return;
    const id = `${r.key}\u0000${r.effect}`;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, j);
    else add(ctx, ["cluster", "hosts", i, "taints", j], `duplicates cluster.hosts[${i}].taints[${first}]: a node takes one taint per key and effect`, `${r.key}:${r.effect}`, "Keep one of them (merge their values)");
  });
}

function hubbleChecks(top: Record<string, unknown>, cluster: Record<string, unknown> | undefined, ctx: Ctx): void {
  const hubble = rec(top.hubble);
  const relay = rec(hubble?.relay);
  const ui = rec(hubble?.ui);
  const rangeText = typeof cluster?.serviceNodePortRange === "string" ? cluster.serviceNodePortRange : undefined;
  const range: PortRange | undefined = rangeText ? parsePortRange(rangeText) : undefined;
  const exposed: Array<["relay" | "ui", number]> = [];
  for (const [name, part] of [["relay", relay], ["ui", ui]] as const) {
    const port = part?.nodePort;
    if (part?.expose === true && typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535) exposed.push([name, port]);
  }
  for (const [name, port] of exposed) {
    if (!range || inPortRange(range, port)) continue;
    const why = name === "relay" && port === 4245 ? "4245 is the relay's container port, not a NodePort: " : "";
    const example = name === "relay" ? DEFAULT_RELAY_NODE_PORT : DEFAULT_UI_NODE_PORT;
    const suggestion = inPortRange(range, example) ? example : range.from;
    add(ctx, ["hubble", name, "nodePort"], `outside cluster.serviceNodePortRange "${rangeText}"`, port, `${why}pick a port in ${rangeText}, e.g. ${suggestion}, or widen cluster.serviceNodePortRange explicitly`);
  }
  if (exposed.length === 2 && exposed[0]![1] === exposed[1]![1]) {
    add(ctx, ["hubble", "ui", "nodePort"], "equals hubble.relay.nodePort", exposed[1]![1], `Give the UI its own port, e.g. ${exposed[1]![1] === DEFAULT_UI_NODE_PORT ? DEFAULT_RELAY_NODE_PORT + 1 : DEFAULT_UI_NODE_PORT}`);
  }
  if (relay?.expose === true && relay.tls === false && relay.insecure !== true) {
    add(ctx, ["hubble", "relay", "tls"], "the relay would be exposed on a NodePort without TLS", false, "Keep tls: true, or set hubble.relay.insecure: true to accept plaintext flow data on the network");
  }
  if (relay?.tls === true && relay.insecure === true) {
    add(ctx, ["hubble", "relay", "insecure"], "only applies with tls: false", true, "Remove it, or set hubble.relay.tls: false as well");
  }
}

function environmentChecks(top: Record<string, unknown>, ctx: Ctx): void {
  const cilium = rec(top.cilium);
  const version = typeof cilium?.version === "string" && semver.valid(cilium.version) === cilium.version ? cilium.version : undefined;
  const chart = rec(cilium?.chart);
  if (version && semver.prerelease(version)?.[0] === "dev" && typeof chart?.repository === "string") {
    add(ctx, ["cilium", "version"], "a development snapshot, never published to a Helm repository", version, "Use a released version, or set cilium.chart.path to a local chart of that version");
  }
  if (PROD_LIKE.includes(top.environment as string) && rec(top.safety)?.allowUnauthenticatedHubbleUi !== true) {
    const ui = rec(rec(top.hubble)?.ui);
    const port = ui?.expose === true ? (typeof ui.nodePort === "number" ? ui.nodePort : DEFAULT_UI_NODE_PORT) : undefined;
    for (const e of hubbleUiExposures(port, cilium?.valuesOverrides)) {
      const where = e.setting.split(".");
      add(ctx, where, `exposes Hubble UI ${e.how} in the ${String(top.environment)} stack; it has no authentication, so anyone who reaches it reads every flow of the cluster`, e.value, `Remove it and reach the UI with \`${hubbleUiPortForwardCommand()}\` (the stack output hubbleUiPortForward), or set safety.allowUnauthenticatedHubbleUi: true if an authenticating proxy guards it`);
    }
  }
  if (rec(top.policies)?.httpRules === "omit" && top.environment !== "lab") {
    add(ctx, ["policies", "httpRules"], "deploys the policies without their HTTP rules, so every request to those ports is allowed; only the lab, which has no Envoy, may do that", "omit", `Remove it (default "enforce") in the ${String(top.environment)} stack`);
  }
  if (top.environment !== "prod") return;
  if (version && semver.prerelease(version)) {
    add(ctx, ["cilium", "version"], "a pre-release in prod", version, "Pin a released version (without a \"-...\" suffix) in prod");
  }
  if (cilium?.policyEnforcementMode === "never" && rec(top.safety)?.allowPolicyEnforcementNever !== true) {
    add(ctx, ["cilium", "policyEnforcementMode"], "disables every network policy in prod", "never", 'Use "default" or "always", or set safety.allowPolicyEnforcementNever: true if you mean it');
  }
  if (rec(top.policies)?.demo === true) {
    add(ctx, ["policies", "demo"], "the demo workloads' policies do not belong in prod", true, "Set it to false in the prod stack");
  }
}

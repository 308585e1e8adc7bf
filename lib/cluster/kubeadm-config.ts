// The kubeadm configuration each node gets (API kubeadm.k8s.io/v1beta4, read by kubeadm 1.31+; microseg installs
// 1.32-1.35), rendered from the typed stack config by pure functions and printed by a YAML library.
// Join secrets (bootstrap token, CA cert hash, certificate key) never enter the rendered text: it carries the
// well-formed placeholders of JOIN_PLACEHOLDERS, which kubeadm-join.sh replaces on the host from its stdin; the
// `documents` carry them as `Secret`s, so `microseg render` prints "[secret]".
import YAML from "yaml";
import { DEFAULT_API_SERVER_PORT, endpointHostPort, endpointString, type HostConfig, type KubeadmClusterConfig, type StackConfig } from "../../config";
import { parseIp } from "../base/net";
import { Secret } from "../base/secret";

export const KUBEADM_API_VERSION = "kubeadm.k8s.io/v1beta4";
export const KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1";
/** containerd as installed by prepare-host.sh. */
export const CRI_SOCKET = "unix:///var/run/containerd/containerd.sock";
/** kubeadm's own control-plane taint; written out because an explicit `taints` list replaces kubeadm's default. */
export const CONTROL_PLANE_TAINT = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" } as const;
/** TTL of the bootstrap token `kubeadm init` creates (its default is 24h); joins get fresh tokens from create-join-token.sh. */
export const INIT_TOKEN_TTL = "15m0s";
/** Cilium replaces kube-proxy. */
export const SKIP_PHASES_INIT = ["addon/kube-proxy"] as const;

/**
 * Placeholders for the join secrets in the rendered YAML. Well-formed (token `[a-z0-9]{6}.[a-z0-9]{16}`, sha256 pin,
 * 32-byte hex AES key) so `kubeadm config validate` checks everything else; never a usable value.
 */
export const JOIN_PLACEHOLDERS = {
  token: "xxxxxx.xxxxxxxxxxxxxxxx",
  caCertHash: `sha256:${"0".repeat(64)}`,
  certificateKey: "f".repeat(64),
} as const;
export type JoinSecretName = keyof typeof JOIN_PLACEHOLDERS;

/** Label namespaces the kubelet may set on its own Node (k8s.io/kubelet/pkg/apis/well_known_labels.go). */
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];
/** Single labels in kubernetes.io the kubelet may set (same file). */
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
]);

const inDomain = (ns: string, domain: string) => ns === domain || ns.endsWith(`.${domain}`);

/**
 * True when the kubelet may set the label through `--node-labels`. The kubelet refuses to start with any other
 * label under kubernetes.io / k8s.io (cmd/kubelet/app/options ValidateKubeletFlags), and the NodeRestriction
 * admission plugin refuses the same set on the kubelet's own Node object.
 */
export function kubeletMaySetLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const slash = key.indexOf("/");
  const ns = slash < 0 ? "" : key.slice(0, slash);
  if (KUBELET_LABEL_NAMESPACES.some((d) => inDomain(ns, d))) return true;
  return !inDomain(ns, "kubernetes.io") && !inDomain(ns, "k8s.io");
}

/** Splits a host's labels into those the kubelet sets at registration and those label-node.sh sets after the join. */
export function splitNodeLabels(labels: Readonly<Record<string, string>>): { kubelet: Record<string, string>; afterJoin: Record<string, string> } {
  const kubelet: Record<string, string> = {};
  const afterJoin: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) (kubeletMaySetLabel(key) ? kubelet : afterJoin)[key] = labels[key]!;
  return { kubelet, afterJoin };
}

/** "k=v,k2=v2" (sorted), the format of kubelet `--node-labels` and of label-node.sh's NODE_LABELS. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

export interface Arg {
  readonly name: string;
  readonly value: string;
}
export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}
export interface NodeRegistration {
  readonly name: string;
  readonly criSocket: string;
  readonly taints: readonly Taint[];
  readonly kubeletExtraArgs?: readonly Arg[];
}
export interface ApiEndpoint {
  readonly advertiseAddress?: string;
  readonly bindPort: number;
}
/** A kubeadm or kubelet configuration document as sent (fields of kubeadm v1beta4 / kubelet v1beta1). */
export type KubeadmDocument = { readonly apiVersion: string; readonly kind: string } & Readonly<Record<string, unknown>>;

export interface RenderedKubeadmConfig {
  /** "kubeadm-init" on the first control-plane host, "kubeadm-join" on every other host. */
  readonly step: "kubeadm-init" | "kubeadm-join";
  readonly node: string;
  readonly role: HostConfig["role"];
  /** The documents in file order; join secrets are `Secret`s whose content is the placeholder. */
  readonly documents: readonly KubeadmDocument[];
  /** The multi-document YAML written to the host; join secrets are JOIN_PLACEHOLDERS. */
  readonly yaml: string;
  /** `kubeadm init --upload-certs` (a flag, not a config field): with more than one control plane. */
  readonly uploadCerts: boolean;
  /** Labels the kubelet may not set on itself (NodeRestriction): label-node.sh applies them after the join. */
  readonly labelsAfterJoin: Readonly<Record<string, string>>;
}

function kubeadmCluster(cfg: StackConfig): KubeadmClusterConfig {
  if (cfg.cluster.mode !== "kubeadm") throw new Error(`kubeadm config: cluster.mode is "${cfg.cluster.mode}"; kubeadm configs exist only in mode "kubeadm"`);
  return cfg.cluster;
}

const isIp = (a: string) => parseIp(a) !== undefined;
const sameAddress = (a: string, b: string) => (parseIp(a)?.toNormalizedString() ?? a.toLowerCase()) === (parseIp(b)?.toNormalizedString() ?? b.toLowerCase());

/**
 * The port kube-apiserver binds on this host: the endpoint's port when the endpoint is this very host (no load
 * balancer), else 6443 behind the load balancer.
 */
export function apiServerBindPort(cfg: StackConfig, host: HostConfig): number {
  const ep = endpointHostPort(cfg);
  const own = [host.address, host.publicAddress].filter((a): a is string => a !== undefined);
  return own.some((a) => sameAddress(a, ep.host)) ? ep.port : DEFAULT_API_SERVER_PORT;
}

/** Every name the API server certificate must carry: each control-plane address and publicAddress, then the endpoint host. */
export function apiServerCertSans(cfg: StackConfig): string[] {
  const c = kubeadmCluster(cfg);
  const out: string[] = [];
  const add = (a: string | undefined) => a !== undefined && !out.some((o) => sameAddress(o, a)) && out.push(a);
  for (const h of c.hosts.filter((h) => h.role === "control-plane")) {
    add(h.address);
    add(h.publicAddress);
  }
  add(endpointHostPort(cfg).host);
  return out;
}

function nodeRegistration(host: HostConfig): { registration: NodeRegistration; afterJoin: Record<string, string> } {
  const { kubelet, afterJoin } = splitNodeLabels(host.labels);
  const args: Arg[] = [];
  // A DNS-name address leaves node-ip to the kubelet (first address of the default route's interface).
  if (isIp(host.address)) args.push({ name: "node-ip", value: host.address });
  if (Object.keys(kubelet).length > 0) args.push({ name: "node-labels", value: formatLabels(kubelet) });
  const taints: Taint[] = host.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect }));
  if (host.role === "control-plane" && !taints.some((t) => t.key === CONTROL_PLANE_TAINT.key)) taints.unshift({ ...CONTROL_PLANE_TAINT });
  return {
    registration: { name: host.name, criSocket: CRI_SOCKET, taints, ...(args.length > 0 ? { kubeletExtraArgs: args } : {}) },
    afterJoin,
  };
}

function localApiEndpoint(cfg: StackConfig, host: HostConfig): ApiEndpoint {
  return { ...(isIp(host.address) ? { advertiseAddress: host.address } : {}), bindPort: apiServerBindPort(cfg, host) };
}

function toYaml(documents: readonly KubeadmDocument[]): string {
  const placeholders = new Set<unknown>(Object.values(JOIN_PLACEHOLDERS));
  return documents
    .map((d) => {
      const doc = new YAML.Document(d, (_key: unknown, v: unknown) => (v instanceof Secret ? v.reveal() : v), { version: "1.2" });
      // Quoted, so the value put in on the host stays a string (an all-digit token or key would be a number).
      YAML.visit(doc, { Scalar: (_k, node) => void (placeholders.has(node.value) && (node.type = "QUOTE_DOUBLE")) });
      return doc.toString({ lineWidth: 0 });
    })
    .join("---\n");
}

/** `InitConfiguration` + `ClusterConfiguration` + `KubeletConfiguration` for `kubeadm init` on the first control-plane host. */
export function renderKubeadmInit(cfg: StackConfig, host: HostConfig): RenderedKubeadmConfig {
  const c = kubeadmCluster(cfg);
  const cps = c.hosts.filter((h) => h.role === "control-plane");
  if (cps[0]?.name !== host.name) {
    throw new Error(`kubeadm-init ${host.name}: kubeadm init runs on the first control-plane host${cps[0] ? ` ("${cps[0].name}")` : ""}; render a join config for this host`);
  }
  const { registration, afterJoin } = nodeRegistration(host);
  const documents: KubeadmDocument[] = [
    {
      apiVersion: KUBEADM_API_VERSION,
      kind: "InitConfiguration",
      bootstrapTokens: [
        {
          description: "created by kubeadm init; microseg joins use tokens from create-join-token",
          ttl: INIT_TOKEN_TTL,
          groups: ["system:bootstrappers:kubeadm:default-node-token"],
          usages: ["signing", "authentication"],
        },
      ],
      nodeRegistration: registration,
      localAPIEndpoint: localApiEndpoint(cfg, host),
      skipPhases: [...SKIP_PHASES_INIT],
    },
    {
      apiVersion: KUBEADM_API_VERSION,
      kind: "ClusterConfiguration",
      kubernetesVersion: `v${c.kubernetesVersion}`,
      controlPlaneEndpoint: endpointString(cfg),
      networking: { podSubnet: c.podCidr, serviceSubnet: c.serviceCidr },
      apiServer: {
        certSANs: apiServerCertSans(cfg),
        extraArgs: [{ name: "service-node-port-range", value: c.serviceNodePortRange }],
      },
      // Stored in the kubeadm-config ConfigMap, so `kubeadm upgrade` keeps kube-proxy away too.
      proxy: { disabled: true },
    },
    { apiVersion: KUBELET_API_VERSION, kind: "KubeletConfiguration", cgroupDriver: "systemd" },
  ];
  return { step: "kubeadm-init", node: host.name, role: host.role, documents, yaml: toYaml(documents), uploadCerts: cps.length > 1, labelsAfterJoin: afterJoin };
}

/**
 * `JoinConfiguration` for every host but the first control plane: bootstrap-token discovery through the control-plane
 * endpoint, pinned by the CA cert hash; `controlPlane` with the certificate key for control-plane hosts.
 */
export function renderKubeadmJoin(cfg: StackConfig, host: HostConfig): RenderedKubeadmConfig {
  const c = kubeadmCluster(cfg);
  const first = c.hosts.find((h) => h.role === "control-plane");
  if (first?.name === host.name) throw new Error(`kubeadm-join ${host.name}: this is the first control-plane host, which runs kubeadm init`);
  const slot = (name: JoinSecretName) => Secret.of(JOIN_PLACEHOLDERS[name]);
  const { registration, afterJoin } = nodeRegistration(host);
  const documents: KubeadmDocument[] = [
    {
      apiVersion: KUBEADM_API_VERSION,
      kind: "JoinConfiguration",
      nodeRegistration: registration,
      discovery: {
        bootstrapToken: { apiServerEndpoint: endpointString(cfg), token: slot("token"), caCertHashes: [slot("caCertHash")] },
      },
      ...(host.role === "control-plane" ? { controlPlane: { localAPIEndpoint: localApiEndpoint(cfg, host), certificateKey: slot("certificateKey") } } : {}),
    },
  ];
  return { step: "kubeadm-join", node: host.name, role: host.role, documents, yaml: toYaml(documents), uploadCerts: false, labelsAfterJoin: afterJoin };
}

/** The kubeadm config of every host, in host order: init for the first control plane, join for the rest. */
export function renderKubeadmConfigs(cfg: StackConfig): RenderedKubeadmConfig[] {
  if (cfg.cluster.mode !== "kubeadm") return [];
  const first = cfg.cluster.hosts.find((h) => h.role === "control-plane");
  return cfg.cluster.hosts.map((h) => (h === first ? renderKubeadmInit(cfg, h) : renderKubeadmJoin(cfg, h)));
}


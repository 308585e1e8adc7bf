// The stack config's fixed values: environments, supported versions, defaults, limits (config.ts re-exports the public ones).


/** One stack per environment; `prod` gets the stricter rules below. */
export const ENVIRONMENTS = ["dev", "staging", "prod", "lab"] as const;
/** Environments treated like prod for exposure (staging is prod's shape on a smaller footprint). */
export const PROD_LIKE: readonly string[] = ["prod", "staging"];
/** Kubernetes minors microseg installs with kubeadm (pkgs.k8s.io keeps one apt repository per minor). */
export const SUPPORTED_KUBERNETES_MINORS = ["1.32", "1.33", "1.34", "1.35"] as const;
/** Cilium minors whose chart takes `kubeProxyReplacement: true` and the Hubble values microseg sets. */
export const SUPPORTED_CILIUM_MINORS = ["1.16", "1.17", "1.18", "1.19", "1.20"] as const;

/**
 * The Kubernetes minors each Cilium minor is e2e-tested with, from the "Kubernetes Compatibility" table of Cilium's
 * docs (Documentation/network/kubernetes/compatibility.rst on each release branch, docs.cilium.io/en/v1.X/network/
 * kubernetes/compatibility/). 1.18 (v1.18.14: 1.30-1.33) and 1.19 (v1.19.3: 1.32-1.35) were read from those pages;
 * 1.20 (v1.20.2: 1.33-1.36) from that file in the Go module github.com/cilium/cilium@v1.20.2, the one lab/build-cilium.sh
 * builds the lab's agent from (lab/versions.env); 1.16 and 1.17 are those branches' tables as published. A pair outside
 * the table is refused: Cilium only guarantees the listed ones.
 */
export const CILIUM_KUBERNETES_COMPATIBILITY: Readonly<Record<(typeof SUPPORTED_CILIUM_MINORS)[number], readonly string[]>> = {
  "1.16": ["1.27", "1.28", "1.29", "1.30"],
  "1.17": ["1.29", "1.30", "1.31", "1.32"],
  "1.18": ["1.30", "1.31", "1.32", "1.33"],
  "1.19": ["1.32", "1.33", "1.34", "1.35"],
  "1.20": ["1.33", "1.34", "1.35", "1.36"],
};
/** A released Cilium version per minor, for fixes that suggest one. */
export const CILIUM_EXAMPLES: Readonly<Record<string, string>> = { "1.16": "1.16.12", "1.17": "1.17.9", "1.18": "1.18.2", "1.19": "1.19.3", "1.20": "1.20.2" };

/**
 * Smallest IPv4 service CIDR for a kubeadm cluster: the API server takes the first address and kube-dns the tenth
 * (so a /29 cannot even hold kube-dns), Cilium adds hubble-peer, hubble-relay and hubble-ui, and every application
 * Service one more: a /24 (256 addresses) is the floor kept here. kube-apiserver itself refuses more than /12
 * (IPv4) or /108 (IPv6) ("specified --service-cluster-ip-range is too large").
 */
export const SERVICE_CIDR_PREFIX: Readonly<Record<"ipv4" | "ipv6", { largest: number; smallest: number }>> = {
  ipv4: { largest: 12, smallest: 24 },
  ipv6: { largest: 108, smallest: 120 },
};
/** Kubernetes' tested limit ("Considerations for large clusters": no more than 5,000 nodes). */
export const MAX_NODES = 5000;

export const DEFAULT_POD_CIDR = "10.244.0.0/16";
/** kubeadm's own default `networking.serviceSubnet`. */
export const DEFAULT_SERVICE_CIDR = "10.96.0.0/12";
/** kube-apiserver's default `--service-node-port-range`. */
export const DEFAULT_NODE_PORT_RANGE = "30000-32767";
export const DEFAULT_API_SERVER_PORT = 6443;
export const DEFAULT_CILIUM_REPOSITORY = "https://helm.cilium.io";
/** 31245 echoes 4245, the relay's container port that the walk-through wrongly used as a NodePort. */
export const DEFAULT_RELAY_NODE_PORT = 31245;
/** The Cilium chart's own default for `hubble.ui.service.nodePort`. */
export const DEFAULT_UI_NODE_PORT = 31235;
/** Per-node pod CIDR size kube-controller-manager allocates by default for IPv4 (`--node-cidr-mask-size`). */
export const NODE_CIDR_MASK_V4 = 24;

/** Ports that services on every node already listen on; NodePorts (TCP and UDP) must not take them. */
export const HOST_PORTS: ReadonlyArray<readonly [number, string]> = [
  [2379, "etcd client"],
  [2380, "etcd peer"],
  [4240, "cilium-health"],
  [4244, "Hubble server"],
  [6443, "kube-apiserver"],
  [8472, "Cilium VXLAN"],
  [10250, "kubelet"],
  [10257, "kube-controller-manager"],
  [10259, "kube-scheduler"],
];

export const POD_CIDR_CANDIDATES = ["10.244.0.0/16", "172.16.0.0/16", "192.168.0.0/16", "10.200.0.0/16"];
export const SERVICE_CIDR_CANDIDATES = ["10.96.0.0/12", "172.20.0.0/16", "10.128.0.0/16", "192.168.128.0/20"];

/** Keys whose values are secret: never quoted in a message. */
export const SECRET_KEYS = new Set(["privateKey", "kubeconfig"]);

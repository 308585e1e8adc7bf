// Derived views of a parsed StackConfig that components and tools share: control planes, endpoint, SSH auth, chart source.
import { formatHostPort, parseHostPort } from "../base/net";
import { Secret } from "../base/secret";
import { DEFAULT_API_SERVER_PORT, DEFAULT_CILIUM_REPOSITORY } from "./constants";
import { type HostConfig, type KubeadmClusterConfig, type StackConfig } from "../../config";

/** The control-plane hosts, in config order (none in mode existing). */
export function controlPlaneHosts(cfg: StackConfig): HostConfig[] {
  return cfg.cluster.mode === "kubeadm" ? cfg.cluster.hosts.filter((h) => h.role === "control-plane") : [];
}

/** The host `kubeadm init` runs on. Throws in mode existing, which has no hosts. */
export function firstControlPlane(cfg: StackConfig): HostConfig {
  const cp = controlPlaneHosts(cfg)[0];
  if (!cp) throw new Error(`firstControlPlane: cluster.mode is "${cfg.cluster.mode}", which has no control-plane hosts`);
  return cp;
}

/** Host and port of the API server as nodes reach it (Cilium's k8sServiceHost/Port, kubeadm's controlPlaneEndpoint). */
export function endpointHostPort(cfg: StackConfig): { host: string; port: number } {
  const text = cfg.cluster.controlPlaneEndpoint;
  if (text !== undefined) {
    const r = parseHostPort(text);
    if (!r.ok) throw new Error(`endpointHostPort: unparsed config (${text})`);
    return { host: r.value.host, port: r.value.port ?? DEFAULT_API_SERVER_PORT };
  }
  return { host: firstControlPlane(cfg).address, port: DEFAULT_API_SERVER_PORT };
}

/** The endpoint as "host:port" (IPv6 bracketed). */
export function endpointString(cfg: StackConfig): string {
  const { host, port } = endpointHostPort(cfg);
  return formatHostPort(host, port);
}

export type SshAuth = { kind: "privateKey"; privateKey: Secret } | { kind: "privateKeyPath"; privateKeyPath: string } | { kind: "agent" };

/** How an SSH block authenticates (after parsing there is exactly one way in `cluster.ssh`). */
export function sshAuth(block: { privateKey?: Secret; privateKeyPath?: string; agent?: boolean }): SshAuth | undefined {
  if (block.privateKey) return { kind: "privateKey", privateKey: block.privateKey };
  if (block.privateKeyPath) return { kind: "privateKeyPath", privateKeyPath: block.privateKeyPath };
  if (block.agent) return { kind: "agent" };
  return undefined;
}

export interface HostConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly auth: SshAuth;
  readonly bastion?: { host: string; port: number; user: string; auth: SshAuth; hostKey?: string };
}

/** The effective SSH connection of a host: its override over `cluster.ssh`, the bastion defaulting to the host's user and auth. */
export function hostConnection(cluster: KubeadmClusterConfig, host: HostConfig): HostConnection {
  const o = host.ssh;
  const user = o?.user ?? cluster.ssh.user;
  const auth = (o && sshAuth(o)) ?? sshAuth(cluster.ssh)!;
  const b = o?.bastion ?? cluster.ssh.bastion;
  return {
    host: host.address,
    port: o?.port ?? cluster.ssh.port,
    user,
    auth,
    ...(b ? { bastion: { host: b.address, port: b.port, user: b.user ?? user, auth: sshAuth(b) ?? auth, ...(b.hostKey ? { hostKey: b.hostKey } : {}) } } : {}),
  };
}

export type ChartSource = { kind: "repository"; repository: string } | { kind: "path"; path: string };

/** Where the Cilium chart comes from. */
export function chartSource(cfg: StackConfig): ChartSource {
  const c = cfg.cilium.chart;
  return c.path !== undefined ? { kind: "path", path: c.path } : { kind: "repository", repository: c.repository ?? DEFAULT_CILIUM_REPOSITORY };
}

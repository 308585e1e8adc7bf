// config.ts: exact messages for bad configs, round-trips of good ones, secrets never printed, properties.
import assert from "node:assert/strict";
import { FIXTURE_POLICIES } from "../fixtures/stack-policies";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  ConfigError,
  Secret,
  StackConfig,
  chartSource,
  controlPlaneHosts,
  endpointHostPort,
  endpointString,
  firstControlPlane,
  hostConnection,
  microsegConfigEntries,
  parseConfig,
  type ParseOptions,
} from "../../config";

/** A fake key (the body is just "openssh-key-v1"), built so no key-looking header sits in the source. */
const PEM_KIND = ["OPENSSH", "PRIVATE", "KEY"].join(" ");
const KEY = `-----BEGIN ${PEM_KIND}-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END ${PEM_KIND}-----\n`;
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const KUBECONFIG = "apiVersion: v1\nclusters: [{name: lab, cluster: {server: 'https://127.0.0.1:6443'}}]\ncontexts: [{name: lab, context: {cluster: lab, user: admin}}]\n";

/** No disk: these paths exist; everything else is missing. */
const FILES: Record<string, string> = {
  "/home/me/.ssh/id_ed25519": KEY,
  "/proj/.lab/kubeconfig": KUBECONFIG,
  "/proj/charts/cilium/Chart.yaml": "name: cilium\nversion: 1.19.0-dev\n",
  "/proj/cilium-1.18.2.tgz": "",
};
const opts: ParseOptions = {
  projectDir: "/proj",
  homeDir: "/home/me",
  pathKind: (p) => (p in FILES ? "file" : Object.keys(FILES).some((f) => f.startsWith(`${p}/`)) ? "directory" : undefined),
  readFile: (p) => FILES[p],
};

type Raw = Record<string, any>;

function kubeadm(): Raw {
  return {
    environment: "dev",
    cluster: {
      mode: "kubeadm",
      kubernetesVersion: "1.34.2",
      ssh: { privateKeyPath: "~/.ssh/id_ed25519" },
      hosts: [
        { name: "cp-0", address: "192.168.1.222", role: "control-plane" },
        { name: "worker-0", address: "192.168.1.223", role: "worker" },
        { name: "worker-1", address: "192.168.1.224", role: "worker" },
      ],
    },
    cilium: { version: "1.19.3" },
  };
}

function existing(): Raw {
  return {
    environment: "lab",
    cluster: { mode: "existing", kubeconfigPath: ".lab/kubeconfig", controlPlaneEndpoint: "127.0.0.1:6443" },
    cilium: { version: "1.19.0-dev", chart: { path: "charts/cilium" } },
  };
}

function lines(raw: unknown, o: ParseOptions = opts): string[] {
  try {
    parseConfig(raw, o);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.lines;
  }
  assert.fail("expected a ConfigError");
}

const edit = (base: () => Raw, f: (c: Raw) => void) => () => {
  const c = base();
  f(c);
  return c;
};

const BAD: Array<[string, () => unknown, string[]]> = [
  ["not an object", () => "dev", ['microseg: must be a mapping of settings ("dev"). Write a mapping of settings.']],
  ["empty", () => ({}), [
    'environment: required. Set it to one of "dev", "staging", "prod", "lab".',
    'cluster: required. Add it with mode "kubeadm" (hosts over SSH) or "existing" (a kubeconfig).',
    'cilium: required. Add it with at least a version, e.g. { version: "1.18.2" }.',
  ]],
  ["environment typo", edit(kubeadm, (c) => (c.environment = "production")), ['environment: must be one of "dev", "staging", "prod", "lab" ("production"). Did you mean "prod"?']],
  ["unknown top-level key", edit(kubeadm, (c) => (c.clustr = {})), ['clustr: unknown setting. Did you mean "cluster"?']],
  ["unknown key, no near miss", edit(kubeadm, (c) => (c.cilium.zzzzzzzz = 1)), ["cilium.zzzzzzzz: unknown setting. Known settings here: version, chart, kubeProxyReplacement, policyEnforcementMode, ipam, valuesOverrides."]],
  ["podCIDR casing", edit(kubeadm, (c) => (c.cluster.podCIDR = "10.244.0.0/16")), ['cluster.podCIDR: unknown setting. Did you mean "podCidr"?']],
  ["mode missing", edit(kubeadm, (c) => delete c.cluster.mode), ['cluster.mode: required. Set "kubeadm" (hosts over SSH) or "existing" (a kubeconfig).']],
  ["mode typo", edit(kubeadm, (c) => (c.cluster.mode = "kubeadmin")), ['cluster.mode: must be one of "kubeadm", "existing" ("kubeadmin"). Did you mean "kubeadm"?']],
  ["walk-through pod CIDR inside kubeadm's service CIDR", edit(kubeadm, (c) => (c.cluster.podCidr = "10.97.0.0/16")), ['cluster.podCidr: overlaps cluster.serviceCidr "10.96.0.0/12" ("10.97.0.0/16"). Choose a pod CIDR outside the service CIDR, e.g. "10.244.0.0/16".']],
  ["service CIDR inside pod CIDR", edit(kubeadm, (c) => (c.cluster.serviceCidr = "10.244.128.0/20")), ['cluster.podCidr: overlaps cluster.serviceCidr "10.244.128.0/20" ("10.244.0.0/16"). Choose a pod CIDR outside the service CIDR, e.g. "172.16.0.0/16".']],
  ["CIDR without mask", edit(kubeadm, (c) => (c.cluster.podCidr = "10.0.0.1")), ['cluster.podCidr: CIDR mask is missing ("10.0.0.1"). Did you mean "10.0.0.1/32"?']],
  ["CIDR with host bits", edit(kubeadm, (c) => (c.cluster.serviceCidr = "10.96.1.0/12")), ['cluster.serviceCidr: host bits are set ("10.96.1.0/12"). Did you mean "10.96.0.0/12"?']],
  ["IPv6 CIDR with host bits", edit(existing, (c) => Object.assign(c.cluster, { podCidr: "fd00::1/64", serviceCidr: "fd01::/108" })), ['cluster.podCidr: host bits are set ("fd00::1/64"). Did you mean "fd00::/64"?']],
  ["CIDR prefix too long", edit(kubeadm, (c) => (c.cluster.podCidr = "10.244.0.0/33")), ['cluster.podCidr: prefix length must be a number from 0 to 32 ("10.244.0.0/33"). Write a network address and a prefix length, e.g. "10.244.0.0/16".']],
  ["CIDR garbage", edit(kubeadm, (c) => (c.cluster.podCidr = "pods")), ['cluster.podCidr: not a CIDR ("pods"). Write a network address and a prefix length, e.g. "10.244.0.0/16".']],
  ["CIDR families differ", edit(existing, (c) => (c.cluster.serviceCidr = "fd00::/108")), ['cluster.serviceCidr: is ipv6 but cluster.podCidr "10.244.0.0/16" is ipv4 ("fd00::/108"). Use one IP family for both CIDRs (dual-stack is not supported yet).']],
  ["pod CIDR contains a host", edit(kubeadm, (c) => (c.cluster.podCidr = "192.168.0.0/16")), ['cluster.podCidr: contains cluster.hosts[0].address "192.168.1.222", cluster.hosts[1].address "192.168.1.223", cluster.hosts[2].address "192.168.1.224" ("192.168.0.0/16"). Choose a pod CIDR that no node address falls in, e.g. "10.244.0.0/16".']],
  ["service CIDR contains a node address", edit(existing, (c) => (c.cluster.nodeAddresses = ["10.100.0.5"])), ['cluster.serviceCidr: contains cluster.nodeAddresses[0] "10.100.0.5" ("10.96.0.0/12"). Choose a service CIDR that no node address falls in, e.g. "172.20.0.0/16".']],
  ["pod CIDR too small for the hosts", edit(kubeadm, (c) => (c.cluster.podCidr = "10.244.0.0/24")), ['cluster.podCidr: has room for 1 per-node /24 block(s) but 3 hosts are listed ("10.244.0.0/24"). Use a larger pod CIDR, e.g. "10.244.0.0/16".']],
  ["node port range malformed", edit(kubeadm, (c) => (c.cluster.serviceNodePortRange = "32767-30000")), ['cluster.serviceNodePortRange: not a port range ("32767-30000"). Write "from-to" with 1 <= from <= to <= 65535, e.g. "30000-32767".']],
  ["node port range over host ports", edit(kubeadm, (c) => (c.cluster.serviceNodePortRange = "4000-32767")), ['cluster.serviceNodePortRange: contains ports the nodes already use: 4240 (cilium-health), 4244 (Hubble server), 6443 (kube-apiserver), 8472 (Cilium VXLAN), 10250 (kubelet), 10257 (kube-controller-manager), 10259 (kube-scheduler) ("4000-32767"). Keep NodePorts clear of host ports, e.g. "30000-32767".']],
  ["walk-through relay nodePort 4245", edit(kubeadm, (c) => (c.hubble = { relay: { nodePort: 4245 } })), ['hubble.relay.nodePort: outside cluster.serviceNodePortRange "30000-32767" (4245). 4245 is the relay\'s container port, not a NodePort: pick a port in 30000-32767, e.g. 31245, or widen cluster.serviceNodePortRange explicitly.']],
  ["UI nodePort outside a custom range", edit(kubeadm, (c) => Object.assign(c, { hubble: { ui: { expose: true } } }, { cluster: { ...c.cluster, serviceNodePortRange: "31000-31100" } })), [
    'hubble.relay.nodePort: outside cluster.serviceNodePortRange "31000-31100" (31245). pick a port in 31000-31100, e.g. 31000, or widen cluster.serviceNodePortRange explicitly.',
    'hubble.ui.nodePort: outside cluster.serviceNodePortRange "31000-31100" (31235). pick a port in 31000-31100, e.g. 31000, or widen cluster.serviceNodePortRange explicitly.',
  ]],
  ["relay and UI on one port", edit(kubeadm, (c) => (c.hubble = { relay: { nodePort: 31235 }, ui: { expose: true } })), ["hubble.ui.nodePort: equals hubble.relay.nodePort (31235). Give the UI its own port, e.g. 31246."]],
  ["nodePort not a number", edit(kubeadm, (c) => (c.hubble = { relay: { nodePort: "31245" } })), ['hubble.relay.nodePort: must be a number ("31245"). Write the number without quotes.']],
  ["nodePort out of 1..65535", edit(kubeadm, (c) => (c.hubble = { relay: { nodePort: 70000 } })), ["hubble.relay.nodePort: must be at most 65535 (70000). Use a value up to 65535."]],
  ["relay exposed without TLS", edit(kubeadm, (c) => (c.hubble = { relay: { tls: false } })), ["hubble.relay.tls: the relay would be exposed on a NodePort without TLS (false). Keep tls: true, or set hubble.relay.insecure: true to accept plaintext flow data on the network."]],
  ["insecure with TLS", edit(kubeadm, (c) => (c.hubble = { relay: { insecure: true } })), ["hubble.relay.insecure: only applies with tls: false (true). Remove it, or set hubble.relay.tls: false as well."]],
  ["Kubernetes version with v", edit(kubeadm, (c) => (c.cluster.kubernetesVersion = "v1.34.2")), ['cluster.kubernetesVersion: the version has a leading "v" ("v1.34.2"). Did you mean "1.34.2"?']],
  ["walk-through Kubernetes 1.31", edit(kubeadm, (c) => (c.cluster.kubernetesVersion = "1.31.3")), ['cluster.kubernetesVersion: Kubernetes 1.31 is not supported ("1.31.3"). Use a supported minor: 1.32, 1.33, 1.34, 1.35.']],
  ["Kubernetes minor only", edit(kubeadm, (c) => (c.cluster.kubernetesVersion = "1.34")), ['cluster.kubernetesVersion: not a full version ("1.34"). Pin major.minor.patch, e.g. "1.34.0".']],
  ["Kubernetes version as a YAML number", edit(kubeadm, (c) => (c.cluster.kubernetesVersion = 1.34)), ['cluster.kubernetesVersion: must be a string (1.34). Quote it in YAML so it stays a string: "1.34".']],
  ["Kubernetes pre-release", edit(kubeadm, (c) => (c.cluster.kubernetesVersion = "1.35.0-rc.1")), ['cluster.kubernetesVersion: Kubernetes pre-releases are not supported ("1.35.0-rc.1"). Use a released version, e.g. "1.35.0".']],
  ["Kubernetes version missing", edit(kubeadm, (c) => delete c.cluster.kubernetesVersion), ['cluster.kubernetesVersion: required. Pin the Kubernetes version to install, e.g. "1.34.2".']],
  ["Cilium garbage version", edit(kubeadm, (c) => (c.cilium.version = "latest")), ['cilium.version: not a version ("latest"). Pin major.minor.patch, e.g. "1.18.2".']],
  ["Cilium 1.14", edit(kubeadm, (c) => (c.cilium.version = "1.14.5")), ['cilium.version: Cilium 1.14 is not supported ("1.14.5"). Use a supported minor: 1.16, 1.17, 1.18, 1.19, 1.20.']],
  ["Cilium dev snapshot from the repository", edit(kubeadm, (c) => (c.cilium.version = "1.19.0-dev")), ['cilium.version: a development snapshot, never published to a Helm repository ("1.19.0-dev"). Use a released version, or set cilium.chart.path to a local chart of that version.']],
  ["Cilium pre-release in prod", edit(kubeadm, (c) => Object.assign(c, { environment: "prod", cilium: { version: "1.19.0-rc.1" } })), ['cilium.version: a pre-release in prod ("1.19.0-rc.1"). Pin a released version (without a "-..." suffix) in prod.']],
  ["kubeProxyReplacement strict", edit(kubeadm, (c) => (c.cilium.kubeProxyReplacement = "strict")), ['cilium.kubeProxyReplacement: must be true ("strict"). "strict" was removed in Cilium 1.15 and the chart only takes true or false. Use true.']],
  ["kubeProxyReplacement false", edit(kubeadm, (c) => (c.cilium.kubeProxyReplacement = false)), ["cilium.kubeProxyReplacement: must be true (false). microseg installs no kube-proxy, so Cilium must replace it. Use true (or remove the setting)."]],
  ["kubeProxyReplacement partial", edit(kubeadm, (c) => (c.cilium.kubeProxyReplacement = "partial")), ['cilium.kubeProxyReplacement: must be true ("partial"). "partial" was removed in Cilium 1.15 and the chart only takes true or false. Use true (or remove the setting).']],
  ["policy enforcement never in prod", edit(kubeadm, (c) => Object.assign(c, { environment: "prod", cilium: { version: "1.19.3", policyEnforcementMode: "never" } })), ['cilium.policyEnforcementMode: disables every network policy in prod ("never"). Use "default" or "always", or set safety.allowPolicyEnforcementNever: true if you mean it.']],
  ["policy enforcement typo", edit(kubeadm, (c) => (c.cilium.policyEnforcementMode = "Always")), ['cilium.policyEnforcementMode: must be one of "default", "always", "never" ("Always"). Did you mean "always"?']],
  ["HTTP rules omitted outside the lab", edit(kubeadm, (c) => Object.assign(c, { environment: "dev", policies: { httpRules: "omit" } })), ['policies.httpRules: deploys the policies without their HTTP rules, so every request to those ports is allowed; only the lab, which has no Envoy, may do that ("omit"). Remove it (default "enforce") in the dev stack.']],
  ["demo policies in prod", edit(kubeadm, (c) => Object.assign(c, { environment: "prod", policies: { demo: true } })), ["policies.demo: the demo workloads' policies do not belong in prod (true). Set it to false in the prod stack."]],
  ["ipam mode typo", edit(kubeadm, (c) => (c.cilium.ipam = { mode: "clusterpool" })), ['cilium.ipam.mode: must be one of "kubernetes", "cluster-pool" ("clusterpool"). Did you mean "cluster-pool"?']],
  ["valuesOverrides not an object", edit(kubeadm, (c) => (c.cilium.valuesOverrides = ["a"])), ['cilium.valuesOverrides: must be a mapping (["a"]). Write a mapping.']],
  ["chart repository and path", edit(kubeadm, (c) => (c.cilium.chart = { repository: "https://helm.cilium.io", path: "cilium-1.18.2.tgz" })), ["cilium.chart.path: conflicts with repository; they are mutually exclusive. Keep repository (download) or path (local chart), not both."]],
  ["chart repository not a URL", edit(kubeadm, (c) => (c.cilium.chart = { repository: "helm.cilium.io" })), ['cilium.chart.repository: not a Helm repository URL ("helm.cilium.io"). Use an https:// or oci:// URL, e.g. "https://helm.cilium.io".']],
  ["chart path missing", edit(kubeadm, (c) => (c.cilium.chart = { path: "nope" })), ['cilium.chart.path: nothing readable at "/proj/nope" ("nope"). Point it at an unpacked chart directory (with Chart.yaml) or a .tgz chart archive.']],
  ["chart version differs", edit(existing, (c) => (c.cilium.version = "1.18.2")), ['cilium.version: differs from the chart at cilium.chart.path, which is "1.19.0-dev" ("1.18.2"). Set cilium.version to "1.19.0-dev", or point cilium.chart.path at a "1.18.2" chart.']],
  ["no hosts", edit(kubeadm, (c) => (c.cluster.hosts = [])), ["cluster.hosts: must list at least 1 ([]). List the hosts, e.g. [{ name: cp-0, address: 10.0.0.10, role: control-plane }]."]],
  ["no control plane", edit(kubeadm, (c) => (c.cluster.hosts[0].role = "worker")), ['cluster.hosts: no host has role "control-plane". Give one host (or 3 or 5, for HA) role: "control-plane".']],
  ["two control planes", edit(kubeadm, (c) => Object.assign(c.cluster, { controlPlaneEndpoint: "api.example.com" }, { hosts: c.cluster.hosts.map((h: Raw, i: number) => ({ ...h, role: i < 2 ? "control-plane" : "worker" })) })), ["cluster.hosts: 2 control-plane hosts: etcd needs an odd number to keep a quorum through a failure. Use 1, 3 or 5 control-plane hosts."]],
  ["HA without an endpoint", edit(kubeadm, (c) => c.cluster.hosts.forEach((h: Raw) => (h.role = "control-plane"))), ['cluster.controlPlaneEndpoint: required with 3 control-plane hosts. Set it to a load-balanced address in front of every control-plane host, e.g. "k8s-api.example.com:6443".']],
  ["HA endpoint is one host", edit(kubeadm, (c) => Object.assign(c.cluster, { controlPlaneEndpoint: "192.168.1.222:6443", hosts: c.cluster.hosts.map((h: Raw) => ({ ...h, role: "control-plane" })) })), ['cluster.controlPlaneEndpoint: is a single host, so the API goes down with it although there are 3 control-plane hosts ("192.168.1.222:6443"). Point it at a load balancer or DNS name in front of every control-plane host.']],
  ["endpoint with a bad port", edit(kubeadm, (c) => (c.cluster.controlPlaneEndpoint = "api.example.com:99999")), ['cluster.controlPlaneEndpoint: port must be a number from 1 to 65535 ("api.example.com:99999"). Write "host" or "host:port", e.g. "10.0.0.10:6443" or "[fd00::10]:6443".']],
  ["existing endpoint without port", edit(existing, (c) => (c.cluster.controlPlaneEndpoint = "127.0.0.1")), ['cluster.controlPlaneEndpoint: the port is missing ("127.0.0.1"). Write host:port as the API server is reached, e.g. "127.0.0.1:6443".']],
  ["existing endpoint missing", edit(existing, (c) => delete c.cluster.controlPlaneEndpoint), ['cluster.controlPlaneEndpoint: required. Give the API server\'s host:port as the nodes reach it, e.g. "10.0.0.10:6443": Cilium replaces kube-proxy and needs it.']],
  ["duplicate host names", edit(kubeadm, (c) => (c.cluster.hosts[2].name = "worker-0")), ['cluster.hosts[2].name: duplicates cluster.hosts[1].name ("worker-0"). Give every host a unique name.']],
  ["duplicate host addresses", edit(kubeadm, (c) => (c.cluster.hosts[2].address = "192.168.1.223")), ['cluster.hosts[2].address: duplicates cluster.hosts[1].address ("192.168.1.223"). Give every host a unique address.']],
  ["host name not a label", edit(kubeadm, (c) => (c.cluster.hosts[0].name = "CP_0")), ['cluster.hosts[0].name: not a DNS-1123 label ("CP_0"). Did you mean "cp-0"?']],
  ["host address garbage", edit(kubeadm, (c) => (c.cluster.hosts[1].address = "192.168.1")), ['cluster.hosts[1].address: not an IP address or DNS name ("192.168.1"). Write e.g. "10.0.0.10" or "cp-0.example.com".']],
  ["host role typo", edit(kubeadm, (c) => (c.cluster.hosts[1].role = "master")), ['cluster.hosts[1].role: must be one of "control-plane", "worker" ("master"). Use one of "control-plane", "worker".']],
  ["taint effect typo", edit(kubeadm, (c) => (c.cluster.hosts[1].taints = [{ key: "gpu", effect: "NoSchedul" }])), ['cluster.hosts[1].taints[0].effect: must be one of "NoSchedule", "PreferNoSchedule", "NoExecute" ("NoSchedul"). Did you mean "NoSchedule"?']],
  ["label key invalid", edit(kubeadm, (c) => (c.cluster.hosts[1].labels = { "bad key": "x" })), ['cluster.hosts[1].labels.bad key: not a valid label key ("bad key"). Use [prefix/]name with letters, digits, "-", "_", ".", e.g. "node.example.com/zone".']],
  ["host key not a key", edit(kubeadm, (c) => (c.cluster.hosts[0].hostKey = "AAAAC3Nza")), ['cluster.hosts[0].hostKey: not an SSH public host key ("AAAAC3Nza"). Paste the host\'s public key line, e.g. from `ssh-keyscan -t ed25519 HOST`: "ssh-ed25519 AAAA...".']],
  ["host key type mismatch", edit(kubeadm, (c) => (c.cluster.hosts[0].hostKey = ED25519.replace("ssh-ed25519", "ssh-rsa"))), [`cluster.hosts[0].hostKey: the key data is not a ssh-rsa key ("${ED25519.replace("ssh-ed25519", "ssh-rsa")}"). Paste the host's public key line, e.g. from \`ssh-keyscan -t ed25519 HOST\`: "ssh-ed25519 AAAA...".`]],
  ["SSH key neither secret nor file", edit(kubeadm, (c) => (c.cluster.ssh = { user: "ubuntu" })), ["cluster.ssh: no SSH key. Give exactly one of privateKeyPath, privateKey (a secret) or agent: true."]],
  ["SSH key both secret and file", edit(kubeadm, (c) => (c.cluster.ssh.privateKey = KEY)), ["cluster.ssh.privateKeyPath: conflicts with privateKey; they are mutually exclusive. Keep only one of privateKey, privateKeyPath."]],
  ["SSH key file unreadable", edit(kubeadm, (c) => (c.cluster.ssh.privateKeyPath = "keys/id")), ['cluster.ssh.privateKeyPath: no readable file at "/proj/keys/id" ("keys/id"). Point it at a readable private key, or give privateKey as a secret instead.']],
  ["SSH key path is a directory", edit(kubeadm, (c) => (c.cluster.ssh.privateKeyPath = "~/.ssh")), ['cluster.ssh.privateKeyPath: is a directory ("/home/me/.ssh"), not a file ("~/.ssh"). Point it at a readable private key, or give privateKey as a secret instead.']],
  ["SSH public key file", edit(kubeadm, (c) => (c.cluster.ssh.privateKeyPath = "~/.ssh/id_ed25519.pub")), [
    'cluster.ssh.privateKeyPath: a public key file ("~/.ssh/id_ed25519.pub"). Point it at the private key, e.g. "~/.ssh/id_ed25519".',
    'cluster.ssh.privateKeyPath: no readable file at "/home/me/.ssh/id_ed25519.pub" ("~/.ssh/id_ed25519.pub"). Point it at a readable private key, or give privateKey as a secret instead.',
  ]],
  ["SSH private key is a public key", edit(kubeadm, (c) => (c.cluster.ssh = { privateKey: ED25519 })), ['cluster.ssh.privateKey: does not look like a private key ([secret]). Give the private key file\'s content (its first line starts with -----BEGIN and names a PRIVATE KEY, e.g. ~/.ssh/id_ed25519), not the public key (.pub).']],
  ["SSH private key empty", edit(kubeadm, (c) => (c.cluster.ssh = { privateKey: "" })), ["cluster.ssh.privateKey: must be a non-empty secret string ([secret]). Set it with `pulumi config set --secret --path`."]],
  ["SSH port as a string", edit(kubeadm, (c) => (c.cluster.ssh.port = "22")), ['cluster.ssh.port: must be a number ("22"). Write the number without quotes.']],
  ["per-host ssh two keys", edit(kubeadm, (c) => (c.cluster.hosts[1].ssh = { agent: true, privateKeyPath: "~/.ssh/id_ed25519" })), ["cluster.hosts[1].ssh.agent: conflicts with privateKeyPath; they are mutually exclusive. Keep only one of privateKeyPath, agent."]],
  ["bastion bad address", edit(kubeadm, (c) => (c.cluster.ssh.bastion = { address: "-bad-" })), ['cluster.ssh.bastion.address: not an IP address or DNS name ("-bad-"). Write e.g. "10.0.0.10" or "cp-0.example.com".']],
  ["existing without kubeconfig", edit(existing, (c) => delete c.cluster.kubeconfigPath), ["cluster: no kubeconfig. Give kubeconfigPath (a file) or kubeconfig (a secret)."]],
  ["existing with both kubeconfigs", edit(existing, (c) => (c.cluster.kubeconfig = KUBECONFIG)), ["cluster.kubeconfigPath: conflicts with kubeconfig; they are mutually exclusive. Keep only one of kubeconfig, kubeconfigPath."]],
  ["kubeconfig secret is not a kubeconfig", edit(existing, (c) => { c.cluster.kubeconfig = "hello: world"; delete c.cluster.kubeconfigPath; }), ["cluster.kubeconfig: not a kubeconfig (no clusters list) ([secret]). Give the content of a kubeconfig file, e.g. /etc/kubernetes/admin.conf."]],
  ["unknown kubeconfig context", edit(existing, (c) => (c.cluster.context = "prod")), ['cluster.context: no such context in the kubeconfig ("prod"). Use one of: lab.']],
  ["unknown safety flag", edit(kubeadm, (c) => (c.safety = { allowClusterReplacment: true })), ['safety.allowClusterReplacment: unknown setting. Did you mean "allowClusterReplacement"?']],
  ["safety flag as a string", edit(kubeadm, (c) => (c.safety = { allowClusterReplacement: "true" })), ['safety.allowClusterReplacement: must be true or false ("true"). Write true or false without quotes.']],
];

describe("parseConfig: bad configs", () => {
  it("has at least 40 cases", () => assert.ok(BAD.length >= 40, `${BAD.length}`));
  for (const [name, make, expected] of BAD) {
    it(name, () => assert.deepEqual(lines(make()), expected));
  }

  it("lists every problem of a config at once, in section order", () => {
    const c = kubeadm();
    c.hubble = { relay: { nodePort: 4245 } };
    c.cilium.kubeProxyReplacement = "strict";
    c.cluster.podCidr = "10.97.0.0/16";
    c.cluster.kubernetesVersion = "1.31.3";
    c.environment = "qa";
    assert.deepEqual(lines(c), [
      'environment: must be one of "dev", "staging", "prod", "lab" ("qa"). Use one of "dev", "staging", "prod", "lab".',
      'cluster.kubernetesVersion: Kubernetes 1.31 is not supported ("1.31.3"). Use a supported minor: 1.32, 1.33, 1.34, 1.35.',
      'cluster.podCidr: overlaps cluster.serviceCidr "10.96.0.0/12" ("10.97.0.0/16"). Choose a pod CIDR outside the service CIDR, e.g. "10.244.0.0/16".',
      'cilium.kubeProxyReplacement: must be true ("strict"). "strict" was removed in Cilium 1.15 and the chart only takes true or false. Use true.',
      'hubble.relay.nodePort: outside cluster.serviceNodePortRange "30000-32767" (4245). 4245 is the relay\'s container port, not a NodePort: pick a port in 30000-32767, e.g. 31245, or widen cluster.serviceNodePortRange explicitly.',
    ]);
  });

  it("builds the error message from a header and the lines", () => {
    const c = kubeadm();
    c.cluster.podCidr = "10.0.0.1";
    assert.throws(() => parseConfig(c, opts), {
      name: "ConfigError",
      message: 'invalid microseg config (1 problem):\ncluster.podCidr: CIDR mask is missing ("10.0.0.1"). Did you mean "10.0.0.1/32"?',
    });
  });

  it("refuses plain-text secrets read from a stack file, without printing them", () => {
    const c = kubeadm();
    c.cluster.ssh = { privateKey: KEY };
    assert.deepEqual(lines(c, { ...opts, plaintextSecrets: "refuse" }), [
      "cluster.ssh.privateKey: stored in plain text in the stack file ([secret]). Remove it and encrypt it: pulumi config set --secret --path 'microseg:cluster.ssh.privateKey' < FILE.",
    ]);
  });

  it("skips file checks when asked", () => {
    const c = kubeadm();
    c.cluster.ssh.privateKeyPath = "/nowhere/id";
    assert.equal(parseConfig(c, { ...opts, checkFiles: false }).cluster.mode, "kubeadm");
  });
});

describe("parseConfig: good configs", () => {
  it("fills every default of a kubeadm config", () => {
    const cfg = parseConfig(kubeadm(), opts);
    assert.deepEqual(JSON.parse(JSON.stringify(cfg)), {
      environment: "dev",
      cluster: {
        mode: "kubeadm",
        kubernetesVersion: "1.34.2",
        podCidr: "10.244.0.0/16",
        serviceCidr: "10.96.0.0/12",
        serviceNodePortRange: "30000-32767",
        ssh: { user: "ubuntu", port: 22, privateKeyPath: "~/.ssh/id_ed25519" },
        hosts: [
          { name: "cp-0", address: "192.168.1.222", role: "control-plane", labels: {}, taints: [] },
          { name: "worker-0", address: "192.168.1.223", role: "worker", labels: {}, taints: [] },
          { name: "worker-1", address: "192.168.1.224", role: "worker", labels: {}, taints: [] },
        ],
      },
      cilium: {
        version: "1.19.3",
        chart: { repository: "https://helm.cilium.io" },
        kubeProxyReplacement: true,
        policyEnforcementMode: "default",
        ipam: { mode: "kubernetes" },
        valuesOverrides: {},
      },
      hubble: { relay: { expose: true, nodePort: 31245, tls: true, insecure: false }, ui: { expose: false, nodePort: 31235 } },
      policies: { demo: false, httpRules: "enforce" },
      safety: { allowClusterReplacement: false, allowPolicyEnforcementNever: false, allowUnauthenticatedHubbleUi: false },
    });
    assert.deepEqual(endpointHostPort(cfg), { host: "192.168.1.222", port: 6443 });
    assert.equal(firstControlPlane(cfg).name, "cp-0");
    assert.deepEqual(controlPlaneHosts(cfg).map((h) => h.name), ["cp-0"]);
    assert.deepEqual(chartSource(cfg), { kind: "repository", repository: "https://helm.cilium.io" });
  });

  it("round-trips: parsing a parsed config gives the same config", () => {
    const c = kubeadm();
    c.cluster.ssh = { privateKey: KEY, bastion: { address: "bastion.example.com", user: "jump" } };
    c.cluster.hosts[1].ssh = { port: 2222, agent: true };
    c.cluster.hosts[0].hostKey = ED25519;
    c.cluster.hosts[1].taints = [{ key: "dedicated", value: "db", effect: "NoSchedule" }];
    c.cluster.hosts[1].labels = { "topology.kubernetes.io/zone": "a" };
    const once = parseConfig(c, opts);
    const twice = parseConfig(once, opts);
    assert.deepEqual(twice, once);
    assert.ok(once.cluster.mode === "kubeadm");
    if (once.cluster.mode !== "kubeadm") return;
    assert.equal(once.cluster.ssh.privateKey?.reveal(), KEY);
    assert.equal(twice.cluster.mode === "kubeadm" && twice.cluster.ssh.privateKey, once.cluster.ssh.privateKey);
    const conn = hostConnection(once.cluster, once.cluster.hosts[1]!);
    assert.deepEqual({ ...conn, bastion: { ...conn.bastion, auth: conn.bastion?.auth.kind } }, {
      host: "192.168.1.223", port: 2222, user: "ubuntu", auth: { kind: "agent" },
      bastion: { host: "bastion.example.com", port: 22, user: "jump", auth: "agent" },
    });
  });

  it("accepts an existing cluster with a local chart and the lab's dev version", () => {
    const cfg = parseConfig(existing(), opts);
    assert.equal(endpointString(cfg), "127.0.0.1:6443");
    assert.deepEqual(chartSource(cfg), { kind: "path", path: "charts/cilium" });
    assert.deepEqual(controlPlaneHosts(cfg), []);
  });

  it("accepts a .tgz chart, an IPv6 endpoint and HA behind a DNS name", () => {
    const c = kubeadm();
    c.cilium.chart = { path: "cilium-1.18.2.tgz" };
    c.environment = "prod";
    c.cilium.policyEnforcementMode = "always";
    c.cluster.controlPlaneEndpoint = "k8s-api.example.com";
    c.cluster.hosts.forEach((h: Raw) => (h.role = "control-plane"));
    const cfg = parseConfig(c, opts);
    assert.deepEqual(endpointHostPort(cfg), { host: "k8s-api.example.com", port: 6443 });
    c.cluster.controlPlaneEndpoint = "[fd00::10]:8443";
    assert.equal(endpointString(parseConfig(c, opts)), "[fd00::10]:8443");
  });

  it("accepts stack-file ciphertext as an opaque secret and skips content checks", () => {
    const c = kubeadm();
    c.cluster.ssh = { privateKey: { secure: "v1:abc:def" } };
    const cfg = parseConfig(c, { ...opts, plaintextSecrets: "refuse" });
    assert.ok(cfg.cluster.mode === "kubeadm" && cfg.cluster.ssh.privateKey?.known === false);
  });

  it("allows policy enforcement never in prod only with the safety flag", () => {
    const c = kubeadm();
    Object.assign(c, { environment: "prod", safety: { allowPolicyEnforcementNever: true } });
    c.cilium.policyEnforcementMode = "never";
    assert.equal(parseConfig(c, opts).cilium.policyEnforcementMode, "never");
  });

  it("StackConfig alone (no file checks) parses the same config", () => {
    assert.deepEqual(StackConfig.parse(kubeadm()), parseConfig(kubeadm(), opts));
  });
});

describe("microsegConfigEntries", () => {
  it("keeps microseg:* only, drops the namespace, parses JSON values and keeps plain strings", () => {
    assert.deepEqual(
      microsegConfigEntries({ "microseg:environment": "dev", "microseg:cluster": '{"mode":"existing"}', "microseg:n": "3", "kubernetes:context": "x" }),
      { environment: "dev", cluster: { mode: "existing" }, n: 3 },
    );
  });
});

describe("Secret", () => {
  it("never shows its value", () => {
    const s = Secret.of("hunter2-key");
    assert.equal(`${s}`, "[secret]");
    assert.equal(JSON.stringify({ s }), '{"s":"[secret]"}');
    assert.equal(inspect({ s }), "{ s: [secret] }");
    assert.equal(s.reveal(), "hunter2-key");
    assert.throws(() => Secret.encrypted().reveal(), /ciphertext/);
  });
});

describe("parseConfig: properties", () => {
  // Two CIDRs that differ in bit `k`, both with prefixes longer than k, are disjoint.
  const ipv4 = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
  const net = (n: number, prefix: number) => `${ipv4(prefix === 0 ? 0 : (n >>> (32 - prefix)) << (32 - prefix) >>> 0)}/${prefix}`;
  const base = (pod: string, svc: string): Raw => ({ ...existing(), cluster: { ...existing().cluster, podCidr: pod, serviceCidr: svc, controlPlaneEndpoint: "api.example.com:6443" } });

  it("any two disjoint CIDRs pass", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 11 }), (x, k, d1, d2) => {
        const bit = 1 << (31 - k);
        const a = net((x & ~bit) >>> 0, Math.min(32, k + d1));
        const b = net((x | bit) >>> 0, Math.min(32, k + d2));
        parseConfig(base(a, b), opts);
        parseConfig(base(b, a), opts);
      }),
    );
  });

  it("any nested CIDRs fail with the overlap message", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 8 }), (x, p, d) => {
        const outer = net(x, p);
        const inner = net(x, p + d);
        const found = lines(base(inner, outer));
        assert.equal(found.length, 1, found.join("\n"));
        assert.ok(found[0]!.startsWith(`cluster.podCidr: overlaps cluster.serviceCidr "${outer}" ("${inner}"). Choose a pod CIDR outside the service CIDR`), found[0]);
        assert.match(lines(base(outer, inner))[0]!, /^cluster\.podCidr: overlaps cluster\.serviceCidr/);
      }),
    );
  });

  it("a relay nodePort passes exactly when it is inside the range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (port) => {
        const c = kubeadm();
        c.hubble = { relay: { nodePort: port } };
        const inside = port >= 30000 && port <= 32767;
        if (inside) parseConfig(c, opts);
        else assert.match(lines(c)[0]!, /^hubble\.relay\.nodePort: outside cluster\.serviceNodePortRange "30000-32767"/);
      }),
    );
  });

  it("never throws anything but ConfigError and never prints a secret", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.string({ minLength: 8 }), (junkA, junkB, secret) => {
        const c = kubeadm();
        c.cluster.ssh = { privateKey: secret, privatekey: secret, port: junkA };
        c.cluster.kubeconfig = secret;
        c.hubble = junkB;
        try {
          parseConfig(c, opts);
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
          assert.ok(!e.message.includes(JSON.stringify(secret)), e.message);
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Issue 11, point 2: no message shows a secret, or anything that looks like one, whatever the setting.

/** Fake credentials, assembled at run time (no key-looking header sits in the source). */
function fakeSecrets(): Array<[string, string, string[]]> {
  const seed = Array.from({ length: 48 }, (_, i) => String.fromCharCode(65 + ((i * 7 + 3) % 26)) + ((i * 3) % 10)).join("");
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const pem = (kind: string, body: string) => `${"-".repeat(5)}BEGIN ${kind}${"-".repeat(5)}\n${body}\n${"-".repeat(5)}END ${kind}${"-".repeat(5)}\n`;
  const opensshBody = b64(`openssh-key-v1\0${seed}`);
  const rsaBody = `MIIEow${seed}Ab3`;
  const certBody = `MIIC${seed.toLowerCase()}Zq9`;
  const kubeKey = b64(`client key ${seed}`);
  const token = `${seed.slice(0, 6).toLowerCase()}.${seed.slice(6, 22).toLowerCase()}`;
  const jwt = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOi${seed.slice(0, 20)}.${seed.slice(20, 40)}`;
  return [
    ["an OpenSSH private key", pem(["OPENSSH", "PRIVATE", "KEY"].join(" "), opensshBody), [opensshBody.slice(8, 24), "BEGIN OPENSSH"]],
    ["an RSA private key", pem(["RSA", "PRIVATE", "KEY"].join(" "), rsaBody), [rsaBody.slice(6, 22), "BEGIN RSA"]],
    ["a certificate", pem("CERTIFICATE", certBody), [certBody.slice(4, 20), certBody.slice(4, 20).toLowerCase(), "BEGIN CERT"]],
    ["a kubeconfig", `apiVersion: v1\nclusters: [{name: c, cluster: {server: "https://10.0.0.1:6443"}}]\nusers: [{name: u, user: {client-key-data: ${kubeKey}}}]\n`, [kubeKey.slice(4, 20)]],
    ["a bootstrap token", token, [token.slice(0, 6), token.slice(7, 15)]],
    ["a JWT", jwt, [jwt.slice(0, 12), seed.slice(0, 12)]],
    ["a bare key blob", b64(`${seed}${seed}`), [b64(`${seed}${seed}`).slice(0, 16)]],
  ];
}

/** Every setting that takes a string, and where a pasted credential would go. */
const STRING_SETTINGS: Array<[string, (c: Raw, v: unknown) => void, () => Raw]> = [
  ["environment", (c, v) => (c.environment = v), kubeadm],
  ["cluster.mode", (c, v) => (c.cluster.mode = v), kubeadm],
  ["cluster.kubernetesVersion", (c, v) => (c.cluster.kubernetesVersion = v), kubeadm],
  ["cluster.podCidr", (c, v) => (c.cluster.podCidr = v), kubeadm],
  ["cluster.serviceCidr", (c, v) => (c.cluster.serviceCidr = v), kubeadm],
  ["cluster.serviceNodePortRange", (c, v) => (c.cluster.serviceNodePortRange = v), kubeadm],
  ["cluster.controlPlaneEndpoint", (c, v) => (c.cluster.controlPlaneEndpoint = v), kubeadm],
  ["cluster.ssh.user", (c, v) => (c.cluster.ssh.user = v), kubeadm],
  ["cluster.ssh.port", (c, v) => (c.cluster.ssh.port = v), kubeadm],
  ["cluster.ssh.privateKeyPath", (c, v) => (c.cluster.ssh.privateKeyPath = v), kubeadm],
  ["cluster.ssh.privateKey (with privateKeyPath)", (c, v) => (c.cluster.ssh.privateKey = v), kubeadm],
  ["cluster.ssh.privateKey (alone)", (c, v) => (c.cluster.ssh = { privateKey: v }), kubeadm],
  ["cluster.ssh.privateKey (as a list)", (c, v) => (c.cluster.ssh = { privateKey: [v] }), kubeadm],
  ["cluster.ssh.agent", (c, v) => (c.cluster.ssh.agent = v), kubeadm],
  ["cluster.ssh.bastion.address", (c, v) => (c.cluster.ssh.bastion = { address: v }), kubeadm],
  ["cluster.ssh.bastion.user", (c, v) => (c.cluster.ssh.bastion = { address: "10.0.0.1", user: v }), kubeadm],
  ["cluster.ssh.bastion.privateKeyPath", (c, v) => (c.cluster.ssh.bastion = { address: "10.0.0.1", privateKeyPath: v }), kubeadm],
  ["cluster.ssh.bastion.privateKey", (c, v) => (c.cluster.ssh.bastion = { address: "10.0.0.1", privateKey: v, agent: true }), kubeadm],
  ["cluster.hosts[0].name", (c, v) => (c.cluster.hosts[0].name = v), kubeadm],
  ["cluster.hosts[0].address", (c, v) => (c.cluster.hosts[0].address = v), kubeadm],
  ["cluster.hosts[0].role", (c, v) => (c.cluster.hosts[0].role = v), kubeadm],
  ["cluster.hosts[0].publicAddress", (c, v) => (c.cluster.hosts[0].publicAddress = v), kubeadm],
  ["cluster.hosts[0].hostKey", (c, v) => (c.cluster.hosts[0].hostKey = v), kubeadm],
  ["cluster.hosts[0].labels (value)", (c, v) => (c.cluster.hosts[0].labels = { "node.example.com/x": v }), kubeadm],
  ["cluster.hosts[0].labels (key)", (c, v) => (c.cluster.hosts[0].labels = { [String(v)]: "x" }), kubeadm],
  ["cluster.hosts[0].taints[0].key", (c, v) => (c.cluster.hosts[0].taints = [{ key: v, effect: "NoSchedule" }]), kubeadm],
  ["cluster.hosts[0].taints[0].value", (c, v) => (c.cluster.hosts[0].taints = [{ key: "k", value: v, effect: "NoSchedule" }]), kubeadm],
  ["cluster.hosts[0].taints[0].effect", (c, v) => (c.cluster.hosts[0].taints = [{ key: "k", effect: v }]), kubeadm],
  ["cluster.hosts[0].ssh.user", (c, v) => (c.cluster.hosts[0].ssh = { user: v }), kubeadm],
  ["cluster.hosts[0].ssh.privateKeyPath", (c, v) => (c.cluster.hosts[0].ssh = { privateKeyPath: v }), kubeadm],
  ["cluster.hosts[0].ssh.privateKey", (c, v) => (c.cluster.hosts[0].ssh = { privateKey: v, agent: true }), kubeadm],
  ["cluster.hosts[0].ssh.bastion.privateKey", (c, v) => (c.cluster.hosts[0].ssh = { bastion: { address: "10.0.0.1", privateKey: v } }), kubeadm],
  ["cluster.kubeconfig", (c, v) => { c.cluster.kubeconfig = v; delete c.cluster.kubeconfigPath; }, existing],
  ["cluster.kubeconfig (with kubeconfigPath)", (c, v) => (c.cluster.kubeconfig = v), existing],
  ["cluster.kubeconfig (as a mapping)", (c, v) => { c.cluster.kubeconfig = { value: v }; delete c.cluster.kubeconfigPath; }, existing],
  ["cluster.kubeconfigPath", (c, v) => (c.cluster.kubeconfigPath = v), existing],
  ["cluster.context", (c, v) => (c.cluster.context = v), existing],
  ["cluster.nodeAddresses[0]", (c, v) => (c.cluster.nodeAddresses = [v]), existing],
  ["cilium.version", (c, v) => (c.cilium.version = v), kubeadm],
  ["cilium.chart.repository", (c, v) => (c.cilium.chart = { repository: v }), kubeadm],
  ["cilium.chart.path", (c, v) => (c.cilium.chart = { path: v }), kubeadm],
  ["cilium.policyEnforcementMode", (c, v) => (c.cilium.policyEnforcementMode = v), kubeadm],
  ["cilium.ipam.mode", (c, v) => (c.cilium.ipam = { mode: v }), kubeadm],
  ["cilium.kubeProxyReplacement", (c, v) => (c.cilium.kubeProxyReplacement = v), kubeadm],
  ["hubble.relay.nodePort", (c, v) => (c.hubble = { relay: { nodePort: v } }), kubeadm],
  ["hubble.ui.expose", (c, v) => (c.hubble = { ui: { expose: v } }), kubeadm],
  ["safety.allowClusterReplacement", (c, v) => (c.safety = { allowClusterReplacement: v }), kubeadm],
  ["an unknown setting's value", (c, v) => (c.cluster.ssh.privatekey = v), kubeadm],
  ["an unknown setting's name", (c, v) => (c.cilium[String(v)] = 1), kubeadm],
];

describe("parseConfig: no secret in any message (issue 11, point 2)", () => {
  for (const [setting, put, base] of STRING_SETTINGS) {
    it(`${setting}: a pasted credential is never printed`, () => {
      for (const [what, value, fragments] of fakeSecrets()) {
        for (const o of [opts, { ...opts, plaintextSecrets: "refuse" as const }]) {
          const c = base();
          put(c, value);
          let text = "";
          try {
            parseConfig(c, o);
          } catch (e) {
            assert.ok(e instanceof ConfigError, `${what}: expected ConfigError, got ${String(e)}`);
            text = e.message;
          }
          for (const f of fragments) assert.ok(!text.includes(f), `${setting} with ${what}: the message shows ${JSON.stringify(f)}:\n${text}`);
        }
      }
    });
  }

  it("a key pasted into a path setting: named, not shown, and pointed at the secret setting", () => {
    const [, key] = fakeSecrets()[0]!;
    assert.deepEqual(lines(edit(kubeadm, (c) => (c.cluster.ssh.privateKeyPath = key))()), [
      "cluster.ssh.privateKeyPath: holds what looks like a private key itself, not a path ([looks like a private key; not shown]). Remove it and give the content as a secret instead: pulumi config set --secret --path 'microseg:cluster.ssh.privateKey' < FILE (and replace the credential if this file was shared).",
    ]);
    const [, kubeconfig] = fakeSecrets()[3]!;
    assert.deepEqual(lines(edit(existing, (c) => (c.cluster.kubeconfigPath = kubeconfig))()), [
      "cluster.kubeconfigPath: holds what looks like a kubeconfig itself, not a path ([looks like a kubeconfig; not shown]). Remove it and give the content as a secret instead: pulumi config set --secret --path 'microseg:cluster.kubeconfig' < FILE (and replace the credential if this file was shared).",
    ]);
    assert.deepEqual(lines(edit(kubeadm, (c) => (c.cilium.chart = { path: key }))()), [
      "cilium.chart.path: holds what looks like a private key itself, not a path ([looks like a private key; not shown]). Give the path of the file or directory, not its content.",
    ]);
  });

  it("a key pasted into a non-secret setting is redacted in its own message", () => {
    const [, key] = fakeSecrets()[0]!;
    assert.deepEqual(lines(edit(kubeadm, (c) => (c.cluster.hosts[0].hostKey = key))()), [
      "cluster.hosts[0].hostKey: not an SSH public host key ([looks like a private key; not shown]). Paste the host's public key line, e.g. from `ssh-keyscan -t ed25519 HOST`: \"ssh-ed25519 AAAA...\".",
    ]);
    const [, token] = fakeSecrets()[4]!;
    assert.deepEqual(lines(edit(existing, (c) => (c.cluster.context = token))()), [
      "cluster.context: no such context in the kubeconfig ([looks like a token; not shown]). Use one of: lab.",
    ]);
  });

  it("public values stay quoted: a public host key line, paths, host names", () => {
    assert.deepEqual(lines(edit(kubeadm, (c) => (c.cluster.ssh.privateKeyPath = "keys/id"))()), [
      'cluster.ssh.privateKeyPath: no readable file at "/proj/keys/id" ("keys/id"). Point it at a readable private key, or give privateKey as a secret instead.',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Issue 11, point 5: bad configs that passed, each a class; good configs that were refused.

const BAD_CLASSES: Array<[string, () => unknown, string[]]> = [
  ["service CIDR /29: kube-dns's tenth address does not exist", edit(kubeadm, (c) => (c.cluster.serviceCidr = "10.96.0.0/29")), [
    "cluster.serviceCidr: too small for the cluster's Services: a /29 has 8 addresses; the API server takes the first, kube-dns the tenth, Cilium's Hubble Services and every application Service one each (\"10.96.0.0/29\"). Use a /24 or larger, e.g. \"10.96.0.0/12\" (kubeadm's default).",
  ]],
  ["service CIDR /25: below the /24 floor", edit(kubeadm, (c) => (c.cluster.serviceCidr = "10.96.0.0/25")), [
    "cluster.serviceCidr: too small for the cluster's Services: a /25 has 128 addresses; the API server takes the first, kube-dns the tenth, Cilium's Hubble Services and every application Service one each (\"10.96.0.0/25\"). Use a /24 or larger, e.g. \"10.96.0.0/12\" (kubeadm's default).",
  ]],
  ["service CIDR /11: larger than kube-apiserver takes", edit(kubeadm, (c) => (c.cluster.serviceCidr = "10.96.0.0/11")), [
    "cluster.serviceCidr: too large: kube-apiserver refuses a service CIDR larger than /12 (\"10.96.0.0/11\"). Use a /12 to /24, e.g. \"10.96.0.0/12\" (kubeadm's default).",
  ]],
  ["one control plane, endpoint a worker's address", edit(kubeadm, (c) => (c.cluster.controlPlaneEndpoint = "192.168.1.223:6443")), [
    "cluster.controlPlaneEndpoint: is cluster.hosts[1].address, a worker, but the only control plane is \"cp-0\" (\"192.168.1.223:6443\"). Point it at \"cp-0\" (e.g. \"192.168.1.222:6443\") or at a load balancer in front of it, or remove it to use the control plane's address.",
  ]],
  ["one control plane, endpoint a worker's name", edit(kubeadm, (c) => (c.cluster.controlPlaneEndpoint = "worker-1")), [
    "cluster.controlPlaneEndpoint: is cluster.hosts[2].name, a worker, but the only control plane is \"cp-0\" (\"worker-1\"). Point it at \"cp-0\" (e.g. \"192.168.1.222:6443\") or at a load balancer in front of it, or remove it to use the control plane's address.",
  ]],
  ["one host key pinned for two hosts (comment differs)", edit(kubeadm, (c) => { c.cluster.hosts[0].hostKey = ED25519; c.cluster.hosts[2].hostKey = `${ED25519} root@clone`; }), [
    `cluster.hosts[2].hostKey: the same key as cluster.hosts[0].hostKey: two hosts cannot share a host key, so a pin could not tell them apart ("${ED25519.slice(0, 76)}...). Pin each host's own key (\`ssh-keyscan -t ed25519 ADDRESS\`); hosts cloned from one image share keys until they are regenerated (\`rm /etc/ssh/ssh_host_*; ssh-keygen -A\`).`,
  ]],
  ["the bastion's pinned key also pinned for a host", edit(kubeadm, (c) => { c.cluster.ssh.bastion = { address: "bastion.example.com", hostKey: ED25519 }; c.cluster.hosts[1].hostKey = ED25519; }), [
    `cluster.hosts[1].hostKey: the same key as cluster.ssh.bastion.hostKey: two hosts cannot share a host key, so a pin could not tell them apart ("${ED25519.slice(0, 76)}...). Pin each host's own key (\`ssh-keyscan -t ed25519 ADDRESS\`); hosts cloned from one image share keys until they are regenerated (\`rm /etc/ssh/ssh_host_*; ssh-keygen -A\`).`,
  ]],
  ["labels the kubelet, kubeadm or Kubernetes own", edit(kubeadm, (c) => (c.cluster.hosts[1].labels = {
    "kubernetes.io/hostname": "db", "beta.kubernetes.io/arch": "amd64", "node-role.kubernetes.io/control-plane": "", "failure-domain.beta.kubernetes.io/zone": "a", "kubernetes.io/team": "x", "example.k8s.io/x": "y",
    "node-role.kubernetes.io/db": "", "node-restriction.kubernetes.io/pci": "true", "node.kubernetes.io/pool": "a", "topology.kubernetes.io/zone": "a", "node.example.com/zone": "a",
  })), [
    'cluster.hosts[1].labels.kubernetes.io/hostname: is set by the kubelet from the machine (it would be overwritten, and schedulers rely on it) ("db"). Remove it. Use a key under your own prefix, e.g. "node.example.com/zone".',
    'cluster.hosts[1].labels.beta.kubernetes.io/arch: is set by the kubelet from the machine (it would be overwritten, and schedulers rely on it) ("amd64"). Remove it. Use a key under your own prefix, e.g. "node.example.com/zone".',
    'cluster.hosts[1].labels.node-role.kubernetes.io/control-plane: is kubeadm\'s control-plane role label, on a worker (""). Remove it, or give the host role: "control-plane".',
    'cluster.hosts[1].labels.failure-domain.beta.kubernetes.io/zone: is a deprecated label ("a"). Use "topology.kubernetes.io/zone".',
    'cluster.hosts[1].labels.kubernetes.io/team: is in the kubernetes.io namespace, reserved for Kubernetes components ("x"). Use a key under your own prefix, e.g. "node.example.com/zone"; node-role.kubernetes.io/<role> and node-restriction.kubernetes.io/<name> are the Kubernetes prefixes meant for you.',
    'cluster.hosts[1].labels.example.k8s.io/x: is in the example.k8s.io namespace, reserved for Kubernetes components ("y"). Use a key under your own prefix, e.g. "node.example.com/zone"; node-role.kubernetes.io/<role> and node-restriction.kubernetes.io/<name> are the Kubernetes prefixes meant for you.',
  ]],
  ["kubeadm's role label on a control plane", edit(kubeadm, (c) => (c.cluster.hosts[0].labels = { "node-role.kubernetes.io/control-plane": "" })), [
    'cluster.hosts[0].labels.node-role.kubernetes.io/control-plane: is set by kubeadm on control-plane hosts (""). Remove it (kubeadm sets it).',
  ]],
  ["duplicate taints (same key and effect)", edit(kubeadm, (c) => (c.cluster.hosts[1].taints = [{ key: "gpu", effect: "NoSchedule" }, { key: "gpu", effect: "NoExecute" }, { key: "gpu", value: "a100", effect: "NoSchedule" }])), [
    'cluster.hosts[1].taints[2]: duplicates cluster.hosts[1].taints[0]: a node takes one taint per key and effect ("gpu:NoSchedule"). Keep one of them (merge their values).',
  ]],
  ["SSH users that cannot be logins", edit(kubeadm, (c) => {
    c.cluster.ssh.user = "ubuntu admin";
    c.cluster.ssh.bastion = { address: "b.example.com", user: "a;reboot" };
    c.cluster.hosts[1].ssh = { user: "-oProxyCommand=x" };
    c.cluster.hosts[2].ssh = { user: "x".repeat(33), bastion: { address: "b.example.com", user: "$(id)" } };
  }), [
    'cluster.ssh.user: not a valid SSH user: contains white space ("ubuntu admin"). Use the login name on the hosts: letters, digits, ".", "_", "-", e.g. "ubuntu".',
    'cluster.ssh.bastion.user: not a valid SSH user: contains characters a login name cannot have ("a;reboot"). Use the login name on the hosts: letters, digits, ".", "_", "-", e.g. "ubuntu".',
    'cluster.hosts[1].ssh.user: not a valid SSH user: starts with "-" (ssh would take it for an option) ("-oProxyCommand=x"). Use the login name on the hosts: letters, digits, ".", "_", "-", e.g. "ubuntu".',
    `cluster.hosts[2].ssh.user: not a valid SSH user: longer than 32 characters ("${"x".repeat(33)}"). Use the login name on the hosts: letters, digits, ".", "_", "-", e.g. "ubuntu".`,
    'cluster.hosts[2].ssh.bastion.user: not a valid SSH user: contains characters a login name cannot have ("$(id)"). Use the login name on the hosts: letters, digits, ".", "_", "-", e.g. "ubuntu".',
  ]],
  ["host names with spaces or a leading -", edit(kubeadm, (c) => { c.cluster.hosts[1].name = "worker 0"; c.cluster.hosts[2].address = "-worker1.example.com"; }), [
    'cluster.hosts[1].name: not a DNS-1123 label ("worker 0"). Did you mean "worker-0"?',
    'cluster.hosts[2].address: not an IP address or DNS name ("-worker1.example.com"). Write e.g. "10.0.0.10" or "cp-0.example.com".',
  ]],
  ["Cilium 1.18 with Kubernetes 1.34 (Cilium tests 1.18 with 1.30-1.33)", edit(kubeadm, (c) => (c.cilium.version = "1.18.2")), [
    'cilium.version: Cilium 1.18 is not tested with Kubernetes 1.34 (cluster.kubernetesVersion "1.34.2"); Cilium\'s compatibility table lists 1.30, 1.31, 1.32, 1.33 for it ("1.18.2"). Use a Cilium minor tested with Kubernetes 1.34: 1.19, 1.20 (e.g. "1.20.2"), or a Kubernetes minor Cilium 1.18 is tested with.',
  ]],
  ["Cilium 1.16 with Kubernetes 1.32", edit(kubeadm, (c) => { c.cilium.version = "1.16.5"; c.cluster.kubernetesVersion = "1.32.1"; }), [
    'cilium.version: Cilium 1.16 is not tested with Kubernetes 1.32 (cluster.kubernetesVersion "1.32.1"); Cilium\'s compatibility table lists 1.27, 1.28, 1.29, 1.30 for it ("1.16.5"). Use a Cilium minor tested with Kubernetes 1.32: 1.17, 1.18, 1.19 (e.g. "1.19.3"), or a Kubernetes minor Cilium 1.16 is tested with.',
  ]],
];

describe("parseConfig: bad configs that passed before (issue 11, point 5)", () => {
  for (const [name, make, expected] of BAD_CLASSES) {
    it(name, () => assert.deepEqual(lines(make()), expected));
  }
});

describe("parseConfig: good configs next to the refused ones", () => {
  const goods: Array<[string, () => Raw]> = [
    ["a /24 service CIDR and a /12", edit(kubeadm, (c) => (c.cluster.serviceCidr = "172.20.0.0/24"))],
    ["one control plane, endpoint its own name or public address", edit(kubeadm, (c) => { c.cluster.hosts[0].publicAddress = "203.0.113.5"; c.cluster.controlPlaneEndpoint = "203.0.113.5:6443"; })],
    ["one control plane behind a DNS name", edit(kubeadm, (c) => (c.cluster.controlPlaneEndpoint = "k8s-api.example.com:6443"))],
    ["one bastion pinned in cluster.ssh and in a host override", edit(kubeadm, (c) => { c.cluster.ssh.bastion = { address: "b.example.com", hostKey: ED25519 }; c.cluster.hosts[1].ssh = { bastion: { address: "B.example.com", hostKey: ED25519 } }; })],
    ["labels meant for admins and the kubelet", edit(kubeadm, (c) => (c.cluster.hosts[1].labels = { "node-role.kubernetes.io/db": "", "node-restriction.kubernetes.io/pci": "true", "node.kubernetes.io/pool": "a", "topology.kubernetes.io/zone": "a", "node.example.com/x": "y" }))],
    ["one taint key with two effects", edit(kubeadm, (c) => (c.cluster.hosts[1].taints = [{ key: "gpu", effect: "NoSchedule" }, { key: "gpu", effect: "NoExecute" }]))],
    ["SSH users with dots, digits, @ and a trailing $", edit(kubeadm, (c) => { c.cluster.ssh.user = "svc.deploy_01"; c.cluster.hosts[1].ssh = { user: "ops@corp.example" }; c.cluster.hosts[2].ssh = { user: "machine$" }; })],
    ["Cilium 1.19 and 1.20 with Kubernetes 1.35", edit(kubeadm, (c) => { c.cluster.kubernetesVersion = "1.35.0"; c.cilium.version = "1.20.2"; })],
    ["Cilium 1.17 with Kubernetes 1.32", edit(kubeadm, (c) => { c.cluster.kubernetesVersion = "1.32.4"; c.cilium.version = "1.17.9"; })],
    ["an existing cluster is not version-checked (no kubernetesVersion)", edit(existing, (c) => (c.cluster.serviceCidr = "10.96.0.0/28"))],
  ];
  for (const [name, make] of goods) it(name, () => assert.equal(typeof parseConfig(make(), opts).environment, "string"));
});

// ---------------------------------------------------------------------------------------------------------
// Issue 11, point 3: Hubble UI (no authentication) is not exposed by default; exposing it warns, and is refused in
// prod-like stacks unless explicitly allowed, however it is exposed.
import { checkStack } from "../../lib/stack/stack-plan";

const UI_FIX = "Remove it and reach the UI with `kubectl -n kube-system port-forward svc/hubble-ui 12000:80` (the stack output hubbleUiPortForward), or set safety.allowUnauthenticatedHubbleUi: true if an authenticating proxy guards it.";
const UI_WARN = (setting: string, how: string, value: string) => `${setting}: Hubble UI is exposed ${how}, without authentication (it has none of its own): anyone who reaches it reads every flow of the cluster (${value}). Reach it with \`kubectl -n kube-system port-forward svc/hubble-ui 12000:80\` instead (the stack output hubbleUiPortForward), or put an authenticating proxy in front.`;

describe("Hubble UI exposure (issue 11, point 3)", () => {
  it("is not exposed by default, and then nothing warns", () => {
    const cfg = parseConfig(kubeadm(), opts);
    assert.equal(cfg.hubble.ui.expose, false);
    assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).warnings, []);
  });
  it("exposed in dev: accepted with a warning", () => {
    const cfg = parseConfig(edit(kubeadm, (c) => (c.hubble = { ui: { expose: true } }))(), opts);
    assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).warnings, [UI_WARN("hubble.ui.expose", "on NodePort 31235 of every node, over plain HTTP", "true")]);
  });
  for (const env of ["prod", "staging"]) {
    it(`exposed in ${env}: refused, however it is exposed`, () => {
      const c = kubeadm();
      Object.assign(c, { environment: env, hubble: { ui: { expose: true } } });
      c.cilium.valuesOverrides = { hubble: { ui: { ingress: { enabled: true }, service: { type: "LoadBalancer" } } } };
      assert.deepEqual(lines(c), [
        `cilium.valuesOverrides.hubble.ui.service.type: exposes Hubble UI on a LoadBalancer Service, over plain HTTP in the ${env} stack; it has no authentication, so anyone who reaches it reads every flow of the cluster ("LoadBalancer"). ${UI_FIX}`,
        `cilium.valuesOverrides.hubble.ui.ingress.enabled: exposes Hubble UI through an Ingress in the ${env} stack; it has no authentication, so anyone who reaches it reads every flow of the cluster (true). ${UI_FIX}`,
        `hubble.ui.expose: exposes Hubble UI on NodePort 31235 of every node, over plain HTTP in the ${env} stack; it has no authentication, so anyone who reaches it reads every flow of the cluster (true). ${UI_FIX}`,
      ]);
    });
  }
  it("in prod with safety.allowUnauthenticatedHubbleUi: accepted, and still warned about", () => {
    const c = kubeadm();
    Object.assign(c, { environment: "prod", hubble: { ui: { expose: true } }, safety: { allowUnauthenticatedHubbleUi: true } });
    c.cilium.valuesOverrides = { hubble: { ui: { ingress: { enabled: true } } } };
    const cfg = parseConfig(c, opts);
    assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).warnings, [
      UI_WARN("hubble.ui.expose", "on NodePort 31235 of every node, over plain HTTP", "true"),
      UI_WARN("cilium.valuesOverrides.hubble.ui.ingress.enabled", "through an Ingress", "true"),
    ]);
  });
  it("an Ingress smuggled through valuesOverrides in dev is warned about like the setting", () => {
    const cfg = parseConfig(edit(kubeadm, (c) => (c.cilium.valuesOverrides = { hubble: { ui: { ingress: { enabled: true } } } }))(), opts);
    assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).warnings, [UI_WARN("cilium.valuesOverrides.hubble.ui.ingress.enabled", "through an Ingress", "true")]);
  });
  it("a NodePort smuggled through valuesOverrides is refused: the setting is hubble.ui.expose", () => {
    const cfg = parseConfig(edit(kubeadm, (c) => (c.cilium.valuesOverrides = { hubble: { ui: { service: { type: "NodePort" } } } }))(), opts);
    assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).errors, [
      'cilium.valuesOverrides.hubble.ui.service.type: exposes the UI while hubble.ui.expose is off ("NodePort"). Set hubble.ui.expose: true (and hubble.ui.nodePort) instead.',
    ]);
  });
});

describe("input limits (issue 11, point 5)", () => {
  it("a huge inventory: every problem in .problems, the message bounded to the first 50 and a count", () => {
    const c = kubeadm();
    c.cluster.hosts = [c.cluster.hosts[0], ...Array.from({ length: 6000 }, (_, i) => ({ name: `Worker_${i}`, address: `10.${i >> 8}.${i & 255}.7`, role: "worker" }))];
    c.cluster.podCidr = "10.128.0.0/9";
    try {
      parseConfig(c, opts);
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 6001);
      const shown = e.message.split("\n");
      assert.equal(shown.length, 52);
      assert.equal(shown[0], "invalid microseg config (6001 problems):");
      assert.equal(shown[1], 'cluster.hosts[1].name: not a DNS-1123 label ("Worker_0"). Did you mean "worker-0"?');
      assert.equal(shown[51], "... and 5951 more problems (the first 50 are shown; fix them and check again)");
      assert.ok(e.lines.includes("cluster.hosts: 6001 hosts: Kubernetes is tested with at most 5000 nodes per cluster. Split them into several clusters (one stack each)."));
    }
  });
});

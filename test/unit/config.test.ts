// config.ts: exact messages for bad configs, round-trips of good ones, properties.
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ConfigError, Secret, StackConfig, chartSource, controlPlaneHosts, endpointHostPort, endpointString, firstControlPlane, hostConnection, microsegConfigEntries, parseConfig } from "../../config";
import { KEY, ED25519, KUBECONFIG, opts, kubeadm, existing, lines, edit, type Raw } from "../fixtures/config-fixtures";

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

// config.ts: no secret in any message, bad configs that passed before, Hubble UI exposure, input limits (issue 11).
import assert from "node:assert/strict";
import { FIXTURE_POLICIES } from "../fixtures/stack-policies";
import { describe, it } from "node:test";
import { ConfigError, parseConfig } from "../../config";
import { ED25519, opts, kubeadm, existing, lines, edit, type Raw } from "../fixtures/config-fixtures";
import { checkStack } from "../../lib/stack/stack-plan";

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

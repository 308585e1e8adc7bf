// components/cluster/scripts/*.sh run for real through their own command line under MICROSEG_HOST_PROFILE=lab into a
// temporary MICROSEG_ROOT: the files each writes, a second run that changes nothing, and failures that name the step.
// The kubectl steps talk to the lab's kube-apiserver (skipped with the reason when the lab is not running).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import YAML from "yaml";
import { JOIN_PLACEHOLDERS } from "../../lib/cluster/kubeadm-config";
import { createJoinTokenStep, deleteJoinTokenStep, hostStep, identityClashes, kubeadmInitStep, kubeadmJoinStep, loadScript, parseIdentity, preflightStep, prepareHostStep, scriptPath, unlabelNodeStep, type HostStepName } from "../../lib/cluster/host-scripts";
import { LAB_BIN, LAB_KUBECONFIG, STEPS, hostsOf, tmp, write, checksums, runStep, lab, devCfg, prodCfg, noSudo } from "../fixtures/host-steps";

const labUp = fs.existsSync(LAB_KUBECONFIG) && spawnSync(path.join(LAB_BIN, "kubectl"), ["--kubeconfig", LAB_KUBECONFIG, "--request-timeout=5s", "get", "--raw", "/readyz"]).status === 0;
const kubeadmThere = fs.existsSync(path.join(LAB_BIN, "kubeadm"));

describe("host-scripts: lab profile runs", () => {
  // Each as run from a checkout (the file, sourcing prelude.sh) and as a host runs it (the composed text, alone).
  const asRun = (s: HostStepName) => {
    const sent = path.join(tmp("sent-"), `${s}.sh`);
    fs.writeFileSync(sent, loadScript(s));
    return [scriptPath(s), sent];
  };

  it("every script refuses an unknown profile, naming its step", () => {
    for (const s of STEPS) {
      for (const file of asRun(s)) {
        const r = spawnSync("bash", [file], { encoding: "utf8", input: "", env: { MICROSEG_HOST_PROFILE: "bogus", PATH: process.env["PATH"]! } });
        assert.equal(r.status, 1, file);
        assert.equal(r.stderr, `${s}: unknown MICROSEG_HOST_PROFILE "bogus". Fix: use ubuntu or lab\n`, file);
      }
    }
  });

  it("every script refuses MICROSEG_ROOT under the ubuntu profile", () => {
    for (const s of STEPS) {
      for (const file of asRun(s)) {
        const r = spawnSync("bash", [file], { encoding: "utf8", input: "", env: { MICROSEG_ROOT: "/tmp/x", PATH: process.env["PATH"]! } });
        assert.equal(r.status, 1, file);
        assert.equal(r.stderr, `${s}: MICROSEG_ROOT is only for MICROSEG_HOST_PROFILE=lab\n`, file);
      }
    }
  });

  it("wait-ssh: skips the root check, says the host is reachable", () => {
    const r = runStep((e) => hostStep("wait-ssh", lab(e), noSudo), tmp("root-"));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^lab profile: skipped the root check\nwait-ssh: \S+ is reachable\n$/);
  });

  const ubuntuRoot = (over: Record<string, string> = {}) => {
    const root = tmp("root-");
    const files: Record<string, string> = {
      "etc/os-release": 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n',
      "proc/sys/kernel/osrelease": "6.8.0-45-generic\n",
      "proc/sys/kernel/hostname": "cp-0\n",
      "sys/class/dmi/id/product_uuid": "4c4c4544-0042-3510-8052-b4c04f4e4a32\n",
      "sys/class/net/eth0/address": "52:54:00:12:34:56\n",
      "sys/class/net/lo/address": "00:00:00:00:00:00\n",
      "sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
      "proc/net/tcp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n",
      ...over,
    };
    for (const [rel, content] of Object.entries(files)) if (content !== "") write(root, rel, content);
    return root;
  };
  const cp0 = hostsOf(devCfg)[0]!;

  it("preflight: a good Ubuntu 24.04 host passes and prints its identity line (virtual devices and zero MACs left out)", () => {
    const root = ubuntuRoot({ "sys/class/net/lo/address": "00:00:00:00:00:00\n", "sys/class/net/eth1/address": "00:00:00:00:00:00\n" });
    const r = runStep((e) => hostStep("preflight", { ...lab(e), ...preflightStep(devCfg, cp0).env }, noSudo), root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "identity hostname=cp-0 product_uuid=4c4c4544-0042-3510-8052-b4c04f4e4a32 macs=52:54:00:12:34:56\n");
    assert.deepEqual(parseIdentity(r.stdout), { hostname: "cp-0", productUuid: "4c4c4544-0042-3510-8052-b4c04f4e4a32", macs: ["52:54:00:12:34:56"] });
    assert.equal(r.stderr, "preflight: cp-0 passed (Ubuntu 24.04.1 LTS, x86_64, kernel 6.8.0-45-generic, cgroup v2, ports free)\n");
  });

  it("preflight: every problem at once, each with its fix (Ubuntu 20.04, old kernel, cgroup v1, busy ports)", () => {
    const listen = (port: number, st: string) => `   1: 00000000:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n`;
    const header = "  sl  local_address rem_address   st\n";
    const root = ubuntuRoot({
      "etc/os-release": 'NAME="Ubuntu"\nVERSION_ID="20.04"\nID=ubuntu\nPRETTY_NAME="Ubuntu 20.04.6 LTS"\n',
      "proc/sys/kernel/osrelease": "5.4.0-150-generic\n",
      "sys/fs/cgroup/cgroup.controllers": "",
      "proc/net/tcp": header + listen(6443, "0A") + listen(2379, "01") + listen(10250, "0A"),
      "proc/net/udp": header + listen(30500, "07"),
    });
    const r = runStep((e) => hostStep("preflight", { ...lab(e), ...preflightStep(devCfg, cp0).env }, noSudo), root);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      [
        "preflight: Ubuntu 20.04 is past its standard support (ended May 2025): no security updates without Ubuntu Pro, and its 5.4 kernel is older than Cilium 1.18 needs. Fix: upgrade the host to Ubuntu 22.04 or 24.04 LTS",
        "preflight: the kernel is 5.4.0-150-generic, older than 5.10, the minimum of Cilium 1.20.2. Fix: install a newer kernel (e.g. apt-get install linux-generic-hwe-20.04) and reboot",
        "preflight: cgroup v2 is not mounted at /sys/fs/cgroup (the kubelet and containerd are set up for the unified hierarchy with the systemd driver). Fix: remove systemd.unified_cgroup_hierarchy=0 from GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot",
        "preflight: TCP port 6443 (kube-apiserver) is already in use. Fix: stop what listens on it (ss -ltnp 'sport = :6443'), or run kubeadm-reset if this host was in a cluster before",
        "preflight: TCP port 10250 (kubelet) is already in use. Fix: stop what listens on it (ss -ltnp 'sport = :10250'), or run kubeadm-reset if this host was in a cluster before",
        "preflight: UDP port 30500 is in use inside the NodePort range 30000-32767, where Cilium serves NodePort services on every node. Fix: move that service off the port (ss -lnp 'sport = :30500'), or choose another cluster.serviceNodePortRange",
        "preflight: 6 problem(s) on cp-0; nothing was changed",
        "",
      ].join("\n"),
    );
  });

  it("preflight: a worker only checks 10250 and the NodePort range; a non-Ubuntu OS is named", () => {
    const header = "  sl  local_address rem_address   st\n";
    const root = ubuntuRoot({
      "etc/os-release": 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
      "proc/net/tcp": `${header}   1: 00000000:192B 00000000:0000 0A 0\n`,
    });
    const worker = hostsOf(devCfg)[1]!;
    const r = runStep((e) => hostStep("preflight", { ...lab(e), ...preflightStep(devCfg, worker).env }, noSudo), root);
    assert.equal(r.stderr, 'preflight: the OS is "Debian GNU/Linux 12 (bookworm)", not Ubuntu. Fix: install Ubuntu 22.04 or 24.04 LTS on this host\npreflight: 1 problem(s) on cp-0; nothing was changed\n');
  });

  it("identity clashes across hosts are named with their fix", () => {
    const a = { hostname: "node", productUuid: "u-1", macs: ["52:54:00:00:00:01"] };
    assert.deepEqual(identityClashes([["cp-0", a], ["worker-0", { hostname: "Node", productUuid: "u-1", macs: ["52:54:00:00:00:02"] }], ["worker-1", { hostname: "w1", productUuid: "unknown", macs: ["52:54:00:00:00:01"] }]]), [
      'preflight: hosts "cp-0" and "worker-0" share the hostname "node"; kubeadm needs it unique per node. Fix: give each host its own hostname (hostnamectl set-hostname)',
      'preflight: hosts "cp-0" and "worker-0" share the product_uuid "u-1"; kubeadm needs it unique per node. Fix: cloned VMs need a fresh SMBIOS UUID (recreate the VM or change its uuid in the hypervisor)',
      'preflight: hosts "cp-0" and "worker-1" share the MAC address "52:54:00:00:00:01"; kubeadm needs it unique per node. Fix: cloned VMs need fresh MAC addresses (regenerate them in the hypervisor)',
    ]);
  });

  for (const [containerd, configVersion] of [["1.7.28", "version = 2"], ["2.1.4", "version = 3"]] as const) {
    it(`prepare-host: writes swap-off fstab, modules, sysctls, containerd ${containerd} config (${configVersion}), apt source; a second run changes nothing`, () => {
      const root = tmp("root-");
      write(root, "etc/fstab", "UUID=abc / ext4 defaults 0 1\n/swap.img\tnone\tswap\tsw\t0\t0\n");
      const build = (e: Record<string, string>) => hostStep("prepare-host", { ...e, ...prepareHostStep(devCfg).env, MICROSEG_LAB_CONTAINERD_VERSION: containerd }, noSudo);
      const first = runStep(build, root);
      assert.equal(first.status, 0, first.stderr);
      assert.equal(fs.readFileSync(path.join(root, "etc/fstab"), "utf8"), "UUID=abc / ext4 defaults 0 1\n# microseg: swap off for the kubelet: /swap.img\tnone\tswap\tsw\t0\t0\n");
      assert.equal(fs.readFileSync(path.join(root, "etc/modules-load.d/microseg-k8s.conf"), "utf8"), "overlay\nbr_netfilter\n");
      assert.equal(fs.readFileSync(path.join(root, "etc/sysctl.d/99-microseg-k8s.conf"), "utf8"), "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n");
      assert.equal(fs.readFileSync(path.join(root, "etc/apt/sources.list.d/kubernetes.list"), "utf8"), "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n");
      const toml = fs.readFileSync(path.join(root, "etc/containerd/config.toml"), "utf8");
      assert.ok(toml.startsWith(`${configVersion}\n`) && toml.includes("SystemdCgroup = true"), toml);
      assert.ok(toml.includes(configVersion === "version = 3" ? "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]" : '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'));
      assert.equal(
        first.stderr,
        [
          "prepare-host: wrote /etc/fstab",
          "prepare-host: wrote /etc/modules-load.d/microseg-k8s.conf",
          "lab profile: skipped modprobe overlay br_netfilter",
          "prepare-host: wrote /etc/sysctl.d/99-microseg-k8s.conf",
          "lab profile: skipped sysctl --system",
          "lab profile: skipped apt-get install containerd",
          `lab profile: skipped containerd --version (using MICROSEG_LAB_CONTAINERD_VERSION=${containerd})`,
          "prepare-host: wrote /etc/containerd/config.toml",
          "lab profile: skipped systemctl restart containerd",
          "prepare-host: wrote /etc/apt/sources.list.d/kubernetes.list",
          "lab profile: skipped download of the pkgs.k8s.io v1.34 signing key to /etc/apt/keyrings/kubernetes-apt-keyring.gpg",
          "lab profile: skipped apt-get update",
          "lab profile: skipped apt-get install and apt-mark hold of kubelet kubeadm kubectl 1.34.2",
          "prepare-host: 5 change(s)",
          "",
        ].join("\n"),
      );
      const sums = checksums(root);
      const second = runStep(build, root);
      assert.equal(second.status, 0, second.stderr);
      assert.deepEqual(checksums(root), sums);
      assert.equal(
        second.stderr,
        [
          "lab profile: skipped apt-get install containerd",
          `lab profile: skipped containerd --version (using MICROSEG_LAB_CONTAINERD_VERSION=${containerd})`,
          "lab profile: skipped apt-get install and apt-mark hold of kubelet kubeadm kubectl 1.34.2",
          "prepare-host: nothing to do",
          "",
        ].join("\n"),
      );
    });
  }

  it("prepare-host: an unsupported containerd and a bad version are refused, naming the step", () => {
    const r = runStep((e) => hostStep("prepare-host", { ...e, KUBERNETES_VERSION: "1.34.2", MICROSEG_LAB_CONTAINERD_VERSION: "3.0.0" }, noSudo), tmp("root-"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\nprepare-host: containerd 3\.0\.0 is not supported\. Fix: install containerd 1\.7 or 2\.x\n$/);
    const v = runStep((e) => hostStep("prepare-host", { ...e, KUBERNETES_VERSION: "1.34" }, noSudo), tmp("root-"));
    assert.equal(v.stderr, 'prepare-host: KUBERNETES_VERSION is "1.34". Fix: give major.minor.patch, e.g. 1.34.2\n');
  });

  it("kubeadm-init: writes the config root-only, validates it with the real kubeadm, stands in for kubeadm init; initialised host: nothing to do", { skip: kubeadmThere ? false : "no .lab/bin/kubeadm" }, () => {
    const root = tmp("root-");
    const build = (e: Record<string, string>) => hostStep("kubeadm-init", { ...e, ...kubeadmInitStep(prodCfg, hostsOf(prodCfg)[0]!).env }, noSudo);
    const r = runStep(build, root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stderr,
      "kubeadm-init: wrote /etc/kubernetes/microseg/kubeadm-init.yaml\nkubeadm-init: kubeadm config validate: ok\nlab profile: skipped kubeadm init --config " +
        `${root}/etc/kubernetes/microseg/kubeadm-init.yaml --upload-certs (needs a kubelet and containerd)\n`,
    );
    const file = path.join(root, "etc/kubernetes/microseg/kubeadm-init.yaml");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(fs.readFileSync(file, "utf8").includes("kind: InitConfiguration"));
    write(root, "etc/kubernetes/admin.conf", "apiVersion: v1\n");
    const sums = checksums(root);
    const again = runStep(build, root);
    assert.equal(again.stderr, "kubeadm-init: nothing to do: /etc/kubernetes/admin.conf exists (already initialised)\n");
    assert.deepEqual(checksums(root), sums);
  });

  it("kubeadm-init: a config kubeadm refuses fails the step with kubeadm's reason", { skip: kubeadmThere ? false : "no .lab/bin/kubeadm" }, () => {
    const bad = Buffer.from("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 10.0.0.0/33\n").toString("base64");
    const r = runStep((e) => hostStep("kubeadm-init", { ...e, KUBEADM_CONFIG_B64: bad }, noSudo), tmp("root-"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\nkubeadm-init: kubeadm config validate refused the config: .*10\.0\.0\.0\/33/);
  });

  const joinSecrets = `JOIN_TOKEN=abcdef.0123456789abcdef\nCA_CERT_HASH=sha256:${"1".repeat(64)}\nCERTIFICATE_KEY=${"2".repeat(64)}\n`;

  it("kubeadm-join: secrets from stdin into a removed root-only copy, placeholders on disk; joined host: nothing to do", { skip: kubeadmThere ? false : "no .lab/bin/kubeadm" }, () => {
    const root = tmp("root-");
    const cp1 = hostsOf(prodCfg)[1]!;
    const build = (e: Record<string, string>) => hostStep("kubeadm-join", { ...e, ...kubeadmJoinStep(prodCfg, cp1).env }, noSudo);
    const r = runStep(build, root, joinSecrets);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stderr,
      "kubeadm-join: wrote /etc/kubernetes/microseg/kubeadm-join.yaml (placeholders only)\nkubeadm-join: kubeadm config validate: ok\nlab profile: skipped kubeadm join --config <filled copy> (needs a kubelet and containerd); wrote a stand-in /etc/kubernetes/kubelet.conf\n",
    );
    assert.deepEqual(Object.keys(checksums(root)), ["etc/kubernetes/kubelet.conf", "etc/kubernetes/microseg/kubeadm-join.yaml"], "the filled copy is gone; the stand-in kubelet.conf is the guard's file");
    const onDisk = fs.readFileSync(path.join(root, "etc/kubernetes/microseg/kubeadm-join.yaml"), "utf8");
    assert.ok(onDisk.includes(JOIN_PLACEHOLDERS.token) && !onDisk.includes("abcdef.0123456789abcdef"));
    assert.ok(!r.stdout.includes("abcdef") && !r.stderr.includes("abcdef"));
    const again = runStep(build, root, "");
    assert.equal(again.stderr, "kubeadm-join: nothing to do: /etc/kubernetes/kubelet.conf exists (already joined)\n");
  });

  it("kubeadm-join: missing or malformed secrets are refused without echoing them", () => {
    const cp1 = hostsOf(prodCfg)[1]!;
    const build = (e: Record<string, string>) => hostStep("kubeadm-join", { ...e, ...kubeadmJoinStep(prodCfg, cp1).env }, noSudo);
    const cases: Array<[string, string]> = [
      ["", "kubeadm-join: no join token on stdin: create-join-token makes none for a node already in the cluster, and this host has no /etc/kubernetes/kubelet.conf (reset by hand?). Fix: delete its Node on the first control plane (kubectl delete node <name>), then run pulumi up again\n"],
      ["CA_CERT_HASH=sha256:12\n", "kubeadm-join: JOIN_TOKEN on stdin is missing or not a bootstrap token. Fix: send the output of create-join-token\n"],
      ["JOIN_TOKEN=abcdef.0123456789abcdef\nCA_CERT_HASH=sha256:12\n", "kubeadm-join: CA_CERT_HASH on stdin is missing or not sha256:<64 hex>. Fix: send the output of create-join-token\n"],
      [`JOIN_TOKEN=abcdef.0123456789abcdef\nCA_CERT_HASH=sha256:${"1".repeat(64)}\n`, "kubeadm-join: CERTIFICATE_KEY on stdin is missing or not 64 hex digits (a control-plane join needs it). Fix: run create-join-token with CONTROL_PLANE=1\n"],
      ["PASSWORD=hunter2\n", 'kubeadm-join: unexpected line on stdin ("PASSWORD=..."). Fix: send the output of create-join-token\n'],
    ];
    for (const [stdin, message] of cases) {
      const r = runStep(build, tmp("root-"), stdin);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, message);
    }
  });

  it("delete-join-token: no token on stdin is nothing to do; a malformed one is refused without echoing it", () => {
    const build = (e: Record<string, string>) => hostStep("delete-join-token", { ...e, ...deleteJoinTokenStep(hostsOf(devCfg)[1]!).env }, noSudo);
    const none = runStep(build, tmp("root-"), "");
    assert.deepEqual([none.status, none.stderr], [0, "delete-join-token: nothing to do: no join token on stdin (none was made for worker-0)\n"]);
    const bad = runStep(build, tmp("root-"), "JOIN_TOKEN=abcdef.not-a-secret-part\nCA_CERT_HASH=sha256:12\n");
    assert.deepEqual([bad.status, bad.stderr], [1, "delete-join-token: JOIN_TOKEN on stdin is not a bootstrap token. Fix: send the output of create-join-token\n"]);
    const noAdmin = runStep(build, tmp("root-"), "JOIN_TOKEN=abcdef.0123456789abcdef\n");
    assert.deepEqual([noAdmin.status, noAdmin.stderr], [1, "delete-join-token: /etc/kubernetes/admin.conf is missing. Fix: run this step on the first control-plane host, after kubeadm-init\n"]);
    assert.equal(noAdmin.stdout + noAdmin.stderr + bad.stdout + bad.stderr, noAdmin.stderr + bad.stderr);
    assert.ok(!(noAdmin.stderr + bad.stderr).includes("0123456789abcdef") && !bad.stderr.includes("not-a-secret-part"), "the token's secret part is never echoed");
  });

  it("read-kubeconfig: prints admin.conf, or names what is missing", () => {
    const root = tmp("root-");
    const missing = runStep((e) => hostStep("read-kubeconfig", e, noSudo), root);
    assert.equal(missing.stderr, "read-kubeconfig: /etc/kubernetes/admin.conf is missing. Fix: run kubeadm-init on this host first\n");
    write(root, "etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n");
    assert.equal(runStep((e) => hostStep("read-kubeconfig", e, noSudo), root).stdout, "apiVersion: v1\nkind: Config\n");
  });

  it("kubeadm-reset: removes kubeadm, CNI and microseg files, stands in for kubeadm reset/iptables/ip link; a second run: nothing to do", () => {
    const root = tmp("root-");
    for (const f of ["etc/kubernetes/admin.conf", "etc/kubernetes/kubelet.conf", "etc/kubernetes/manifests/etcd.yaml", "etc/cni/net.d/05-cilium.conflist", "etc/kubernetes/microseg/kubeadm-init.yaml", "var/lib/cni/cache/x", "etc/keep.conf"]) write(root, f, "x");
    const r = runStep((e) => hostStep("kubeadm-reset", e, noSudo), root);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(Object.keys(checksums(root)), ["etc/keep.conf"]);
    assert.equal(
      r.stderr,
      [
        "lab profile: skipped kubeadm reset -f (needs the kubelet, containerd and the host's mounts)",
        "lab profile: skipped iptables: removing the KUBE-* and CILIUM* rules",
        "lab profile: skipped ip6tables: removing the KUBE-* and CILIUM* rules",
        ...["cilium_host", "cilium_net", "cilium_vxlan", "cilium_geneve"].map((l) => `lab profile: skipped ip link delete ${l}`),
        "kubeadm-reset: reset done: removed 5 kubeadm/CNI/microseg path(s)",
        "",
      ].join("\n"),
    );
    const again = runStep((e) => hostStep("kubeadm-reset", e, noSudo), root);
    assert.equal(again.stderr, "kubeadm-reset: nothing to do: no kubeadm, CNI or microseg files on this host\n");
  });

  describe("against the lab's kube-apiserver", { skip: labUp ? false : "the lab is not running (bash lab/up.sh)" }, () => {
    const kubectl = (...args: string[]) => spawnSync(path.join(LAB_BIN, "kubectl"), ["--kubeconfig", LAB_KUBECONFIG, ...args], { encoding: "utf8" });
    const adminRoot = () => {
      const root = tmp("root-");
      const kc = fs.readFileSync(LAB_KUBECONFIG, "utf8");
      write(root, "etc/kubernetes/admin.conf", kc);
      const ca = Buffer.from((YAML.parse(kc) as { clusters: Array<{ cluster: Record<string, string> }> }).clusters[0]!.cluster["certificate-authority-data"]!, "base64").toString();
      write(root, "etc/kubernetes/pki/ca.crt", ca);
      return { root, ca };
    };
    const node = `microseg-test-${process.pid}`;

    it("create-join-token: a real 15m bootstrap token, the CA pin kubeadm expects, a certificate key for control planes; output feeds kubeadm-join", () => {
      const { root, ca } = adminRoot();
      const pin = createHash("sha256").update(new Uint8Array(new X509Certificate(ca).publicKey.export({ type: "spki", format: "der" }))).digest("hex");
      const cpHost = { ...hostsOf(prodCfg)[1]!, name: node };
      const r = runStep((e) => hostStep("create-join-token", { ...e, ...createJoinTokenStep(cpHost).env }, noSudo), root);
      assert.equal(r.status, 0, r.stderr);
      const m = /^JOIN_TOKEN=([a-z0-9]{6})\.[a-z0-9]{16}\nCA_CERT_HASH=sha256:([0-9a-f]{64})\nCERTIFICATE_KEY=[0-9a-f]{64}\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.equal(m[2], pin);
      assert.match(r.stderr, /lab profile: skipped kubeadm init phase upload-certs --upload-certs/);
      assert.match(r.stderr, new RegExp(`create-join-token: token for ${node} created \\(ttl 15m\\)\\n$`));
      const secret = kubectl("-n", "kube-system", "get", "secret", `bootstrap-token-${m[1]}`, "-o", "jsonpath={.data.description}");
      assert.equal(Buffer.from(secret.stdout, "base64").toString(), `microseg: join ${node}`);
      try {
        if (kubeadmThere) {
          const join = runStep((e) => hostStep("kubeadm-join", { ...e, ...kubeadmJoinStep(prodCfg, hostsOf(prodCfg)[1]!).env }, noSudo), tmp("root-"), r.stdout);
          assert.equal(join.status, 0, join.stderr);
        }
      } finally {
        // After the join, the same output on delete-join-token's stdin: the real kubeadm token delete, by the token's id.
        const del = runStep((e) => hostStep("delete-join-token", { ...e, ...deleteJoinTokenStep(cpHost).env }, noSudo), root, r.stdout);
        assert.deepEqual([del.status, del.stdout, del.stderr], [0, "", `delete-join-token: deleted the join token ${m[1]} of ${node}\n`]);
      }
      assert.match(kubectl("-n", "kube-system", "get", "secret", `bootstrap-token-${m[1]}`).stderr, /NotFound/);
      const again = runStep((e) => hostStep("delete-join-token", { ...e, ...deleteJoinTokenStep(cpHost).env }, noSudo), root, r.stdout);
      assert.deepEqual([again.status, again.stderr], [0, `delete-join-token: nothing to do: the join token ${m[1]} of ${node} is already gone\n`]);
    });

    it("label-node, drain-node, remove-node: real kubectl on a Node object; re-runs: nothing to do", () => {
      const { root } = adminRoot();
      kubectl("delete", "node", node, "--ignore-not-found");
      const created = spawnSync(path.join(LAB_BIN, "kubectl"), ["--kubeconfig", LAB_KUBECONFIG, "create", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: node } }), encoding: "utf8" });
      assert.equal(created.status, 0, created.stderr);
      try {
        const label = (e: Record<string, string>) => hostStep("label-node", { ...e, NODE_NAME: node, NODE_LABELS: "node-role.kubernetes.io/worker=,node-restriction.kubernetes.io/pool=edge" }, noSudo);
        const l1 = runStep(label, root);
        assert.equal(l1.stderr, `label-node: labelled ${node}: set node-restriction.kubernetes.io/pool=edge node-role.kubernetes.io/worker=\n`);
        assert.equal(kubectl("get", "node", node, "-o", "jsonpath={.metadata.labels.node-restriction\\.kubernetes\\.io/pool}").stdout, "edge");
        const l2 = runStep(label, root);
        assert.equal(l2.stderr, `label-node: nothing to do: node ${node} has node-role.kubernetes.io/worker=, node-restriction.kubernetes.io/pool=edge\n`);
        const unlabel = (e: Record<string, string>) => hostStep("label-node", { ...e, ...unlabelNodeStep({ ...hostsOf(devCfg)[1]!, name: node }).env }, noSudo);
        const u1 = runStep(unlabel, root);
        assert.equal(u1.stderr, `label-node: labelled ${node}: removed node-restriction.kubernetes.io/pool node-role.kubernetes.io/worker\n`);
        assert.equal(kubectl("get", "node", node, "-o", "jsonpath={.metadata.labels}").stdout, "");
        assert.equal(kubectl("get", "node", node, "-o", "jsonpath={.metadata.annotations.microseg\\.io/managed-labels}").stdout, "");
        assert.equal(runStep(unlabel, root).stderr, `label-node: nothing to do: node ${node} has no labels set by microseg\n`);
        assert.equal(runStep(label, root).status, 0);

        const d1 = runStep((e) => hostStep("drain-node", { ...e, NODE_NAME: node, DRAIN_TIMEOUT: "30s" }, noSudo), root);
        assert.equal(d1.stderr, `drain-node: drained ${node}\n`);
        assert.equal(kubectl("get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout, "true");

        const r1 = runStep((e) => hostStep("remove-node", { ...e, NODE_NAME: node }, noSudo), root);
        assert.equal(r1.stderr, `remove-node: deleted node ${node}\n`);
        const r2 = runStep((e) => hostStep("remove-node", { ...e, NODE_NAME: node }, noSudo), root);
        assert.equal(r2.stderr, `remove-node: nothing to do: node ${node} is not in the cluster\n`);
        const d2 = runStep((e) => hostStep("drain-node", { ...e, NODE_NAME: node }, noSudo), root);
        assert.equal(d2.stderr, `drain-node: nothing to do: node ${node} is not in the cluster\n`);
        const l3 = runStep((e) => label({ ...e, NODE_WAIT_SECONDS: "3" }), root);
        assert.equal(l3.stderr, `label-node: node ${node} did not register within 3s. Fix: check the kubelet on ${node} (journalctl -u kubelet), then re-run pulumi up\n`);
        const u2 = runStep(unlabel, root);
        assert.equal(u2.status, 0, u2.stderr);
        assert.equal(u2.stderr, `label-node: nothing to do: node ${node} is not in the cluster\n`);
        const t = runStep((e) => hostStep("create-join-token", { ...e, NODE_NAME: "lab-node-0" }, noSudo), root);
        assert.equal(t.stdout, "");
        assert.equal(t.stderr, "create-join-token: nothing to do: node lab-node-0 is already in the cluster\n");
      } finally {
        kubectl("delete", "node", node, "--ignore-not-found");
      }
    });
  });
});

// lib/cluster/kubeadm-config.ts: goldens of the rendered kubeadm configs (test/unit/golden/kubeadm/, rewrite with
// UPDATE_GOLDEN=1), the label split, and every rendered config put through the real kubeadm (.lab/bin/kubeadm):
// `kubeadm config validate`, and `kubeadm init --dry-run` for the init configs.
import assert from "node:assert/strict";
import { FIXTURE_POLICIES } from "../fixtures/stack-policies";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseConfig, type HostConfig, type StackConfig } from "../../config";
import { JOIN_PLACEHOLDERS, kubeletMaySetLabel, renderKubeadmConfigs, renderKubeadmInit, renderKubeadmJoin, splitNodeLabels } from "../../lib/cluster/kubeadm-config";
import { artefactsToYaml, renderArtefacts } from "../../lib/stack/artefacts";
import { Secret } from "../../lib/base/secret";
import { assertGolden } from "../fixtures/golden";

const KUBEADM = path.join(__dirname, "..", "..", ".lab", "bin", "kubeadm");

const ssh = { user: "ubuntu", privateKeyPath: "~/.ssh/id_ed25519" };
const base = { environment: "dev", cilium: { version: "1.19.3" } };
function stack(cluster: Record<string, unknown>, extra: Record<string, unknown> = {}): StackConfig {
  return parseConfig({ ...base, ...extra, cluster: { mode: "kubeadm", kubernetesVersion: "1.34.2", ssh, ...cluster } }, { checkFiles: false });
}

const CASES: Record<string, StackConfig> = {
  "single-cp-2-workers": stack({
    hosts: [
      { name: "cp-0", address: "192.168.1.222", role: "control-plane", publicAddress: "203.0.113.10" },
      { name: "worker-0", address: "192.168.1.223", role: "worker", labels: { "topology.kubernetes.io/zone": "lab-a", "node-role.kubernetes.io/worker": "" } },
      { name: "worker-1", address: "192.168.1.224", role: "worker", taints: [{ key: "dedicated", value: "ingress", effect: "NoSchedule" }], labels: { "example.com/tier": "edge" } },
    ],
  }),
  "ha-3-cp-endpoint": stack({
    controlPlaneEndpoint: "k8s-api.prod.example.com:6443",
    hosts: [
      { name: "cp-0", address: "10.30.0.10", role: "control-plane" },
      { name: "cp-1", address: "10.30.0.11", role: "control-plane", publicAddress: "cp-1.prod.example.com" },
      { name: "cp-2", address: "10.30.0.12", role: "control-plane" },
      { name: "worker-0", address: "worker-0.prod.example.com", role: "worker" },
    ],
  }),
  ipv6: stack({
    podCidr: "fd00:10:244::/56",
    serviceCidr: "fd00:10:96::/112",
    hosts: [
      { name: "cp-0", address: "fd00:1::10", role: "control-plane" },
      { name: "worker-0", address: "fd00:1::20", role: "worker" },
    ],
  }),
  "custom-cidrs-ranges": stack({
    kubernetesVersion: "1.35.0",
    podCidr: "172.16.0.0/16",
    serviceCidr: "172.20.0.0/16",
    serviceNodePortRange: "30000-30999",
    controlPlaneEndpoint: "10.40.0.10:8443",
    hosts: [
      { name: "cp-0", address: "10.40.0.10", role: "control-plane", taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "PreferNoSchedule" }] },
      { name: "worker-0", address: "10.40.0.20", role: "worker" },
    ],
  }, { hubble: { relay: { nodePort: 30245 } } }),
};

const hostsOf = (cfg: StackConfig): HostConfig[] => (cfg.cluster.mode === "kubeadm" ? cfg.cluster.hosts : []);

const kubeadm = fs.existsSync(KUBEADM) ? KUBEADM : undefined;
const skipKubeadm = kubeadm ? false : `no kubeadm at ${KUBEADM} (build it with lab/build-lab.sh)`;
if (skipKubeadm) console.log(`# kubeadm-config: real kubeadm checks skipped: ${skipKubeadm}`);

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

describe("kubeadm-config", () => {
  describe("goldens", () => {
    for (const [name, cfg] of Object.entries(CASES)) {
      it(`golden: ${name}`, () => {
        const out = renderKubeadmConfigs(cfg).map((r) => `# ${r.step} ${r.node}${r.uploadCerts ? " (kubeadm init --upload-certs)" : ""}${Object.keys(r.labelsAfterJoin).length ? ` (labels after join: ${JSON.stringify(r.labelsAfterJoin)})` : ""}\n${r.yaml}`);
        assertGolden(`kubeadm/${name}.yaml`, out.join("---\n"));
      });
    }
  });

  it("init: every control-plane address, publicAddress and the endpoint host in certSANs; kube-proxy skipped; node-port range; HA uploads certs", () => {
    const cfg = CASES["ha-3-cp-endpoint"]!;
    const r = renderKubeadmInit(cfg, hostsOf(cfg)[0]!);
    const cluster = r.documents[1] as unknown as { apiServer: { certSANs: string[]; extraArgs: unknown[] }; controlPlaneEndpoint: string };
    assert.deepEqual(cluster.apiServer.certSANs, ["10.30.0.10", "10.30.0.11", "cp-1.prod.example.com", "10.30.0.12", "k8s-api.prod.example.com"]);
    assert.deepEqual(cluster.apiServer.extraArgs, [{ name: "service-node-port-range", value: "30000-32767" }]);
    assert.equal(cluster.controlPlaneEndpoint, "k8s-api.prod.example.com:6443");
    assert.deepEqual((r.documents[0] as unknown as { skipPhases: string[] }).skipPhases, ["addon/kube-proxy"]);
    assert.equal(r.uploadCerts, true);
    assert.equal(renderKubeadmInit(CASES["single-cp-2-workers"]!, hostsOf(CASES["single-cp-2-workers"]!)[0]!).uploadCerts, false);
  });

  it("join: secrets are placeholders in the YAML and Secrets in the documents; no real secret can be passed in", () => {
    const cfg = CASES["ha-3-cp-endpoint"]!;
    const hosts = hostsOf(cfg);
    const cp1 = renderKubeadmJoin(cfg, hosts[1]!);
    for (const p of Object.values(JOIN_PLACEHOLDERS)) assert.ok(cp1.yaml.includes(p), p);
    const d = cp1.documents[0] as unknown as { discovery: { bootstrapToken: { token: unknown } }; controlPlane: { certificateKey: unknown } };
    assert.ok(d.discovery.bootstrapToken.token instanceof Secret);
    assert.ok(d.controlPlane.certificateKey instanceof Secret);
    const worker = renderKubeadmJoin(cfg, hosts[3]!);
    assert.ok(!worker.yaml.includes("controlPlane"));
    assert.ok(!worker.yaml.includes("node-ip"), "a DNS-name address leaves node-ip to the kubelet");
  });

  it("refuses init on a non-first host and join on the first one", () => {
    const cfg = CASES["ha-3-cp-endpoint"]!;
    const hosts = hostsOf(cfg);
    assert.throws(() => renderKubeadmInit(cfg, hosts[1]!), { message: 'kubeadm-init cp-1: kubeadm init runs on the first control-plane host ("cp-0"); render a join config for this host' });
    assert.throws(() => renderKubeadmJoin(cfg, hosts[0]!), { message: "kubeadm-join cp-0: this is the first control-plane host, which runs kubeadm init" });
  });

  it("labels: kubelet-settable ones go to node-labels, NodeRestriction-protected ones are applied after the join", () => {
    for (const k of ["topology.kubernetes.io/zone", "kubernetes.io/hostname", "node.kubernetes.io/instance-type", "sub.node.kubernetes.io/x", "kubelet.kubernetes.io/y", "example.com/tier", "plain"]) {
      assert.equal(kubeletMaySetLabel(k), true, k);
    }
    for (const k of ["node-role.kubernetes.io/worker", "node-restriction.kubernetes.io/pool", "kubernetes.io/role", "example.k8s.io/x", "k8s.io/x"]) {
      assert.equal(kubeletMaySetLabel(k), false, k);
    }
    assert.deepEqual(splitNodeLabels({ "node-role.kubernetes.io/worker": "", "b.example.com/x": "1", "a.example.com/y": "2" }), {
      kubelet: { "a.example.com/y": "2", "b.example.com/x": "1" },
      afterJoin: { "node-role.kubernetes.io/worker": "" },
    });
  });

  it("artefact kind kubeadm: one entry per control-plane node, secrets printed as [secret]", () => {
    const cfg = CASES["ha-3-cp-endpoint"]!;
    const arts = renderArtefacts(cfg, FIXTURE_POLICIES, "kubeadm");
    assert.deepEqual(arts.map((a) => a.name), ["kubeadm-init cp-0", "kubeadm-join cp-1", "kubeadm-join cp-2"]);
    const text = artefactsToYaml(arts, cfg);
    assert.ok(!text.includes(JOIN_PLACEHOLDERS.token) && text.includes('token: "[secret]"'));
    const existing = parseConfig({ ...base, environment: "lab", cluster: { mode: "existing", kubeconfig: "apiVersion: v1\nclusters: []\n", controlPlaneEndpoint: "127.0.0.1:6443" } }, { checkFiles: false });
    assert.deepEqual(renderArtefacts(existing, FIXTURE_POLICIES, "kubeadm"), []);
  });

  describe("the real kubeadm", { skip: skipKubeadm }, () => {
    for (const [name, cfg] of Object.entries(CASES)) {
      for (const r of renderKubeadmConfigs(cfg)) {
        it(`kubeadm config validate accepts ${name}: ${r.step} ${r.node}`, () => {
          const dir = tmp("kubeadm-validate-");
          const file = path.join(dir, "config.yaml");
          fs.writeFileSync(file, r.yaml);
          const res = spawnSync(kubeadm!, ["config", "validate", "--config", file], { encoding: "utf8" });
          fs.rmSync(dir, { recursive: true, force: true });
          assert.equal(res.status, 0, res.stderr);
          assert.equal(res.stdout.trim(), "ok");
        });
      }
    }

    // In this container (no containerd, no kubelet) `kubeadm init --dry-run` stops in its preflight phase; with the
    // preflight errors ignored it goes through every phase against a fake client, writing into KUBEADM_INIT_DRYRUN_DIR.
    for (const name of ["single-cp-2-workers", "ha-3-cp-endpoint", "ipv6"]) {
      it(`kubeadm init --dry-run: ${name} stops at preflight here; with preflight errors ignored it renders the control plane`, () => {
        const cfg = CASES[name]!;
        const init = renderKubeadmConfigs(cfg)[0]!;
        const dir = tmp("kubeadm-dryrun-");
        const file = path.join(dir, "init.yaml");
        fs.writeFileSync(file, init.yaml);
        const env = { ...process.env, KUBEADM_INIT_DRYRUN_DIR: path.join(dir, "out") };
        fs.mkdirSync(env.KUBEADM_INIT_DRYRUN_DIR);
        const flags = ["init", "--dry-run", "--config", file, ...(init.uploadCerts ? ["--upload-certs"] : [])];
        try {
          const strict = spawnSync(kubeadm!, flags, { encoding: "utf8", env });
          assert.equal(strict.status, 1);
          assert.match(strict.stderr, /\[ERROR CRI\]: could not connect to the container runtime/);
          assert.match(strict.stderr, /error execution phase preflight: preflight checks failed/);

          const out = execFileSync(kubeadm!, [...flags, "--ignore-preflight-errors=all"], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
          const c = cfg.cluster as { serviceNodePortRange: string; podCidr: string };
          const apiserver = fs.readFileSync(path.join(env.KUBEADM_INIT_DRYRUN_DIR, "kube-apiserver.yaml"), "utf8");
          assert.ok(apiserver.includes(`--service-node-port-range=${c.serviceNodePortRange}`));
          const cm = fs.readFileSync(path.join(env.KUBEADM_INIT_DRYRUN_DIR, "kube-controller-manager.yaml"), "utf8");
          assert.ok(cm.includes(`--cluster-cidr=${c.podCidr}`) && cm.includes("--allocate-node-cidrs=true"));
          assert.match(out, /\[addons\] Applied essential addon: CoreDNS/);
          assert.doesNotMatch(out, /kube-proxy/, "the kube-proxy addon is skipped");
          assert.match(out, init.uploadCerts ? /\[upload-certs\] Storing the certificates in Secret "kubeadm-certs"/ : /\[upload-certs\] Skipping phase/);
          const kubeletEnv = fs.readFileSync(path.join(env.KUBEADM_INIT_DRYRUN_DIR, "kubeadm-flags.env"), "utf8");
          assert.ok(kubeletEnv.includes(`--node-ip=${hostsOf(cfg)[0]!.address}`), kubeletEnv);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
});

// KubeadmCluster on the real engine (Automation API) against 3 lab netns hosts (1 control plane + 2 workers) under
// the lab host profile; fixture in bench/cluster.ts (fake Ubuntu roots, the control plane's admin.conf seeded with
// the Kubernetes lab's kubeconfig, a forwarder to the lab kube-apiserver). Remote commands are counted host-side
// (.lab/hosts/<host>/commands.log). kubeadm init/join/reset are the scripts' documented lab stand-ins; tokens,
// labels, drain and Node deletes go to the lab's real kube-apiserver.
// Needs the Kubernetes lab (bash lab/up.sh); starts the SSH hosts when they are down (and stops them only then).
// Run: source lab/engine-env.sh && node --import tsx --test test/lab/kubeadm-cluster.test.ts
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Stack, UpResult } from "@pulumi/pulumi/automation";
import { commandLines, labHosts, newLabClusterStack, resetLabRoots, startForwarder, type LabHost } from "../../bench/cluster";
import { engineEnv, kubectl, repoRoot } from "./harness";

const changes = (r: { summary: { resourceChanges?: Record<string, number> } }) => Object.fromEntries(Object.entries(r.summary.resourceChanges ?? {}).filter(([k]) => k !== "same"));
const FAKE_NODE = (name: string) => JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name, annotations: { "kwok.x-k8s.io/node": "fake" } } });

describe("KubeadmCluster on the real engine against 3 lab SSH hosts", { timeout: 15 * 60_000 }, () => {
    let startedHosts = false;
    let server: net.Server;
    let hosts: LabHost[];
    let s: Awaited<ReturnType<typeof newLabClusterStack>>;
    let stack: Stack;
    const output: string[] = [];
    const labels: Record<string, Record<string, string>> = { "worker-1": { "topology.kubernetes.io/zone": "lab-a" }, "worker-2": { "topology.kubernetes.io/zone": "lab-b" } };
    const counts = () => hosts.map((h) => commandLines(h.lab).length);
    const delta = (before: number[]) => counts().map((c, i) => c - before[i]!);
    const up = async (): Promise<UpResult> => {
        s.writeSpec(hosts, labels);
        return stack.up({ color: "never", onOutput: (o) => output.push(o) });
    };
    const tokens = () => {
        const r = kubectl("get", "secrets", "-n", "kube-system", "--field-selector", "type=bootstrap.kubernetes.io/token", "-o", "json");
        const items = (JSON.parse(r.stdout).items ?? []) as Array<{ data: Record<string, string> }>;
        const dec = (b?: string) => Buffer.from(b ?? "", "base64").toString("utf8");
        return items.filter((i) => /^microseg: join worker-[12]$/.test(dec(i.data["description"]))).map((i) => `${dec(i.data["token-id"])}.${dec(i.data["token-secret"])}`);
    };

    before(async () => {
        if (spawnSync("bash", [path.join(repoRoot, "lab", "hosts-status.sh")]).status !== 0) {
            execFileSync("bash", [path.join(repoRoot, "lab", "hosts-up.sh")], { env: { ...process.env, LAB_HOST_COUNT: "3" }, stdio: "inherit" });
            startedHosts = true;
        }
        hosts = labHosts(3);
        resetLabRoots(hosts);
        for (const n of ["worker-1", "worker-2"]) kubectl("delete", "node", n, "--ignore-not-found");
        server = await startForwarder();
        s = await newLabClusterStack("kubeadm-cluster");
        stack = s.stack;
    });

    after(async () => {
        try {
            if (s) await s.cleanup();
        } finally {
            server?.close();
            for (const n of ["worker-1", "worker-2"]) kubectl("delete", "node", n, "--ignore-not-found");
            if (startedHosts) execFileSync("bash", [path.join(repoRoot, "lab", "hosts-down.sh")], { stdio: "inherit" });
        }
    });

    it("up: every step runs once, counted on each host; tokens are real; the kubeconfig points at the endpoint", async (t) => {
        const known = new Set(tokens());
        // A kubelet registers its Node once its host has joined; the lab's stand-in join does not, so a watcher does it
        // when the join stand-in has written its config (label-node waits for the Node, as for a real kubelet).
        const registered = new Set<string>();
        const kubelets = setInterval(() => {
            for (const w of hosts.slice(1)) {
                if (registered.has(w.name) || !fs.existsSync(path.join(w.root, "etc/kubernetes/microseg/kubeadm-join.yaml"))) continue;
                registered.add(w.name);
                spawnSync(path.join(repoRoot, ".lab", "bin", "kubectl"), ["apply", "-f", "-"], { input: FAKE_NODE(w.name), env: { ...process.env, KUBECONFIG: path.join(process.env.LAB_DIR ?? path.join(repoRoot, ".lab"), "kubeconfig") } });
            }
        }, 200);
        const c0 = counts();
        const t0 = Date.now();
        const r = await up().finally(() => clearInterval(kubelets));
        t.diagnostic(`up, 1 control plane + 2 workers: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        // 19 SshCommands, the component, its k8s provider and the stack.
        assert.deepEqual(changes(r), { create: 22 });
        // cp-0: its 5 steps + create-join-token, label-node and remove-node per worker; a worker: 4 steps + the join's upload.
        assert.deepEqual(delta(c0), [11, 5, 5]);
        assert.match(kubectl("get", "node", "worker-1", "--show-labels").stdout, /topology\.kubernetes\.io\/zone=lab-a/);
        assert.deepEqual(r.outputs["nodeNames"]!.value, ["cp-0", "worker-1", "worker-2"]);
        assert.equal(r.outputs["kubeconfig"]!.secret, true);
        assert.match(r.outputs["kubeconfig"]!.value as string, /server: https:\/\/10\.213\.0\.1:26443\n/);
        assert.equal(tokens().filter((tk) => !known.has(tk)).length, 2, "one bootstrap token per join, made by kubeadm token create on the lab apiserver");
        for (const w of hosts.slice(1)) assert.ok(fs.existsSync(path.join(w.root, "etc/kubernetes/microseg/kubeadm-join.yaml")), `${w.name} joined (stand-in)`);
    });

    it("a second up: 0 changes and 0 remote commands", async () => {
        const c0 = counts();
        const r = await up();
        assert.deepEqual(changes(r), {});
        assert.deepEqual(delta(c0), [0, 0, 0]);
    });

    it("changing one worker touches only that worker's resources", async () => {
        labels["worker-1"]!["topology.kubernetes.io/zone"] = "lab-c";
        let c0 = counts();
        let r = await up();
        assert.deepEqual(changes(r), { update: 2 }, "worker-1's kubeadm-join (its config carries the kubelet's labels) and label-node");
        assert.deepEqual(delta(c0), [1, 2, 0], "label-node-worker-1 on cp-0; upload + kubeadm-join on worker-1");
        assert.match(kubectl("get", "node", "worker-1", "--show-labels").stdout, /topology\.kubernetes\.io\/zone=lab-c/, "the joined Node gets the new label");
        // A label the kubelet may not set: worker-2's label-node step, run on cp-0 against the lab apiserver.
        labels["worker-2"]!["node-role.kubernetes.io/worker"] = "";
        c0 = counts();
        r = await up();
        assert.deepEqual(changes(r), { update: 1 });
        assert.deepEqual(delta(c0), [1, 0, 0]);
        assert.equal(kubectl("get", "node", "worker-2", "-o", "jsonpath={.metadata.labels.node-role\\.kubernetes\\.io/worker}").status, 0);
        assert.match(kubectl("get", "node", "worker-2", "--show-labels").stdout, /node-role\.kubernetes\.io\/worker=/);
    });

    it("secrets (private key, kubeconfig, join tokens) are absent from `pulumi stack export` and the engine's output", () => {
        // As a user runs it (no --show-secrets); the state holds each dynamic resource's provider code, hence the buffer.
        const exported = execFileSync("pulumi", ["stack", "export", "--stack", stack.name], { cwd: s.workDir, env: { ...process.env, ...engineEnv() }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        const key = fs.readFileSync(path.join(repoRoot, ".lab", "hosts", "id_ed25519"), "utf8");
        const keyBody = key.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
        const kubeconfigKey = /client-key-data: (\S+)/.exec(fs.readFileSync(path.join(hosts[0]!.root, "etc/kubernetes/admin.conf"), "utf8"))![1]!;
        const secrets = { "private key": keyBody.slice(0, 40), "kubeconfig client key": kubeconfigKey.slice(0, 40), ...Object.fromEntries(tokens().map((tk, i) => [`join token ${i}`, tk])) };
        assert.ok(Object.keys(secrets).length >= 4);
        const engine = output.join("");
        for (const [what, value] of Object.entries(secrets)) {
            assert.ok(!exported.includes(value), `${what} in stack export`);
            assert.ok(!engine.includes(value), `${what} in the engine's output`);
        }
    });

    it("destroy: drain + remove on the control plane, then kubeadm-reset on each host", async () => {
        const c0 = counts();
        await stack.destroy({ color: "never", onOutput: (o) => output.push(o) });
        // cp-0: drain+remove per worker (upload + command) and its own reset; each worker: its reset.
        assert.deepEqual(delta(c0), [5, 1, 1]);
        for (const n of ["worker-1", "worker-2"]) assert.match(kubectl("get", "node", n).stderr, /NotFound/, `${n} removed from the cluster`);
        assert.ok(!fs.existsSync(path.join(hosts[0]!.root, "etc/kubernetes/admin.conf")), "cp-0 reset");
        for (const w of hosts.slice(1)) assert.ok(!fs.existsSync(path.join(w.root, "etc/kubernetes/microseg")), `${w.name} reset`);
    });
});

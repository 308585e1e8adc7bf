// KubeadmCluster on the real engine (Automation API) against 3 lab netns hosts (1 control plane + 2 workers) under
// the lab host profile; fixture in bench/cluster.ts (fake Ubuntu roots, the control plane's admin.conf seeded with
// the Kubernetes lab's kubeconfig, a forwarder to the lab kube-apiserver). Remote commands are counted host-side
// (.lab/hosts/<host>/commands.log). kubeadm init/join/reset are the scripts' documented lab stand-ins; tokens,
// labels, drain and Node deletes go to the lab's real kube-apiserver.
// Needs the Kubernetes lab (bash lab/up.sh); starts the SSH hosts when they are down (and stops them only then).
// HA and bastion topologies: kubeadm-cluster-topologies.test.ts.
// Run: source lab/engine-env.sh && node --import tsx --test test/lab/kubeadm-cluster.test.ts
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Stack, UpResult } from "@pulumi/pulumi/automation";
import { commandLines, labHosts, newLabClusterStack, resetLabRoots, startForwarder, type LabHost } from "../../bench/cluster";
import { crashLabHost, engineEnv, kubectl, repoRoot } from "./harness";
import { changes, kubeletWatcher, registerNode, sleep, tokenLife, watchTokens } from "./kubeadm-fixtures";

describe("KubeadmCluster on the real engine against 3 lab SSH hosts", { timeout: 15 * 60_000 }, () => {
    let startedHosts = false;
    let server: net.Server;
    let hosts: LabHost[];
    let s: Awaited<ReturnType<typeof newLabClusterStack>>;
    let stack: Stack;
    const output: string[] = [];
    /** Every join token the watch saw (id.secret), for the secrets test: they are deleted after their joins. */
    const seenTokens: string[] = [];
    const labels: Record<string, Record<string, string>> = { "worker-1": { "topology.kubernetes.io/zone": "lab-a" }, "worker-2": { "topology.kubernetes.io/zone": "lab-b" } };
    const counts = () => hosts.map((h) => commandLines(h.lab).length);
    const delta = (before: number[]) => counts().map((c, i) => c - before[i]!);
    const up = async (): Promise<UpResult> => {
        s.writeSpec(hosts, labels);
        return stack.up({ color: "never", onOutput: (o) => output.push(o) });
    };
    /** The bootstrap tokens create-join-token made on the lab apiserver (for one worker, or both). */
    const tokens = (worker = "worker-[12]") => {
        const r = kubectl("get", "secrets", "-n", "kube-system", "--field-selector", "type=bootstrap.kubernetes.io/token", "-o", "json");
        const items = (JSON.parse(r.stdout).items ?? []) as Array<{ data: Record<string, string> }>;
        const dec = (b?: string) => Buffer.from(b ?? "", "base64").toString("utf8");
        return items.filter((i) => new RegExp(`^microseg: join ${worker}$`).test(dec(i.data["description"]))).map((i) => `${dec(i.data["token-id"])}.${dec(i.data["token-secret"])}`);
    };
    const kubelets = () => kubeletWatcher(hosts);
    /** Resolves once cp-0 has started label-node for `worker` (its command line is in cp-0's log). */
    const labelNodeStarted = async (worker: string, since: number) => {
        const deadline = Date.now() + 60_000;
        const started = () => commandLines(hosts[0]!.lab).slice(since).some((l) => l.includes(`NODE_NAME=${worker} `) && /NODE_LABELS=\S/.test(l));
        while (!started()) {
            if (Date.now() > deadline) throw new Error(`label-node for ${worker} did not start on cp-0 within 60 s`);
            await sleep(100);
        }
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

    it("up: every step runs once, counted on each host; tokens are real and deleted after their joins; the kubeconfig points at the endpoint", async (t) => {
        const known = new Set(tokens());
        const watch = await watchTokens();
        const watcher = kubelets();
        const c0 = counts();
        const t0 = Date.now();
        const r = await up().finally(() => clearInterval(watcher));
        const events = watch.stop();
        t.diagnostic(`up, 1 control plane + 2 workers: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        // 15 SshCommands (cp-0: 5; a worker: wait-ssh, preflight, prepare-host, kubeadm-join, label-node), the identity
        // check, the component, its k8s provider and the stack.
        assert.deepEqual(changes(r), { create: 19 });
        // cp-0: its 5 steps, and per worker create-join-token, delete-join-token (its upload and run: inside the
        // join) and label-node; a worker: 4 steps and the join's upload. The identity check compares the preflight
        // output: no session of its own (asserted after the tokens).
        assert.match(kubectl("get", "node", "worker-1", "--show-labels").stdout, /topology\.kubernetes\.io\/zone=lab-a/);
        assert.deepEqual(r.outputs["nodeNames"]!.value, ["cp-0", "worker-1", "worker-2"]);
        assert.equal(r.outputs["kubeconfig"]!.secret, true);
        assert.match(r.outputs["kubeconfig"]!.value as string, /server: https:\/\/10\.213\.0\.1:26443\n/);
        // One bootstrap token per join, made by kubeadm token create on the lab apiserver, deleted by kubeadm token
        // delete once its join was done: none is left valid.
        const life = tokenLife(events);
        for (const w of ["worker-1", "worker-2"]) {
            const l = life[`microseg: join ${w}`];
            assert.equal(l?.added.length, 1, `${w}: one token made (${JSON.stringify(life)})`);
            assert.deepEqual(l!.deleted, l!.added, `${w}: that token deleted`);
        }
        assert.deepEqual(tokens().filter((tk) => !known.has(tk)), [], "a join token is left in the cluster");
        seenTokens.push(...events.filter((e) => e.type === "ADDED").map((e) => `${e.id}.${e.secret}`));
        const deletes = commandLines(hosts[0]!.lab).slice(c0[0]).filter((l) => /NODE_NAME=worker-[12] bash \.microseg\/scripts\/[0-9a-f]{12}-delete-join-token\.sh$/.test(l));
        assert.equal(deletes.length, 2, "delete-join-token ran on cp-0 once per join");
        assert.deepEqual(delta(c0), [13, 5, 5]);
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
        assert.deepEqual(delta(c0), [2, 2, 0], "create-join-token (nothing to do: the Node exists, no token, so no delete-join-token) and label-node-worker-1 on cp-0; upload + kubeadm-join on worker-1");
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

    it("a label removed from the config is removed from the Node; labels microseg did not set stay", async () => {
        assert.equal(kubectl("label", "node", "worker-2", "set-by-hand=yes").status, 0);
        delete labels["worker-2"]!["node-role.kubernetes.io/worker"];
        const c0 = counts();
        const r = await up();
        assert.deepEqual(changes(r), { update: 1 });
        assert.deepEqual(delta(c0), [1, 0, 0], "label-node-worker-2 on cp-0");
        const shown = kubectl("get", "node", "worker-2", "--show-labels").stdout;
        assert.doesNotMatch(shown, /node-role\.kubernetes\.io\/worker/);
        assert.match(shown, /set-by-hand=yes/);
        assert.match(shown, /topology\.kubernetes\.io\/zone=lab-b/);
    });

    it("secrets (private key, kubeconfig, join tokens) are absent from `pulumi stack export` and the engine's output", () => {
        // As a user runs it (no --show-secrets); the state holds each dynamic resource's provider code, hence the buffer.
        const exported = execFileSync("pulumi", ["stack", "export", "--stack", stack.name], { cwd: s.workDir, env: { ...process.env, ...engineEnv() }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        const key = fs.readFileSync(path.join(repoRoot, ".lab", "hosts", "id_ed25519"), "utf8");
        const keyBody = key.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
        const kubeconfigKey = /client-key-data: (\S+)/.exec(fs.readFileSync(path.join(hosts[0]!.root, "etc/kubernetes/admin.conf"), "utf8"))![1]!;
        const secrets = { "private key": keyBody.slice(0, 40), "kubeconfig client key": kubeconfigKey.slice(0, 40), ...Object.fromEntries(seenTokens.map((tk, i) => [`join token ${i}`, tk])) };
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
        // cp-0: per worker, label-node's delete (unlabel) and drain+remove (upload + command); its own reset; each
        // worker: its reset.
        assert.deepEqual(delta(c0), [7, 1, 1]);
        for (const n of ["worker-1", "worker-2"]) assert.match(kubectl("get", "node", n).stderr, /NotFound/, `${n} removed from the cluster`);
        assert.ok(!fs.existsSync(path.join(hosts[0]!.root, "etc/kubernetes/admin.conf")), "cp-0 reset");
        for (const w of hosts.slice(1)) assert.ok(!fs.existsSync(path.join(w.root, "etc/kubernetes/microseg")), `${w.name} reset`);
    });

    // From an empty stack again: the faults of a first up.

    it("hosts sharing a product_uuid (cloned VMs): up fails naming both hosts, before any host is prepared", async () => {
        resetLabRoots(hosts);
        const uuid = fs.readFileSync(path.join(hosts[1]!.root, "sys/class/dmi/id/product_uuid"), "utf8");
        fs.writeFileSync(path.join(hosts[2]!.root, "sys/class/dmi/id/product_uuid"), uuid);
        const c0 = counts();
        await assert.rejects(up(), (e: Error) => {
            assert.ok(e.message.includes(`preflight: hosts "worker-1" and "worker-2" share the product_uuid "${uuid.trim()}"; kubeadm needs it unique per node. Fix: cloned VMs need a fresh SMBIOS UUID`), e.message);
            return true;
        });
        assert.deepEqual(delta(c0), [3, 3, 3], "wait-ssh, preflight, and preflight again for the identity check (a clash is read afresh before it is refused)");
        assert.ok(!fs.existsSync(path.join(hosts[0]!.root, "etc/kubernetes/microseg")), "cp-0 not initialised");
    });

    it("a join that failed leaves no token behind; it is retried with a fresh token, deleted after that join", async () => {
        resetLabRoots(hosts);
        for (const n of ["worker-1", "worker-2"]) kubectl("delete", "node", n, "--ignore-not-found");
        // worker-2's join cannot write its config: a file where its directory goes.
        const blocker = path.join(hosts[2]!.root, "etc/kubernetes/microseg");
        fs.mkdirSync(path.dirname(blocker), { recursive: true });
        fs.writeFileSync(blocker, "");
        const before = new Set(tokens("worker-2"));
        let watch = await watchTokens();
        const watcher = kubelets();
        await assert.rejects(up(), (e: Error) => {
            assert.match(e.message, /worker-2 kubeadm-join: exit 1: /);
            assert.doesNotMatch(e.message, /delete-join-token/, "the token was deleted");
            return true;
        }).finally(() => clearInterval(watcher));
        const first = tokenLife(watch.stop())["microseg: join worker-2"];
        assert.equal(first?.added.length, 1, "the failed try made one token");
        assert.deepEqual(first!.deleted, first!.added, "and deleted it after the join failed");
        assert.deepEqual(tokens("worker-2").filter((t) => !before.has(t)), []);
        // The host is fixed; the next up joins with a token made for this try.
        fs.rmSync(blocker);
        watch = await watchTokens();
        const watcher2 = kubelets();
        const r = await up().finally(() => clearInterval(watcher2));
        assert.equal(r.summary.result, "succeeded");
        const second = tokenLife(watch.stop())["microseg: join worker-2"];
        assert.equal(second?.added.length, 1);
        assert.notEqual(second!.added[0], first!.added[0], "a token made for this try");
        assert.deepEqual(second!.deleted, second!.added, "deleted after the join");
        assert.deepEqual(tokens("worker-2").filter((t) => !before.has(t)), []);
        assert.ok(fs.existsSync(path.join(hosts[2]!.root, "etc/kubernetes/microseg/kubeadm-join.yaml")), "worker-2 joined (stand-in)");
        assert.deepEqual(changes(await up()), {});
    });

    it("a host's sshd killed in the middle of up: the error names host and step; after sshd restarts, the next up converges", async () => {
        // label-node for worker-2 waits on cp-0 for its Node; cp-0 crashes while it waits.
        labels["worker-2"]!["topology.kubernetes.io/zone"] = "lab-d";
        kubectl("delete", "node", "worker-2", "--ignore-not-found");
        const since = commandLines(hosts[0]!.lab).length;
        const running = up();
        await labelNodeStarted("worker-2", since);
        await sleep(500);
        crashLabHost(hosts[0]!.lab);
        await assert.rejects(running, (e: Error) => {
            assert.match(e.message, /cp-0 \(for worker-2\) label-node: (connection lost before the command finished|killed by signal)/);
            return true;
        });
        execFileSync("bash", [path.join(repoRoot, "lab", "hosts-up.sh")], { env: { ...process.env, LAB_HOST_COUNT: "3" } });
        registerNode("worker-2");
        const r = await up();
        assert.equal(r.summary.result, "succeeded");
        assert.match(kubectl("get", "node", "worker-2", "--show-labels").stdout, /topology\.kubernetes\.io\/zone=lab-d/);
        const c0 = counts();
        assert.deepEqual(changes(await up()), {});
        assert.deepEqual(delta(c0), [0, 0, 0]);
    });

    for (const signals of [1, 2]) it(`${signals === 1 ? "SIGINT" : "SIGINT twice (terminate at once)"} to pulumi up in the middle of a step, then the next up converges`, async (t) => {
        labels["worker-2"]!["topology.kubernetes.io/zone"] = `lab-sigint-${signals}`;
        s.writeSpec(hosts, labels);
        kubectl("delete", "node", "worker-2", "--ignore-not-found");
        const since = commandLines(hosts[0]!.lab).length;
        const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.name], { cwd: s.workDir, env: { ...process.env, ...engineEnv() } });
        let cliOut = "";
        child.stdout.on("data", (d: Buffer) => (cliOut += d.toString()));
        child.stderr.on("data", (d: Buffer) => (cliOut += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        await labelNodeStarted("worker-2", since);
        child.kill("SIGINT");
        await sleep(500);
        // Once: the engine lets the running step finish (its Node registers now). Twice: the CLI stops at once.
        if (signals === 2) child.kill("SIGINT");
        else registerNode("worker-2");
        const code = await exited;
        t.diagnostic(`pulumi up after ${signals} SIGINT: exit ${code}; ${cliOut.split("\n").filter((l) => /cancel|interrupt|label-node/i.test(l)).join(" | ").slice(0, 600)}`);
        registerNode("worker-2");
        const r = await up();
        assert.equal(r.summary.result, "succeeded");
        t.diagnostic(`next up: ${JSON.stringify(changes(r))}`);
        assert.match(kubectl("get", "node", "worker-2", "--show-labels").stdout, new RegExp(`topology\\.kubernetes\\.io/zone=lab-sigint-${signals}`));
        const c0 = counts();
        assert.deepEqual(changes(await up()), {});
        assert.deepEqual(delta(c0), [0, 0, 0]);
    });
});

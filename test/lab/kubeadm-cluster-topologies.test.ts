// KubeadmCluster topologies on the real engine against 4 lab netns SSH hosts: three control planes and a worker
// (HA), and every session through a bastion whose host key is pinned like the hosts'. Fixture as in
// kubeadm-cluster.test.ts (bench/cluster.ts; kubeadm init/join/reset are the scripts' lab stand-ins).
// Needs the Kubernetes lab (bash lab/up.sh); starts the SSH hosts when they are down (and stops them only then).
// Run: source lab/engine-env.sh && node --import tsx --test test/lab/kubeadm-cluster-topologies.test.ts
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { commandLines, labHosts, newLabClusterStack, resetLabRoots, startForwarder, type LabHost } from "../../bench/cluster";
import { AUTH_LINE, kubectl, repoRoot, sshdConnections, sshdLog } from "./harness";
import { changes, kubeletWatcher, tokenLife, watchTokens } from "./kubeadm-fixtures";

describe("KubeadmCluster HA on the real engine: 3 control planes and a worker (4 lab SSH hosts)", { timeout: 10 * 60_000 }, () => {
    let stopHosts = false;
    let server: net.Server;
    let hosts: LabHost[];
    let s: Awaited<ReturnType<typeof newLabClusterStack>>;
    const names = ["cp-1", "cp-2", "worker-3"];

    before(async () => {
        stopHosts = spawnSync("bash", [path.join(repoRoot, "lab", "hosts-status.sh")]).status !== 0;
        execFileSync("bash", [path.join(repoRoot, "lab", "hosts-up.sh")], { env: { ...process.env, LAB_HOST_COUNT: "4" }, stdio: "inherit" });
        // host-1 is cp-0 (kubeadm init), host-2 and host-3 join as control planes, host-4 as a worker.
        hosts = labHosts(4).map((h, i) => (i === 0 ? h : { ...h, name: names[i - 1]!, role: i < 3 ? "control-plane" : "worker" }));
        resetLabRoots(hosts);
        for (const n of names) kubectl("delete", "node", n, "--ignore-not-found");
        server = await startForwarder();
        s = await newLabClusterStack("kubeadm-ha");
    });

    after(async () => {
        try {
            if (s) await s.cleanup();
        } finally {
            server?.close();
            for (const n of names) kubectl("delete", "node", n, "--ignore-not-found");
            if (stopHosts) execFileSync("bash", [path.join(repoRoot, "lab", "hosts-down.sh")], { stdio: "inherit" });
        }
    });

    it("the extra control planes join one after the other (each gets a certificate key); the worker does not wait for them", async () => {
        const events: Array<{ kind: "pre" | "done"; name: string }> = [];
        const nameOf = (urn: string) => urn.split("::").pop()!;
        const watch = await watchTokens();
        const watcher = kubeletWatcher(hosts);
        const cp0Before = commandLines(hosts[0]!.lab).length;
        s.writeSpec(hosts);
        const r = await s.stack.up({
            color: "never",
            onEvent: (e) => {
                if (e.resourcePreEvent) events.push({ kind: "pre", name: nameOf(e.resourcePreEvent.metadata.urn) });
                if (e.resOutputsEvent) events.push({ kind: "done", name: nameOf(e.resOutputsEvent.metadata.urn) });
            },
        }).finally(() => clearInterval(watcher));
        assert.equal(r.summary.result, "succeeded");
        const at = (kind: "pre" | "done", name: string) => {
            const i = events.findIndex((e) => e.kind === kind && e.name === name);
            assert.ok(i >= 0, `${kind} ${name} seen`);
            return i;
        };
        assert.ok(at("done", "kubeadm-join-cp-1") < at("pre", "kubeadm-join-cp-2"), "cp-2 starts joining only after cp-1 has joined");
        assert.ok(at("pre", "kubeadm-join-worker-3") < at("done", "kubeadm-join-cp-2"), "the worker joins while the control planes take turns");
        // Each control-plane join had its token step on cp-0 make a certificate key (CONTROL_PLANE=1).
        const cpTokens = commandLines(hosts[0]!.lab).slice(cp0Before).filter((l) => l.includes("CONTROL_PLANE=1"));
        assert.equal(cpTokens.length, 2);
        const life = tokenLife(watch.stop());
        for (const n of names) assert.deepEqual(life[`microseg: join ${n}`]?.deleted, life[`microseg: join ${n}`]?.added, `${n}: its token deleted after its join`);
        assert.equal(Object.values(life).flatMap((l) => l.added).length, 3);
        for (const h of hosts.slice(1, 3)) assert.match(fs.readFileSync(path.join(h.root, "etc/kubernetes/microseg/kubeadm-join.yaml"), "utf8"), /controlPlane:/, `${h.name} joined as a control plane (stand-in)`);
    });
});

describe("KubeadmCluster through a bastion on the real engine: the bastion's host key pinned like the hosts' (4 lab SSH hosts)", { timeout: 10 * 60_000 }, () => {
    let stopHosts = false;
    let server: net.Server;
    let all: LabHost[];
    let bastion: { lab: string; address: string };
    let s: Awaited<ReturnType<typeof newLabClusterStack>>;
    const labels: Record<string, Record<string, string>> = { "worker-1": { "topology.kubernetes.io/zone": "lab-a" } };
    const hostsUp = (...args: string[]) => execFileSync("bash", [path.join(repoRoot, "lab", "hosts-up.sh"), ...args], { env: { ...process.env, LAB_HOST_COUNT: "4" } });
    const pubKey = (lab: string) => fs.readFileSync(path.join(repoRoot, ".lab", "hosts", lab, "ssh_host_ed25519_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    /** The cluster of `hosts`, every SSH session through the bastion (cluster.ssh.bastion), its key pinned to `pin` when given. */
    const up = async (hosts: readonly LabHost[], pin?: string) => {
        s.writeSpec(hosts, labels);
        const file = path.join(s.workDir, "spec.json");
        const spec = JSON.parse(fs.readFileSync(file, "utf8"));
        spec.raw.cluster.ssh.bastion = { address: bastion.address, ...(pin ? { hostKey: pin } : {}) };
        fs.writeFileSync(file, JSON.stringify(spec, null, 2));
        const watcher = kubeletWatcher(hosts);
        return s.stack.up({ color: "never" }).finally(() => clearInterval(watcher));
    };
    const counts = () => [...all.map((h) => commandLines(h.lab).length), commandLines(bastion.lab).length];

    before(async () => {
        stopHosts = spawnSync("bash", [path.join(repoRoot, "lab", "hosts-status.sh")]).status !== 0;
        execFileSync("bash", [path.join(repoRoot, "lab", "hosts-up.sh")], { env: { ...process.env, LAB_HOST_COUNT: "4" }, stdio: "inherit" });
        all = labHosts(3);
        bastion = { lab: "host-4", address: labHosts(4)[3]!.address };
        resetLabRoots(all);
        for (const h of all.slice(1)) kubectl("delete", "node", h.name, "--ignore-not-found");
        server = await startForwarder();
        s = await newLabClusterStack("kubeadm-bastion");
    });

    after(async () => {
        try {
            if (s) await s.cleanup();
        } finally {
            server?.close();
            for (const h of all.slice(1)) kubectl("delete", "node", h.name, "--ignore-not-found");
            if (stopHosts) execFileSync("bash", [path.join(repoRoot, "lab", "hosts-down.sh")], { stdio: "inherit" });
        }
    });

    it("unpinned: every session goes through the bastion; the first host's wait-ssh records its key, once", async () => {
        const mark = all.map((h) => sshdLog(h.lab).length);
        const c0 = counts();
        const r = await up(all.slice(0, 2));
        assert.equal(r.summary.result, "succeeded");
        // The hosts were reached from the bastion only; the bastion only forwarded (it ran no command).
        for (const [i, h] of all.slice(0, 2).entries()) {
            const from = sshdLog(h.lab, mark[i]).filter((l) => l.startsWith("Accepted publickey")).map((l) => / from (\S+) /.exec(l)![1]);
            assert.ok(from.length >= 4, `${h.name}: ${from.length} logins`);
            assert.deepEqual([...new Set(from)], [bastion.address], `${h.name} was reached from the bastion`);
        }
        assert.equal(counts()[3]! - c0[3]!, 0, "the bastion ran no command");
        const state = await s.stack.exportStack();
        const outputsOf = (name: string) => state.deployment.resources.find((x: { urn: string }) => x.urn.endsWith(`::${name}`))!.outputs;
        assert.equal(outputsOf("wait-ssh-cp-0").proxyHostKey, pubKey(bastion.lab), "the bastion's key as first seen, recorded");
        assert.equal(outputsOf("wait-ssh-worker-1").proxyHostKey, pubKey(bastion.lab), "the second host's wait-ssh verified the recorded key");
    });

    it("the bastion rebuilt (a new key): refused at key exchange for a cross-host step and for a new host; nothing authenticated at the bastion, no command ran", async () => {
        const old = pubKey(bastion.lab);
        hostsUp("--rekey", bastion.lab);
        assert.notEqual(pubKey(bastion.lab), old);
        const cases: Array<[string, LabHost[], () => void, RegExp]> = [
            // worker-1's new label reruns its join: create-join-token on cp-0 for it, through the bastion, first.
            ["a cross-host step (the join's token on cp-0)", all.slice(0, 2), () => { labels["worker-1"]!["topology.kubernetes.io/zone"] = "lab-b"; }, /cp-0 \(for worker-1\) \(bastion [\d.]+\): SSH host key changed/],
            // worker-2 is new: its wait-ssh pins the key cp-0's wait-ssh recorded (no second first contact).
            ["a new host's first step", all, () => { labels["worker-1"]!["topology.kubernetes.io/zone"] = "lab-a"; }, /worker-2 \(bastion [\d.]+\): SSH host key changed/],
        ];
        for (const [what, hosts, edit, refusal] of cases) {
            edit();
            const mark = sshdLog(bastion.lab).length;
            const c0 = counts();
            let message = "";
            await assert.rejects(up(hosts), (e: Error) => { message = e.message; return true; });
            // What reached the hosts first, then the message: nothing ran, the bastion saw no authentication.
            assert.deepEqual(counts().map((c, i) => c - c0[i]!), [0, 0, 0, 0], `${what}: a command ran (${message})`);
            const logged = sshdLog(bastion.lab, mark);
            const conns = sshdConnections(logged);
            assert.ok(conns.size >= 1, `${what}: the refused connection reached the bastion's sshd:\n${logged.join("\n")}`);
            assert.deepEqual(logged.filter((l) => AUTH_LINE.test(l)), [], `${what}: an authentication attempt at a bastion whose key changed`);
            for (const [who, lines] of conns) assert.match(lines[lines.length - 1]!, /\[preauth\]$/, `${what}: ${who} ended before authentication`);
            assert.match(message, refusal, what);
            assert.ok(message.includes(`(bastion ${bastion.address}): SSH host key changed: expected `), message);
            assert.ok(message.includes(`If the bastion was rebuilt on purpose, read its new key from a network you trust (\`ssh-keyscan -t ed25519 ${bastion.address}\` prints it after the address), compare its fingerprint with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on the bastion's console, then set cluster.ssh.bastion.hostKey to it, and run up again.`), message);
        }
        labels["worker-1"]!["topology.kubernetes.io/zone"] = "lab-b";
    });

    it("pinned in cluster.ssh.bastion.hostKey (from ssh-keyscan): up converges; the next up runs nothing", async () => {
        const scanned = execFileSync("ssh-keyscan", ["-t", "ed25519", bastion.address], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(" ").slice(1).join(" ");
        assert.equal(scanned, pubKey(bastion.lab));
        const r = await up(all, scanned);
        assert.equal(r.summary.result, "succeeded");
        assert.match(kubectl("get", "node", "worker-1", "--show-labels").stdout, /topology\.kubernetes\.io\/zone=lab-b/);
        assert.ok(fs.existsSync(path.join(all[2]!.root, "etc/kubernetes/microseg/kubeadm-join.yaml")), "worker-2 joined (stand-in)");
        const c0 = counts();
        const again = await up(all, scanned);
        assert.deepEqual(changes(again), {});
        assert.deepEqual(counts().map((c, i) => c - c0[i]!), [0, 0, 0, 0]);
    });
});

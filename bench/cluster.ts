// The KubeadmCluster lab fixture (shared by test/lab/kubeadm-cluster.test.ts) and the driver of bench/cluster.sh.
//
// The lab's netns hosts (lab/hosts-up.sh) run the real scripts over real SSH under the lab host profile. Their working
// roots get what a fresh Ubuntu 24.04 host shows the preflight (os-release, kernel, cgroup v2, a unique hostname,
// product_uuid and MAC). kubeadm init/join are the scripts' documented stand-ins, so the control plane's
// $MICROSEG_ROOT/etc/kubernetes/admin.conf (read by read-kubeconfig, create-join-token, label-node, drain/remove-node)
// is seeded with the Kubernetes lab's admin kubeconfig: tokens, labels and Node deletes hit the lab's real
// kube-apiserver. It listens on 127.0.0.1 only, so a forwarder (this process) serves it on the bridge address
// 10.213.0.1:26443, and the seeded kubeconfig keeps `tls-server-name: 127.0.0.1` (a SAN of its certificate).
//
// Driver: node --import tsx bench/cluster.ts 1 3 10 (each count needs LAB_HOST_COUNT>=N lab/hosts-up.sh).
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { newProgramStack, repoRoot } from "../test/lab/harness";
import { readEnvFile } from "../lib/base/env-file";

export const HOSTS_DIR = path.join(repoRoot, ".lab", "hosts");
export const BRIDGE_ADDRESS = "10.213.0.1";
export const FORWARD_PORT = 26443;

/** .lab/hosts/env as a map. */
export const hostsEnv = (): Record<string, string> => readEnvFile(path.join(HOSTS_DIR, "env"));

/** A cluster of n lab hosts: host-1 is control plane `cp-0`, host-i (i>1) is worker `worker-<i-1>`. */
export interface LabHost { readonly lab: string; readonly name: string; readonly address: string; readonly root: string; readonly role: "control-plane" | "worker" }
export function labHosts(n: number): LabHost[] {
    const env = hostsEnv();
    if (Number(env["LAB_HOST_COUNT"]) < n) throw new Error(`${n} lab hosts needed, ${env["LAB_HOST_COUNT"]} up. Fix: LAB_HOST_COUNT=${n} bash lab/hosts-up.sh`);
    return Array.from({ length: n }, (_, k) => {
        const i = k + 1;
        return { lab: `host-${i}`, name: i === 1 ? "cp-0" : `worker-${i - 1}`, address: env[`LAB_HOST_${i}_ADDRESS`]!, root: env[`LAB_HOST_${i}_ROOT`]!, role: i === 1 ? "control-plane" : "worker" };
    });
}

/** The stack config (as `parseConfig` takes it): Pulumi.dev.yaml with the lab hosts as cluster. */
export function labRawConfig(hosts: readonly LabHost[], labels: Record<string, Record<string, string>> = {}): Record<string, unknown> {
    const dev = YAML.parse(fs.readFileSync(path.join(repoRoot, "Pulumi.dev.yaml"), "utf8")).config as Record<string, unknown>;
    const raw = Object.fromEntries(Object.entries(dev).map(([k, v]) => [k.replace(/^microseg:/, ""), v]));
    raw["cluster"] = {
        mode: "kubeadm",
        kubernetesVersion: "1.34.2",
        controlPlaneEndpoint: `${BRIDGE_ADDRESS}:${FORWARD_PORT}`,
        ssh: { user: hostsEnv()["LAB_HOSTS_USER"], privateKeyPath: hostsEnv()["LAB_HOSTS_KEY"] },
        hosts: hosts.map((h) => ({ name: h.name, address: h.address, role: h.role, labels: labels[h.name] ?? {} })),
    };
    return raw;
}

const write = (root: string, rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
};

/** Empties each host's working root and lays down a fresh Ubuntu 24.04 host; seeds the control plane's admin.conf. */
export function resetLabRoots(hosts: readonly LabHost[], over: Record<string, Record<string, string>> = {}): void {
    for (const [k, h] of hosts.entries()) {
        for (const e of fs.existsSync(h.root) ? fs.readdirSync(h.root) : []) fs.rmSync(path.join(h.root, e), { recursive: true, force: true });
        const files: Record<string, string> = {
            "etc/os-release": 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n',
            "proc/sys/kernel/osrelease": "6.8.0-45-generic\n",
            "proc/sys/kernel/hostname": `${h.name}\n`,
            "sys/class/dmi/id/product_uuid": `4c4c4544-0042-3510-8052-${(0xb4c04f4e4a00 + k).toString(16)}\n`,
            "sys/class/net/eth0/address": `52:54:00:12:34:${(0x10 + k).toString(16).padStart(2, "0")}\n`,
            "sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
            ...over[h.name],
        };
        for (const [rel, content] of Object.entries(files)) write(h.root, rel, content);
    }
    const cp = hosts[0]!;
    const kc = YAML.parse(fs.readFileSync(path.join(process.env["LAB_DIR"] ?? path.join(repoRoot, ".lab"), "kubeconfig"), "utf8")) as { clusters: Array<{ cluster: Record<string, string> }> };
    for (const c of kc.clusters) Object.assign(c.cluster, { server: `https://${BRIDGE_ADDRESS}:${FORWARD_PORT}`, "tls-server-name": "127.0.0.1" });
    write(cp.root, "etc/kubernetes/admin.conf", YAML.stringify(kc));
    fs.chmodSync(path.join(cp.root, "etc/kubernetes/admin.conf"), 0o600);
    write(cp.root, "etc/kubernetes/pki/ca.crt", fs.readFileSync(path.join(process.env["LAB_DIR"] ?? path.join(repoRoot, ".lab"), "pki", "ca.crt"), "utf8"));
}

/** Serves the lab kube-apiserver (127.0.0.1 only) on the bridge address, so the netns hosts reach it. */
export async function startForwarder(target = { host: "127.0.0.1", port: Number(process.env["LAB_APISERVER_PORT"] ?? 26443) }): Promise<net.Server> {
    const server = net.createServer((c) => {
        const up = net.connect(target.port, target.host);
        c.pipe(up).pipe(c);
        c.on("error", () => up.destroy());
        up.on("error", () => c.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(FORWARD_PORT, BRIDGE_ADDRESS, resolve));
    return server;
}

/** Commands each lab host ran so far, counted host-side (one line per SSH session with a command). */
export const commandLines = (lab: string): string[] => fs.readFileSync(path.join(HOSTS_DIR, lab, "commands.log"), "utf8").split("\n").filter(Boolean);

/** Busy and total CPU jiffies of the machine (/proc/stat), all cores. */
function cpuJiffies(): { busy: number; total: number } {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - (f[4] ?? 0), total };
}

/** Samples the machine's CPU every 100 ms; `busyBetween` gives the busy share of all cores in a time window. */
function cpuSampler(): { stop: () => void; busyBetween: (fromMs: number, toMs: number) => number } {
    const samples: Array<{ at: number; busy: number; total: number }> = [{ at: Date.now(), ...cpuJiffies() }];
    const timer = setInterval(() => samples.push({ at: Date.now(), ...cpuJiffies() }), 100);
    return {
        stop: () => clearInterval(timer),
        busyBetween: (fromMs, toMs) => {
            const a = samples.filter((x) => x.at <= fromMs).pop() ?? samples[0]!;
            const b = samples.find((x) => x.at >= toMs) ?? samples[samples.length - 1]!;
            return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
        },
    };
}

/** The program: one KubeadmCluster from spec.json, under the lab host profile. */
export function labProgram(): string {
    return `
import * as fs from "node:fs";
import { parseConfig } from ${JSON.stringify(path.join(repoRoot, "config"))};
import { KubeadmCluster } from ${JSON.stringify(path.join(repoRoot, "components", "cluster", "kubeadm-cluster"))};

const spec = JSON.parse(fs.readFileSync(__dirname + "/spec.json", "utf8"));
const cluster = new KubeadmCluster("cluster", { config: parseConfig(spec.raw, { checkFiles: false }), hostProfile: spec.profile, waitSshRetries: 2, stepRetries: 1 });
export const kubeconfig = cluster.kubeconfig;
export const nodeNames = cluster.nodeNames;
export const apiEndpoint = cluster.apiEndpoint;
export const nodeAddresses = cluster.nodeAddresses;
`;
}

export async function newLabClusterStack(prefix: string): Promise<{ stack: Stack; workDir: string; cleanup: () => Promise<void>; writeSpec: (hosts: readonly LabHost[], labels?: Record<string, Record<string, string>>) => void }> {
    const s = await newProgramStack(prefix, {
        "Pulumi.yaml": `name: kubeadm-lab\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
        "package.json": JSON.stringify({ name: "kubeadm-lab", private: true, main: "index.ts" }),
        "index.ts": labProgram(),
        // The repo's compiler options (strict narrowing), without its `include`.
        "tsconfig.json": JSON.stringify({ compilerOptions: JSON.parse(fs.readFileSync(path.join(repoRoot, "tsconfig.json"), "utf8")).compilerOptions }),
    });
    const writeSpec = (hosts: readonly LabHost[], labels: Record<string, Record<string, string>> = {}) => {
        const profile = { kind: "lab", roots: Object.fromEntries(hosts.map((h) => [h.name, h.root])), labPath: path.join(repoRoot, ".lab", "bin") };
        fs.writeFileSync(path.join(s.workDir, "spec.json"), JSON.stringify({ raw: labRawConfig(hosts, labels), profile }, null, 2));
    };
    return { ...s, writeSpec };
}

async function main(counts: number[]): Promise<void> {
    const server = await startForwarder();
    const times: Record<number, number> = {};
    try {
        for (const n of counts) {
            const hosts = labHosts(n);
            resetLabRoots(hosts);
            const s = await newLabClusterStack(`bench-cluster-${n}`);
            try {
                s.writeSpec(hosts);
                const before = hosts.map((h) => commandLines(h.lab).length);
                const cpu = cpuSampler();
                const t0 = Date.now();
                await s.stack.up({ color: "never" }).finally(() => cpu.stop());
                const secs = (Date.now() - t0) / 1000;
                const sessions = hosts.reduce((sum, h, i) => sum + commandLines(h.lab).length - before[i]!, 0);
                // Where the time goes: before the first remote command (engine start, program, previews of the
                // resources), between the first and the last (the hosts' work), after the last (outputs, state).
                const stamps = hosts.flatMap((h, i) => commandLines(h.lab).slice(before[i]).map((l) => Number(l.split(" ")[0]) * 1000));
                const [first, last] = [Math.min(...stamps), Math.max(...stamps)];
                const busy = (cpu.busyBetween(first, last) * 100).toFixed(0);
                const phases = `before first command ${((first - t0) / 1000).toFixed(1)} s, commands ${((last - first) / 1000).toFixed(1)} s with the ${os.cpus().length} cores ${busy}% busy, after last ${((t0 + secs * 1000 - last) / 1000).toFixed(1)} s`;
                const b2 = hosts.map((h) => commandLines(h.lab).length);
                const t1 = Date.now();
                await s.stack.up({ color: "never" });
                const noop = (Date.now() - t1) / 1000;
                const sessions2 = hosts.reduce((sum, h, i) => sum + commandLines(h.lab).length - b2[i]!, 0);
                times[n] = secs;
                console.log(`hosts=${n}  up=${secs.toFixed(1)} s  ssh_sessions=${sessions}  no-change up=${noop.toFixed(1)} s  ssh_sessions=${sessions2}  (up: ${phases})`);
            } finally {
                await s.cleanup();
            }
        }
    } finally {
        server.close();
    }
    const lo = Math.min(...counts), hi = Math.max(...counts);
    if (lo !== hi) console.log(`ratio time(${hi})/time(${lo}) = ${(times[hi]! / times[lo]!).toFixed(2)}`);
}

if (require.main === module) {
    main(process.argv.slice(2).map(Number)).catch((e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}

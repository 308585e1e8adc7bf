// A lab node as its kubelet sees it: the Node object it registers and keeps fresh (status, Lease), the pods bound
// to it (watched, each run by a PodWorker), and the node's "host": its own directories for every hostPath
// (/run, /etc/cni/net.d, /opt/cni/bin, ...), its own bpffs and cgroup, all under the lab directory. Runs in the
// node's network namespace (lab/nodes-up.sh starts it there, inside the node's cgroup).
import { execFile, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CONTAINER_LAB_DIRS, type ImageDirs } from "./images";
import { ApiError, Kube, type Obj } from "./kube";
import { cniConfig } from "./cni";
import { PodWorker } from "./pod";
import { killCgroup } from "./process";

/**
 * Options the lab adds to the cilium-agent command line on top of the chart's (the agent reads the chart's
 * cilium-config through `cilium-dbg build-config` into --config-dir; a command-line flag wins over it). Each one is
 * a runtime fact of a lab node, never a chart value under test; printed in the kubelet log when applied.
 */
export const AGENT_LAB_OVERRIDES: ReadonlyArray<{ flag: string; why: string }> = [];

export interface NodeOptions {
    name: string;
    nodeIP: string;
    labDir: string;
    kubeconfig: string;
    /** The node's cgroup (a child of this machine's cgroup2), where the kubelet and every container of the node live. */
    cgroupDir: string;
    /** The node's network namespace file (/run/netns/<name>). */
    nodeNetns: string;
    repoRoot: string;
    kubernetesVersion: string;
    clusterDNS: string;
    clusterDomain: string;
}

export class LabNode {
    readonly name: string;
    readonly nodeIP: string;
    readonly kube: Kube;
    readonly nodeDir: string;
    readonly hostRoot: string;
    readonly bpffs: string;
    readonly cgroupDir: string;
    readonly netnsDir: string;
    readonly nodeNetns: string;
    readonly podsDir: string;
    readonly podTableDir: string;
    readonly logDir: string;
    readonly cniConfDir: string;
    readonly nodeResolvConf: string;
    readonly containerSh: string;
    readonly execSh: string;
    readonly imageDirs: ImageDirs;
    /** The lab's bin/ and share/ and where containers see them (images.ts CONTAINER_LAB_DIRS). */
    readonly readOnlyPaths: { source: string; target: string }[];
    readonly clusterDNS: string;
    readonly clusterDomain: string;
    kubernetesService = { host: "10.96.0.1", port: 443 };
    private readonly workers = new Map<string, PodWorker>();
    private readonly bootID = crypto.randomUUID();
    private readonly opts: NodeOptions;
    private overridesLogged = false;

    constructor(opts: NodeOptions) {
        this.opts = opts;
        this.name = opts.name;
        this.nodeIP = opts.nodeIP;
        this.kube = new Kube(opts.kubeconfig);
        this.nodeDir = path.join(opts.labDir, "nodes", opts.name);
        this.hostRoot = path.join(this.nodeDir, "host");
        this.bpffs = path.join(this.nodeDir, "bpffs");
        this.cgroupDir = opts.cgroupDir;
        this.netnsDir = path.join(this.hostRoot, "run", "netns");
        this.nodeNetns = opts.nodeNetns;
        this.podsDir = path.join(this.nodeDir, "kubelet", "pods");
        this.podTableDir = path.join(opts.labDir, "pods");
        this.logDir = path.join(opts.labDir, "logs", "pods");
        this.cniConfDir = path.join(this.hostRoot, "etc", "cni", "net.d");
        this.nodeResolvConf = path.join(this.nodeDir, "resolv.conf");
        this.containerSh = path.join(opts.repoRoot, "lab", "kubelet", "container.sh");
        this.execSh = path.join(opts.repoRoot, "lab", "kubelet", "exec.sh");
        this.imageDirs = { binDir: path.join(opts.labDir, "bin"), shareDir: path.join(opts.labDir, "share") };
        this.readOnlyPaths = [
            { source: this.imageDirs.binDir, target: CONTAINER_LAB_DIRS.binDir },
            { source: this.imageDirs.shareDir, target: CONTAINER_LAB_DIRS.shareDir },
        ];
        this.clusterDNS = opts.clusterDNS;
        this.clusterDomain = opts.clusterDomain;
        for (const d of [this.podsDir, this.podTableDir, this.logDir, this.netnsDir, this.cniConfDir]) fs.mkdirSync(d, { recursive: true });
    }

    log(m: string): void {
        process.stdout.write(`${new Date().toISOString()} [${this.name}] ${m}\n`);
    }

    cniReady(): boolean {
        return cniConfig(this.cniConfDir) !== undefined;
    }

    /**
     * Where a pod's hostPath lives on this lab node: the node's own directory for it, except the kernel's
     * interfaces (/proc/sys/net is the node's network namespace's; /proc/sys/kernel and /lib/modules read-only, so the
     * machine's global settings stay untouched) and /sys/fs/bpf (the node's own bpffs).
     */
    hostPath(p: string, type: string): { path: string; readOnly: boolean } {
        let n = path.posix.normalize(p).replace(/\/+$/, "") || "/";
        if (n === "/var/run" || n.startsWith("/var/run/")) n = `/run${n.slice("/var/run".length)}`;
        if (n === "/sys/fs/bpf") return { path: this.bpffs, readOnly: false };
        if (n === "/proc" || n === "/proc/sys/net") return { path: n, readOnly: false };
        if (n === "/proc/sys/kernel") return { path: n, readOnly: true };
        // The machine's modules, read-only; a kernel with everything built in has none: then an empty directory.
        if (n === "/lib/modules") return fs.existsSync(n) ? { path: n, readOnly: true } : { path: this.emptyDir("lib-modules"), readOnly: true };
        if (/^\/(proc|sys|dev)(\/|$)/.test(n) || n === "/") throw new Error(`hostPath ${p} is this machine's, not a lab node's: the lab kubelet does not map it`);
        const real = path.join(this.hostRoot, n);
        if (type === "FileOrCreate" || type === "File") {
            if (!fs.existsSync(real)) {
                if (type === "File") throw new Error(`hostPath ${p} (type File) does not exist on node ${this.name}`);
                fs.mkdirSync(path.dirname(real), { recursive: true });
                fs.writeFileSync(real, "");
            }
        } else if (!fs.existsSync(real)) {
            if (type === "Directory") throw new Error(`hostPath ${p} (type Directory) does not exist on node ${this.name}`);
            fs.mkdirSync(real, { recursive: true });
        }
        return { path: real, readOnly: false };
    }

    private emptyDir(name: string): string {
        const d = path.join(this.nodeDir, "empty", name);
        fs.mkdirSync(d, { recursive: true });
        return d;
    }

    /** A path of the node's host as processes in the node's view (runInNodeView) see it. */
    nodeViewPath(real: string): string {
        if (!real.startsWith(`${this.hostRoot}/`)) throw new Error(`${real} is not on node ${this.name}`);
        return real.slice(this.hostRoot.length);
    }

    /** Runs argv in the node's view of its file system (as a host process of a real node), in the node's network namespace. */
    runInNodeView(argv: string[], env: Record<string, string>, stdin: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
        const base = path.join(this.nodeDir, "kubelet", "exec", crypto.randomUUID());
        const spec = `${base}.json`;
        fs.mkdirSync(path.dirname(spec), { recursive: true });
        const h = (p: string) => path.join(this.hostRoot, p);
        fs.writeFileSync(spec, JSON.stringify({
            base,
            layer: [],
            readOnlyPaths: this.readOnlyPaths,
            mounts: [
                { source: h("run"), target: "/run", readOnly: false, propagation: "HostToContainer" },
                { source: h("etc/cni"), target: "/etc/cni", readOnly: false, propagation: "None" },
                { source: h("opt/cni"), target: "/opt/cni", readOnly: false, propagation: "None" },
                { source: this.bpffs, target: "/sys/fs/bpf", readOnly: false, propagation: "HostToContainer" },
            ],
            hostname: this.name,
            env: Object.entries({ PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...env }),
            argv,
            workingDir: "/",
        }));
        fs.mkdirSync(path.join(this.hostRoot, "opt", "cni", "bin"), { recursive: true });
        return new Promise((resolve) => {
            const p = spawn("unshare", ["-m", "-u", "--propagation", "unchanged", "--", "bash", this.containerSh, spec], { stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "", stderr = "";
            p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
            p.on("exit", (code) => {
                clearTimeout(timer);
                fs.rmSync(spec, { force: true });
                fs.rmSync(base, { recursive: true, force: true });
                resolve({ code: code ?? 1, stdout, stderr });
            });
            p.stdin.end(stdin);
        });
    }

    exec(cmd: string, args: string[]): Promise<string> {
        return new Promise((resolve, reject) => execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout))));
    }

    execCapture(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
        return new Promise((resolve) => execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 124) : 0;
            resolve({ code, output: `${stdout}${stderr}` });
        }));
    }

    /** The lab's additions to a container's command line (AGENT_LAB_OVERRIDES for cilium-agent). */
    labArgs(_image: string, argv: readonly string[]): string[] {
        if (!argv[0]?.endsWith("cilium-agent") || AGENT_LAB_OVERRIDES.length === 0) return [];
        if (!this.overridesLogged) {
            for (const o of AGENT_LAB_OVERRIDES) this.log(`cilium-agent lab override ${o.flag}: ${o.why}`);
            this.overridesLogged = true;
        }
        return AGENT_LAB_OVERRIDES.map((o) => o.flag);
    }

    // --- the Node object ----------------------------------------------------------------------------------------

    private nodeStatus(): Obj {
        const ready = this.cniReady();
        const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: t });
        const cpu = String(os.cpus().length);
        const memory = `${Math.floor(os.totalmem() / 1024)}Ki`;
        const osImage = /PRETTY_NAME="([^"]*)"/.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
        return {
            addresses: [{ type: "InternalIP", address: this.nodeIP }, { type: "Hostname", address: this.name }],
            capacity: { cpu, memory, pods: "110", "ephemeral-storage": "100Gi" },
            allocatable: { cpu, memory, pods: "110", "ephemeral-storage": "100Gi" },
            conditions: [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                ready
                    ? cond("Ready", "True", "KubeletReady", "lab kubelet is posting ready status")
                    : cond("Ready", "False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"),
            ],
            daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
            nodeInfo: {
                architecture: "amd64", operatingSystem: "linux", osImage, kernelVersion: os.release(),
                kubeletVersion: this.opts.kubernetesVersion, kubeProxyVersion: "", containerRuntimeVersion: "lab://1",
                machineID: crypto.createHash("md5").update(this.name).digest("hex"), systemUUID: crypto.createHash("md5").update(`uuid-${this.name}`).digest("hex"), bootID: this.bootID,
            },
        };
    }

    private async register(): Promise<void> {
        const labels = {
            "kubernetes.io/hostname": this.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        };
        for (;;) {
            try {
                const existing = await this.kube.find(`/api/v1/nodes/${this.name}`);
                if (!existing) {
                    await this.kube.request("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: this.name, labels }, spec: {}, status: this.nodeStatus() });
                    this.log("registered the Node");
                }
                const svc = await this.kube.get("/api/v1/namespaces/default/services/kubernetes");
                this.kubernetesService = { host: svc.spec.clusterIP, port: Number(svc.spec.ports[0].port) };
                return;
            } catch (e) {
                this.log(`register: ${(e as Error).message}; again in 2 s`);
                await new Promise((r) => setTimeout(r, 2000));
            }
        }
    }

    private async heartbeat(): Promise<void> {
        const now = new Date().toISOString().replace("Z", "000Z").replace(/\.(\d{6})\d*Z$/, ".$1Z");
        try {
            await this.kube.mergePatch(`/api/v1/nodes/${this.name}/status`, { status: this.nodeStatus() });
            const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.name}`;
            const lease = await this.kube.find(leasePath);
            if (!lease) {
                await this.kube.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
                    apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: "kube-node-lease" },
                    spec: { holderIdentity: this.name, leaseDurationSeconds: 40, renewTime: now },
                });
            } else {
                await this.kube.mergePatch(leasePath, { spec: { renewTime: now } });
            }
        } catch (e) {
            this.log(`heartbeat: ${(e as Error).message}`);
        }
    }

    // --- pods ---------------------------------------------------------------------------------------------------

    /** What a previous run of this kubelet left (it exited or was killed): its containers are killed, namespaces removed. */
    private async cleanLeftovers(): Promise<void> {
        for (const uid of fs.existsSync(this.podsDir) ? fs.readdirSync(this.podsDir) : []) {
            await killCgroup(path.join(this.cgroupDir, `pod-${uid}`));
            fs.rmSync(path.join(this.podsDir, uid), { recursive: true, force: true });
        }
        for (const f of fs.readdirSync(this.netnsDir)) {
            await this.exec("umount", [path.join(this.netnsDir, f)]).catch(() => undefined);
            fs.rmSync(path.join(this.netnsDir, f), { force: true });
        }
        for (const f of fs.readdirSync(this.podTableDir)) {
            try {
                if ((JSON.parse(fs.readFileSync(path.join(this.podTableDir, f), "utf8")) as Obj)["node"] === this.name) fs.rmSync(path.join(this.podTableDir, f));
            } catch {
                // not ours
            }
        }
    }

    private onPod(type: string, pod: Obj): void {
        const uid = pod.metadata.uid;
        const w = this.workers.get(uid);
        if (type === "DELETED") {
            if (w) void w.stop("removed");
            return;
        }
        if (w) return w.update(pod);
        if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
        if (pod.metadata.deletionTimestamp) {
            void this.kube.request("DELETE", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0, preconditions: { uid } }).catch(() => undefined);
            return;
        }
        const worker = new PodWorker(this, pod);
        this.workers.set(uid, worker);
        this.log(`pod ${pod.metadata.namespace}/${pod.metadata.name}: starting`);
        void worker.run();
    }

    private onSync(uids: Set<string>): void {
        for (const [uid, w] of this.workers) if (!uids.has(uid)) void w.stop("removed");
    }

    async run(): Promise<void> {
        await this.cleanLeftovers();
        await this.register();
        await this.heartbeat();
        setInterval(() => void this.heartbeat(), 10_000);
        setInterval(() => {
            for (const [uid, w] of this.workers) {
                if (!w.done) continue;
                this.workers.delete(uid);
                // A sandbox that could not be made (e.g. the CNI was not ready yet) is retried with a fresh worker.
                if (w.failed) void this.kube.find(`/api/v1/namespaces/${w.key.split("/")[0]}/pods/${w.key.split("/")[1]}`).then((p) => { if (p && p.metadata.uid === uid) this.onPod("ADDED", p); });
            }
        }, 5000);
        await this.kube.watchForever(`/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.name}`)}`, (t, o) => this.onPod(t, o), (u) => this.onSync(u), (m) => this.log(m));
    }
}

export { ApiError };

/** What a PodWorker needs of its node. */
export type NodeContext = LabNode;

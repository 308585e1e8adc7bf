// One pod on a lab node, as a kubelet runs it: a sandbox (a network namespace attached through the node's CNI
// config, i.e. cilium-cni, or the node's own for hostNetwork pods), its volumes, init containers one after the
// other, then its containers (lab/kubelet/container.sh), restarted per restartPolicy with a backoff, probed
// (startup, readiness, liveness: httpGet, tcpSocket, exec, grpc), its status written to the apiserver, and torn
// down (preStop, SIGTERM, grace, kill, CNI DEL, namespace removed) when the pod is deleted.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { lookupImage, type LabImage } from "./images";
import { ApiError, type Obj } from "./kube";
import { cniAdd, cniDel } from "./cni";
import { startProbes } from "./probes";
import { containerId, newContainerState, podStatus, type ContainerState } from "./container-state";
import { killCgroup, readTail, signalNumber } from "./process";
import type { NodeContext } from "./node";
import { buildVolumes, resolveEnv, expandArgs, securityArgs, type ResolvedMount } from "./spec";

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PodWorker {
    private pod: Obj;
    readonly uid: string;
    private readonly dir: string;
    private readonly cgroup: string;
    private netns?: string;
    private podIP?: string;
    private containers: ContainerState[] = [];
    private phase = "Pending";
    private initialized = false;
    private stopping = false;
    private stopped = false;
    private lastStatus = "";
    private statusTimer?: NodeJS.Timeout;
    private tokenTimer?: NodeJS.Timeout;
    private unavailable?: { container: string; reason: string };
    private startTime = now();
    private readonly log: (m: string) => void;

    constructor(private readonly ctx: NodeContext, pod: Obj) {
        this.pod = pod;
        this.uid = pod.metadata.uid;
        this.dir = path.join(ctx.podsDir, this.uid);
        this.cgroup = path.join(ctx.cgroupDir, `pod-${this.uid}`);
        this.log = (m) => ctx.log(`pod ${this.key}: ${m}`);
    }

    get key(): string {
        return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
    }

    get hostNetwork(): boolean {
        return this.pod.spec.hostNetwork === true;
    }

    update(pod: Obj): void {
        this.pod = pod;
        if (pod.metadata.deletionTimestamp && !this.stopping) void this.stop("deleted");
    }

    /** Runs the pod until it is stopped. Never rejects (errors are logged and retried). */
    async run(): Promise<void> {
        for (const c of [...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers]) {
            const found = lookupImage(c.image, this.ctx.imageDirs);
            if ("unavailable" in found) {
                this.unavailable = { container: c.name, reason: found.unavailable };
                break;
            }
        }
        this.containers = [
            ...(this.pod.spec.initContainers ?? []).map((c: Obj) => newContainerState(c, true)),
            ...this.pod.spec.containers.map((c: Obj) => newContainerState(c, false)),
        ];
        this.statusTimer = setInterval(() => void this.syncStatus(), 1000);
        if (this.unavailable) {
            this.log(`not run: container ${this.unavailable.container}: ${this.unavailable.reason}`);
            for (const c of this.containers) c.state = { waiting: { reason: "LabImageUnavailable", message: c.name === this.unavailable.container ? this.unavailable.reason : `not run: container ${this.unavailable.container} of this pod cannot run in this lab` } };
            await this.syncStatus();
            return;
        }
        try {
            await this.createSandbox();
        } catch (e) {
            this.log(`sandbox: ${(e as Error).message}`);
            for (const c of this.containers) c.state = { waiting: { reason: "ContainerCreating", message: `sandbox: ${(e as Error).message}`.slice(0, 1000) } };
            await this.syncStatus();
            // The kubelet retries the sandbox; so does this one, after the pod is recreated by its controller or
            // on the next pass: remove what was made and let the node loop retry.
            await this.teardownSandbox();
            this.stopped = true;
            return;
        }
        for (const c of this.containers.filter((x) => x.init)) {
            if (this.stopping) return;
            await this.runInit(c);
        }
        if (this.stopping) return;
        this.initialized = true;
        for (const c of this.containers.filter((x) => !x.init)) void this.keepRunning(c);
    }

    /** True once the worker gave up on the sandbox (the node loop makes a new worker for the pod). */
    get failed(): boolean {
        return this.stopped && !this.stopping;
    }

    private spec(name: string): Obj {
        return [...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers].find((c: Obj) => c.name === name);
    }

    // --- sandbox ------------------------------------------------------------------------------------------------

    private async createSandbox(): Promise<void> {
        fs.mkdirSync(this.dir, { recursive: true });
        fs.mkdirSync(this.cgroup, { recursive: true });
        if (this.hostNetwork) {
            this.podIP = this.ctx.nodeIP;
        } else {
            if (!this.ctx.cniReady()) throw new Error("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized");
            this.netns = path.join(this.ctx.netnsDir, this.uid);
            if (!fs.existsSync(this.netns)) {
                fs.writeFileSync(this.netns, "");
                await this.ctx.exec("unshare", [`--net=${this.netns}`, "ip", "link", "set", "lo", "up"]);
            }
            this.podIP = await cniAdd(this.ctx, { containerId: this.uid, netns: this.netns, namespace: this.pod.metadata.namespace, name: this.pod.metadata.name, uid: this.uid });
            this.log(`sandbox: network namespace ${this.netns}, CNI ADD gave ${this.podIP}`);
        }
        const hostname = this.hostNetwork ? this.ctx.name : this.pod.spec.hostname ?? this.pod.metadata.name;
        fs.writeFileSync(path.join(this.dir, "hosts"), `# Kubernetes-managed hosts file (lab kubelet).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${this.podIP}\t${hostname}\n`);
        fs.writeFileSync(path.join(this.dir, "resolv.conf"), this.resolvConf());
        this.writeState();
        await this.syncStatus();
    }

    private resolvConf(): string {
        const policy = this.pod.spec.dnsPolicy ?? "ClusterFirst";
        const clusterFirst = policy === "ClusterFirstWithHostNet" || (policy === "ClusterFirst" && !this.hostNetwork);
        if (policy === "None" || !clusterFirst) {
            const cfg = this.pod.spec.dnsConfig;
            if (policy === "None" && cfg) return `nameserver ${(cfg.nameservers ?? []).join("\nnameserver ")}\nsearch ${(cfg.searches ?? []).join(" ")}\n`;
            return fs.readFileSync(this.ctx.nodeResolvConf, "utf8");
        }
        const ns = this.pod.metadata.namespace;
        const d = this.ctx.clusterDomain;
        return `search ${ns}.svc.${d} svc.${d} ${d}\nnameserver ${this.ctx.clusterDNS}\noptions ndots:5\n`;
    }

    /** The pod's entry in the lab's pod table (lab/pod-exec.sh, `microseg verify`): where its processes live. */
    private writeState(): void {
        const state = {
            namespace: this.pod.metadata.namespace,
            name: this.pod.metadata.name,
            uid: this.uid,
            node: this.ctx.name,
            labels: this.pod.metadata.labels ?? {},
            hostNetwork: this.hostNetwork,
            podIP: this.podIP,
            netns: this.netns ?? this.ctx.nodeNetns,
            cgroup: this.cgroup,
            containers: this.containers.filter((c) => !c.init).map((c) => ({ name: c.name, pid: c.pid ?? null, cgroup: path.join(this.cgroup, c.name) })),
        };
        const file = path.join(this.ctx.podTableDir, `${this.pod.metadata.namespace}_${this.pod.metadata.name}.json`);
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
        fs.renameSync(`${file}.tmp`, file);
    }

    private removeState(): void {
        const file = path.join(this.ctx.podTableDir, `${this.pod.metadata.namespace}_${this.pod.metadata.name}.json`);
        try {
            if ((JSON.parse(fs.readFileSync(file, "utf8")) as Obj)["uid"] === this.uid) fs.rmSync(file);
        } catch {
            // not there
        }
    }

    private async teardownSandbox(): Promise<void> {
        if (this.netns && fs.existsSync(this.netns)) {
            try {
                await cniDel(this.ctx, { containerId: this.uid, netns: this.netns, namespace: this.pod.metadata.namespace, name: this.pod.metadata.name, uid: this.uid });
            } catch (e) {
                this.log(`CNI DEL: ${(e as Error).message}`);
            }
            await this.ctx.exec("umount", [this.netns]).catch(() => undefined);
            fs.rmSync(this.netns, { force: true });
        }
        this.removeState();
        await killCgroup(this.cgroup);
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    // --- containers ---------------------------------------------------------------------------------------------

    private async runInit(c: ContainerState): Promise<void> {
        let delay = 1000;
        for (;;) {
            if (this.stopping) return;
            const code = await this.startContainer(c);
            if (code === 0 || this.stopping) return;
            c.restartCount++;
            this.log(`init container ${c.name} exited ${code}; again in ${delay / 1000} s`);
            await sleep(delay);
            delay = Math.min(delay * 2, 30_000);
        }
    }

    private async keepRunning(c: ContainerState): Promise<void> {
        let delay = 1000;
        for (;;) {
            if (this.stopping) return;
            const t0 = Date.now();
            const code = await this.startContainer(c);
            if (this.stopping) return;
            const policy = this.pod.spec.restartPolicy ?? "Always";
            if (policy === "Never" || (policy === "OnFailure" && code === 0)) return;
            if (Date.now() - t0 > 60_000) delay = 1000;
            c.restartCount++;
            c.state = { waiting: { reason: "CrashLoopBackOff", message: `back-off ${delay / 1000}s restarting failed container=${c.name} pod=${this.pod.metadata.name}` } };
            this.log(`container ${c.name} exited ${code}; restart ${c.restartCount} in ${delay / 1000} s`);
            await sleep(delay);
            delay = Math.min(delay * 2, 60_000);
        }
    }

    /** Starts the container and resolves its exit code once it ends (0 for a skipped one). */
    private async startContainer(c: ContainerState): Promise<number> {
        const spec = this.spec(c.name);
        const found = lookupImage(c.image, this.ctx.imageDirs);
        if ("unavailable" in found) throw new Error(found.unavailable);
        const image: LabImage = found.image;
        const env = await resolveEnv(this.ctx, this.pod, spec, image, this.podIP ?? "");
        const command: string[] = spec.command ?? image.entrypoint;
        const args: string[] = spec.args ?? (spec.command ? [] : image.cmd);
        const argv = expandArgs([...command, ...args], env);
        argv.push(...this.ctx.labArgs(c.image, argv));
        const skipped = image.skip?.(argv);
        if (skipped) {
            c.skipped = skipped;
            c.state = { terminated: { exitCode: 0, reason: "LabSkipped", message: skipped, startedAt: now(), finishedAt: now() } };
            this.log(`${c.init ? "init container" : "container"} ${c.name}: ${skipped}`);
            return 0;
        }
        let mounts: ResolvedMount[];
        try {
            mounts = await buildVolumes(this.ctx, this.pod, spec, this.dir);
        } catch (e) {
            c.state = { waiting: { reason: "CreateContainerConfigError", message: (e as Error).message.slice(0, 1000) } };
            this.log(`${c.name}: ${(e as Error).message}`);
            await sleep(2000);
            return 1;
        }
        this.ensureTokenRefresh();
        const cdir = path.join(this.dir, "c", c.name);
        fs.mkdirSync(cdir, { recursive: true });
        const cg = path.join(this.cgroup, c.name);
        await killCgroup(cg);
        fs.mkdirSync(cg, { recursive: true });
        const specFile = path.join(this.dir, `${c.name}.json`);
        const sc = { ...(this.pod.spec.securityContext ?? {}), ...(spec.securityContext ?? {}) };
        fs.writeFileSync(specFile, JSON.stringify({
            base: cdir,
            cgroup: cg,
            layer: image.layer,
            readOnlyPaths: this.ctx.readOnlyPaths,
            mounts,
            hostname: this.hostNetwork ? this.ctx.name : this.pod.spec.hostname ?? this.pod.metadata.name,
            hosts: path.join(this.dir, "hosts"),
            resolvConf: path.join(this.dir, "resolv.conf"),
            readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
            setpriv: securityArgs(this.pod.spec.securityContext ?? {}, spec.securityContext ?? {}),
            env: Object.entries(env),
            argv,
            workingDir: spec.workingDir ?? image.workingDir,
        }, null, 1));
        const logFile = path.join(this.ctx.logDir, `${this.pod.metadata.namespace}_${this.pod.metadata.name}_${c.name}.log`);
        const out = fs.openSync(logFile, "a");
        fs.writeSync(out, `\n=== lab kubelet: start ${c.name} (restart ${c.restartCount}) ${now()}: ${argv.join(" ").slice(0, 300)}\n`);
        const inner = ["-m", "-u", "--propagation", "unchanged", "--", "bash", this.ctx.containerSh, specFile];
        const proc = this.netns
            ? spawn("nsenter", [`--net=${this.netns}`, "--", "unshare", ...inner], { stdio: ["ignore", out, out] })
            : spawn("unshare", inner, { stdio: ["ignore", out, out] });
        fs.closeSync(out);
        c.proc = proc;
        c.pid = proc.pid;
        c.startedAt = now();
        c.started = false;
        c.ready = false;
        c.livenessFailures = 0;
        c.state = { running: { startedAt: c.startedAt } };
        if (!c.init) this.writeState();
        const exited = new Promise<number>((resolve) => proc.on("exit", (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : 1))));
        c.exited = exited;
        if (!c.init) {
            const target = { podIP: this.podIP ?? "127.0.0.1", ports: spec.ports ?? [], exec: (cmd: string[], t: number) => this.execIn(c, cmd, t) };
            startProbes(c, spec, target, this.log, () => void this.killContainer(c, 2));
        }
        if (!c.init && spec.lifecycle?.postStart?.exec) {
            void this.execIn(c, spec.lifecycle.postStart.exec.command, 30_000).then((r) => {
                if (r.code !== 0) this.log(`${c.name}: postStart hook exited ${r.code}: ${r.output.slice(0, 300)}`);
            });
        }
        const code = await exited;
        for (const t of c.probeTimers) clearInterval(t), clearTimeout(t);
        c.probeTimers = [];
        const finishedAt = now();
        const term = { exitCode: code, reason: code === 0 ? "Completed" : "Error", startedAt: c.startedAt, finishedAt, containerID: containerId(this.uid, c) };
        c.lastState = c.init ? {} : { terminated: term };
        c.state = { terminated: term };
        c.proc = undefined;
        c.pid = undefined;
        c.ready = false;
        if (code !== 0) {
            const tail = readTail(logFile, 1500);
            this.log(`${c.name} exited ${code}; log tail:\n${tail}`);
            (c.state.terminated as Obj)["message"] = tail.slice(-1000);
        }
        return code;
    }

    /** Runs a command inside a running container (its mount, UTS and network namespaces, its cgroup and env). */
    execIn(c: ContainerState, command: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
        if (!c.pid) return Promise.resolve({ code: 126, output: "container not running" });
        return this.ctx.execCapture("bash", [this.ctx.execSh, String(c.pid), path.join(this.cgroup, c.name), "--", ...command], timeoutMs);
    }

    /** SIGTERM, then (after graceSeconds) the whole cgroup of the container is killed. */
    private async killContainer(c: ContainerState, graceSeconds: number): Promise<void> {
        const proc = c.proc;
        if (!proc || !c.exited) return;
        proc.kill("SIGTERM");
        const done = await Promise.race([c.exited.then(() => true), sleep(graceSeconds * 1000).then(() => false)]);
        if (!done) await killCgroup(path.join(this.cgroup, c.name), false);
        await c.exited;
    }

    // --- stop ---------------------------------------------------------------------------------------------------

    async stop(why: string): Promise<void> {
        if (this.stopping) return;
        this.stopping = true;
        this.log(`stopping (${why})`);
        const grace = Math.min(Number(this.pod.spec.terminationGracePeriodSeconds ?? 30), 30);
        await Promise.all(this.containers.filter((c) => c.proc).map(async (c) => {
            const spec = this.spec(c.name);
            if (spec?.lifecycle?.preStop?.exec) {
                const r = await this.execIn(c, spec.lifecycle.preStop.exec.command, grace * 1000);
                if (r.code !== 0) this.log(`${c.name}: preStop hook exited ${r.code}: ${r.output.slice(0, 300)}`);
            }
            await this.killContainer(c, grace);
        }));
        if (this.statusTimer) clearInterval(this.statusTimer);
        if (this.tokenTimer) clearInterval(this.tokenTimer);
        await this.teardownSandbox();
        this.stopped = true;
        if (why === "deleted") {
            // The kubelet removes the object once the pod is gone from the node (grace period 0, same uid).
            const { namespace, name } = this.pod.metadata;
            await this.ctx.kube.request("DELETE", `/api/v1/namespaces/${namespace}/pods/${name}`, { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0, preconditions: { uid: this.uid } })
                .catch((e: unknown) => { if (!(e instanceof ApiError && (e.status === 404 || e.status === 409))) this.log(`delete: ${(e as Error).message}`); });
        }
    }

    get done(): boolean {
        return this.stopped;
    }

    // --- tokens -------------------------------------------------------------------------------------------------

    private ensureTokenRefresh(): void {
        if (this.tokenTimer) return;
        // Projected service account tokens are requested for an hour; the kubelet renews them at 80 % of their life.
        this.tokenTimer = setInterval(() => {
            void buildVolumes(this.ctx, this.pod, undefined, this.dir).catch((e: unknown) => this.log(`token refresh: ${(e as Error).message}`));
        }, 48 * 60 * 1000);
    }

    // --- status -------------------------------------------------------------------------------------------------

    private async syncStatus(): Promise<void> {
        if (this.stopped) return;
        const status = podStatus({
            uid: this.uid, phase: this.phase, initialized: this.initialized, restartPolicy: this.pod.spec.restartPolicy,
            startTime: this.startTime, nodeIP: this.ctx.nodeIP, podIP: this.podIP, containers: this.containers,
        });
        this.phase = status["phase"] as string;
        const text = JSON.stringify(status);
        if (text === this.lastStatus) return;
        try {
            await this.ctx.kube.mergePatch(`/api/v1/namespaces/${this.pod.metadata.namespace}/pods/${this.pod.metadata.name}/status`, { metadata: { uid: this.uid }, status });
            this.lastStatus = text;
        } catch (e) {
            if (!(e instanceof ApiError && e.status === 404)) this.log(`status: ${(e as Error).message}`);
        }
    }
}

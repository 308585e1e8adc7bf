/**
 * `microseg verify`: the offline engine checked against the running cluster. Each flow (the expectations of
 * policies/expectations.ts, or with --all every cell of the matrix) is sent for real from a pod of the source
 * workload to a pod of the destination (lab/probe.mjs run in the source's network namespace by lab/pod-exec.sh),
 * and Hubble's verdicts for it are read through the relay's NodePort with the relay's client certificate. The
 * verdict logic and the table are lib/policy/verify.ts's.
 *
 * Probing needs a way into the pods' network namespaces: here the datapath lab's (lab/pod-exec.sh). A cluster
 * that is not a lab is refused with that reason (a `kubectl exec` prober for real clusters is not built yet).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveConfigPath, type StackConfig } from "../config";
import type { Expectation } from "../lib/policy/model/expectation";
import type { PolicyManifest } from "../lib/policy/model/schema";
import type { Workloads } from "../lib/policy/model/workloads-schema";
import { apiGet, apiTargetFromKubeconfig, readSecretData, type ApiTarget } from "../lib/kube/kube-api";
import { omittedHttpRules } from "../lib/stack/stack-plan";
import { buildVerdictEngine } from "../lib/policy/verdicts";
import {
    expectationProbes, flowsOfProbe, hubbleReading, matrixProbes, probeable, renderVerifyTable, verifyRow,
    type FlowProbe, type HubbleFlow, type ProbeOutcome, type VerifyRow,
} from "../lib/policy/verify";
import { RELAY_CLIENT_CERTS_SECRET, RELAY_TLS_SERVER_NAME, waitForHubbleStatus } from "../lib/cilium/hubble-relay";
import { CliError } from "./stack-file";
import { readEnvFile } from "../lib/base/env-file";

/** Cilium's reserved identity of a node's host, as Hubble reports it (source.identity). */
const HOST_IDENTITY = 1;
const REPO = path.resolve(__dirname, "..");

export interface VerifyInput {
    readonly cfg: StackConfig;
    readonly shown: string;
    readonly projectDir: string;
    readonly policies: readonly PolicyManifest[];
    readonly workloads: Workloads;
    readonly expectations: readonly Expectation[];
    readonly all: boolean;
    /** host:port of the relay; default: the first node address and hubble.relay.nodePort. */
    readonly relay?: string;
    readonly kubeconfig?: string;
    readonly hubbleBin?: string;
    readonly labDir?: string;
    readonly out: (s: string) => void;
    readonly err: (s: string) => void;
}

interface Pod { namespace: string; name: string; ip: string; node: string }

/** Runs verify; resolves to the exit code (0 all agree, 1 a disagreement) and the rows. Throws CliError when it cannot run. */
export async function verify(i: VerifyInput): Promise<{ code: number; rows: VerifyRow[] }> {
    const { cfg } = i;
    const labDir = path.resolve(i.labDir ?? process.env["LAB_DIR"] ?? path.join(i.projectDir, ".lab"));
    const lab = readLabEnv(labDir);
    if (lab === undefined) {
        throw new CliError(`verify: no datapath lab at ${labDir} (no env file with LAB_DATAPATH=1): verify probes from inside the pods through the lab's lab/pod-exec.sh; start it with bash lab/main.sh, or give --lab-dir. Probing a real cluster's pods (kubectl exec) is not built yet.`);
    }
    const target = apiTargetFromKubeconfig(kubeconfigText(i), cfg.cluster.mode === "existing" ? cfg.cluster.context : undefined);
    const hubble = i.hubbleBin ?? findHubble();
    const relay = i.relay ?? defaultRelay(cfg);
    const l7Enforced = omittedHttpRules(cfg, { policies: i.policies, workloads: i.workloads }).length === 0;

    const engineOpts = { enforcement: cfg.cilium.policyEnforcementMode };
    const cells = i.all ? matrixProbes(buildVerdictEngine(i.policies, i.workloads, engineOpts)) : [];
    const probes = i.all ? cells.filter(probeable) : expectationProbes(i.expectations, i.policies, i.workloads, engineOpts);
    if (cells.length > probes.length) {
        i.err(`verify: --all: ${cells.length - probes.length} of the matrix's ${cells.length} cells are not probed: their source or destination is an entity other than world and host (remote-node, health, kube-apiserver, init, unmanaged), which nothing here sends or answers for\n`);
    }

    const certDir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-verify-"));
    try {
        if (cfg.hubble.relay.tls) await writeRelayCerts(target, certDir);
        const hubbleArgs = ["--server", relay, ...(cfg.hubble.relay.tls ? ["--tls", "--tls-server-name", RELAY_TLS_SERVER_NAME,
            "--tls-ca-cert-files", path.join(certDir, "ca.crt"), "--tls-client-cert-file", path.join(certDir, "client.crt"), "--tls-client-key-file", path.join(certDir, "client.key")] : [])];
        await waitForRelay(hubble, hubbleArgs, relay);

        const pods = new Map<string, Pod | string>();
        const podOf = async (id: string): Promise<Pod | string> => {
            if (!pods.has(id)) pods.set(id, await findPod(target, i.workloads, id));
            return pods.get(id)!;
        };
        i.err(`verify: ${probes.length} flow${probes.length === 1 ? "" : "s"} of ${i.shown}, probed in the lab at ${labDir}, Hubble through ${relay}\n`);
        const sent: Array<{ probe: FlowProbe; outcome: ProbeOutcome; since: number; until: number; match?: { dstIp: string; srcIp?: string; srcIdentity?: number } }> = [];
        for (const p of probes) {
            const since = Date.now();
            const r = await sendProbe(p, podOf, lab, labDir);
            sent.push({ probe: p, outcome: r.outcome, since, until: Date.now(), ...(r.match ? { match: r.match } : {}) });
        }
        // Hubble's ring buffers reach the relay within a moment of the event.
        await new Promise((r) => setTimeout(r, 2000));
        const rows: VerifyRow[] = sent.map((s) => {
            const reading = s.match === undefined
                ? { verdict: "none" as const, text: "-" }
                : hubbleReading(flowsOfProbe(observe(hubble, hubbleArgs, s.match.dstIp, s.since - 1000, s.until + 1500), { ...s.match, port: s.probe.port }));
            return verifyRow(s.probe, s.outcome, reading, { l7Enforced });
        });
        i.out(renderVerifyTable(rows));
        return { code: rows.some((r) => r.status === "disagree") ? 1 : 0, rows };
    } finally {
        fs.rmSync(certDir, { recursive: true, force: true });
    }
}

function readLabEnv(labDir: string): Record<string, string> | undefined {
    const file = path.join(labDir, "env");
    if (!fs.existsSync(file)) return undefined;
    const env = readEnvFile(file);
    return env["LAB_DATAPATH"] === "1" ? env : undefined;
}

function kubeconfigText(i: VerifyInput): string {
    const c = i.cfg.cluster;
    const file = i.kubeconfig ?? (c.mode === "existing" && c.kubeconfigPath !== undefined ? resolveConfigPath(c.kubeconfigPath, i.projectDir) : undefined);
    if (file !== undefined) {
        try {
            return fs.readFileSync(file, "utf8");
        } catch {
            throw new CliError(`verify: cannot read the kubeconfig ${file}${i.kubeconfig ? " (--kubeconfig)" : " (cluster.kubeconfigPath)"}: give a readable file`);
        }
    }
    if (c.mode === "existing" && c.kubeconfig !== undefined) return c.kubeconfig.reveal();
    throw new CliError("verify: give --kubeconfig FILE (a kubeadm stack's kubeconfig is its secret output: pulumi stack output kubeconfig --show-secrets > FILE)", 2);
}

function defaultRelay(cfg: StackConfig): string {
    if (!cfg.hubble.relay.expose) throw new CliError("verify: hubble.relay.expose is false, so there is no relay NodePort: give --relay HOST:PORT (e.g. a kubectl port-forward)", 2);
    const c = cfg.cluster;
    const node = c.mode === "existing" ? c.nodeAddresses[0] : c.hosts[0]?.address;
    if (node === undefined) throw new CliError("verify: cluster.nodeAddresses is empty, so the relay's node is unknown: give --relay HOST:PORT", 2);
    return `${node.includes(":") ? `[${node}]` : node}:${cfg.hubble.relay.nodePort}`;
}

function findHubble(): string {
    for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
        const f = path.join(dir, "hubble");
        if (dir && fs.existsSync(f)) return f;
    }
    const lab = path.join(REPO, ".lab", "bin", "hubble");
    if (fs.existsSync(lab)) return lab;
    throw new CliError("verify: no hubble CLI on PATH (nor .lab/bin/hubble, built by lab/setup.sh): install it or give --hubble PATH", 2);
}

async function writeRelayCerts(target: ApiTarget, dir: string): Promise<void> {
    let data: Record<string, string>;
    try {
        data = await readSecretData(target, "kube-system", RELAY_CLIENT_CERTS_SECRET);
    } catch (e) {
        throw new CliError(`verify: cannot read the relay's client certificate (Secret kube-system/${RELAY_CLIENT_CERTS_SECRET}): ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const [file, key] of [["ca.crt", "ca.crt"], ["client.crt", "tls.crt"], ["client.key", "tls.key"]] as const) {
        if (!data[key]) throw new CliError(`verify: Secret kube-system/${RELAY_CLIENT_CERTS_SECRET} has no ${key}`);
        fs.writeFileSync(path.join(dir, file), data[key]!, { mode: 0o600 });
    }
}

async function waitForRelay(hubble: string, args: readonly string[], relay: string): Promise<void> {
    const last = await waitForHubbleStatus(hubble, args, 90_000);
    if (last !== undefined) throw new CliError(`verify: Hubble Relay at ${relay} did not answer in 90 s: ${last}`);
}

/** A Running pod of the workload `namespace/name`, found by the workload's labels; a string says why there is none. */
async function findPod(target: ApiTarget, workloads: Workloads, id: string): Promise<Pod | string> {
    const w = workloads.workloads.find((x) => `${x.namespace}/${x.name}` === id);
    if (w === undefined) return `${id} is not a declared workload`;
    const selector = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(",");
    const res = await apiGet(target, `/api/v1/namespaces/${encodeURIComponent(w.namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`);
    if (res.status !== 200) return `listing pods of ${id} answered HTTP ${res.status}`;
    const items = (JSON.parse(res.body) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }> }).items;
    const p = items.find((x) => !x.metadata.deletionTimestamp && x.status.phase === "Running" && x.status.podIP);
    if (p === undefined) return `no Running pod of ${id} (labels ${selector})`;
    return { namespace: w.namespace, name: p.metadata.name, ip: p.status.podIP!, node: p.spec.nodeName ?? "" };
}

type Match = { dstIp: string; srcIp?: string; srcIdentity?: number };

/** Sends one probe; the outcome, and how to find its flows in Hubble. */
async function sendProbe(p: FlowProbe, podOf: (id: string) => Promise<Pod | string>, lab: Record<string, string>, labDir: string): Promise<{ outcome: ProbeOutcome; match?: Match }> {
    const notProbed = (detail: string) => ({ outcome: { result: "not-probed" as const, detail } });
    const outside = `${lab["LAB_DP_NET"]}.250`;
    let dstIp: string;
    let dst: Pod | undefined;
    if (p.to === "world") dstIp = outside;
    else if (p.to.includes("/")) {
        const d = await podOf(p.to);
        if (typeof d === "string") return notProbed(d);
        dst = d;
        dstIp = d.ip;
    } else return notProbed(`the destination ${p.to} is an entity the lab does not stand in for (world is its outside namespace)`);

    let via: string[];
    let match: Match;
    if (p.from.includes("/")) {
        const s = await podOf(p.from);
        if (typeof s === "string") return notProbed(s);
        via = [s.namespace, s.name, "--net"];
        match = { dstIp, srcIp: s.ip };
    } else if (p.from === "host" && dst !== undefined) {
        via = ["--node", dst.node];
        match = { dstIp, srcIdentity: HOST_IDENTITY };
    } else if (p.from === "world" && dst !== undefined) {
        via = ["--outside", "--route", `${dst.ip}=${dst.node}`];
        match = { dstIp, srcIp: outside };
    } else return notProbed(`the source ${p.from} is an entity the lab does not stand in for here`);

    let kind: string;
    if (p.protocol === "TCP") kind = "tcp";
    else if (p.protocol === "UDP" && p.port === 53) kind = "udp-dns";
    else return notProbed(`${p.protocol}/${p.port}: the probe speaks TCP, and UDP as DNS on port 53 only`);
    const cmd = [process.execPath, path.join(REPO, "lab", "probe.mjs"), kind, dstIp, String(p.port), ...(p.http ? [p.http.method, p.http.path] : [])];
    const r = spawnSync("bash", [path.join(REPO, "lab", "pod-exec.sh"), ...via, "--", ...cmd], { encoding: "utf8", timeout: 30_000, env: { ...process.env, LAB_DIR: labDir } });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    try {
        const o = JSON.parse(line) as ProbeOutcome;
        return { outcome: { result: o.result, detail: o.detail ?? "" }, match };
    } catch {
        return { outcome: { result: "error", detail: `lab/pod-exec.sh exit ${r.status}: ${(r.stderr || line).trim().split("\n").pop()}` }, match };
    }
}

/** Hubble's flows to dstIp in [since, until] (epoch ms), all nodes, through the relay. */
function observe(hubble: string, args: readonly string[], dstIp: string, since: number, until: number): HubbleFlow[] {
    const r = spawnSync(hubble, ["observe", ...args, "--since", new Date(since).toISOString(), "--until", new Date(until).toISOString(), "--all", "--to-ip", dstIp, "-o", "json"], { encoding: "utf8", timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new CliError(`verify: hubble observe: ${(r.stderr || String(r.error ?? "")).trim()}`);
    return r.stdout.split("\n").filter(Boolean).flatMap((l) => {
        const f = (JSON.parse(l) as { flow?: HubbleFlow }).flow;
        return f ? [f] : [];
    });
}

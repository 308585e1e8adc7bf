// What the KubeadmCluster lab suites share: the resource changes of an `up`, Node registration standing in for a
// kubelet, and a watch of the lab apiserver's bootstrap tokens (to see a join token live only during its join).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { LabHost } from "../../bench/cluster";
import { kubectl, repoRoot } from "./harness";

export const changes = (r: { summary: { resourceChanges?: Record<string, number> } }) => Object.fromEntries(Object.entries(r.summary.resourceChanges ?? {}).filter(([k]) => k !== "same"));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAKE_NODE = (name: string) => JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name, annotations: { "kwok.x-k8s.io/node": "fake" } } });

// A kubelet registers its Node once its host has joined; the lab's stand-in join does not, so a watcher does it
// when the join stand-in has written its config (label-node waits for the Node, as for a real kubelet).
export const registerNode = (name: string) =>
    spawnSync(path.join(repoRoot, ".lab", "bin", "kubectl"), ["apply", "-f", "-"], { input: FAKE_NODE(name), env: { ...process.env, KUBECONFIG: path.join(process.env.LAB_DIR ?? path.join(repoRoot, ".lab"), "kubeconfig") } });
/** A bootstrap token as the lab apiserver's watch showed it: added or deleted, its id, secret part and description. */
export interface TokenEvent { type: "ADDED" | "MODIFIED" | "DELETED"; id: string; secret: string; description: string }

/**
 * Watches the lab apiserver's bootstrap-token Secrets (what `kubeadm token create/delete` make and remove) from now
 * on, so a token that lived only during an `up` is seen too. Resolves once the watch is live (a sentinel Secret
 * made and seen); `stop()` ends it and returns every event since (tokens that existed before are not in them).
 */
export async function watchTokens(): Promise<{ events: () => TokenEvent[]; stop: () => TokenEvent[] }> {
    const env = { ...process.env, KUBECONFIG: path.join(process.env.LAB_DIR ?? path.join(repoRoot, ".lab"), "kubeconfig") };
    const child = spawn(path.join(repoRoot, ".lab", "bin", "kubectl"), ["get", "secrets", "-n", "kube-system", "--field-selector", "type=bootstrap.kubernetes.io/token",
        "--watch", "--output-watch-events", "-o", `jsonpath={.type} {.object.data.token-id} {.object.data.token-secret} {.object.data.description}{"\\n"}`], { env });
    const events: TokenEvent[] = [];
    let buf = "";
    const dec = (b?: string) => Buffer.from(b ?? "", "base64").toString("utf8");
    child.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const [type, id, secret, description] = buf.slice(0, i).split(" ");
            buf = buf.slice(i + 1);
            events.push({ type: type as TokenEvent["type"], id: dec(id), secret: dec(secret), description: dec(description) });
        }
    });
    const sentinel = `z${process.pid.toString(36).slice(-5).padStart(5, "0")}`;
    const made = spawnSync(path.join(repoRoot, ".lab", "bin", "kubectl"), ["apply", "-f", "-"], { env, input: JSON.stringify({
        apiVersion: "v1", kind: "Secret", type: "bootstrap.kubernetes.io/token", metadata: { name: `bootstrap-token-${sentinel}`, namespace: "kube-system" },
        stringData: { "token-id": sentinel, "token-secret": "0000000000000000", description: "test sentinel: the watch is live" },
    }) });
    assert.equal(made.status, 0, made.stderr?.toString());
    const deadline = Date.now() + 30_000;
    while (!events.some((e) => e.id === sentinel)) {
        if (Date.now() > deadline) throw new Error("the bootstrap-token watch showed nothing within 30 s");
        await sleep(50);
    }
    kubectl("delete", "secret", "-n", "kube-system", `bootstrap-token-${sentinel}`);
    // A watch first lists what exists (as ADDED): only what came after the sentinel happened from now on.
    const live = events.findIndex((e) => e.id === sentinel);
    const mine = () => events.slice(live + 1).filter((e) => e.id !== sentinel);
    return { events: mine, stop: () => { child.kill(); return mine(); } };
}
/** Per description ("microseg: join worker-1"), the ids added and the ids deleted, in order. */
export const tokenLife = (events: readonly TokenEvent[]) => {
    const out: Record<string, { added: string[]; deleted: string[] }> = {};
    for (const e of events) {
        const t = (out[e.description] ??= { added: [], deleted: [] });
        if (e.type === "ADDED") t.added.push(e.id);
        if (e.type === "DELETED") t.deleted.push(e.id);
    }
    return out;
};

/** Registers the Node of every joining host (all but the first) once its join has run; clearInterval to stop. */
export function kubeletWatcher(hosts: readonly LabHost[]): NodeJS.Timeout {
    const registered = new Set<string>();
    return setInterval(() => {
        for (const w of hosts.slice(1)) {
            if (registered.has(w.name) || !fs.existsSync(path.join(w.root, "etc/kubernetes/microseg/kubeadm-join.yaml"))) continue;
            registered.add(w.name);
            registerNode(w.name);
        }
    }, 200);
}

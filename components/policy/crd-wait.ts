/**
 * A bounded wait until CustomResourceDefinitions are Established, asked of the apiserver directly with the
 * stack's kubeconfig. PolicySet needs it because cilium-operator registers the Cilium policy CRDs at run time
 * (the chart does not ship them) and the Kubernetes provider retries a missing kind for about a minute only.
 *
 * Deliberately small and dependency-free (node:https + yaml) rather than @kubernetes/client-node, which is
 * ESM-only since 1.0 while this program compiles to CommonJS: it only GETs one object per CRD. Kubeconfig
 * credentials understood: client certificate/key (data or file), bearer token (inline or tokenFile), basic
 * auth, and `exec` credential plugins (EKS, GKE, AKS style); `auth-provider` (removed in kubectl 1.26) is not.
 * No `@pulumi/*` import: it is testable without the engine.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { parse as parseYaml } from "yaml";

/** How to reach the apiserver, as read from a kubeconfig. */
export interface ApiTarget {
    server: string;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    token?: string;
    basic?: { username: string; password: string };
    insecure: boolean;
    serverName?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const named = (list: unknown, name: string): Obj | undefined =>
    (Array.isArray(list) ? list : []).map(obj).find((e) => e["name"] === name);

function dataOrFile(data: unknown, file: unknown): Buffer | undefined {
    if (str(data)) return Buffer.from(data as string, "base64");
    if (str(file)) return fs.readFileSync(file as string);
    return undefined;
}

/** The cluster, user and credentials of `context` (default: current-context) of a kubeconfig. */
export function apiTargetFromKubeconfig(kubeconfig: string, context?: string): ApiTarget {
    const doc = obj(parseYaml(kubeconfig));
    const ctxName = context ?? str(doc["current-context"]);
    if (!ctxName) throw new Error("kubeconfig: no context given and no current-context set");
    const ctx = named(doc["contexts"], ctxName);
    if (!ctx) throw new Error(`kubeconfig: context ${JSON.stringify(ctxName)} not found`);
    const clusterName = str(obj(ctx["context"])["cluster"]) ?? "";
    const cluster = obj(named(doc["clusters"], clusterName)?.["cluster"]);
    const server = str(cluster["server"]);
    if (!server) throw new Error(`kubeconfig: cluster ${JSON.stringify(clusterName)} of context ${JSON.stringify(ctxName)} has no server`);
    const user = obj(named(doc["users"], str(obj(ctx["context"])["user"]) ?? "")?.["user"]);
    const target: ApiTarget = {
        server: server.replace(/\/+$/, ""),
        ca: dataOrFile(cluster["certificate-authority-data"], cluster["certificate-authority"]),
        cert: dataOrFile(user["client-certificate-data"], user["client-certificate"]),
        key: dataOrFile(user["client-key-data"], user["client-key"]),
        token: str(user["token"]) ?? (str(user["tokenFile"]) ? fs.readFileSync(user["tokenFile"] as string, "utf8").trim() : undefined),
        insecure: cluster["insecure-skip-tls-verify"] === true,
        serverName: str(cluster["tls-server-name"]),
    };
    if (str(user["username"]) && str(user["password"])) target.basic = { username: user["username"] as string, password: user["password"] as string };
    if (Object.keys(obj(user["exec"])).length > 0) Object.assign(target, execCredential(obj(user["exec"])));
    if (Object.keys(obj(user["auth-provider"])).length > 0 && !target.token && !target.cert) {
        throw new Error("kubeconfig: `auth-provider` credentials are not supported (removed in kubectl 1.26); use an `exec` plugin");
    }
    return target;
}

/** Runs a client-go credential plugin and returns its token or client certificate. */
function execCredential(exec: Obj): Partial<ApiTarget> {
    const command = str(exec["command"]);
    if (!command) throw new Error("kubeconfig: exec credential plugin without a command");
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const e of Array.isArray(exec["env"]) ? exec["env"].map(obj) : []) env[String(e["name"])] = String(e["value"]);
    const apiVersion = str(exec["apiVersion"]) ?? "client.authentication.k8s.io/v1";
    env["KUBERNETES_EXEC_INFO"] = JSON.stringify({ apiVersion, kind: "ExecCredential", spec: { interactive: false } });
    const args = Array.isArray(exec["args"]) ? exec["args"].map(String) : [];
    const out = execFileSync(command, args, { env, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
    const status = obj(obj(JSON.parse(out))["status"]);
    return {
        token: str(status["token"]),
        cert: str(status["clientCertificateData"]) ? Buffer.from(status["clientCertificateData"] as string) : undefined,
        key: str(status["clientKeyData"]) ? Buffer.from(status["clientKeyData"] as string) : undefined,
    };
}

/** GET a path of the apiserver; resolves with status and body, rejects on transport errors. */
export function apiGet(target: ApiTarget, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
    const url = new URL(target.server + path);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (target.token) headers["Authorization"] = `Bearer ${target.token}`;
    else if (target.basic) headers["Authorization"] = `Basic ${Buffer.from(`${target.basic.username}:${target.basic.password}`).toString("base64")}`;
    const options: https.RequestOptions = {
        method: "GET", headers, timeout: timeoutMs,
        ca: target.ca, cert: target.cert, key: target.key,
        rejectUnauthorized: !target.insecure, servername: target.serverName,
        agent: false,
    };
    const lib = url.protocol === "http:" ? http : https;
    return new Promise((resolve, reject) => {
        const req = lib.request(url, options, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url.href} timed out after ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
    });
}

/** Where a CRD stands: `established`, or why not (`not found`, `not Established yet: ...`, an HTTP or transport error). */
export async function crdState(target: ApiTarget, name: string): Promise<{ established: boolean; state: string }> {
    let res: { status: number; body: string };
    try {
        res = await apiGet(target, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    } catch (e) {
        return { established: false, state: `apiserver unreachable: ${(e as Error).message}` };
    }
    if (res.status === 404) return { established: false, state: "not found" };
    if (res.status !== 200) return { established: false, state: `HTTP ${res.status}: ${res.body.slice(0, 200).trim()}` };
    const conditions = obj(obj(JSON.parse(res.body))["status"])["conditions"];
    const established = (Array.isArray(conditions) ? conditions.map(obj) : []).find((c) => c["type"] === "Established");
    if (established?.["status"] === "True") return { established: true, state: "Established" };
    return { established: false, state: `not Established yet${established?.["message"] ? `: ${String(established["message"])}` : ""}` };
}

export interface WaitForCrdsOptions {
    /** Admin kubeconfig (YAML). */
    kubeconfig: string;
    /** Kubeconfig context. @default its current-context */
    context?: string;
    /** CRD names, e.g. `ciliumnetworkpolicies.cilium.io`. */
    names: readonly string[];
    /** Give up after this many seconds. */
    timeoutSeconds: number;
    /** Between two polls. @default 2000 */
    intervalMs?: number;
    /** Called once per poll round with the CRDs still missing and their state, e.g. to log progress. */
    onWaiting?: (pending: { name: string; state: string }[], elapsedSeconds: number) => void;
}

/** Thrown when the CRDs are not Established in time; the message names them, their state and what to check. */
export class CrdWaitError extends Error {}

/** Resolves once every named CRD is Established; rejects with a {@link CrdWaitError} after `timeoutSeconds`. */
export async function waitForCrdsEstablished(o: WaitForCrdsOptions): Promise<void> {
    const target = apiTargetFromKubeconfig(o.kubeconfig, o.context);
    const started = Date.now();
    const deadline = started + o.timeoutSeconds * 1000;
    for (;;) {
        const states = await Promise.all(o.names.map(async (name) => ({ name, ...(await crdState(target, name)) })));
        const pending = states.filter((s) => !s.established).map(({ name, state }) => ({ name, state }));
        if (pending.length === 0) return;
        const elapsed = Math.round((Date.now() - started) / 1000);
        if (Date.now() >= deadline) {
            throw new CrdWaitError(
                `timed out after ${o.timeoutSeconds} s waiting for the CRD${pending.length === 1 ? "" : "s"} `
                + pending.map((p) => `${p.name} (${p.state})`).join(", ")
                + ` to be Established at ${target.server}. cilium-operator registers them when it starts: check that it runs `
                + "(kubectl -n kube-system get deploy/cilium-operator) and read its logs "
                + "(kubectl -n kube-system logs deploy/cilium-operator); or raise crdTimeoutSeconds.",
            );
        }
        o.onWaiting?.(pending, elapsed);
        await new Promise((r) => setTimeout(r, Math.min(o.intervalMs ?? 2000, Math.max(0, deadline - Date.now()))));
    }
}

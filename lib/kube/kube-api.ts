/**
 * A minimal apiserver client from a kubeconfig: enough to GET a few objects during `up` (CRD state, a Secret)
 * without registering a resource, so an unchanged stack shows no read or change.
 *
 * Deliberately small and dependency-free (node:https + yaml) rather than @kubernetes/client-node, which is
 * ESM-only since 1.0 while this program compiles to CommonJS. Kubeconfig credentials understood: client
 * certificate/key (data or file), bearer token (inline or tokenFile), basic auth, and `exec` credential plugins
 * (EKS, GKE, AKS style); `auth-provider` (removed in kubectl 1.26) is not. Pure: no `@pulumi/*` import.
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

/**
 * A read that gave neither the object nor a Kubernetes "not found": `status` is the HTTP status when the server
 * answered (undefined when it was not reached), `reason` what it said or why it was not reached. Never holds a
 * credential: only the server URL, the status and the apiserver's own message.
 */
export class ApiReadError extends Error {
    constructor(
        readonly what: string,
        readonly server: string,
        readonly status: number | undefined,
        readonly reason: string,
    ) {
        super(`cannot read ${what} at ${server}: ${answer(status, reason)}`);
    }

    /** "HTTP 403 Forbidden (<the apiserver's message>)", or "not reached (<why>)". */
    get answer(): string {
        return answer(this.status, this.reason);
    }
}

function answer(status: number | undefined, reason: string): string {
    if (status === undefined) return `not reached (${reason})`;
    return `HTTP ${status} ${http.STATUS_CODES[status] ?? ""}`.trimEnd() + (reason ? ` (${reason})` : "");
}

/** One line, at most `max` characters: what an answer or an error says, fit for a message. */
function brief(text: string, max = 300): string {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The `message` of a Kubernetes Status body, else the start of the body (a proxy's HTML page, ...). */
function statusMessage(body: string): string {
    try {
        const doc = obj(JSON.parse(body));
        if (doc["kind"] === "Status" && str(doc["message"])) return brief(doc["message"] as string);
    } catch {
        // not JSON: fall through to the raw text
    }
    return brief(body, 120);
}

/**
 * True for the apiserver's own "not found" of the object or of its namespace: a 404 whose body is a Kubernetes
 * Status with reason NotFound. A bare 404 (a proxy, a wrong URL path) is not: it says nothing about the object.
 */
function isNotFound(res: { status: number; body: string }, kinds: readonly string[]): boolean {
    if (res.status !== 404) return false;
    try {
        const doc = obj(JSON.parse(res.body));
        const kind = str(obj(doc["details"])["kind"]);
        return doc["kind"] === "Status" && doc["reason"] === "NotFound" && (kind === undefined || kinds.includes(kind));
    } catch {
        return false;
    }
}

/** GET of one object; transport failures become an {@link ApiReadError} with no status. */
async function getObject(target: ApiTarget, what: string, path: string): Promise<{ status: number; body: string }> {
    try {
        return await apiGet(target, path);
    } catch (e) {
        throw new ApiReadError(what, target.server, undefined, brief(e instanceof Error ? e.message : String(e)));
    }
}

function parseObject(what: string, target: ApiTarget, body: string): Obj {
    try {
        return obj(JSON.parse(body));
    } catch {
        throw new ApiReadError(what, target.server, 200, `not a Kubernetes object: ${brief(body, 120)}`);
    }
}

/**
 * The decoded `data` of a Secret (keys to UTF-8 text). Rejects with an {@link ApiReadError} naming the Secret
 * when it is missing or unreadable. The caller keeps the result secret.
 */
export async function readSecretData(target: ApiTarget, namespace: string, name: string): Promise<Record<string, string>> {
    const what = `Secret ${namespace}/${name}`;
    const res = await getObject(target, what, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
    if (res.status !== 200) throw new ApiReadError(what, target.server, res.status, statusMessage(res.body));
    const data = obj(parseObject(what, target, res.body)["data"]);
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(String(v), "base64").toString("utf8")]));
}

/**
 * The `data` of a ConfigMap, or undefined when the apiserver says it (or its namespace) does not exist. Any other
 * outcome (403, 5xx, a bare 404, a server not reached) rejects with an {@link ApiReadError}: "could not read"
 * is never taken for "absent".
 */
export async function readConfigMapData(target: ApiTarget, namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const what = `ConfigMap ${namespace}/${name}`;
    const res = await getObject(target, what, `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`);
    if (isNotFound(res, ["configmaps", "namespaces"])) return undefined;
    if (res.status !== 200) throw new ApiReadError(what, target.server, res.status, statusMessage(res.body));
    return Object.fromEntries(Object.entries(obj(parseObject(what, target, res.body)["data"])).map(([k, v]) => [k, String(v)]));
}

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


/** Thrown when the apiserver answers a read with something else than the object. */
export class ApiReadError extends Error {}

/**
 * The decoded `data` of a Secret (keys to UTF-8 text). Rejects with an {@link ApiReadError} naming the Secret
 * when it is missing or unreadable. The caller keeps the result secret.
 */
export async function readSecretData(target: ApiTarget, namespace: string, name: string): Promise<Record<string, string>> {
    const res = await apiGet(target, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
    if (res.status !== 200) {
        throw new ApiReadError(`cannot read Secret ${namespace}/${name} at ${target.server}: HTTP ${res.status}${res.status === 404 ? " (not found)" : ""}`);
    }
    const data = obj(obj(JSON.parse(res.body))["data"]);
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(String(v), "base64").toString("utf8")]));
}

/** The `data` of a ConfigMap, or undefined when it does not exist. Rejects on any other answer. */
export async function readConfigMapData(target: ApiTarget, namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const res = await apiGet(target, `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new ApiReadError(`cannot read ConfigMap ${namespace}/${name} at ${target.server}: HTTP ${res.status}`);
    return Object.fromEntries(Object.entries(obj(obj(JSON.parse(res.body))["data"])).map(([k, v]) => [k, String(v)]));
}

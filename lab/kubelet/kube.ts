// The lab kubelet's apiserver client: JSON requests and watches over node:https, with the node's own client
// certificate (CN system:node:<name>, O system:nodes: the Node authorizer and NodeRestriction apply, as to a real
// kubelet). The kubeconfig is read by lib/kube/kube-api.ts.
import * as fs from "node:fs";
import * as https from "node:https";
import { apiTargetFromKubeconfig, type ApiTarget } from "../../lib/kube/kube-api";

export type Obj = Record<string, any>;

export class ApiError extends Error {
    constructor(readonly status: number, readonly body: string, what: string) {
        super(`${what}: HTTP ${status} ${body.slice(0, 400)}`);
    }
}

export class Kube {
    private readonly target: ApiTarget;
    private readonly agent: https.Agent;

    constructor(kubeconfigFile: string) {
        this.target = apiTargetFromKubeconfig(fs.readFileSync(kubeconfigFile, "utf8"));
        this.agent = new https.Agent({ ca: this.target.ca, cert: this.target.cert, key: this.target.key, keepAlive: true, maxSockets: 16 });
    }

    get server(): string {
        return this.target.server;
    }

    /** One request; resolves the parsed JSON body, rejects with ApiError on a status >= 300. */
    request(method: string, path: string, body?: unknown, contentType = "application/json", timeoutMs = 30_000): Promise<Obj> {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        return new Promise((resolve, reject) => {
            const req = https.request(`${this.target.server}${path}`, {
                method,
                agent: this.agent,
                headers: { accept: "application/json", ...(data ? { "content-type": contentType, "content-length": data.length } : {}) },
                timeout: timeoutMs,
            }, (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => (text += c));
                res.on("end", () => {
                    if ((res.statusCode ?? 0) >= 300) return reject(new ApiError(res.statusCode ?? 0, text, `${method} ${path}`));
                    try {
                        resolve(text === "" ? {} : JSON.parse(text));
                    } catch (e) {
                        reject(e);
                    }
                });
            });
            req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
            req.on("error", reject);
            req.end(data);
        });
    }

    get(path: string): Promise<Obj> {
        return this.request("GET", path);
    }

    /** GET that resolves undefined on 404. */
    async find(path: string): Promise<Obj | undefined> {
        try {
            return await this.get(path);
        } catch (e) {
            if (e instanceof ApiError && e.status === 404) return undefined;
            throw e;
        }
    }

    mergePatch(path: string, body: unknown): Promise<Obj> {
        return this.request("PATCH", path, body, "application/merge-patch+json");
    }

    /**
     * Lists `path` then watches it from the list's resourceVersion, for ever: `onEvent` gets ("ADDED", obj) for each
     * listed object, then each watch event. A watch that ends or fails is re-listed after a short pause (with
     * "SYNC" first, carrying the uids seen, so the caller can drop objects that went away meanwhile).
     */
    async watchForever(path: string, onEvent: (type: string, obj: Obj) => void, onSync: (uids: Set<string>) => void, log: (m: string) => void): Promise<never> {
        const sep = path.includes("?") ? "&" : "?";
        for (;;) {
            try {
                const list = await this.get(path);
                const uids = new Set<string>();
                for (const item of list["items"] ?? []) {
                    uids.add(item.metadata.uid);
                    onEvent("ADDED", item);
                }
                onSync(uids);
                await this.streamWatch(`${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${list["metadata"]["resourceVersion"]}&timeoutSeconds=300`, onEvent);
            } catch (e) {
                log(`watch ${path}: ${(e as Error).message}; listing again in 2 s`);
                await new Promise((r) => setTimeout(r, 2000));
            }
        }
    }

    private streamWatch(path: string, onEvent: (type: string, obj: Obj) => void): Promise<void> {
        return new Promise((resolve, reject) => {
            const req = https.request(`${this.target.server}${path}`, { method: "GET", agent: this.agent, headers: { accept: "application/json" } }, (res) => {
                if ((res.statusCode ?? 0) >= 300) {
                    res.resume();
                    return reject(new ApiError(res.statusCode ?? 0, "", `watch ${path}`));
                }
                let buf = "";
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => {
                    buf += chunk;
                    let nl: number;
                    while ((nl = buf.indexOf("\n")) >= 0) {
                        const line = buf.slice(0, nl);
                        buf = buf.slice(nl + 1);
                        if (line.trim() === "") continue;
                        const ev = JSON.parse(line) as { type: string; object: Obj };
                        if (ev.type === "ERROR") {
                            req.destroy(new Error(`watch error: ${JSON.stringify(ev.object).slice(0, 300)}`));
                            return;
                        }
                        if (ev.type !== "BOOKMARK") onEvent(ev.type, ev.object);
                    }
                });
                res.on("end", () => resolve());
                res.on("error", reject);
            });
            req.on("error", reject);
            req.end();
        });
    }
}

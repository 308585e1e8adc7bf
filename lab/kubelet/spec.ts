// What a kubelet derives from a pod spec before it starts a container: the environment (image ENV, the kubernetes
// Service variables, envFrom, env with $(VAR) references, fieldRef/resourceFieldRef/configMapKeyRef/secretKeyRef),
// the command line ($(VAR) expanded), the volumes written out (configMap, secret, projected with service account
// tokens from the TokenRequest API, downwardAPI, emptyDir, hostPath mapped to the node's own directories) and the
// security context as setpriv arguments.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LabImage } from "./images";
import type { Obj } from "./kube";
import type { NodeContext } from "./node";

/** A bind mount of container.sh. */
export interface ResolvedMount {
    source: string;
    target: string;
    readOnly: boolean;
    propagation: "None" | "HostToContainer" | "Bidirectional";
}

/** containerd's default capabilities (what a container without securityContext.capabilities gets). */
export const DEFAULT_CAPS = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"];

/** setpriv arguments for a container's security context; [] for a privileged container (all capabilities, as root). */
export function securityArgs(pod: Obj, c: Obj): string[] {
    if (c.privileged === true) return [];
    const uid = Number(c.runAsUser ?? pod.runAsUser ?? 0);
    const gid = Number(c.runAsGroup ?? pod.runAsGroup ?? 0);
    const groups = [...(pod.fsGroup !== undefined ? [Number(pod.fsGroup)] : []), ...((pod.supplementalGroups ?? []) as number[])];
    const drop = new Set(((c.capabilities?.drop ?? []) as string[]).map((x) => x.toUpperCase()));
    const add = ((c.capabilities?.add ?? []) as string[]).map((x) => x.toUpperCase().replace(/^CAP_/, ""));
    const base = drop.has("ALL") ? [] : DEFAULT_CAPS.filter((x) => !drop.has(x));
    const caps = [...new Set([...base, ...add])].map((x) => x.toLowerCase());
    const capList = caps.map((x) => `+${x}`).join(",");
    const args = [`--reuid=${uid}`, `--regid=${gid}`, groups.length ? `--groups=${groups.join(",")}` : "--clear-groups", `--bounding-set=-all${capList ? `,${capList}` : ""}`];
    // A non-root process keeps capabilities across exec only as ambient ones (the runtime does the same).
    if (uid !== 0 && caps.length) args.push(`--inh-caps=-all,${capList}`, `--ambient-caps=-all,${capList}`);
    if (c.allowPrivilegeEscalation === false) args.push("--no-new-privs");
    return args;
}

/** Replaces $(NAME) by the value of an already defined NAME; $$(NAME) stays as $(NAME) (Kubernetes' expansion rules). */
export function expandVars(text: string, env: Readonly<Record<string, string>>): string {
    return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
        if (m === "$$") return "$";
        return name !== undefined && name in env ? env[name]! : m;
    });
}

export function expandArgs(argv: readonly string[], env: Readonly<Record<string, string>>): string[] {
    return argv.map((a) => expandVars(a, env));
}

function fieldValue(pod: Obj, fieldPath: string, podIP: string, nodeIP: string): string {
    const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (m) return String(pod.metadata[m[1]!]?.[m[2]!] ?? "");
    switch (fieldPath) {
        case "metadata.name": return pod.metadata.name;
        case "metadata.namespace": return pod.metadata.namespace;
        case "metadata.uid": return pod.metadata.uid;
        case "spec.nodeName": return pod.spec.nodeName;
        case "spec.serviceAccountName": return pod.spec.serviceAccountName ?? "default";
        case "status.podIP": case "status.podIPs": return podIP;
        case "status.hostIP": case "status.hostIPs": return nodeIP;
        default: throw new Error(`fieldRef ${fieldPath} is not supported by the lab kubelet`);
    }
}

function resourceValue(c: Obj, ref: Obj): string {
    const [kind, res] = String(ref.resource).split(".") as [string, string];
    const q = c.resources?.[kind]?.[res];
    // No limit: the kubelet uses the node's allocatable amount.
    const value = q !== undefined ? parseQuantity(String(q)) : res === "memory" ? os.totalmem() : os.cpus().length;
    const divisor = ref.divisor !== undefined ? parseQuantity(String(ref.divisor)) : 1;
    return String(Math.ceil(value / (divisor || 1)));
}

export function parseQuantity(q: string): number {
    const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
    if (!m) throw new Error(`quantity ${JSON.stringify(q)} is not understood`);
    const mult: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
    if (!(m[2]! in mult)) throw new Error(`quantity ${JSON.stringify(q)} has an unknown suffix`);
    return Number(m[1]) * mult[m[2]!]!;
}

async function keyRef(ctx: NodeContext, ns: string, kind: "configmaps" | "secrets", ref: Obj): Promise<string | undefined> {
    const obj = await ctx.kube.find(`/api/v1/namespaces/${ns}/${kind}/${ref.name}`);
    const raw = obj?.[kind === "secrets" ? "data" : "data"]?.[ref.key];
    if (raw === undefined) {
        if (ref.optional === true) return undefined;
        throw new Error(`${kind === "secrets" ? "secret" : "configmap"} ${ns}/${ref.name} key ${ref.key} not found`);
    }
    return kind === "secrets" ? Buffer.from(String(raw), "base64").toString("utf8") : String(raw);
}

/** The container's environment, in the order a kubelet builds it. */
export async function resolveEnv(ctx: NodeContext, pod: Obj, c: Obj, image: LabImage, podIP: string): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace;
    const env: Record<string, string> = { ...image.env, HOSTNAME: pod.spec.hostNetwork ? ctx.name : pod.spec.hostname ?? pod.metadata.name };
    const k = ctx.kubernetesService;
    Object.assign(env, {
        KUBERNETES_SERVICE_HOST: k.host, KUBERNETES_SERVICE_PORT: String(k.port), KUBERNETES_SERVICE_PORT_HTTPS: String(k.port),
        KUBERNETES_PORT: `tcp://${k.host}:${k.port}`, [`KUBERNETES_PORT_${k.port}_TCP`]: `tcp://${k.host}:${k.port}`,
        [`KUBERNETES_PORT_${k.port}_TCP_PROTO`]: "tcp", [`KUBERNETES_PORT_${k.port}_TCP_PORT`]: String(k.port), [`KUBERNETES_PORT_${k.port}_TCP_ADDR`]: k.host,
    });
    for (const from of c.envFrom ?? []) {
        const kind = from.configMapRef ? "configmaps" : "secrets";
        const ref = from.configMapRef ?? from.secretRef;
        const obj = await ctx.kube.find(`/api/v1/namespaces/${ns}/${kind}/${ref.name}`);
        if (!obj) {
            if (ref.optional) continue;
            throw new Error(`envFrom: ${kind} ${ns}/${ref.name} not found`);
        }
        for (const [key, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) {
            env[`${from.prefix ?? ""}${key}`] = kind === "secrets" ? Buffer.from(v, "base64").toString("utf8") : v;
        }
    }
    for (const e of c.env ?? []) {
        if (e.value !== undefined) env[e.name] = expandVars(String(e.value), env);
        else if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(pod, e.valueFrom.fieldRef.fieldPath, podIP, ctx.nodeIP);
        else if (e.valueFrom?.resourceFieldRef) env[e.name] = resourceValue(c, e.valueFrom.resourceFieldRef);
        else if (e.valueFrom?.configMapKeyRef) {
            const v = await keyRef(ctx, ns, "configmaps", e.valueFrom.configMapKeyRef);
            if (v !== undefined) env[e.name] = v;
        } else if (e.valueFrom?.secretKeyRef) {
            const v = await keyRef(ctx, ns, "secrets", e.valueFrom.secretKeyRef);
            if (v !== undefined) env[e.name] = v;
        } else env[e.name] = "";
    }
    // As containerd does: HOME from the user's passwd entry when the image and the pod leave it unset ("/" when the
    // user has none, e.g. distroless's 65532 here).
    if (!("HOME" in env)) {
        const uid = Number(c.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser ?? 0);
        const entry = fs.readFileSync("/etc/passwd", "utf8").split("\n").map((l) => l.split(":")).find((f) => Number(f[2]) === uid && f[2] !== "");
        env["HOME"] = entry?.[5] || "/";
    }
    return env;
}

/** Writes `files` (relative path -> content) into `dir`, with the mode and, with an fsGroup, its group (g+r). */
function writeFiles(dir: string, files: Map<string, { content: string; mode: number }>, fsGroup: number | undefined): void {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const [rel, f] of files) {
        const file = path.join(dir, rel);
        if (!file.startsWith(`${dir}/`)) throw new Error(`volume path ${JSON.stringify(rel)} leaves the volume`);
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
        // Contents are base64: secrets may be binary.
        const old = fs.existsSync(file) ? fs.readFileSync(file, "base64") : undefined;
        if (old !== f.content) fs.writeFileSync(file, f.content, "base64");
        let mode = f.mode;
        if (fsGroup !== undefined) {
            fs.chownSync(file, 0, fsGroup);
            mode |= 0o440;
        }
        fs.chmodSync(file, mode);
    }
}

type Files = Map<string, { content: string; mode: number }>;

async function objectFiles(ctx: NodeContext, ns: string, kind: "configmaps" | "secrets", name: string, items: Obj[] | undefined, mode: number, optional: boolean, into: Files): Promise<void> {
    const obj = await ctx.kube.find(`/api/v1/namespaces/${ns}/${kind}/${name}`);
    if (!obj) {
        if (optional) return;
        throw new Error(`${kind === "secrets" ? "secret" : "configmap"} ${ns}/${name} not found`);
    }
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) data[k] = kind === "secrets" ? v : Buffer.from(v).toString("base64");
    for (const [k, v] of Object.entries((obj.binaryData ?? {}) as Record<string, string>)) data[k] = v;
    const list: Obj[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const it of list) {
        if (data[it.key] === undefined) {
            if (optional) continue;
            throw new Error(`${kind} ${ns}/${name} has no key ${it.key}`);
        }
        into.set(it.path, { content: data[it.key]!, mode: it.mode ?? mode });
    }
}

async function saToken(ctx: NodeContext, pod: Obj, src: Obj): Promise<string> {
    const sa = pod.spec.serviceAccountName ?? "default";
    const r = await ctx.kube.request("POST", `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${sa}/token`, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
            ...(src.audience ? { audiences: [src.audience] } : {}),
            expirationSeconds: Number(src.expirationSeconds ?? 3607),
            boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
        },
    });
    return Buffer.from(String(r.status.token)).toString("base64");
}

/**
 * Writes every volume of the pod under `podDir/volumes/` (idempotent: rewrites only what changed, renews tokens) and
 * returns the bind mounts of container `c` (parents before children). Without `c`, only the files are refreshed.
 */
export async function buildVolumes(ctx: NodeContext, pod: Obj, c: Obj | undefined, podDir: string): Promise<ResolvedMount[]> {
    const ns = pod.metadata.namespace;
    const fsGroup: number | undefined = pod.spec.securityContext?.fsGroup;
    const sources = new Map<string, { path: string; readOnly: boolean; propagationFixed?: boolean }>();
    for (const v of pod.spec.volumes ?? []) {
        const dir = path.join(podDir, "volumes", v.name);
        if (v.emptyDir) {
            if (!fs.existsSync(dir)) {
                fs.mkdirSync(dir, { recursive: true });
                fs.chmodSync(dir, 0o777);
            }
            sources.set(v.name, { path: dir, readOnly: false });
        } else if (v.hostPath) {
            const mapped = ctx.hostPath(v.hostPath.path, v.hostPath.type ?? "");
            sources.set(v.name, { path: mapped.path, readOnly: mapped.readOnly });
        } else if (v.configMap || v.secret || v.projected || v.downwardAPI) {
            const files: Files = new Map();
            if (v.configMap) await objectFiles(ctx, ns, "configmaps", v.configMap.name, v.configMap.items, v.configMap.defaultMode ?? 0o644, v.configMap.optional === true, files);
            if (v.secret) await objectFiles(ctx, ns, "secrets", v.secret.secretName, v.secret.items, v.secret.defaultMode ?? 0o644, v.secret.optional === true, files);
            const mode = v.projected?.defaultMode ?? v.downwardAPI?.defaultMode ?? 0o644;
            for (const s of v.projected?.sources ?? []) {
                if (s.configMap) await objectFiles(ctx, ns, "configmaps", s.configMap.name, s.configMap.items, mode, s.configMap.optional === true, files);
                else if (s.secret) await objectFiles(ctx, ns, "secrets", s.secret.name, s.secret.items, mode, s.secret.optional === true, files);
                else if (s.serviceAccountToken) files.set(s.serviceAccountToken.path, { content: await saToken(ctx, pod, s.serviceAccountToken), mode: 0o600 });
                else if (s.downwardAPI) for (const it of s.downwardAPI.items ?? []) files.set(it.path, { content: Buffer.from(fieldValue(pod, it.fieldRef.fieldPath, "", ctx.nodeIP)).toString("base64"), mode: it.mode ?? mode });
                else throw new Error(`volume ${v.name}: a projected source the lab kubelet does not know: ${JSON.stringify(s)}`);
            }
            for (const it of v.downwardAPI?.items ?? []) files.set(it.path, { content: Buffer.from(fieldValue(pod, it.fieldRef.fieldPath, "", ctx.nodeIP)).toString("base64"), mode: it.mode ?? mode });
            writeFiles(dir, files, fsGroup);
            sources.set(v.name, { path: dir, readOnly: true });
        } else {
            throw new Error(`volume ${v.name}: a volume type the lab kubelet does not support: ${Object.keys(v).filter((k) => k !== "name").join(", ")}`);
        }
    }
    if (!c) return [];
    const mounts: ResolvedMount[] = (c.volumeMounts ?? []).map((m: Obj) => {
        const src = sources.get(m.name);
        if (!src) throw new Error(`volumeMount ${m.name}: no such volume in the pod`);
        const source = m.subPath ? path.join(src.path, m.subPath) : src.path;
        if (m.subPath && !fs.existsSync(source)) fs.mkdirSync(source, { recursive: true });
        return { source, target: m.mountPath, readOnly: src.readOnly || m.readOnly === true, propagation: m.mountPropagation ?? "None" };
    });
    return mounts.sort((a, b) => a.target.split("/").length - b.target.split("/").length);
}

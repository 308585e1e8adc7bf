// CNI as a container runtime calls it (CNI spec 1.x, conflist): the first config file of the node's
// /etc/cni/net.d (the one cilium-agent writes, write-cni-conf-when-ready), each plugin of its chain run from the
// node's /opt/cni/bin (where the chart's install-cni-binaries init container put cilium-cni) with CNI_* variables
// and the config on stdin, inside the node's view of its file system (container.sh with the node's /run, /etc/cni,
// /opt/cni and bpffs), in the node's network namespace.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Obj } from "./kube";
import type { NodeContext } from "./node";

export interface CniTarget {
    containerId: string;
    /** The pod's network namespace file (its path on this machine). */
    netns: string;
    namespace: string;
    name: string;
    uid: string;
}

/** The node's CNI config (conflist or single conf), or undefined when there is none yet. */
export function cniConfig(confDir: string): { file: string; conf: Obj } | undefined {
    if (!fs.existsSync(confDir)) return undefined;
    const files = fs.readdirSync(confDir).filter((f) => /\.(conflist|conf|json)$/.test(f)).sort();
    for (const f of files) {
        try {
            const conf = JSON.parse(fs.readFileSync(path.join(confDir, f), "utf8")) as Obj;
            if (f.endsWith(".conflist")) return { file: f, conf };
            return { file: f, conf: { cniVersion: conf.cniVersion, name: conf.name, plugins: [conf] } };
        } catch {
            continue;
        }
    }
    return undefined;
}

async function invoke(ctx: NodeContext, command: "ADD" | "DEL", t: CniTarget, plugin: Obj, list: Obj, prevResult: Obj | undefined): Promise<Obj> {
    const conf = { ...plugin, cniVersion: list.cniVersion, name: list.name, ...(prevResult ? { prevResult } : {}) };
    const env = {
        CNI_COMMAND: command,
        CNI_CONTAINERID: t.containerId,
        CNI_NETNS: ctx.nodeViewPath(t.netns),
        CNI_IFNAME: "eth0",
        CNI_PATH: "/opt/cni/bin",
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${t.namespace};K8S_POD_NAME=${t.name};K8S_POD_INFRA_CONTAINER_ID=${t.containerId};K8S_POD_UID=${t.uid}`,
    };
    const r = await ctx.runInNodeView([`/opt/cni/bin/${plugin.type}`], env, JSON.stringify(conf), 120_000);
    let out: Obj = {};
    try {
        out = r.stdout.trim() ? JSON.parse(r.stdout) : {};
    } catch {
        // not JSON
    }
    if (r.code !== 0 || out.code !== undefined) {
        throw new Error(`CNI ${command} ${plugin.type} failed (exit ${r.code}): ${out.msg ?? ""} ${out.details ?? ""} ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`.replace(/\s+/g, " ").trim());
    }
    return out;
}

/** CNI ADD through the whole chain; resolves the pod's IPv4 address. */
export async function cniAdd(ctx: NodeContext, t: CniTarget): Promise<string> {
    const found = cniConfig(ctx.cniConfDir);
    if (!found) throw new Error(`no CNI config in ${ctx.cniConfDir}`);
    let result: Obj | undefined;
    for (const plugin of found.conf.plugins ?? []) result = await invoke(ctx, "ADD", t, plugin, found.conf, result);
    const ip = (result?.ips ?? []).map((x: Obj) => String(x.address).split("/")[0]).find((a: string) => a.includes("."));
    if (!ip) throw new Error(`CNI ADD returned no IPv4 address: ${JSON.stringify(result).slice(0, 300)}`);
    return ip;
}

/** CNI DEL through the chain, last plugin first. */
export async function cniDel(ctx: NodeContext, t: CniTarget): Promise<void> {
    const found = cniConfig(ctx.cniConfDir);
    if (!found) return;
    for (const plugin of [...(found.conf.plugins ?? [])].reverse()) await invoke(ctx, "DEL", t, plugin, found.conf, undefined);
}

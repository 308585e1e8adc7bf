// The lab's stand-in for cilium-operator: the Cilium policy CRDs, registered in the lab's kube-apiserver the way cilium-operator registers
// them at start-up in a real cluster (the lab runs no operator: kwok pods never run a process). The CRDs are built
// at test time from the reference JSON Schemas in <repo>/../shared/reference/cilium/crd-schemas (never copied into
// the repo), so the apiserver validates every policy server-side against Cilium's own schema.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..");

/** KUBECONFIG of the running lab (`$LAB_DIR/env`, default .lab/env). */
function labKubeconfig(): string {
    const file = path.join(process.env.LAB_DIR ?? path.join(repoRoot, ".lab"), "env");
    const m = fs.existsSync(file) ? /KUBECONFIG=(\S+)/.exec(fs.readFileSync(file, "utf8")) : null;
    if (!m) throw new Error(`the lab is not up (${file} has no KUBECONFIG): run bash lab/up.sh`);
    return m[1]!.replace(/^["']|["']$/g, "");
}

export const crdSchemaDir = process.env.CILIUM_REFERENCE_DIR
    ? path.join(process.env.CILIUM_REFERENCE_DIR, "crd-schemas")
    : path.resolve(repoRoot, "..", "shared", "reference", "cilium", "crd-schemas");

/** The two policy CRDs as cilium-operator defines them (pkg/k8s/apis/cilium.io/client/crds/v2), schema from the reference. */
const CRDS = [
    { file: "ciliumnetworkpolicy_v2.json", kind: "CiliumNetworkPolicy", plural: "ciliumnetworkpolicies", scope: "Namespaced", shortNames: ["cnp", "ciliumnp"] },
    { file: "ciliumclusterwidenetworkpolicy_v2.json", kind: "CiliumClusterwideNetworkPolicy", plural: "ciliumclusterwidenetworkpolicies", scope: "Cluster", shortNames: ["ccnp"] },
] as const;

export const ciliumCrdNames: readonly string[] = CRDS.map((c) => `${c.plural}.cilium.io`);

/** CustomResourceDefinition manifests wrapping each reference `openAPIV3Schema`. */
export function ciliumCrdManifests(): Record<string, unknown>[] {
    return CRDS.map((c) => {
        const file = path.join(crdSchemaDir, c.file);
        if (!fs.existsSync(file)) throw new Error(`reference CRD schema missing: ${file} (set CILIUM_REFERENCE_DIR to the reference/cilium folder)`);
        return {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name: `${c.plural}.cilium.io`, labels: { "io.cilium.k8s.crd.schema.version": "lab-reference" } },
            spec: {
                group: "cilium.io",
                names: { kind: c.kind, listKind: `${c.kind}List`, plural: c.plural, singular: c.kind.toLowerCase(), shortNames: [...c.shortNames], categories: ["cilium", "ciliumpolicy"] },
                scope: c.scope,
                versions: [{
                    name: "v2", served: true, storage: true,
                    schema: { openAPIV3Schema: structural(JSON.parse(fs.readFileSync(file, "utf8"))) },
                    subresources: { status: {} },
                    additionalPrinterColumns: [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }],
                }],
            },
        };
    });
}

/**
 * The reference schemas are the strict variant that offline validators use (`additionalProperties: false` beside
 * every `properties`); the apiserver refuses that pair in a CRD ("additionalProperties and properties are mutual
 * exclusive"), so it is dropped here. The real CRD has no such flag: the apiserver prunes unknown fields instead.
 */
function structural(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(structural);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (k === "additionalProperties" && v === false && "properties" in (node as object)) continue;
        out[k] = structural(v);
    }
    return out;
}

/** kubectl against the lab, async (the Automation API keeps running meanwhile), with optional stdin. */
function kubectlAsync(args: string[], input?: string): Promise<string> {
    const kubeconfig = labKubeconfig();
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(repoRoot, ".lab", "bin", "kubectl"), args, { env: { ...process.env, KUBECONFIG: kubeconfig } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(" ")} exited ${code}: ${stderr.trim()}`))));
        child.stdin.end(input ?? "");
    });
}

/**
 * Registers both CRDs and waits until they are Established. Server-side apply: each CRD is ~400 kB, over the
 * 256 kB limit of the annotation a client-side apply would write.
 */
export async function registerCiliumCrds(): Promise<void> {
    const list = { apiVersion: "v1", kind: "List", items: ciliumCrdManifests() };
    await kubectlAsync(["apply", "--server-side", "--field-manager=lab-cilium-operator-stand-in", "--force-conflicts", "-f", "-"], JSON.stringify(list));
    await kubectlAsync(["wait", "--for=condition=Established", "--timeout=60s", ...ciliumCrdNames.map((n) => `crd/${n}`)]);
}

/** Removes both CRDs (and so every Cilium policy in the lab) and waits until they are gone. */
export async function unregisterCiliumCrds(): Promise<void> {
    await kubectlAsync(["delete", "crd", "--ignore-not-found", "--wait=true", "--timeout=120s", ...ciliumCrdNames]);
}

/** Whether both CRDs exist right now. */
export async function ciliumCrdsPresent(): Promise<boolean> {
    const out = await kubectlAsync(["get", "crd", "--ignore-not-found", "-o", "name", ...ciliumCrdNames]);
    return out.trim().split("\n").filter(Boolean).length === ciliumCrdNames.length;
}

/**
 * Registers the CRDs `delayMs` from now, like an operator that starts late. `done` settles once they are
 * Established (or registration failed); `cancel()` before the delay skips it.
 */
export function registerCiliumCrdsAfter(delayMs: number): { done: Promise<void>; cancel: () => void } {
    let settle: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve, reject) => {
        settle = resolve;
        timer = setTimeout(() => void registerCiliumCrds().then(resolve, reject), delayMs);
    });
    return {
        done,
        cancel: () => {
            clearTimeout(timer);
            settle();
        },
    };
}

// `node --import tsx lab/cilium-crds.ts register|unregister` (lab/main.sh registers them before `pulumi up`).
if (require.main === module) {
    const verb = process.argv[2];
    const run = verb === "register" ? registerCiliumCrds : verb === "unregister" ? unregisterCiliumCrds : undefined;
    if (!run) {
        process.stderr.write("usage: node --import tsx lab/cilium-crds.ts register|unregister\n");
        process.exit(2);
    }
    run().then(
        () => process.stdout.write(`lab: Cilium policy CRDs ${verb === "register" ? "registered (standing in for cilium-operator)" : "removed"}: ${ciliumCrdNames.join(", ")}\n`),
        (e: Error) => {
            process.stderr.write(`lab: ${e.message}\n`);
            process.exit(1);
        },
    );
}

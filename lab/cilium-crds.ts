// The lab's stand-in for cilium-operator: the Cilium policy CRDs, registered in the lab's kube-apiserver the way cilium-operator registers
// them at start-up in a real cluster (in the kwok lab no operator runs: kwok pods never run a process). The CRDs are
// the release's own manifests, those lab/build-cilium.sh copies unmodified from the Go module pinned by lab/versions.env
// (lab/cilium-share.ts: <share>/crds/<plural>.yaml, the ones the operator embeds), so the apiserver validates every
// policy server-side against Cilium's own schema, CEL rules included.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { ciliumShare } from "./cilium-share";

const repoRoot = path.resolve(__dirname, "..");

/** KUBECONFIG of the running lab (`$LAB_DIR/env`, default .lab/env). */
function labKubeconfig(): string {
    const file = path.join(process.env.LAB_DIR ?? path.join(repoRoot, ".lab"), "env");
    const m = fs.existsSync(file) ? /KUBECONFIG=(\S+)/.exec(fs.readFileSync(file, "utf8")) : null;
    if (!m) throw new Error(`the lab is not up (${file} has no KUBECONFIG): run bash lab/up.sh`);
    return m[1]!.replace(/^["']|["']$/g, "");
}

/** The two policy CRDs (pkg/k8s/apis/cilium.io/client/crds/v2 upstream): the ones PolicySet waits for. */
const CRD_PLURALS = ["ciliumnetworkpolicies", "ciliumclusterwidenetworkpolicies"] as const;

export const ciliumCrdNames: readonly string[] = CRD_PLURALS.map((p) => `${p}.cilium.io`);

/** The released CustomResourceDefinition manifests of both policy CRDs, as they are in `crdDir` (default: the pinned release's). */
export function ciliumCrdManifests(crdDir = ciliumShare().crdDir): Record<string, unknown>[] {
    return CRD_PLURALS.map((plural) => {
        const file = path.join(crdDir, `${plural}.yaml`);
        const crd = parseYaml(fs.readFileSync(file, "utf8")) as { kind?: unknown; metadata?: { name?: unknown } } | null;
        if (crd?.kind !== "CustomResourceDefinition" || crd.metadata?.name !== `${plural}.cilium.io`) {
            throw new Error(`${file}: not the ${plural}.cilium.io CustomResourceDefinition`);
        }
        return crd as Record<string, unknown>;
    });
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

// The offline engine against the real datapath on generated policies (issue 12): for each seed, fast-check generates
// a set of CiliumNetworkPolicies over the demo's workloads (ingress/egress, peers by app label or namespace, entity
// world/host peers, ports 80/8080 or any, default deny); they are applied next to the lab stack's own policies, and
// every matrix cell the lab can send is probed between the real pods (the same runner as `microseg verify --all`)
// and compared with the offline engine on the stack's policies plus the generated ones. Prints per seed and in total
// how many cells agree (datapath and Hubble both as the engine says), and each disagreement. Bounded: SEEDS seeds
// (default 5) of 1-4 policies each; probes time out after TIMEOUT_MS (default 1500 ms here).
// Needs the datapath lab with the lab stack up (bash lab/main.sh). Figures only, never pass/fail.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import fc from "fast-check";
import { parseConfig } from "../config";
import { readStackConfig } from "../cli/stack-file";
import { verify } from "../cli/verify";
import { expectations } from "../policies/expectations";
import { cnp, fromEndpoints, fromNamespace, tcp } from "../lib/policy/model/helpers";
import type { PolicyManifest } from "../lib/policy/model/schema";
import { workloads } from "../policies/workloads";
import { deployedPolicies } from "../lib/stack/stack-plan";
import { policies as userPolicies } from "../policies";
import { readEnvFile } from "../lib/base/env-file";

const REPO = path.resolve(__dirname, "..");
const LAB_DIR = process.env["LAB_DIR"] ?? path.join(REPO, ".lab");
const SEEDS = Number(process.env["SEEDS"] ?? 5);
process.env["TIMEOUT_MS"] ??= "1500";

const demo = workloads.workloads.filter((w) => w.namespace !== "kube-system");
const namespaces = [...new Set(demo.map((w) => w.namespace))];
const workload = fc.constantFrom(...demo);
const peer = fc.oneof(
    workload.map((w) => ({ fromEndpoints: [fromEndpoints({ app: w.labels["app"]! }, { namespace: w.namespace })] })),
    fc.constantFrom(...namespaces).map((ns) => ({ fromEndpoints: [fromNamespace(ns)] })),
    fc.constantFrom("world", "host").map((e) => ({ fromEntities: [e] })),
);
const ports = fc.constantFrom(undefined, [tcp(80)], [tcp(8080)], [tcp(80), tcp(8080)]);
const rule = fc.record({ peer, ports }).map(({ peer, ports }) => ({ ...peer, ...(ports ? { toPorts: [{ ports }] } : {}) }));
const policy = fc.record({ target: workload, egress: fc.boolean(), rules: fc.array(rule, { minLength: 0, maxLength: 3 }) });
const policySet = fc.array(policy, { minLength: 1, maxLength: 4 });

/** An ingress rule's peer turned into an egress rule's (fromX → toX). */
function asEgress(r: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/^from/, "to"), v]));
}

function generate(seed: number): PolicyManifest[] {
    const [set] = fc.sample(policySet, { seed, numRuns: 1 });
    return set!.map((p, i) => cnp(`gen-${seed}-${i}`, p.target.namespace, {
        endpointSelector: { matchLabels: { app: p.target.labels["app"]! } },
        // No rule: default deny in that direction, allowing nothing.
        ...(p.egress ? { egress: p.rules.length ? p.rules.map(asEgress) : [{}] } : { ingress: p.rules.length ? p.rules : [{}] }),
    } as never));
}

function kubectl(args: string[], input?: string): string {
    const env = readEnvFile(path.join(LAB_DIR, "env"));
    const r = spawnSync(path.join(LAB_DIR, "bin", "kubectl"), ["--kubeconfig", env["KUBECONFIG"]!, ...args], { encoding: "utf8", input });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

async function main(): Promise<void> {
    const cfg = parseConfig(readStackConfig(path.join(REPO, "Pulumi.lab.yaml"), "Pulumi.lab.yaml"), { projectDir: REPO });
    let agree = 0;
    let total = 0;
    const disagreements: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
        const generated = generate(seed);
        kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: generated }));
        // The agents import a policy within a second of the apiserver event; a margin for both nodes.
        await new Promise((r) => setTimeout(r, 8000));
        let table = "";
        try {
            const result = await verify({
                cfg, shown: `Pulumi.lab.yaml + seed ${seed}`, projectDir: REPO, policies: [...deployedPolicies(cfg, { policies: userPolicies, workloads }).policies, ...generated], workloads,
                expectations, all: true, labDir: LAB_DIR, out: (s) => (table += s), err: () => undefined,
            });
            const ok = result.rows.filter((r) => r.status === "agree").length;
            const probed = result.rows.filter((r) => r.status === "agree" || r.status === "disagree").length;
            agree += ok;
            total += probed;
            for (const r of result.rows.filter((x) => x.status === "disagree")) disagreements.push(`seed ${seed}: ${r.probe.flow}: ${r.why}`);
            process.stdout.write(`seed ${seed}: ${generated.length} generated policies (${generated.map((g) => `${g.metadata.namespace}/${g.metadata.name}`).join(", ")}): ${ok} of ${probed} cells agree\n`);
        } finally {
            kubectl(["delete", "--ignore-not-found", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: generated }));
        }
        if (process.env["SHOW_TABLES"]) process.stdout.write(table);
    }
    process.stdout.write(`agreement: ${agree} of ${total} probed cells (${total ? ((100 * agree) / total).toFixed(1) : "0"} %) over ${SEEDS} seeds\n`);
    for (const d of disagreements) process.stdout.write(`  disagree: ${d}\n`);
}

main().catch((e: unknown) => {
    process.stderr.write(`bench/datapath-agreement: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});

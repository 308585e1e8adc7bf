// Figures for issue 6: `pulumi preview` of 10 / 100 / 500 policies through PolicySet (typed, checked) next to the
// same manifests as raw YAML through `k8s.yaml.ConfigGroup`, as a ratio; and `microseg check --policies` on 500
// raw policies. Previews are of a fresh stack (every policy a create; the provider dry-runs each against the lab's
// apiserver). Needs the engine and a running lab. Prints figures, never fails on time.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify as toYaml } from "yaml";
import { ciliumCrdsPresent, registerCiliumCrds } from "../lab/cilium-crds";
import { cnp } from "../lib/policy/model/helpers";
import type { PolicyManifest } from "../lib/policy/model/schema";
import { kubectl, labEnv, newProgramStack, repoRoot } from "../test/lab/harness";
import { median, timed } from "./lab-stack";

const NAMESPACE = "bench-policies";

/** N distinct, valid policies: each lets one app's clients reach it on TCP 8080 with an L7 rule. */
export function syntheticPolicies(n: number): PolicyManifest[] {
    return Array.from({ length: n }, (_, i) =>
        cnp(`bench-${i}`, NAMESPACE, {
            endpointSelector: { matchLabels: { app: `app-${i}` } },
            ingress: [{
                fromEndpoints: [{ matchLabels: { app: `client-${i % 10}` } }],
                toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }], rules: { http: [{ method: "GET", path: `/v1/${i}` }] } }],
            }],
        }),
    );
}

const typedProgram = `
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PolicySet } from ${JSON.stringify(path.join(repoRoot, "components", "policy", "policy-set"))};
const kubeconfig = pulumi.secret(fs.readFileSync(new pulumi.Config().require("kubeconfigPath"), "utf8"));
const provider = new k8s.Provider("lab", { kubeconfig });
new PolicySet("policies", { policies: JSON.parse(fs.readFileSync(__dirname + "/policies.json", "utf8")), kubeconfig }, { provider });
`;

const rawProgram = `
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
const kubeconfig = pulumi.secret(fs.readFileSync(new pulumi.Config().require("kubeconfigPath"), "utf8"));
const provider = new k8s.Provider("lab", { kubeconfig });
new k8s.yaml.ConfigGroup("policies", { yaml: fs.readFileSync(__dirname + "/policies.yaml", "utf8") }, { provider });
`;

async function previewSeconds(kind: "typed" | "raw", policies: PolicyManifest[]): Promise<number[]> {
    const name = `bench-${kind}`;
    const { stack, workDir, cleanup } = await newProgramStack(name, {
        "Pulumi.yaml": toYaml({ name, runtime: { name: "nodejs", options: { typescript: true } } }),
        "package.json": JSON.stringify({ name, private: true, main: "index.ts" }),
        "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true } }),
        "index.ts": kind === "typed" ? typedProgram : rawProgram,
        "policies.json": JSON.stringify(policies),
        "policies.yaml": policies.map((p) => toYaml(p)).join("---\n"),
    });
    try {
        await stack.setConfig(`${name}:kubeconfigPath`, { value: labEnv().KUBECONFIG });
        const times: number[] = [];
        for (let i = 0; i < 3; i++) {
            const [t, r] = await timed(() => stack.preview({ color: "never" }));
            if ((r.changeSummary?.create ?? 0) < policies.length) throw new Error(`${kind}: preview planned ${JSON.stringify(r.changeSummary)}`);
            times.push(t);
        }
        void workDir;
        return times;
    } finally {
        await cleanup();
    }
}

async function main(): Promise<void> {
    const crdsWereThere = await ciliumCrdsPresent();
    if (!crdsWereThere) await registerCiliumCrds();
    kubectl("create", "namespace", NAMESPACE);
    try {
        for (const n of [10, 100, 500]) {
            const policies = syntheticPolicies(n);
            const typed = median(await previewSeconds("typed", policies));
            const raw = median(await previewSeconds("raw", policies));
            console.log(`preview of ${n} policies (fresh stack, median of 3): PolicySet ${typed.toFixed(2)} s, ConfigGroup ${raw.toFixed(2)} s, typed/raw ${(typed / raw).toFixed(3)} (${((typed / raw - 1) * 100).toFixed(1)}%)`);
        }
    } finally {
        kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false");
    }

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-bench-check-"));
    syntheticPolicies(500).forEach((p, i) => fs.writeFileSync(path.join(dir, `p${i}.yaml`), toYaml(p)));
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
        runs.push((await timed(async () => execFileSync(process.execPath, [path.join(repoRoot, "bin", "microseg.js"), "check", "--policies", dir], { encoding: "utf8" })))[0]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`microseg check --policies, 500 policies in 500 files (whole CLI process): median ${median(runs).toFixed(2)} s`);
}

main().catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
});

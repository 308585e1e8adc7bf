// PolicySet (components/policy/policy-set.ts) on the real engine against the lab's kube-apiserver, through the
// Automation API, with a small program of its own (so it does not depend on index.ts): the CRD wait (never
// registered -> clear error; registered late -> waits, then creates), every policy created and validated by the
// apiserver against Cilium's CRD schema, one edit -> exactly one update, a no-op up, one removal -> one delete.
//
// The lab runs no cilium-operator (kwok pods run no process), so lab/cilium-crds.ts stands in for it: it
// registers the release's two policy CRD manifests (lab/versions.env's Cilium), the way the operator does at start-up.
// This test removes them for the wait scenarios and leaves them as it found them (present or absent).
// Needs the engine (lab/build-engine.sh) and a running lab (lab/up.sh).
// Run: node --import tsx --test test/lab/policy-set.test.ts
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify as toYaml } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { ccnp, fromEndpoints } from "../../lib/policy/model/helpers";
import { policies as repoPolicies } from "../../policies/index";
import type { PolicyManifest } from "../../lib/policy/model/schema";
import { ciliumCrdsPresent, registerCiliumCrds, registerCiliumCrdsAfter, unregisterCiliumCrds } from "../../lab/cilium-crds";
import { kubectl, labEnv, newProgramStack, repoRoot } from "./harness";

const PROJECT = "policyset-lab";
const id = `ps${process.pid}`;

/** The program: a provider from the lab kubeconfig and a PolicySet of the manifests in policies.json. */
const program = `
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PolicySet } from ${JSON.stringify(path.join(repoRoot, "components", "policy", "policy-set"))};

const cfg = new pulumi.Config();
const kubeconfig = pulumi.secret(fs.readFileSync(cfg.require("kubeconfigPath"), "utf8"));
const provider = new k8s.Provider("lab", { kubeconfig });
const set = new PolicySet("policies", {
    policies: JSON.parse(fs.readFileSync(__dirname + "/policies.json", "utf8")),
    kubeconfig,
    checks: { podCidr: cfg.require("podCidr"), serviceCidr: cfg.require("serviceCidr"), l7ProxyEnabled: true },
    crdTimeoutSeconds: cfg.requireNumber("crdTimeoutSeconds"),
}, { provider });
export const policyNames = set.policyNames;
export const digest = set.digest;
`;

/** The repo's policies moved to namespaces of this test, plus one clusterwide policy, so runs never collide. */
function testPolicies(): PolicyManifest[] {
    // Clusterwide policies of the repo are left out: they are not namespaced and their names would collide across runs.
    const moved = repoPolicies
        .filter((p) => p.kind === "CiliumNetworkPolicy")
        .map((p): PolicyManifest => ({ ...p, metadata: { ...p.metadata, namespace: `${id}-${p.metadata.namespace}` } }));
    const dns = ccnp(`${id}-allow-dns`, {
        description: "every pod may ask kube-dns",
        endpointSelector: {},
        egress: [{ toEndpoints: [fromEndpoints({ "k8s-app": "kube-dns" }, { namespace: "kube-system" })], toPorts: [{ ports: [{ port: "53", protocol: "ANY" }] }] }],
    });
    return [...moved, dns];
}

const changes = (c: Record<string, number> | undefined) => Object.fromEntries(Object.entries(c ?? {}).filter(([k]) => k !== "same"));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe("PolicySet on the real engine and the lab's kube-apiserver", { timeout: 15 * 60_000 }, () => {
    let stack: Stack;
    let workDir: string;
    let cleanup: () => Promise<void>;
    let crdsWereThere = false;
    let manifests: PolicyManifest[] = testPolicies();
    const namespaces = [...new Set(manifests.flatMap((m) => (m.metadata.namespace ? [m.metadata.namespace] : [])))];
    const writePolicies = () => fs.writeFileSync(path.join(workDir, "policies.json"), JSON.stringify(manifests, null, 2));
    const setTimeoutConfig = (s: number) => stack.setConfig(`${PROJECT}:crdTimeoutSeconds`, { value: String(s) });

    before(async () => {
        const env = labEnv();
        crdsWereThere = await ciliumCrdsPresent();
        await unregisterCiliumCrds();
        for (const ns of namespaces) {
            const r = kubectl("create", "namespace", ns);
            assert.equal(r.status, 0, r.stderr);
        }
        ({ stack, workDir, cleanup } = await newProgramStack("policyset", {
            "Pulumi.yaml": toYaml({ name: PROJECT, runtime: { name: "nodejs", options: { typescript: true } } }),
            "package.json": JSON.stringify({ name: PROJECT, private: true, main: "index.ts" }),
            "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, resolveJsonModule: true, skipLibCheck: true } }),
            "index.ts": program,
        }));
        writePolicies();
        await stack.setAllConfig({
            [`${PROJECT}:kubeconfigPath`]: { value: env.KUBECONFIG },
            [`${PROJECT}:podCidr`]: { value: env.LAB_POD_CIDR },
            [`${PROJECT}:serviceCidr`]: { value: env.LAB_SERVICE_CIDR },
        });
    });
    after(async () => {
        try {
            await cleanup?.();
        } finally {
            for (const ns of namespaces) kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false");
            if (crdsWereThere) await registerCiliumCrds();
            else await unregisterCiliumCrds();
        }
    });

    it("CRDs never registered: up fails after crdTimeoutSeconds, naming the CRDs and the operator's logs; nothing is created", async (t) => {
        await setTimeoutConfig(5);
        const started = Date.now();
        await assert.rejects(stack.up({ color: "never" }), (e: Error) => {
            assert.ok(e.message.includes(
                `PolicySet: timed out after 5 s waiting for the CRDs ciliumnetworkpolicies.cilium.io (not found), ciliumclusterwidenetworkpolicies.cilium.io (not found) to be Established at ${labEnv().LAB_APISERVER_URL}. `
                + "cilium-operator registers them when it starts: check that it runs (kubectl -n kube-system get deploy/cilium-operator) "
                + "and read its logs (kubectl -n kube-system logs deploy/cilium-operator); or raise crdTimeoutSeconds."), e.message);
            assert.equal(e.message.match(/^Diagnostics:$/gm)?.length, e.message.match(/^ {4}error: .*PolicySet: timed out/gm)?.length, "one error per Diagnostics block");
            t.diagnostic(`failed up took ${seconds(Date.now() - started)}`);
            return true;
        });
        const state = (await stack.exportStack()).deployment.resources ?? [];
        assert.deepEqual(state.filter((r: { type: string }) => r.type.startsWith("kubernetes:cilium.io/")), []);
    });

    it("CRDs registered 20 s after up starts: PolicySet waits, then creates every policy, accepted by the apiserver's schema", async (t) => {
        await setTimeoutConfig(120);
        const late = registerCiliumCrdsAfter(20_000);
        const started = Date.now();
        try {
            const result = await stack.up({ color: "never" });
            const took = Date.now() - started;
            t.diagnostic(`up with CRDs registered after 20 s: ${seconds(took)}; ${JSON.stringify(result.summary.resourceChanges)}`);
            assert.equal(result.summary.result, "succeeded");
            assert.ok(took >= 20_000, `up returned after ${took} ms, before the CRDs existed`);
            // The provider and the PolicySet itself were created by the failed up before.
            assert.deepEqual(changes(result.summary.resourceChanges), { create: manifests.length });
            assert.deepEqual(result.outputs.policyNames?.value, manifests.map((m) => (m.metadata.namespace ? `${m.metadata.namespace}/${m.metadata.name}` : m.metadata.name)));
            assert.match(result.outputs.digest?.value, /^[0-9a-f]{64}$/);
        } finally {
            late.cancel();
            await late.done;
        }
        for (const m of manifests) {
            const args = m.metadata.namespace ? ["-n", m.metadata.namespace] : [];
            const r = kubectl("get", m.kind.toLowerCase(), m.metadata.name, ...args, "-o", "json");
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout).spec, JSON.parse(JSON.stringify(m.spec)), `${m.metadata.name}: the apiserver kept the spec as sent`);
        }
    });

    it("one policy edited: preview shows exactly one update, with the changed field", async (t) => {
        const i = manifests.findIndex((m) => m.metadata.name === "http-filtering");
        const edited = JSON.parse(JSON.stringify(manifests[i])) as PolicyManifest;
        edited.spec!.ingress![0]!.toPorts![0]!.rules!.http![0]!.path = "/api/v2";
        manifests = manifests.map((m, j) => (j === i ? edited : m));
        writePolicies();
        const started = Date.now();
        const preview = await stack.preview({ color: "never", diff: true });
        t.diagnostic(`preview after one edit: ${seconds(Date.now() - started)}; ${JSON.stringify(preview.changeSummary)}`);
        assert.deepEqual(changes(preview.changeSummary), { update: 1 });
        assert.match(preview.stdout, /~ kubernetes:cilium\.io\/v2:CiliumNetworkPolicy: \(update\)/);
        assert.match(preview.stdout, /"\/api" => "\/api\/v2"/);
    });

    it("up applies the edit; a second up changes nothing", async (t) => {
        let started = Date.now();
        const applied = await stack.up({ color: "never" });
        t.diagnostic(`up of one edit: ${seconds(Date.now() - started)}`);
        assert.deepEqual(changes(applied.summary.resourceChanges), { update: 1 });
        const ns = `${id}-default`;
        const r = kubectl("-n", ns, "get", "ciliumnetworkpolicy", "http-filtering", "-o", "jsonpath={.spec.ingress[0].toPorts[0].rules.http[0].path}");
        assert.equal(r.stdout, "/api/v2", r.stderr);
        started = Date.now();
        const again = await stack.up({ color: "never" });
        t.diagnostic(`no-op up: ${seconds(Date.now() - started)}`);
        assert.deepEqual(changes(again.summary.resourceChanges), {});
    });

    it("one policy removed: exactly one delete, and it is gone from the apiserver", async (t) => {
        const gone = manifests.find((m) => m.metadata.name === "deny-all")!;
        manifests = manifests.filter((m) => m !== gone);
        writePolicies();
        const preview = await stack.preview({ color: "never" });
        assert.deepEqual(changes(preview.changeSummary), { delete: 1 });
        const started = Date.now();
        const result = await stack.up({ color: "never" });
        t.diagnostic(`up of one removal: ${seconds(Date.now() - started)}`);
        assert.deepEqual(changes(result.summary.resourceChanges), { delete: 1 });
        const r = kubectl("-n", gone.metadata.namespace!, "get", "ciliumnetworkpolicy", gone.metadata.name);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /NotFound/);
    });
});

// The real program (index.ts) on the real engine against the local lab, through the Automation API:
// create, a no-op re-run, a bad config that fails preview and leaves state alone, and destroy.
// Needs: the engine (lab/build-engine.sh) and a running lab (lab/up.sh); test/run.sh provides both.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { registerCiliumCrds } from "../../lab/cilium-crds";
import { policyDisplayName } from "../../components/policy/policy-set";
import { policies as typedPolicies } from "../../policies";
import { cliStackExport, kubectl, labEnv, labStackConfig, newLabStack } from "./harness";

function changes(summary: { resourceChanges?: Record<string, number> }): Record<string, number> {
    const c = { ...(summary.resourceChanges ?? {}) };
    delete c.same;
    return c;
}

describe("lab stack on the real engine", { timeout: 20 * 60_000 }, () => {
    let stack: Stack;
    let workDir: string;
    let cleanup: () => Promise<void>;

    before(async () => {
        // The lab runs no cilium-operator: register the policy CRDs in its place (lab/cilium-crds.ts).
        await registerCiliumCrds();
        ({ stack, workDir, cleanup } = await newLabStack("labtest"));
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config: labStackConfig() }));
    });
    after(async () => {
        await cleanup?.();
    });

    it("up creates the stack record, the Cilium release and the relay NodePort in the kube-apiserver", async () => {
        const result = await stack.up({ color: "never" });
        assert.equal(result.summary.result, "succeeded");
        assert.ok((result.summary.resourceChanges?.create ?? 0) >= 5, JSON.stringify(result.summary.resourceChanges));

        const record = kubectl("-n", "kube-system", "get", "configmap", "microseg-stack", "-o", "json");
        assert.equal(record.status, 0, record.stderr);
        const data = JSON.parse(record.stdout).data;
        assert.equal(data.environment, "lab");
        assert.equal(data.stack, stack.name);

        const svc = kubectl("-n", "kube-system", "get", "service", "hubble-relay", "-o", "json");
        assert.equal(svc.status, 0, svc.stderr);
        const spec = JSON.parse(svc.stdout).spec;
        assert.equal(spec.type, "NodePort");
        assert.deepEqual(spec.ports.map((p: { nodePort: number }) => p.nodePort), [31245]);

        const ds = kubectl("-n", "kube-system", "get", "daemonset", "cilium", "-o", "jsonpath={.status.numberReady}/{.status.desiredNumberScheduled}");
        assert.equal(ds.status, 0, ds.stderr);
        assert.equal(ds.stdout, `${labEnv().LAB_NODE_COUNT}/${labEnv().LAB_NODE_COUNT}`);

        const cnps = kubectl("get", "ciliumnetworkpolicies", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}");
        assert.equal(cnps.status, 0, cnps.stderr);
        const expectedCnps = typedPolicies.filter((p) => p.kind === "CiliumNetworkPolicy").map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
        assert.deepEqual(cnps.stdout.trim().split(" ").sort(), expectedCnps.sort());
        const ccnps = kubectl("get", "ciliumclusterwidenetworkpolicies", "-o", "jsonpath={range .items[*]}{.metadata.name} {end}");
        const expectedCcnps = typedPolicies.filter((p) => p.kind === "CiliumClusterwideNetworkPolicy").map((p) => p.metadata.name);
        assert.deepEqual(ccnps.stdout.trim().split(" ").filter(Boolean).sort(), expectedCcnps.sort());
        assert.deepEqual(result.outputs.policies?.value.slice().sort(), typedPolicies.map(policyDisplayName).sort());

        // The relay address is the first of Pulumi.lab.yaml's nodeAddresses (the datapath lab's first node).
        const relayAddress = `${labStackConfig()["microseg:cluster"].nodeAddresses[0]}:31245`;
        assert.equal(result.outputs.hubbleRelayAddress?.value, relayAddress);
        assert.equal(result.outputs.hubbleConfigCommands?.value[0], `hubble config set relay-address ${relayAddress}`);
        assert.equal(result.outputs.kubeconfig?.secret, true);
        assert.equal(result.outputs.hubbleClientKey?.secret, true);
    });

    it("a second up changes nothing", async () => {
        const result = await stack.up({ color: "never" });
        assert.deepEqual(changes(result.summary), {});
    });

    it("a changed chart value updates only the Helm release, and the relay NodePort survives the upgrade", async () => {
        const config = labStackConfig();
        config["microseg:cilium"].valuesOverrides = { operator: { replicas: 1 } };
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config }));
        const preview = await stack.preview({ color: "never", diff: true });
        assert.deepEqual(changes({ resourceChanges: preview.changeSummary }), { update: 1 });
        assert.match(preview.stdout, /~ kubernetes:helm\.sh\/v3:Release: \(update\)\n.*\n.*::cilium-helm-release\]\n/);
        assert.match(preview.stdout, /~ values: \{\n\s+\+ operator: \{\n\s+\+ replicas: 1\n/);
        const result = await stack.up({ color: "never" });
        assert.deepEqual(changes(result.summary), { update: 1 });
        const operator = kubectl("-n", "kube-system", "get", "deployment", "cilium-operator", "-o", "jsonpath={.spec.replicas}");
        assert.equal(operator.stdout, "1");
        const svc = JSON.parse(kubectl("-n", "kube-system", "get", "service", "hubble-relay", "-o", "json").stdout).spec;
        assert.equal(svc.type, "NodePort");
        assert.deepEqual(svc.ports.map((p: { nodePort: number }) => p.nodePort), [31245]);
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config: labStackConfig() }));
        assert.deepEqual(changes((await stack.up({ color: "never" })).summary), { update: 1 });
    });

    it("a value only the chart's templates refuse fails preview, rendered by the provider's Helm, naming the setting", async () => {
        const config = labStackConfig();
        config["microseg:cilium"].valuesOverrides = { hubble: { ui: { standalone: { enabled: true } } } };
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config }));
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.match(e.message, /The Cilium chart refused these values/);
            assert.match(e.message, /cilium\.valuesOverrides\.hubble\.ui\.standalone/);
            assert.match(e.message, /certsVolume/);
            return true;
        });
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config: labStackConfig() }));
    });

    it("keeps secrets out of the state in plain text", async () => {
        const state = cliStackExport(workDir, stack.name);
        assert.ok(state.includes("4dabf18193072939515e22adb298388d"), "the state holds encrypted secret values");
        const kubeconfig = parseYaml(fs.readFileSync(labEnv().KUBECONFIG, "utf8")) as { users: { user: Record<string, string> }[] };
        const clientKey = kubeconfig.users[0]!.user["client-key-data"]!;
        assert.ok(clientKey.length > 100);
        assert.ok(!state.includes(clientKey), "the kubeconfig's client key is in the state in plain text");
        assert.doesNotMatch(state, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key is in the state in plain text");
    });

    it("a bad config fails preview with its message and leaves the state as it was", async () => {
        const before = (await stack.exportStack()).deployment.resources.map((r: { urn: string }) => r.urn).sort();
        await stack.setConfig("microseg:hubble", { value: JSON.stringify({ relay: { nodePort: 4245 } }) });
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.match(e.message, /hubble\.relay\.nodePort: outside cluster\.serviceNodePortRange "30000-32767" \(4245\)/);
            return true;
        });
        await assert.rejects(stack.up({ color: "never" }));
        const afterUrns = (await stack.exportStack()).deployment.resources.map((r: { urn: string }) => r.urn).sort();
        assert.deepEqual(afterUrns, before);
        await stack.removeConfig("microseg:hubble");
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config: labStackConfig() }));
        const preview = await stack.preview({ color: "never" });
        assert.deepEqual(changes({ resourceChanges: preview.changeSummary }), {});
    });

    it("a new pod CIDR on the running cluster is refused at preview with the reason and the safe path; nothing changes", async () => {
        const resources = async () =>
            (await stack.exportStack()).deployment.resources
                .map((r: { urn: string; outputs?: unknown }) => [r.urn, r.outputs] as const)
                .sort((x: readonly [string, unknown], y: readonly [string, unknown]) => x[0].localeCompare(y[0]));
        const before = await resources();
        const config = labStackConfig();
        config["microseg:cluster"].podCidr = "10.245.0.0/16";
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config }));
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.match(e.message, /refusing a change the running cluster cannot take \(nothing was changed\)/);
            assert.match(e.message, /cluster\.podCidr: would change from "10\.244\.0\.0\/16" to "10\.245\.0\.0\/16" on a running cluster/);
            assert.match(e.message, /set safety\.allowClusterReplacement: true/);
            return true;
        });
        await assert.rejects(stack.up({ color: "never" }));
        assert.equal(JSON.parse(kubectl("-n", "kube-system", "get", "configmap", "microseg-stack", "-o", "json").stdout).data["cluster.podCidr"], "10.244.0.0/16");
        assert.deepEqual(await resources(), before);
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config: labStackConfig() }));
    });

    it("destroy removes everything it created", async () => {
        const result = await stack.destroy({ color: "never" });
        assert.equal(result.summary.result, "succeeded");
        assert.notEqual(kubectl("-n", "kube-system", "get", "configmap", "microseg-stack").status, 0);
        assert.notEqual(kubectl("-n", "kube-system", "get", "daemonset", "cilium").status, 0);
        assert.notEqual(kubectl("-n", "kube-system", "get", "service", "hubble-relay").status, 0);
        assert.equal(kubectl("get", "ciliumnetworkpolicies", "-A", "-o", "name").stdout.trim(), "");
        assert.equal(kubectl("get", "ciliumclusterwidenetworkpolicies", "-o", "name").stdout.trim(), "");
        const left = (await stack.exportStack()).deployment.resources ?? [];
        assert.deepEqual(left.filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack"), []);
    });
});

// The cluster-ownership guard (components/environment/record-checks.ts: readDeployedRecord, guardClusterIdentity) against the real kube-apiserver:
// only its "not found" means "no record"; a refused read (403) or no answer stops preview with the API server,
// what happened and the fix; and the record is read with the configured cluster.context, as the provider does.
describe("the stack record guard on the real kube-apiserver", { timeout: 20 * 60_000 }, () => {
    let stack: Stack;
    let workDir: string;
    let cleanup: () => Promise<void>;
    const sa = `microseg-norbac-${process.pid}`;
    type Kubeconfig = { clusters: { name: string; cluster: Record<string, unknown> }[]; users: { name: string; user: Record<string, unknown> }[] };
    let admin: Kubeconfig;
    let noRbacToken: string;
    const UNREACHABLE = "https://127.0.0.1:1";

    /** A kubeconfig file of the given contexts (name -> server and user), current-context `current`. */
    function kubeconfigFile(file: string, current: string, contexts: Record<string, { server: string; user: "admin" | "norbac" }>): string {
        const doc = {
            apiVersion: "v1", kind: "Config", "current-context": current,
            clusters: Object.entries(contexts).map(([name, c]) => ({ name, cluster: { ...admin.clusters[0]!.cluster, server: c.server } })),
            users: [{ name: "admin", user: admin.users[0]!.user }, { name: "norbac", user: { token: noRbacToken } }],
            contexts: Object.entries(contexts).map(([name, c]) => ({ name, context: { cluster: name, user: c.user } })),
        };
        const p = path.join(workDir, file);
        fs.writeFileSync(p, toYaml(doc), { mode: 0o600 });
        return p;
    }
    function useKubeconfig(kubeconfigPath: string, context?: string): void {
        const config = labStackConfig();
        config["microseg:cluster"].kubeconfigPath = kubeconfigPath;
        if (context !== undefined) config["microseg:cluster"].context = context;
        fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config }));
    }
    const STOP = /microseg: cannot read this cluster's stack record \(ConfigMap kube-system\/microseg-stack\): /;
    const WHY = /Without it microseg cannot tell whether another stack owns the cluster or whether this change would rebuild it, so preview stops here \(nothing was changed\); only the API server's "not found" means a new cluster\./;

    before(async () => {
        await registerCiliumCrds();
        ({ stack, workDir, cleanup } = await newLabStack("guard"));
        admin = parseYaml(fs.readFileSync(labEnv().KUBECONFIG, "utf8")) as Kubeconfig;
        // A real identity with no RBAC rights at all: a ServiceAccount with no binding (only discovery is allowed).
        assert.equal(kubectl("-n", "default", "create", "serviceaccount", sa).status, 0);
        const token = kubectl("-n", "default", "create", "token", sa, "--duration", "1h");
        assert.equal(token.status, 0, token.stderr);
        noRbacToken = token.stdout.trim();
        // No record on the cluster: the not-found case is the real one.
        assert.match(kubectl("-n", "kube-system", "get", "configmap", "microseg-stack").stderr, /NotFound/);
    });
    after(async () => {
        kubectl("-n", "kube-system", "delete", "configmap", "microseg-stack", "--ignore-not-found");
        kubectl("-n", "default", "delete", "serviceaccount", sa, "--ignore-not-found");
        await cleanup?.();
    });

    it("a user without RBAC rights (403) stops preview naming the API server, its answer and the RBAC fix; nothing is created", async () => {
        useKubeconfig(kubeconfigFile("norbac.yaml", "lab", { lab: { server: labEnv().LAB_APISERVER_URL!, user: "norbac" } }));
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.match(e.message, STOP);
            assert.ok(e.message.includes(
                `the API server ${labEnv().LAB_APISERVER_URL} answered HTTP 403 Forbidden (configmaps "microseg-stack" is forbidden: User "system:serviceaccount:default:${sa}" cannot get resource "configmaps" in API group "" in the namespace "kube-system").`,
            ), e.message);
            assert.match(e.message, WHY);
            assert.match(e.message, /Check the credentials of the kubeconfig of cluster\.kubeconfig \/ cluster\.kubeconfigPath, its current-context: they must be valid for this API server and allowed by RBAC to get ConfigMaps in kube-system/);
            assert.ok(!e.message.includes(noRbacToken), "the token is in the message");
            return true;
        });
        assert.deepEqual((await stack.exportStack()).deployment.resources ?? [], []);
    });

    it("an unreachable API server stops preview with the address and the cause", async () => {
        useKubeconfig(kubeconfigFile("unreachable.yaml", "gone", { gone: { server: UNREACHABLE, user: "admin" } }));
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.match(e.message, STOP);
            assert.ok(e.message.includes(`the API server ${UNREACHABLE} was not reached (connect ECONNREFUSED 127.0.0.1:1).`), e.message);
            assert.match(e.message, /Check that it is up and reachable from where pulumi runs, and that the kubeconfig of cluster\.kubeconfig \/ cluster\.kubeconfigPath, its current-context names the right server\./);
            return true;
        });
    });

    it("the API server's not found (no record yet) lets preview through: a new cluster", async () => {
        useKubeconfig(labEnv().KUBECONFIG!);
        const preview = await stack.preview({ color: "never" });
        assert.ok((preview.changeSummary.create ?? 0) >= 5, JSON.stringify(preview.changeSummary));
        assert.doesNotMatch(preview.stdout, STOP);
    });

    it("two contexts: the configured one (cluster.context), not the current one, is read", async () => {
        // current-context points at an address nothing listens on; cluster.context at the lab, where another
        // stack's record is planted: the refusal naming that stack shows the lab's record was read.
        const file = kubeconfigFile("two-contexts.yaml", "elsewhere", {
            elsewhere: { server: UNREACHABLE, user: "admin" },
            lab: { server: labEnv().LAB_APISERVER_URL!, user: "admin" },
        });
        const plant = kubectl("-n", "kube-system", "create", "configmap", "microseg-stack", "--from-literal=project=other-project", "--from-literal=stack=other");
        assert.equal(plant.status, 0, plant.stderr);
        useKubeconfig(file, "lab");
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.match(e.message, /cluster: already managed by stack "other-project\/other" \(ConfigMap kube-system\/microseg-stack\), not "microseg\/guard-/);
            assert.doesNotMatch(e.message, STOP);
            return true;
        });
        // Without cluster.context the current one is read, as the provider would use it.
        useKubeconfig(file);
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.ok(e.message.includes(`the API server ${UNREACHABLE} was not reached`), e.message);
            return true;
        });
        assert.equal(kubectl("-n", "kube-system", "delete", "configmap", "microseg-stack").status, 0);
        useKubeconfig(file, "lab");
        const preview = await stack.preview({ color: "never" });
        assert.ok((preview.changeSummary.create ?? 0) >= 5, JSON.stringify(preview.changeSummary));
    });
});

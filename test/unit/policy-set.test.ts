// components/policy/policy-set.ts with Pulumi mocks (an `up`, not a preview, so the CRD wait runs): one
// CustomResource per policy with its name, kind, namespace, spec and parent; the wait against a fake apiserver
// (plain HTTP on loopback) before any policy is registered; refusals before anything is created. The wait's
// timeout message is tested in crd-wait.test.ts and, through the engine, in test/lab/policy-set.test.ts (with
// mocks, the rejected dependsOn of every policy surfaces as unhandled rejections after the test).
import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { policies } from "../fixtures/policies/index";
import { workloads } from "../fixtures/policies/workloads";
import { ccnp, fromEndpoints } from "../../lib/policy/model/helpers";
import type { PolicyManifest } from "../../lib/policy/model/schema";

interface Registered { type: string; name: string; inputs: Record<string, unknown>; at: number }
const registered: Registered[] = [];
const crdGets: { name: string; at: number }[] = [];
let clock = 0;
/** CRD name -> GETs answered 404 before it is reported Established; `Infinity`: never. */
const notFoundFor = new Map<string, number>();

const server = http.createServer((req, res) => {
    const name = /customresourcedefinitions\/([^/?]+)/.exec(req.url ?? "")?.[1] ?? "";
    crdGets.push({ name, at: ++clock });
    const left = notFoundFor.get(name) ?? 0;
    if (left > 0) {
        notFoundFor.set(name, left - 1);
        res.writeHead(404).end(JSON.stringify({ kind: "Status", code: 404 }));
        return;
    }
    res.writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ metadata: { name }, status: { conditions: [{ type: "NamesAccepted", status: "True" }, { type: "Established", status: "True" }] } }));
});
let kubeconfig = "";

before(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    kubeconfig = [
        "apiVersion: v1", "kind: Config", "current-context: fake",
        `clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${port}"}}]`,
        "users: [{name: admin, user: {token: t0ken}}]",
        "contexts: [{name: fake, context: {cluster: fake, user: admin}}]",
    ].join("\n");
    await pulumi.runtime.setMocks({
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs, at: ++clock });
            const md = args.inputs["metadata"] as { name?: string; namespace?: string } | undefined;
            const id = md?.name ? (md.namespace ? `${md.namespace}/${md.name}` : md.name) : `${args.name}-id`;
            return { id, state: args.inputs };
        },
        call: () => ({}),
    }, "microseg", "test", false);
});
after(() => server.close());

const out = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
const urnOf = (r: pulumi.Resource) => out(r.urn);
const checks = { workloads, podCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12", l7ProxyEnabled: true };

const clusterwide = ccnp("allow-dns-everywhere", {
    endpointSelector: {},
    egress: [{ toEndpoints: [fromEndpoints({ "k8s-app": "kube-dns" }, { namespace: "kube-system" })], toPorts: [{ ports: [{ port: "53", protocol: "ANY" }] }] }],
});

/** Three of the repo's policies, fixed so this test does not change with policies/. */
const three = ["http-filtering", "deny-all", "namespace-isolation"].map((n) => policies.find((p) => p.metadata.name === n)!);

describe("PolicySet", () => {
    it("registers one CustomResource per policy, named <kind>-<namespace>-<name>, with kind, namespace, spec and parent", async () => {
        const { PolicySet } = await import("../../components/policy/policy-set");
        const set = new PolicySet("policies", { policies: [...three, clusterwide], kubeconfig, checks });
        assert.deepEqual(await out(set.policyNames),
            ["default/http-filtering", "default/deny-all", "backend/namespace-isolation", "allow-dns-everywhere"]);
        // Registration order is the engine's (async); compare by name.
        const crs = registered.filter((r) => r.type.startsWith("kubernetes:cilium.io/v2:"));
        const byName = new Map(crs.map((r) => [r.name, r]));
        const expected: [string, string, PolicyManifest][] = [
            ["CiliumNetworkPolicy", "ciliumnetworkpolicy-default-http-filtering", three[0]!],
            ["CiliumNetworkPolicy", "ciliumnetworkpolicy-default-deny-all", three[1]!],
            ["CiliumNetworkPolicy", "ciliumnetworkpolicy-backend-namespace-isolation", three[2]!],
            ["CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicy-allow-dns-everywhere", clusterwide],
        ];
        assert.deepEqual(crs.map((r) => r.name).sort(), expected.map(([, n]) => n).sort());
        for (const [kind, resourceName, m] of expected) {
            const r = byName.get(resourceName)!;
            assert.equal(r.type, `kubernetes:cilium.io/v2:${kind}`);
            assert.equal(r.inputs["apiVersion"], "cilium.io/v2");
            assert.equal(r.inputs["kind"], kind);
            assert.deepEqual(r.inputs["metadata"], JSON.parse(JSON.stringify(m.metadata)));
            assert.deepEqual(r.inputs["spec"], JSON.parse(JSON.stringify(m.spec)));
            assert.equal("specs" in r.inputs, false);
        }
        assert.equal((byName.get("ciliumnetworkpolicy-backend-namespace-isolation")!.inputs["metadata"] as { namespace: string }).namespace, "backend");
        assert.equal((byName.get("ciliumclusterwidenetworkpolicy-allow-dns-everywhere")!.inputs["metadata"] as { namespace?: string }).namespace, undefined);
        // The parent shows in the URN's type chain.
        assert.equal(await urnOf(set.resources[1]!),
            "urn:pulumi:test::microseg::microseg:policy:PolicySet$kubernetes:cilium.io/v2:CiliumNetworkPolicy::ciliumnetworkpolicy-default-deny-all");
        assert.match(set.digest, /^[0-9a-f]{64}$/);
    });

    it("waits for both CRDs to be Established before registering any policy", async () => {
        const { PolicySet } = await import("../../components/policy/policy-set");
        notFoundFor.set("ciliumnetworkpolicies.cilium.io", 2);
        notFoundFor.set("ciliumclusterwidenetworkpolicies.cilium.io", 1);
        const release = new k8s.core.v1.ConfigMap("stand-in-release", { metadata: { name: "cilium" } });
        const since = clock;
        const set = new PolicySet("waiting", { policies: [policies[0]!], kubeconfig, checks, ciliumRelease: release });
        assert.deepEqual(await out(set.policyNames), ["default/http-filtering"]);
        const gets = crdGets.filter((g) => g.at > since);
        assert.deepEqual(gets.map((g) => g.name).sort(), [
            "ciliumclusterwidenetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io",
            "ciliumnetworkpolicies.cilium.io", "ciliumnetworkpolicies.cilium.io", "ciliumnetworkpolicies.cilium.io",
        ]);
        const cr = registered.find((r) => r.at > since && r.type === "kubernetes:cilium.io/v2:CiliumNetworkPolicy")!;
        const rel = registered.find((r) => r.at > since && r.name === "stand-in-release")!;
        assert.ok(rel.at < gets[0]!.at, "the wait starts once the release exists");
        assert.ok(cr.at > Math.max(...gets.map((g) => g.at)), "the policy is registered after the last GET");
    });

    it("refuses a manifest with an error finding before creating anything, naming the policy and the field", async () => {
        const { PolicySet } = await import("../../components/policy/policy-set");
        const denyAll = policies[1]!;
        const bad: PolicyManifest = { ...denyAll, spec: { ...denyAll.spec!, ingress: [] } };
        const before = registered.length;
        const gets = crdGets.length;
        assert.throws(() => new PolicySet("refused", { policies: [policies[0]!, bad], kubeconfig, checks }), (e: unknown) => {
            assert.ok(e instanceof pulumi.ResourceError);
            assert.equal(e.message, [
                "PolicySet refused: 1 error in the policies; nothing was created:",
                "error default/deny-all spec.ingress [empty-rule-list]",
                "  ingress is an empty list: the policy does not apply at ingress and denies nothing",
                "  fix: to deny all ingress write ingress: [{}] (defaultDeny({ ingress: true })); otherwise remove ingress",
                "1 error, 0 warnings",
            ].join("\n"));
            return true;
        });
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(registered.slice(before).map((r) => r.type), ["microseg:policy:PolicySet"], "only the component itself, no child");
        assert.equal(crdGets.length, gets, "no apiserver call either");
    });

    it("refuses two policies whose resource names coincide", async () => {
        const { PolicySet } = await import("../../components/policy/policy-set");
        const a: PolicyManifest = { ...policies[1]!, metadata: { name: "a", namespace: "x-b" } };
        const b: PolicyManifest = { ...policies[1]!, metadata: { name: "b-a", namespace: "x" } };
        assert.throws(() => new PolicySet("collide", { policies: [a, b], kubeconfig }), {
            message: [
                "PolicySet collide: 1 error in the policies; nothing was created:",
                "error x/b-a metadata.name [resource-name-collision]",
                "  its resource name \"ciliumnetworkpolicy-x-b-a\" is also the one of \"x-b/a\"",
                "  fix: rename one of the two policies",
                "1 error, 0 warnings",
            ].join("\n"),
        });
    });

    it("logs warnings on the component and still deploys", async () => {
        const { PolicySet } = await import("../../components/policy/policy-set");
        const warned: string[] = [];
        const original = pulumi.log.warn;
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (msg: string) => { warned.push(msg); };
        try {
            const odd: PolicyManifest = { ...policies[1]!, metadata: { name: "odd", namespace: "default" }, spec: { ...policies[1]!.spec!, endpointSelector: { matchLabels: { app: "nope" } } } };
            const set = new PolicySet("warned", { policies: [odd], kubeconfig, checks });
            assert.deepEqual(await out(set.policyNames), ["default/odd"]);
        } finally {
            (pulumi.log as { warn: typeof pulumi.log.warn }).warn = original;
        }
        assert.deepEqual(warned, [[
            "warning default/odd spec.endpointSelector [selector-matches-nothing]",
            "  selector {\"matchLabels\":{\"app\":\"nope\"}} matches no declared workload in namespace \"default\"",
            "  fix: check the labels against the declared workloads (policies/workloads.ts), or declare the workload",
        ].join("\n")]);
    });

    it("digest: same manifests in another order, same digest; one field changed, another digest", async () => {
        const { policyDigest } = await import("../../components/policy/policy-set");
        const d = policyDigest(policies);
        assert.equal(policyDigest([...policies].reverse()), d);
        const edited: PolicyManifest = { ...policies[2]!, metadata: { ...policies[2]!.metadata, labels: { team: "x" } } };
        assert.notEqual(policyDigest([policies[0]!, policies[1]!, edited]), d);
    });
});

// components/cilium/*.ts with Pulumi mocks: resources created, names, parents, values passed, the render
// invoke at preview, and refusals before anything is registered.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ciliumShare } from "../../lab/cilium-share";

// The released chart pinned by lab/versions.env (lab/setup.sh builds it).
const { chartDir: CHART, version: CHART_VERSION } = ciliumShare();
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

interface Registered { type: string; name: string; inputs: Record<string, unknown>; parent?: string; id?: string }
const registered: Registered[] = [];
const invokes: { token: string; inputs: Record<string, unknown> }[] = [];
let renderError: string | undefined;

const B64 = (s: string) => Buffer.from(s).toString("base64");

before(async () => {
    await pulumi.runtime.setMocks({
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs, id: args.id });
            if (args.type === "kubernetes:core/v1:Secret" && args.id) {
                return { id: args.id, state: { data: { "ca.crt": B64("CA"), "tls.crt": B64("CRT"), "tls.key": B64("KEY") } } };
            }
            if (args.type === "kubernetes:helm.sh/v3:Release") {
                return { id: "kube-system/cilium", state: { ...args.inputs, status: { version: "1.19.0-dev", status: "deployed", revision: 1 } } };
            }
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call(args) {
            invokes.push({ token: args.token, inputs: args.inputs });
            if (args.token === "kubernetes:helm:template" && renderError) throw new Error(renderError);
            return { result: [] };
        },
    }, "microseg", "test", false);
});

const out = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
const BASE = { k8sServiceHost: "192.168.1.222", podCidr: "10.97.0.0/16", relay: { nodePort: 31245 } };

describe("Cilium", () => {
    it("registers one helm.v3.Release in kube-system, version pinned, with the builder's values, bounded wait, not atomic", async () => {
        const { Cilium } = await import("../../components/cilium/cilium");
        const c = new Cilium("cilium", { values: BASE, chart: { version: "1.18.4" } });
        assert.equal(await out(c.chartVersion), "1.19.0-dev");
        assert.equal(await out(c.releaseStatus), "deployed");
        const rel = registered.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name === "cilium-helm-release")!;
        assert.ok(rel, "release registered");
        assert.equal(rel.inputs["name"], "cilium");
        assert.equal(rel.inputs["chart"], "cilium");
        assert.equal(rel.inputs["version"], "1.18.4");
        assert.deepEqual(rel.inputs["repositoryOpts"], { repo: "https://helm.cilium.io/" });
        assert.equal(rel.inputs["namespace"], "kube-system");
        assert.equal(rel.inputs["timeout"], 600);
        assert.equal(rel.inputs["atomic"], false);
        assert.deepEqual(rel.inputs["values"], JSON.parse(JSON.stringify(c.values)));
        assert.equal((rel.inputs["values"] as { kubeProxyReplacement: unknown }).kubeProxyReplacement, true);
        assert.equal(c.relayServicePort, 443);
        assert.equal(await out(c.release.urn), "urn:pulumi:test::microseg::microseg:cilium:Cilium$kubernetes:helm.sh/v3:Release::cilium-helm-release");
        const render = invokes.find((i) => i.token === "kubernetes:helm:template")!;
        const jsonOpts = JSON.parse(render.inputs["jsonOpts"] as string);
        assert.deepEqual([jsonOpts.chart, jsonOpts.version, jsonOpts.fetch_opts.repo, jsonOpts.namespace, jsonOpts.release_name],
            ["cilium", "1.18.4", "https://helm.cilium.io/", "kube-system", "cilium"]);
        assert.equal(jsonOpts.values.kubeProxyReplacement, true);
    });
    it("a local (air-gapped) chart is installed from its path and its version must match the pin", async () => {
        const { Cilium } = await import("../../components/cilium/cilium");
        const c = new Cilium("airgap", { values: BASE, chart: { version: CHART_VERSION, path: CHART } });
        await out(c.releaseStatus);
        const rel = registered.find((r) => r.name === "airgap-helm-release")!;
        assert.equal(rel.inputs["chart"], CHART);
        assert.equal(rel.inputs["version"], undefined);
        assert.throws(() => new Cilium("pinned", { values: BASE, chart: { version: "1.18.4", path: CHART } }),
            new RegExp(`cilium\\.version: the local chart at cilium\\.chart\\.path \\(.*\\) is ${re(CHART_VERSION)}, not the pinned version \\("1\\.18\\.4"\\)\\. Pin "${re(CHART_VERSION)}" or point cilium\\.chart\\.path at the 1\\.18\\.4 chart\\.`));
        assert.equal(registered.some((r) => r.name === "pinned-helm-release"), false);
    });
    it("refuses bad values (builder and schema) before registering the Release", async () => {
        const { Cilium } = await import("../../components/cilium/cilium");
        assert.throws(
            () => new Cilium("bad", { values: { ...BASE, overrides: { kubeProxyReplacement: "strict", "enable-hubble": true } }, chart: { version: CHART_VERSION, path: CHART } }),
            (e: unknown) => e instanceof pulumi.ResourceError
                && /cilium\.valuesOverrides\.kubeProxyReplacement: legacy value removed in Cilium 1\.15/.test(e.message)
                && /cilium\.valuesOverrides\.enable-hubble: not a value of the chart/.test(e.message));
        assert.equal(registered.some((r) => r.name === "bad-helm-release"), false);
    });
    it("outputs the port-forward line for Hubble UI, and warns (engine log) when the UI is exposed", async () => {
        const { Cilium } = await import("../../components/cilium/cilium");
        const quiet = new Cilium("quiet", { values: BASE, chart: { version: "1.18.4" } });
        assert.equal(quiet.hubbleUiPortForward, "kubectl -n kube-system port-forward svc/hubble-ui 12000:80");
        assert.deepEqual(quiet.warnings, []);
        const open = new Cilium("open", { values: { ...BASE, ui: { nodePort: 31235 }, overrides: { hubble: { ui: { ingress: { enabled: true } } } } }, chart: { version: "1.18.4" } });
        assert.deepEqual(open.warnings.map((w) => w.slice(0, w.indexOf(" ("))), [
            "hubble.ui.expose: Hubble UI is exposed on NodePort 31235 of every node, over plain HTTP, without authentication",
            "cilium.valuesOverrides.hubble.ui.ingress.enabled: Hubble UI is exposed through an Ingress, without authentication",
        ]);
    });
    it("renderChartWithProvider: an invoke failure rejects with a ResourceError (the Release waits on it, so nothing is sent)", async () => {
        const { renderChartWithProvider } = await import("../../components/cilium/cilium");
        const { buildCiliumValues } = await import("../../lib/cilium/cilium-values");
        class Holder extends pulumi.ComponentResource {
            constructor() { super("test:index:Holder", "holder"); }
        }
        renderError = "boom";
        try {
            const rendered = renderChartWithProvider(new Holder(), { version: "1.18.4" }, "kube-system", buildCiliumValues(BASE));
            await assert.rejects(rendered,
                (e: unknown) => e instanceof pulumi.ResourceError && /^The Cilium chart refused these values \(1 problem\):/.test(e.message));
        } finally {
            renderError = undefined;
        }
    });
    it("the refusal names the setting from the provider's error text (gRPC details or message)", async () => {
        const { chartRefusalMessage } = await import("../../components/cilium/cilium");
        const { buildCiliumValues } = await import("../../lib/cilium/cilium-values");
        const values = buildCiliumValues(BASE);
        const grpcLike = Object.assign(new Error("2 UNKNOWN: failed to generate YAML for specified Helm chart"), {
            details: "failed to generate YAML for specified Helm chart: failed to create chart from template: execution error at (cilium/templates/cilium-configmap.yaml:79:4): kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue.",
        });
        assert.equal(chartRefusalMessage(grpcLike, { ...values, kubeProxyReplacement: "strict" as never }),
            "The Cilium chart refused these values (1 problem):\n"
            + '  - cilium.valuesOverrides.kubeProxyReplacement: the chart refused to render (templates/cilium-configmap.yaml:79): kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue ("strict"). Set it to true (kube-proxy is not installed); "strict" was removed in Cilium 1.15.');
    });
});

describe("RelayNodePort", () => {
    it("patches hubble-relay by server-side apply (own field manager, force) and outputs the hubble lines and certs", async () => {
        const { RelayNodePort } = await import("../../components/cilium/relay-node-port");
        // A stand-in apiserver serving the chart's client-certificate Secret, read over HTTP with the kubeconfig.
        const requests: string[] = [];
        const server = http.createServer((req, res) => {
            requests.push(req.url ?? "");
            if (req.url !== "/api/v1/namespaces/kube-system/secrets/hubble-relay-client-certs") return void res.writeHead(404).end();
            const b64 = (s: string) => Buffer.from(s).toString("base64");
            res.writeHead(200, { "content-type": "application/json" })
                .end(JSON.stringify({ kind: "Secret", data: { "ca.crt": b64("CA"), "tls.crt": b64("CRT"), "tls.key": b64("KEY") } }));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        after(() => server.close());
        const kubeconfig = `apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: k, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n`;
        const r = new RelayNodePort("relay", { nodePort: 31245, servicePort: 443, nodeAddress: "192.168.1.222", releaseStatus: "deployed", uiNodePort: 31246, kubeconfig });
        assert.equal(await out(r.relayAddress), "192.168.1.222:31245");
        assert.deepEqual(await out(r.hubbleConfigCommands), [
            "hubble config set relay-address 192.168.1.222:31245",
            "hubble config set tls true",
            "hubble config set tls-server-name ui.hubble-relay.cilium.io",
            "hubble config set tls-ca-cert-files ~/.config/hubble/microseg/ca.crt",
            "hubble config set tls-client-cert-file ~/.config/hubble/microseg/client.crt",
            "hubble config set tls-client-key-file ~/.config/hubble/microseg/client.key",
        ]);
        assert.equal(await out(r.uiUrl), "http://192.168.1.222:31246");
        assert.deepEqual([await out(r.caCert!), await out(r.clientCert!), await out(r.clientKey!)], ["CA", "CRT", "KEY"]);
        assert.equal(await pulumi.isSecret(r.clientKey!), true);
        const patch = registered.find((x) => x.type === "kubernetes:core/v1:ServicePatch" && x.name === "relay-patch-service")!;
        assert.deepEqual(patch.inputs["metadata"], {
            name: "hubble-relay", namespace: "kube-system",
            annotations: { "pulumi.com/patchForce": "true", "pulumi.com/patchFieldManager": "microseg-relay-node-port" },
        });
        assert.deepEqual(patch.inputs["spec"], { type: "NodePort", ports: [{ port: 443, protocol: "TCP", nodePort: 31245 }] });
        assert.equal(await out(r.patch.urn), "urn:pulumi:test::microseg::microseg:cilium:RelayNodePort$kubernetes:core/v1:ServicePatch::relay-patch-service");
        assert.deepEqual(requests, ["/api/v1/namespaces/kube-system/secrets/hubble-relay-client-certs"]);
        assert.equal(registered.some((x) => x.type === "kubernetes:core/v1:Secret"), false, "no resource is registered to read the certificates");
    });
    it("reads the certificates with the configured context (cluster.context), not the kubeconfig's current-context", async () => {
        const { RelayNodePort } = await import("../../components/cilium/relay-node-port");
        const requests: string[] = [];
        const server = http.createServer((req, res) => {
            requests.push(`${req.headers.authorization} ${req.url}`);
            const b64 = (s: string) => Buffer.from(s).toString("base64");
            res.writeHead(200, { "content-type": "application/json" })
                .end(JSON.stringify({ kind: "Secret", data: { "ca.crt": b64("CA-of-c"), "tls.crt": b64("CRT"), "tls.key": b64("KEY") } }));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        after(() => server.close());
        // current-context "elsewhere" names a server nothing listens on: reading with it would fail.
        const kubeconfig = `apiVersion: v1\nkind: Config\ncurrent-context: elsewhere\nclusters: [{name: gone, cluster: {server: "http://127.0.0.1:1"}}, {name: k, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}"}}]\nusers: [{name: u, user: {token: t-of-c}}, {name: x, user: {token: t-elsewhere}}]\ncontexts: [{name: elsewhere, context: {cluster: gone, user: x}}, {name: c, context: {cluster: k, user: u}}]\n`;
        const r = new RelayNodePort("relay-ctx", { nodePort: 31245, nodeAddress: "192.168.1.222", releaseStatus: "deployed", kubeconfig, context: "c" });
        assert.equal(await out(r.caCert!), "CA-of-c");
        assert.deepEqual(requests, ["Bearer t-of-c /api/v1/namespaces/kube-system/secrets/hubble-relay-client-certs"]);
    });
    it("without TLS: only the relay-address line, no certificate read, UI through port-forward", async () => {
        const { RelayNodePort } = await import("../../components/cilium/relay-node-port");
        const r = new RelayNodePort("plain", { nodePort: 30080, servicePort: 80, tls: false, nodeAddress: "fd00::10", releaseStatus: "deployed", kubeconfig: "unused" });
        assert.deepEqual(await out(r.hubbleConfigCommands), ["hubble config set relay-address [fd00::10]:30080"]);
        assert.equal(r.caCert, undefined);
        assert.equal(await out(r.uiUrl), "http://localhost:12000");
        assert.equal(r.uiPortForwardCommand, "kubectl -n kube-system port-forward svc/hubble-ui 12000:80");
        assert.equal(registered.some((x) => x.type === "kubernetes:core/v1:Secret"), false);
    });
});

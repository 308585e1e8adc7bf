// lib/cilium/helm-template.ts: the error mapping (pure), and `helm template` (.engine/bin/helm, or PATH) of the released
// chart pinned by lab/versions.env (lab/cilium-share.ts; lab/setup.sh builds both, test/run.sh runs it first).
import { strict as assert } from "node:assert";
import { FIXTURE_POLICIES } from "../fixtures/stack-policies";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { buildCiliumValues } from "../../lib/cilium/cilium-values";
import { ChartRenderError, findHelm, helmErrorProblems, helmTemplate } from "../../lib/cilium/helm-template";
import { ciliumShare } from "../../lab/cilium-share";

const { chartDir: CHART, version: CHART_VERSION } = ciliumShare();
const BASE = { k8sServiceHost: "192.168.1.222", podCidr: "10.97.0.0/16", relay: { nodePort: 31245 } };
const helm = findHelm();
// No silent skip: the render is the check that sees the chart's `fail`s.
if (helm === undefined) throw new Error("no helm binary (.engine/bin/helm or helm on PATH): run bash lab/setup.sh (lab/build-engine.sh builds it)");

/** `templates/<file>:<line>` of the one `fail` in the chart whose message contains `text` (what helm reports). */
function failAt(chartDir: string, file: string, text: string): string {
    const lines = fs.readFileSync(path.join(chartDir, "templates", file), "utf8").split("\n");
    const hits = lines.flatMap((l, i) => (l.includes("fail") && l.includes(text) ? [i + 1] : []));
    assert.equal(hits.length, 1, `one fail with ${JSON.stringify(text)} in ${file}`);
    return `templates/${file}:${hits[0]}`;
}

describe("helmErrorProblems", () => {
    it("maps a template fail to the setting it names, with the value and the fix", () => {
        assert.deepEqual(helmErrorProblems(
            "Error: execution error at (cilium/templates/cilium-configmap.yaml:79:4): kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue.\n",
            { kubeProxyReplacement: "strict" }), [
            'cilium.valuesOverrides.kubeProxyReplacement: the chart refused to render (templates/cilium-configmap.yaml:79): kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue ("strict"). Set it to true (kube-proxy is not installed); "strict" was removed in Cilium 1.15.',
        ]);
    });
    it("maps the provider's wrapped invoke error the same way", () => {
        const text = "failed to generate YAML for specified Helm chart: failed to create chart from template: execution error at (cilium/templates/validate.yaml:61:8): Hubble UI requires .Values.hubble.relay.enabled=true";
        assert.deepEqual(helmErrorProblems(text, { hubble: { relay: { enabled: false } } }), [
            "cilium.valuesOverrides.hubble.relay.enabled: the chart refused to render (templates/validate.yaml:61): Hubble UI requires .Values.hubble.relay.enabled=true (false). Remove the override that turns the relay off: Hubble UI needs it.",
        ]);
    });
    it("maps Helm >= 3.18 schema errors (JSON pointer) and older ones (dotted path)", () => {
        const values = { hubble: { relay: { service: { nodePort: "x" } } } };
        assert.deepEqual(helmErrorProblems("Error: values don't meet the specifications of the schema(s) in the following chart(s):\ncilium:\n- at '/hubble/relay/service/nodePort': got string, want integer\n", values), [
            "cilium.valuesOverrides.hubble.relay.service.nodePort: rejected by the chart's values.schema.json: got string, want integer (\"x\"). Give a value the schema accepts.",
        ]);
        assert.deepEqual(helmErrorProblems("cilium:\n- hubble.relay.service.nodePort: Invalid type. Expected: integer, given: string\n", values), [
            "cilium.valuesOverrides.hubble.relay.service.nodePort: rejected by the chart's values.schema.json: Invalid type. Expected: integer, given: string (\"x\"). Give a value the schema accepts.",
        ]);
    });
    it("anything else is one problem quoting helm's first line", () => {
        assert.deepEqual(helmErrorProblems("Error: Chart.yaml file is missing\n", {}), [
            "cilium.valuesOverrides: helm could not render the chart: Chart.yaml file is missing (unset). Fix the chart source or the values.",
        ]);
    });
});

describe(`helm template of the released chart ${CHART_VERSION}`, () => {
    it("renders the builder's values: no kube-proxy, relay NodePort 31245 on the chart's 443 port, relay TLS secrets", async () => {
        const { objects } = await helmTemplate({ chartDir: CHART, values: buildCiliumValues(BASE) });
        const find = (kind: string, name: string) => objects.find((o) => o["kind"] === kind && (o["metadata"] as { name: string }).name === name);
        const cm = find("ConfigMap", "cilium-config") as { data: Record<string, string> };
        assert.equal(cm.data["kube-proxy-replacement"], "true");
        assert.equal(cm.data["ipam"], "kubernetes");
        const svc = find("Service", "hubble-relay") as { spec: { type: string; ports: { port: number; nodePort: number; targetPort: unknown }[] } };
        assert.equal(svc.spec.type, "NodePort");
        assert.deepEqual([svc.spec.ports[0]!.port, svc.spec.ports[0]!.nodePort, svc.spec.ports[0]!.targetPort], [443, 31245, "grpc"]);
        assert.ok(find("Secret", "hubble-relay-client-certs"), "relay client certs rendered");
        assert.ok(find("Secret", "hubble-relay-server-certs"), "relay server certs rendered");
    });
    it("the walk-through's kubeProxyReplacement=strict fails the render, reported as the setting", async () => {
        await assert.rejects(helmTemplate({ chartDir: CHART, values: { kubeProxyReplacement: "strict" } }), (e: unknown) => {
            assert.ok(e instanceof ChartRenderError);
            assert.deepEqual(e.problems, [
                `cilium.valuesOverrides.kubeProxyReplacement: the chart refused to render (${failAt(CHART, "cilium-configmap.yaml", "kubeProxyReplacement must be explicitly set")}): kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue ("strict"). Set it to true (kube-proxy is not installed); "strict" was removed in Cilium 1.15.`,
            ]);
            return true;
        });
    });
    it("UI without relay fails the render, named hubble.relay.enabled", async () => {
        await assert.rejects(helmTemplate({ chartDir: CHART, values: { kubeProxyReplacement: true, hubble: { ui: { enabled: true }, relay: { enabled: false } } } }), (e: unknown) => {
            assert.ok(e instanceof ChartRenderError);
            assert.match(e.problems[0]!, /^cilium\.valuesOverrides\.hubble\.relay\.enabled: the chart refused to render \(templates\/validate\.yaml:\d+\): Hubble UI requires \.Values\.hubble\.relay\.enabled=true \(false\)\. /);
            return true;
        });
    });
    it("a schema type error is refused by helm itself and named", async () => {
        await assert.rejects(helmTemplate({ chartDir: CHART, values: { kubeProxyReplacement: true, hubble: { relay: { service: { nodePort: "31245" } } } } }), (e: unknown) => {
            assert.ok(e instanceof ChartRenderError);
            assert.match(e.problems.join("\n"), /^cilium\.valuesOverrides\.hubble\.relay\.service\.nodePort: rejected by the chart's values\.schema\.json: .* \("31245"\)\. /m);
            return true;
        });
    });
});

// ---------------------------------------------------------------------------------------------------------
// Issue 11, point 5: `microseg check` runs the render preview runs, and says when it cannot.
import { parseConfig } from "../../config";
import { checkStackRendered } from "../../lib/stack/stack-plan";

const labLike = (overrides: Record<string, unknown>, chart: Record<string, unknown> = { path: CHART }, version = chart.path ? CHART_VERSION : "1.19.3") => parseConfig({
    environment: "lab",
    cluster: { mode: "existing", kubeconfig: "apiVersion: v1\nclusters: []\n", controlPlaneEndpoint: "127.0.0.1:26443" },
    cilium: { version, chart, valuesOverrides: overrides },
}, { checkFiles: false });

describe("checkStackRendered", () => {
    it("a chart from a repository: not rendered, and it says so", async () => {
        const r = await checkStackRendered(labLike({}, { repository: "https://helm.cilium.io" }), FIXTURE_POLICIES, "/proj");
        assert.deepEqual([r.errors, r.notes], [[], [
            "cilium.chart: the chart comes from https://helm.cilium.io, so it was not rendered here and cilium.valuesOverrides was not checked against its values.schema.json; preview renders it. Set cilium.chart.path to a local copy of the 1.19.3 chart to check both offline.",
        ]]);
    });
    it("--no-file-checks: the local chart is not read, and it says so", async () => {
        const r = await checkStackRendered(labLike({ routingMode: "native", enableIPv4Masquerade: true }), FIXTURE_POLICIES, "/proj", { checkFiles: false });
        assert.deepEqual([r.errors, r.notes], [[], ["cilium.chart.path: not read (--no-file-checks): the chart's values.schema.json and templates were not checked; preview checks them."]]);
    });
    it("no helm: schema-checked, not rendered, and it says so", async () => {
        const r = await checkStackRendered(labLike({ routingMode: "native", enableIPv4Masquerade: true }), FIXTURE_POLICIES, "/proj", { helmBin: null });
        assert.deepEqual([r.errors, r.notes], [[], ["cilium.chart.path: helm not found (.engine/bin/helm, built by lab/build-engine.sh, or helm on PATH): the chart's templates were not rendered here; preview renders them."]]);
    });
    it("a typo in a valuesOverrides key: did you mean (the local chart's schema knows the keys)", async () => {
        const r = await checkStackRendered(labLike({ hubble: { relya: { replicas: 2 } } }), FIXTURE_POLICIES, "/proj", { helmBin: null });
        assert.deepEqual(r.errors, ['cilium.valuesOverrides.hubble.relya: unknown key under hubble ({"replicas":2}). Did you mean "relay"?']);
    });
    it("chart values only the templates refuse (routingMode native with masquerading and no ipv4NativeRoutingCIDR) fail check as they fail preview", async () => {
        const r = await checkStackRendered(labLike({ routingMode: "native", enableIPv4Masquerade: true }), FIXTURE_POLICIES, "/proj");
        assert.deepEqual([r.errors, r.notes], [[
            `cilium.valuesOverrides.routingMode: the chart refused to render (${failAt(CHART, "cilium-configmap.yaml", "ipv4NativeRoutingCIDR must be set when routingMode is native")}): ipv4NativeRoutingCIDR must be set when routingMode is native ("native"). Also set ipv4NativeRoutingCIDR to the CIDR your network routes natively (e.g. cluster.podCidr), or remove routingMode.`,
        ], []]);
        const ok = await checkStackRendered(labLike({ routingMode: "native", enableIPv4Masquerade: true, ipv4NativeRoutingCIDR: "10.244.0.0/16" }), FIXTURE_POLICIES, "/proj");
        assert.deepEqual([ok.errors, ok.notes], [[], []]);
    });
});

// Air-gapped users keep a chart on disk, not necessarily the pinned one: a local chart path of another version
// still works. Two such charts: a copy of the pinned chart relabelled as another version (always here), and the
// 1.19.0-dev snapshot of the shared reference copy beside the repository (../shared/reference/cilium, or
// $MICROSEG_REFERENCE_DIR), read in place when this checkout has it; a clone without it skips that one, saying why.
function relabelledChart(version: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-chart-"));
    fs.cpSync(CHART, dir, { recursive: true });
    const chartYaml = path.join(dir, "Chart.yaml");
    fs.writeFileSync(chartYaml, fs.readFileSync(chartYaml, "utf8").replace(/^version: .*$/m, `version: ${version}`));
    return dir;
}
const REFERENCE_DIR = process.env["MICROSEG_REFERENCE_DIR"] ?? path.resolve(__dirname, "../../../shared/reference/cilium");
const SNAPSHOT_CHART = path.join(REFERENCE_DIR, "chart/cilium");
const olderCharts: { label: string; dir: () => string; version: string; skip: string | false; temporary?: boolean }[] = [
    { label: "a copy of the pinned chart relabelled 1.20.0-airgap", dir: () => relabelledChart("1.20.0-airgap"), version: "1.20.0-airgap", skip: false, temporary: true },
    {
        label: "the shared reference snapshot 1.19.0-dev", dir: () => SNAPSHOT_CHART, version: "1.19.0-dev",
        skip: fs.existsSync(path.join(SNAPSHOT_CHART, "Chart.yaml")) ? false : `no ${SNAPSHOT_CHART}/Chart.yaml in this checkout (set MICROSEG_REFERENCE_DIR to the reference copy to run it)`,
    },
];
for (const older of olderCharts) {
    describe(`a local chart of another version: ${older.label}`, { skip: older.skip }, () => {
        const dir = older.skip ? "" : older.dir();
        if (older.temporary) after(() => fs.rmSync(dir, { recursive: true, force: true }));
        it("renders with the builder's values (relay NodePort, TLS secrets), and its template checks still run", async () => {
            const { objects } = await helmTemplate({ chartDir: dir, values: buildCiliumValues(BASE) });
            const svc = objects.find((o) => o["kind"] === "Service" && (o["metadata"] as { name: string }).name === "hubble-relay") as { spec: { type: string; ports: { nodePort: number }[] } };
            assert.deepEqual([svc.spec.type, svc.spec.ports[0]!.nodePort], ["NodePort", 31245]);
            const r = await checkStackRendered(labLike({ routingMode: "native", enableIPv4Masquerade: true }, { path: dir }, older.version), FIXTURE_POLICIES, "/proj");
            assert.deepEqual([r.errors, r.notes], [[
                `cilium.valuesOverrides.routingMode: the chart refused to render (${failAt(dir, "cilium-configmap.yaml", "ipv4NativeRoutingCIDR must be set when routingMode is native")}): ipv4NativeRoutingCIDR must be set when routingMode is native ("native"). Also set ipv4NativeRoutingCIDR to the CIDR your network routes natively (e.g. cluster.podCidr), or remove routingMode.`,
            ], []]);
        });
        it("cilium.version must name the local chart's version, whichever it is", () => {
            assert.throws(() => parseConfig({
                environment: "lab",
                cluster: { mode: "existing", kubeconfig: "apiVersion: v1\nclusters: []\n", controlPlaneEndpoint: "127.0.0.1:26443" },
                cilium: { version: CHART_VERSION, chart: { path: dir } },
            }), { message: new RegExp(`cilium\\.version: differs from the chart at cilium\\.chart\\.path, which is "${older.version.replace(/\./g, "\\.")}" \\("${CHART_VERSION.replace(/\./g, "\\.")}"\\)`) });
        });
    });
}

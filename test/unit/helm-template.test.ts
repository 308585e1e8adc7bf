// lib/helm-template.ts: the error mapping (pure) always; `helm template` of the real chart when a helm
// binary exists (.engine/bin/helm from lab/build-engine.sh, or PATH). CI has it.
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { describe, it } from "node:test";
import { buildCiliumValues } from "../../lib/cilium-values";
import { ChartRenderError, findHelm, helmErrorProblems, helmTemplate } from "../../lib/helm-template";

const CHART = path.resolve(__dirname, "../../../shared/reference/cilium/chart/cilium");
const BASE = { k8sServiceHost: "192.168.1.222", podCidr: "10.97.0.0/16", relay: { nodePort: 31245 } };
const helm = findHelm();
const skip = helm === undefined ? "no helm binary (.engine/bin/helm or PATH): build it with lab/build-engine.sh" : false;
if (skip) console.log(`# helm-template: real-chart tests skipped: ${skip}`);

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
            "cilium.valuesOverrides.hubble.relay.enabled: the chart refused to render (templates/validate.yaml:61): Hubble UI requires .Values.hubble.relay.enabled=true (false). Keep the relay on (cilium.relay.enabled) while Hubble UI is on, or turn the UI off.",
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

describe("helm template of the real chart", { skip }, () => {
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
                'cilium.valuesOverrides.kubeProxyReplacement: the chart refused to render (templates/cilium-configmap.yaml:79): kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue ("strict"). Set it to true (kube-proxy is not installed); "strict" was removed in Cilium 1.15.',
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

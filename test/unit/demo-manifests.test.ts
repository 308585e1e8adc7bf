import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { demoManifests, nginxConfig } from "../../lib/stack/demo-manifests";
import { workloads } from "../fixtures/policies/workloads";
import { Workloads } from "../../lib/policy/model/workloads-schema";
import { assertGolden } from "../fixtures/golden";

describe("demoManifests", () => {
    it("renders the walk-through's workloads as in the golden file (UPDATE_GOLDEN=1 rewrites it)", () => {
        const text = demoManifests(workloads).map((m) => stringify(m)).join("---\n");
        assertGolden("demo-manifests.yaml", text);
    });

    it("creates the non-system namespaces the policies need, never default or kube-system", () => {
        const namespaces = demoManifests(workloads).filter((m) => m.kind === "Namespace").map((m) => m.metadata.name);
        assert.deepEqual(namespaces, ["backend", "frontend", "test"]);
    });

    it("deploys every declared workload outside kube-system, and kube-dns not at all", () => {
        const deployments = demoManifests(workloads).filter((m) => m.kind === "Deployment").map((m) => `${m.metadata.namespace}/${m.metadata.name}`);
        assert.deepEqual(deployments, ["default/busybox", "default/test-app", "backend/backend-app", "frontend/busybox", "test/busybox"]);
    });

    it("pods carry exactly the labels the policies select on", () => {
        const testApp = demoManifests(workloads).find((m) => m.kind === "Deployment" && m.metadata.name === "test-app")!;
        const spec = testApp["spec"] as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
        assert.deepEqual(spec.selector.matchLabels, { app: "test-app" });
        assert.equal(spec.template.metadata.labels["app"], "test-app");
    });

    it("serves only the declared HTTP endpoints, with their methods", () => {
        const w = Workloads.parse({
            namespaces: [{ name: "a", labels: { "kubernetes.io/metadata.name": "a" } }],
            workloads: [{ name: "api", namespace: "a", labels: { app: "api" }, serves: [{ port: 80, http: [{ method: "get", path: "/v1" }] }] }],
        }).workloads[0]!;
        assert.equal(nginxConfig(w), [
            "server {", "  listen 80;", "  default_type text/plain;",
            "  location = /v1 {", "    limit_except GET { deny all; }", '    return 200 "api: GET /v1\\n";', "  }",
            '  location / { return 404 "api\\n"; }', "}", "",
        ].join("\n"));
    });
});

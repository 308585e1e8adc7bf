// components/cilium/relay-node-port.ts on the real engine against the lab's kube-apiserver: the relay client
// certificates are read with the configured context (cluster.context, as index.ts passes it), the same one the
// provider uses, not the kubeconfig's current-context. A small program drives the component alone: its own
// namespace holding a hubble-relay Service and the chart's client-certificate Secret (no Cilium install needed).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { kubectl, labEnv, newProgramStack, repoRoot } from "./harness";

const PROJECT = "relay-context-lab";
const ns = `relay-ctx-${process.pid}`;
const UNREACHABLE = "https://127.0.0.1:1";

/** The program: a provider and a RelayNodePort on the kubeconfig file and context of the stack's config. */
const program = `
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RelayNodePort } from ${JSON.stringify(path.join(repoRoot, "components", "cilium", "relay-node-port"))};

const cfg = new pulumi.Config();
const kubeconfig = pulumi.secret(fs.readFileSync(cfg.require("kubeconfigPath"), "utf8"));
const context = cfg.get("context");
const provider = new k8s.Provider("lab", { kubeconfig, context });
const relay = new RelayNodePort("relay", {
    nodePort: 31299, servicePort: 443, nodeAddress: "127.0.0.1", releaseStatus: "deployed",
    kubeconfig, context, namespace: cfg.require("namespace"),
}, { provider });
export const caCert = relay.caCert;
export const clientCert = relay.clientCert;
export const relayAddress = relay.relayAddress;
`;

describe("RelayNodePort on the real kube-apiserver: the certificates are read with cluster.context", { timeout: 20 * 60_000 }, () => {
    let stack: Stack;
    let workDir: string;
    let cleanup: (() => Promise<void>) | undefined;
    const CA = `-----BEGIN CERTIFICATE-----\nCA of ${ns}\n-----END CERTIFICATE-----\n`;
    const CRT = `-----BEGIN CERTIFICATE-----\nclient of ${ns}\n-----END CERTIFICATE-----\n`;

    before(async () => {
        for (const args of [
            ["create", "namespace", ns],
            ["-n", ns, "create", "service", "clusterip", "hubble-relay", "--tcp=443:4245"],
            ["-n", ns, "create", "secret", "generic", "hubble-relay-client-certs", `--from-literal=ca.crt=${CA}`, `--from-literal=tls.crt=${CRT}`, "--from-literal=tls.key=not-a-real-key"],
        ]) {
            const r = kubectl(...args);
            assert.equal(r.status, 0, r.stderr);
        }
        ({ stack, workDir, cleanup } = await newProgramStack("relayctx", {
            "Pulumi.yaml": toYaml({ name: PROJECT, runtime: { name: "nodejs", options: { typescript: true } } }),
            "package.json": JSON.stringify({ name: PROJECT, private: true, main: "index.ts" }),
            "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true } }),
            "index.ts": program,
        }));
        // Two contexts: the current one names an address nothing listens on, "lab" the lab's API server.
        const admin = parseYaml(fs.readFileSync(labEnv().KUBECONFIG!, "utf8")) as { clusters: { cluster: Record<string, unknown> }[]; users: { user: Record<string, unknown> }[] };
        const kubeconfigPath = path.join(workDir, "two-contexts.yaml");
        fs.writeFileSync(kubeconfigPath, toYaml({
            apiVersion: "v1", kind: "Config", "current-context": "elsewhere",
            clusters: [
                { name: "elsewhere", cluster: { ...admin.clusters[0]!.cluster, server: UNREACHABLE } },
                { name: "lab", cluster: { ...admin.clusters[0]!.cluster, server: labEnv().LAB_APISERVER_URL } },
            ],
            users: [{ name: "admin", user: admin.users[0]!.user }],
            contexts: [{ name: "elsewhere", context: { cluster: "elsewhere", user: "admin" } }, { name: "lab", context: { cluster: "lab", user: "admin" } }],
        }), { mode: 0o600 });
        await stack.setAllConfig({
            [`${PROJECT}:kubeconfigPath`]: { value: kubeconfigPath },
            [`${PROJECT}:namespace`]: { value: ns },
            [`${PROJECT}:context`]: { value: "lab" },
        });
    });
    after(async () => {
        try {
            await cleanup?.();
        } finally {
            kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false");
        }
    });

    it("up reads the Secret of the configured context's cluster (the current-context's server is never reached)", async () => {
        const result = await stack.up({ color: "never" });
        assert.equal(result.summary.result, "succeeded");
        assert.deepEqual([result.outputs["caCert"]?.value, result.outputs["clientCert"]?.value], [CA, CRT]);
        assert.deepEqual([result.outputs["caCert"]?.secret, result.outputs["clientCert"]?.secret], [true, true]);
        assert.equal(result.outputs["relayAddress"]?.value, "127.0.0.1:31299");
        // The provider patched the Service on the same cluster.
        assert.equal(kubectl("-n", ns, "get", "service", "hubble-relay", "-o", "jsonpath={.spec.type} {.spec.ports[0].nodePort}").stdout, "NodePort 31299");
    });
});

// Smoke test of the local lab's control plane (lab/up.sh): real kube-apiserver, controller-manager,
// scheduler and kwok nodes. Run with the lab up: node --import tsx --test test/lab/lab.test.ts
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { labEnv, repoRoot } from "./harness";


const env = labEnv();

function kubectl(args: string[], input?: string): string {
    const r = spawnSync(env.LAB_KUBECTL, ["--kubeconfig", env.KUBECONFIG, ...args], { encoding: "utf8", input });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.error ?? ""}`);
    return r.stdout;
}

/** GET over TLS verified against the lab CA (so the apiserver certificate must name the URL's host). */
function get(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.get(url, { ca: fs.readFileSync(env.LAB_CA_CERT), timeout: 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
        req.on("error", reject);
    });
}

const ns = `lab-smoke-${process.pid}`;
const nodeNames = env.LAB_NODE_NAMES.split(",");

const workloads = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.k8s.io/pause:3.10}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${ns}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: registry.k8s.io/pause:3.10}]
`;

describe("local lab control plane", () => {
    it("serves /readyz over TLS signed by the lab CA", async () => {
        const r = await get(`${env.LAB_APISERVER_URL}/readyz`);
        assert.equal(r.status, 200);
        assert.equal(r.body, "ok");
    });

    it("reports the pinned Kubernetes version", () => {
        const v = JSON.parse(kubectl(["version", "-o", "json"])) as { serverVersion: { gitVersion: string } };
        const pinned = /^KUBERNETES_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(repoRoot, "lab", "versions.env"), "utf8"));
        assert.ok(pinned, "KUBERNETES_VERSION missing in lab/versions.env");
        assert.equal(v.serverVersion.gitVersion, pinned[1]);
    });

    it("has every kwok node Ready, untainted, with its labels", () => {
        const list = JSON.parse(kubectl(["get", "nodes", "-o", "json"])) as {
            items: {
                metadata: { name: string; labels: Record<string, string> };
                spec: { taints?: unknown[]; podCIDR?: string };
                status: { conditions: { type: string; status: string }[] };
            }[];
        };
        assert.equal(nodeNames.length, Number(env.LAB_NODE_COUNT));
        for (const name of nodeNames) {
            const node = list.items.find((n) => n.metadata.name === name);
            assert.ok(node, `node ${name} missing`);
            assert.equal(node.status.conditions.find((c) => c.type === "Ready")?.status, "True", `${name} not Ready`);
            assert.equal(node.metadata.labels["kubernetes.io/os"], "linux");
            assert.equal(node.metadata.labels["kubernetes.io/arch"], "amd64");
            assert.equal(node.metadata.labels.type, "kwok");
            assert.deepEqual(node.spec.taints ?? [], [], `${name} has taints`);
            assert.ok(node.spec.podCIDR, `${name} has no podCIDR (controller-manager node IPAM)`);
        }
    });

    describe("workloads", () => {
        before(() => {
            kubectl(["create", "namespace", ns]);
            kubectl(["apply", "-f", "-"], workloads);
        });
        after(() => {
            spawnSync(env.LAB_KUBECTL, ["--kubeconfig", env.KUBECONFIG, "delete", "namespace", ns, "--ignore-not-found", "--wait=false"]);
        });

        it("rolls out a Deployment (scheduler binds, kwok makes pods Ready)", () => {
            kubectl(["-n", ns, "rollout", "status", "deployment/web", "--timeout=120s"]);
            const d = JSON.parse(kubectl(["-n", ns, "get", "deployment", "web", "-o", "json"])) as {
                status: { readyReplicas?: number; availableReplicas?: number };
            };
            assert.equal(d.status.readyReplicas, 4);
            assert.equal(d.status.availableReplicas, 4);
        });

        it("rolls out a DaemonSet with one Ready pod on each node", () => {
            kubectl(["-n", ns, "rollout", "status", "daemonset/agent", "--timeout=120s"]);
            const pods = JSON.parse(kubectl(["-n", ns, "get", "pods", "-l", "app=agent", "-o", "json"])) as {
                items: { spec: { nodeName: string }; status: { phase: string; podIP?: string } }[];
            };
            assert.deepEqual(pods.items.map((p) => p.spec.nodeName).sort(), [...nodeNames].sort());
            for (const p of pods.items) {
                assert.equal(p.status.phase, "Running");
                assert.ok(p.status.podIP, "a Running pod has a pod IP");
            }
        });

        it("mounts a service-account token into pods (controller-manager token controller)", () => {
            const sa = kubectl(["-n", ns, "get", "serviceaccount", "default", "-o", "name"]);
            assert.equal(sa.trim(), "serviceaccount/default");
            const pod = JSON.parse(kubectl(["-n", ns, "get", "pods", "-l", "app=web", "-o", "json"])) as {
                items: { spec: { volumes?: { projected?: unknown }[] } }[];
            };
            assert.ok(pod.items[0].spec.volumes?.some((v) => v.projected), "no projected token volume");
        });

        it("deletes the namespace with its pods (kwok's pod-delete stage)", () => {
            kubectl(["delete", "namespace", ns, "--timeout=120s"]);
            const r = spawnSync(env.LAB_KUBECTL, ["--kubeconfig", env.KUBECONFIG, "get", "namespace", ns], { encoding: "utf8" });
            assert.notEqual(r.status, 0);
            assert.match(r.stderr, /NotFound/);
        });
    });
});

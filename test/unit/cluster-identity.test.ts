import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clusterIdentity, destructiveChanges, foreignOwner, identityData, identityFromData, type ClusterIdentity } from "../../lib/cluster-identity";
import { parseConfig } from "../../config";

const recorded: ClusterIdentity = {
    podCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12", controlPlaneEndpoint: "10.0.0.10:6443", ipamMode: "kubernetes", kubernetesVersion: "1.34.2",
};
const SAFE = "To keep the cluster, restore the previous value. To rebuild it on purpose, set safety.allowClusterReplacement: true for this one `up` (the running workloads are lost).";

describe("destructiveChanges", () => {
    it("nothing changed, or only a patch release: nothing to refuse", () => {
        assert.deepEqual(destructiveChanges(recorded, recorded, false), []);
        assert.deepEqual(destructiveChanges(recorded, { ...recorded, kubernetesVersion: "1.34.5" }, false), []);
    });

    it("a new pod CIDR is refused with the reason and the safe path", () => {
        assert.deepEqual(destructiveChanges(recorded, { ...recorded, podCidr: "10.245.0.0/16" }, false), [
            `cluster.podCidr: would change from "10.244.0.0/16" to "10.245.0.0/16" on a running cluster (every pod address and Cilium's per-node allocations come from it; changing it on a running cluster strands the running pods and needs a cluster rebuild). ${SAFE}`,
        ]);
    });

    it("a new control-plane endpoint and service CIDR and IPAM mode are each refused", () => {
        const problems = destructiveChanges(recorded, { ...recorded, controlPlaneEndpoint: "lb.example.com:6443", serviceCidr: "10.112.0.0/12", ipamMode: "cluster-pool" }, false);
        assert.deepEqual(problems.map((p) => p.split(":")[0]), ["cluster.serviceCidr", "cluster.controlPlaneEndpoint", "cilium.ipam.mode"]);
    });

    it("a minor jump is refused with the kubeadm upgrade path; a downgrade always", () => {
        assert.deepEqual(destructiveChanges(recorded, { ...recorded, kubernetesVersion: "1.35.0" }, false), [
            'cluster.kubernetesVersion: would jump from "1.34.2" to "1.35.0" (a minor upgrade needs `kubeadm upgrade`, one minor at a time, control planes first; re-running the install steps does not upgrade a cluster). Upgrade the nodes with kubeadm upgrade to 1.35, then set cluster.kubernetesVersion to it; or set safety.allowClusterReplacement: true to rebuild.',
        ]);
        assert.deepEqual(destructiveChanges(recorded, { ...recorded, kubernetesVersion: "1.33.9" }, true), [
            'cluster.kubernetesVersion: would go down from "1.34.2" to "1.33.9" (kubeadm does not downgrade a control plane). Restore "1.34.2" or a later patch of 1.34.',
        ]);
    });

    it("safety.allowClusterReplacement lets a rebuild through", () => {
        assert.deepEqual(destructiveChanges(recorded, { ...recorded, podCidr: "10.245.0.0/16", kubernetesVersion: "1.35.0" }, true), []);
    });

    it("an older record without some keys only compares what it has", () => {
        assert.deepEqual(destructiveChanges({ podCidr: "10.244.0.0/16" }, { ...recorded, serviceCidr: "10.112.0.0/12" }, false), []);
    });
});

describe("identity in the record", () => {
    it("round-trips through ConfigMap data", () => {
        assert.deepEqual(identityFromData(identityData(recorded)), recorded);
        assert.deepEqual(identityData(recorded)["cluster.podCidr"], "10.244.0.0/16");
    });

    it("comes from the stack config (existing mode has no Kubernetes version of its own)", () => {
        const cfg = parseConfig({
            environment: "lab",
            cluster: { mode: "existing", kubeconfig: "apiVersion: v1\nclusters: []\n", controlPlaneEndpoint: "127.0.0.1:26443" },
            cilium: { version: "1.18.2" },
        }, { checkFiles: false });
        assert.deepEqual(clusterIdentity(cfg), { podCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12", controlPlaneEndpoint: "127.0.0.1:26443", ipamMode: "kubernetes" });
    });
});

describe("foreignOwner", () => {
    it("accepts this stack's own record and refuses another stack's", () => {
        assert.deepEqual(foreignOwner({ project: "microseg", stack: "dev" }, "microseg", "dev"), []);
        assert.deepEqual(foreignOwner({ project: "microseg", stack: "staging" }, "microseg", "dev"), [
            'cluster: already managed by stack "microseg/staging" (ConfigMap kube-system/microseg-stack), not "microseg/dev". Point this stack at its own cluster, or destroy the other stack first; two stacks on one cluster overwrite each other\'s Cilium release and policies.',
        ]);
    });
});

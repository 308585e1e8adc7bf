import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clusterIdentity, destructiveChanges, foreignOwner, identityData, identityFromData, recordReadRefusal, type ClusterIdentity } from "../../lib/cluster/cluster-identity";
import { ApiReadError } from "../../lib/kube/kube-api";
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

describe("recordReadRefusal: a stack record that could not be read stops preview", () => {
    const HEAD = "microseg: cannot read this cluster's stack record (ConfigMap kube-system/microseg-stack): ";
    const WHY = ". Without it microseg cannot tell whether another stack owns the cluster or whether this change would rebuild it, so preview stops here (nothing was changed); only the API server's \"not found\" means a new cluster. ";
    const forbidden = 'configmaps "microseg-stack" is forbidden: User "nobody" cannot get resource "configmaps" in API group "" in the namespace "kube-system"';
    const err = (status: number | undefined, reason: string) => new ApiReadError("ConfigMap kube-system/microseg-stack", "https://10.0.0.10:6443", status, reason);

    it("403: names the server, the answer, the kubeconfig and context in use, and the RBAC fix", () => {
        assert.equal(recordReadRefusal(err(403, forbidden), { mode: "existing", context: "prod-admin" }),
            `${HEAD}the API server https://10.0.0.10:6443 answered HTTP 403 Forbidden (${forbidden})${WHY}` +
            'Check the credentials of the kubeconfig of cluster.kubeconfig / cluster.kubeconfigPath, context "prod-admin" (cluster.context): they must be valid for this API server and allowed by RBAC to get ConfigMaps in kube-system (kubectl auth can-i get configmaps -n kube-system).');
        assert.match(recordReadRefusal(err(401, "Unauthorized"), { mode: "existing" }), /answered HTTP 401 Unauthorized \(Unauthorized\).* cluster\.kubeconfigPath, its current-context: they must be valid/);
    });

    it("not reached: the cause and the reachability fix; kubeadm mode names the endpoint", () => {
        assert.equal(recordReadRefusal(err(undefined, "connect ECONNREFUSED 10.0.0.10:6443"), { mode: "kubeadm" }),
            `${HEAD}the API server https://10.0.0.10:6443 was not reached (connect ECONNREFUSED 10.0.0.10:6443)${WHY}` +
            "Check that it is up and reachable from where pulumi runs, and that the admin kubeconfig read from the first control plane, pointed at cluster.controlPlaneEndpoint names the right server.");
    });

    it("5xx: the health check; a kubeconfig that cannot be used: its first line only", () => {
        assert.match(recordReadRefusal(err(500, "etcdserver: leader changed"), { mode: "existing" }), /answered HTTP 500 Internal Server Error \(etcdserver: leader changed\)\..* check its health \(kubectl get --raw \/readyz\) and run preview again\.$/);
        assert.match(recordReadRefusal(new Error('kubeconfig: context "absent" not found'), { mode: "existing", context: "absent" }),
            /: the kubeconfig of cluster\.kubeconfig \/ cluster\.kubeconfigPath, context "absent" \(cluster\.context\) cannot be used \(kubeconfig: context "absent" not found\)\..* Fix the kubeconfig or cluster\.context\.$/);
    });

    it("never quotes secret-looking text from an error", () => {
        const m = recordReadRefusal(new Error("Nested mappings at line 3:\n  client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"), { mode: "existing" });
        assert.ok(!m.includes("LS0tLS1"), m);
        const t = recordReadRefusal(err(undefined, "exec plugin: token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln"), { mode: "existing" });
        assert.ok(!t.includes("eyJ"), t);
        assert.match(t, /was not reached \(\[looks like a token; not shown\]\)/);
    });
});

// The lab kubelet of one datapath lab node (lab/nodes-up.sh starts one per node, in the node's network namespace
// and cgroup). Usage: node --import tsx lab/kubelet/main.ts --node NAME --node-ip IP --lab-dir DIR --kubeconfig FILE
//   --cgroup DIR --node-netns FILE --kubernetes-version vX.Y.Z [--cluster-dns IP] [--cluster-domain cluster.local]
import * as path from "node:path";
import { parseArgs } from "node:util";
import { LabNode } from "./node";

const { values } = parseArgs({
    options: {
        node: { type: "string" }, "node-ip": { type: "string" }, "lab-dir": { type: "string" }, kubeconfig: { type: "string" },
        cgroup: { type: "string" }, "node-netns": { type: "string" }, "kubernetes-version": { type: "string" },
        "cluster-dns": { type: "string", default: "10.96.0.10" }, "cluster-domain": { type: "string", default: "cluster.local" },
    },
});
for (const k of ["node", "node-ip", "lab-dir", "kubeconfig", "cgroup", "node-netns", "kubernetes-version"] as const) {
    if (!values[k]) {
        process.stderr.write(`lab kubelet: --${k} is required\n`);
        process.exit(2);
    }
}
const node = new LabNode({
    name: values.node!, nodeIP: values["node-ip"]!, labDir: values["lab-dir"]!, kubeconfig: values.kubeconfig!,
    cgroupDir: values.cgroup!, nodeNetns: values["node-netns"]!, repoRoot: path.resolve(__dirname, "..", ".."),
    kubernetesVersion: values["kubernetes-version"]!, clusterDNS: values["cluster-dns"]!, clusterDomain: values["cluster-domain"]!,
});
// Stopping the kubelet leaves its containers running, as a real kubelet does; lab/down.sh kills the node's cgroup.
process.on("SIGTERM", () => process.exit(0));
node.run().catch((e: unknown) => {
    process.stderr.write(`lab kubelet: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
});

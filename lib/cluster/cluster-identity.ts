// What a running cluster cannot change in place, recorded in the cluster (the StackRecord ConfigMap) at every
// `up` and compared at the next preview: a new pod or service CIDR, a new control-plane endpoint, another IPAM
// mode or a Kubernetes minor jump would rebuild or break the cluster, so they are refused with the reason and
// the safe path unless `safety.allowClusterReplacement` says otherwise. Pure: no `@pulumi/*` import.
import semver from "semver";
import { endpointString, type StackConfig } from "../../config";
import { ApiReadError } from "../kube/kube-api";
import { shownOrRedacted } from "../base/secret";

/** The settings a running cluster is built on, as strings (they live in a ConfigMap). */
export interface ClusterIdentity {
    readonly podCidr: string;
    readonly serviceCidr: string;
    readonly controlPlaneEndpoint: string;
    readonly ipamMode: string;
    /** kubeadm mode only: the installed Kubernetes version. */
    readonly kubernetesVersion?: string;
}

/** ConfigMap keys of the identity (prefixed so they sit beside the record's other entries). */
export const IDENTITY_KEYS: Readonly<Record<keyof ClusterIdentity, string>> = {
    podCidr: "cluster.podCidr",
    serviceCidr: "cluster.serviceCidr",
    controlPlaneEndpoint: "cluster.controlPlaneEndpoint",
    ipamMode: "cilium.ipam.mode",
    kubernetesVersion: "cluster.kubernetesVersion",
};

export function clusterIdentity(cfg: StackConfig): ClusterIdentity {
    return {
        podCidr: cfg.cluster.podCidr,
        serviceCidr: cfg.cluster.serviceCidr,
        controlPlaneEndpoint: endpointString(cfg),
        ipamMode: cfg.cilium.ipam.mode,
        ...(cfg.cluster.mode === "kubeadm" ? { kubernetesVersion: cfg.cluster.kubernetesVersion } : {}),
    };
}

/** The identity as ConfigMap data. */
export function identityData(id: ClusterIdentity): Record<string, string> {
    const data: Record<string, string> = {};
    for (const [k, key] of Object.entries(IDENTITY_KEYS) as [keyof ClusterIdentity, string][]) {
        const v = id[k];
        if (v !== undefined) data[key] = v;
    }
    return data;
}

/** Reads an identity back from ConfigMap data; keys that are absent stay undefined (older records). */
export function identityFromData(data: Readonly<Record<string, string>>): Partial<ClusterIdentity> {
    const out: Record<string, string> = {};
    for (const [k, key] of Object.entries(IDENTITY_KEYS)) if (data[key] !== undefined) out[k] = data[key];
    return out as Partial<ClusterIdentity>;
}

const WHY: Record<keyof ClusterIdentity, string> = {
    podCidr: "every pod address and Cilium's per-node allocations come from it; changing it on a running cluster strands the running pods and needs a cluster rebuild",
    serviceCidr: "kube-apiserver's certificates and every Service's ClusterIP come from it; it cannot change in place",
    controlPlaneEndpoint: "it is baked into every certificate, kubeconfig and kubelet of the cluster and into Cilium's k8sServiceHost; changing it re-points the nodes at an endpoint they may not trust",
    ipamMode: "Cilium would allocate pod addresses from another source while the running pods keep theirs",
    kubernetesVersion: "",
};

const SAFE_PATH =
    "To keep the cluster, restore the previous value. To rebuild it on purpose, set safety.allowClusterReplacement: true for this one `up` (the running workloads are lost)";

/**
 * The destructive differences between the recorded identity of the running cluster and the desired one, each
 * `<setting>: would change from "<old>" to "<new>" (<why>). <safe path>.` Empty when nothing dangerous changes.
 */
export function destructiveChanges(recorded: Partial<ClusterIdentity>, desired: ClusterIdentity, allowReplacement: boolean): string[] {
    const problems: string[] = [];
    const settings: Record<keyof ClusterIdentity, string> = {
        podCidr: "cluster.podCidr",
        serviceCidr: "cluster.serviceCidr",
        controlPlaneEndpoint: "cluster.controlPlaneEndpoint",
        ipamMode: "cilium.ipam.mode",
        kubernetesVersion: "cluster.kubernetesVersion",
    };
    for (const key of ["podCidr", "serviceCidr", "controlPlaneEndpoint", "ipamMode"] as const) {
        const before = recorded[key];
        if (before === undefined || before === desired[key] || allowReplacement) continue;
        problems.push(`${settings[key]}: would change from "${before}" to "${desired[key]}" on a running cluster (${WHY[key]}). ${SAFE_PATH}.`);
    }
    const before = recorded.kubernetesVersion;
    const after = desired.kubernetesVersion;
    if (before !== undefined && after !== undefined && semver.valid(before) && semver.valid(after)) {
        const minorStep = (semver.major(after) - semver.major(before)) * 100 + (semver.minor(after) - semver.minor(before));
        if (minorStep < 0) {
            problems.push(`cluster.kubernetesVersion: would go down from "${before}" to "${after}" (kubeadm does not downgrade a control plane). Restore "${before}" or a later patch of ${semver.major(before)}.${semver.minor(before)}.`);
        } else if (minorStep > 0 && !allowReplacement) {
            problems.push(
                `cluster.kubernetesVersion: would jump from "${before}" to "${after}" (a minor upgrade needs \`kubeadm upgrade\`, one minor at a time, control planes first; re-running the install steps does not upgrade a cluster). ` +
                    `Upgrade the nodes with kubeadm upgrade to ${semver.major(before)}.${semver.minor(before) + 1}, then set cluster.kubernetesVersion to it; or set safety.allowClusterReplacement: true to rebuild.`,
            );
        }
    }
    return problems;
}

/**
 * A cluster already owned by another stack (its record names another project/stack): two stacks on one cluster
 * would overwrite each other's Cilium release and policies. Empty when the record is this stack's.
 */
export function foreignOwner(record: Readonly<Record<string, string>>, project: string, stack: string): string[] {
    if (record["project"] === undefined || (record["project"] === project && record["stack"] === stack)) return [];
    return [
        `cluster: already managed by stack "${record["project"]}/${record["stack"]}" (ConfigMap kube-system/microseg-stack), not "${project}/${stack}". ` +
            "Point this stack at its own cluster, or destroy the other stack first; two stacks on one cluster overwrite each other's Cilium release and policies.",
    ];
}

/** Which kubeconfig and context the stack record was read with, for the message when it could not be. */
export interface RecordSource {
    readonly mode: "existing" | "kubeadm";
    /** cluster.context when set. */
    readonly context?: string;
}

/**
 * The message that stops preview when the stack record could not be read (a 403, a 5xx, a server not reached, a
 * kubeconfig that cannot be used). Only the apiserver's "not found" means a new cluster; anything else may hide
 * a record, and going on would skip the ownership and rebuild checks. Names the API server, what it answered or
 * why it was not reached, and the fix. No credential is ever part of it.
 */
export function recordReadRefusal(error: unknown, source: RecordSource): string {
    const kubeconfig = source.mode === "existing"
        ? `the kubeconfig of cluster.kubeconfig / cluster.kubeconfigPath, ${source.context === undefined ? "its current-context" : `context "${source.context}" (cluster.context)`}`
        : "the admin kubeconfig read from the first control plane, pointed at cluster.controlPlaneEndpoint";
    let what: string;
    let fix: string;
    if (error instanceof ApiReadError && error.status === undefined) {
        what = `the API server ${error.server} was not reached (${shownOrRedacted(error.reason)})`;
        fix = `Check that it is up and reachable from where pulumi runs, and that ${kubeconfig} names the right server.`;
    } else if (error instanceof ApiReadError) {
        what = `the API server ${error.server} answered ${shownOrRedacted(error.answer)}`;
        fix = error.status === 401 || error.status === 403
            ? `Check the credentials of ${kubeconfig}: they must be valid for this API server and allowed by RBAC to get ConfigMaps in kube-system (kubectl auth can-i get configmaps -n kube-system).`
            : (error.status ?? 0) >= 500
              ? "The API server failed to answer: check its health (kubectl get --raw /readyz) and run preview again."
              : `Check that ${kubeconfig} points at a Kubernetes API server.`;
    } else {
        const first = (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
        what = `${kubeconfig} cannot be used (${shownOrRedacted(first)})`;
        fix = source.mode === "existing" ? "Fix the kubeconfig or cluster.context." : "Check the first control plane's /etc/kubernetes/admin.conf.";
    }
    return (
        `microseg: cannot read this cluster's stack record (ConfigMap kube-system/microseg-stack): ${what}. ` +
        "Without it microseg cannot tell whether another stack owns the cluster or whether this change would rebuild it, " +
        `so preview stops here (nothing was changed); only the API server's "not found" means a new cluster. ${fix}`
    );
}

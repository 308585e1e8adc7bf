// What the stack record left by the last `up` (StackRecord, stack-record.ts) is read for at preview: the
// ownership and rebuild guard, and the traffic report of a policy change. Both resolve to no resources; what
// would carry a refused change waits for the guard (index.ts passes them as dependsOn).
import * as pulumi from "@pulumi/pulumi";
import { destructiveChanges, foreignOwner, identityFromData, recordReadRefusal, type ClusterIdentity, type RecordSource } from "../../lib/cluster/cluster-identity";
import { apiTargetFromKubeconfig, readConfigMapData } from "../../lib/kube/kube-api";
import { trafficReport, TRAFFIC_MATRIX_KEY, type TrafficSnapshot } from "../../lib/policy/traffic-diff";
import { STACK_RECORD_NAME, STACK_RECORD_NAMESPACE } from "./stack-record";

/** The record's data (undefined: the apiserver says there is none), or why it could not be read. */
export type RecordRead = { data: Record<string, string> | undefined } | { error: string };

/**
 * The stack record as the last `up` left it in the cluster, read once per run with the kubeconfig context every
 * reader uses (cluster.context, as the Kubernetes provider). Only the apiserver's "not found" means no record (a
 * new cluster); any other failure is kept as the message that stops preview (guardClusterIdentity). A kubeadm
 * cluster before init has no apiserver yet: its kubeconfig is unknown at preview (read-kubeconfig has not run),
 * so nothing is read then; at `up` it is read once init made it.
 */
export function readDeployedRecord(kubeconfig: pulumi.Output<string>, source: RecordSource): pulumi.Output<RecordRead> {
    return kubeconfig.apply(async (text): Promise<RecordRead> => {
        try {
            return { data: await readConfigMapData(apiTargetFromKubeconfig(text, source.context), STACK_RECORD_NAMESPACE, STACK_RECORD_NAME) };
        } catch (e) {
            return { error: recordReadRefusal(e, source) };
        }
    });
}

/**
 * Refuses, at preview, a change the running cluster cannot take in place (lib/cluster/cluster-identity.ts), and a
 * cluster another stack owns, comparing the desired identity with what the last `up` recorded.
 */
export function guardClusterIdentity(desired: ClusterIdentity, allowClusterReplacement: boolean, record: pulumi.Output<RecordRead>): pulumi.Output<pulumi.Resource[]> {
    return record.apply((read) => {
        if ("error" in read) throw new pulumi.RunError(read.error);
        const data = read.data;
        const problems = data ? [
            ...foreignOwner(data, pulumi.getProject(), pulumi.getStack()),
            ...destructiveChanges(identityFromData(data), desired, allowClusterReplacement),
        ] : [];
        if (problems.length > 0) {
            throw new pulumi.RunError(`microseg: refusing a change the running cluster cannot take (nothing was changed):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        }
        return [];
    });
}

/**
 * Says at preview (and up) what the policy change means for traffic: the verdict matrix recorded by the last `up`
 * (lib/policy/traffic-diff.ts) against the one of these policies, workloads and enforcement mode; one line per
 * changed flow, a warning for a newly denied one, nothing when nothing changes.
 */
export function reportTrafficDiff(current: TrafficSnapshot, record: pulumi.Output<RecordRead>): pulumi.Output<pulumi.Resource[]> {
    return record.apply(async (read) => {
        // guardClusterIdentity stops preview on an unreadable record and refuses another stack's, whose matrix
        // says nothing about this stack.
        const data = "error" in read ? undefined : read.data;
        if (!data || data["project"] !== pulumi.getProject() || data["stack"] !== pulumi.getStack()) return [];
        for (const line of trafficReport(data[TRAFFIC_MATRIX_KEY], current)) {
            await (line.level === "warn" ? pulumi.log.warn(`traffic: ${line.message}`) : pulumi.log.info(`traffic: ${line.message}`));
        }
        return [];
    });
}

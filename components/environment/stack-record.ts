import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Where the record lives: one per cluster. */
export const STACK_RECORD_NAME = "microseg-stack";
export const STACK_RECORD_NAMESPACE = "kube-system";

export interface StackRecordArgs {
    /** Environment name from config (`dev`, `staging`, `prod`, `lab`). */
    environment: string;
    /** Extra entries to record (e.g. the deployed Cilium version, a digest of the policies). */
    data?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Namespace of the record.
     * @default STACK_RECORD_NAMESPACE
     */
    namespace?: string;
}

/**
 * A ConfigMap in the cluster saying which microseg stack owns it and what it deployed, so a person with
 * kubectl (or another stack pointed at the same cluster by mistake) can tell.
 */
export class StackRecord extends pulumi.ComponentResource {
    readonly configMapName: pulumi.Output<string>;

    constructor(name: string, args: StackRecordArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microseg:environment:StackRecord", name, {}, opts);
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-configmap`,
            {
                metadata: {
                    name: STACK_RECORD_NAME,
                    namespace: args.namespace ?? STACK_RECORD_NAMESPACE,
                    labels: { "app.kubernetes.io/managed-by": "microseg" },
                },
                data: pulumi.output(args.data ?? {}).apply((extra) => ({
                    project: pulumi.getProject(),
                    stack: pulumi.getStack(),
                    environment: args.environment,
                    ...extra,
                })),
            },
            { parent: this },
        );
        this.configMapName = configMap.metadata.name;
        this.registerOutputs({ configMapName: this.configMapName });
    }
}

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** What every cluster component hands to the rest of the graph, whichever way the cluster came to be. */
export interface ClusterAccess {
    /** Admin kubeconfig, always a secret output. */
    readonly kubeconfig: pulumi.Output<string>;
    /** Kubernetes provider bound to this cluster; every Kubernetes resource of the stack uses it. */
    readonly provider: k8s.Provider;
    /** The control-plane endpoint nodes reach the apiserver at (Cilium's `k8sServiceHost`/`k8sServicePort`). */
    readonly apiEndpoint: pulumi.Output<{ host: string; port: number }>;
    /** Node addresses a user can reach NodePorts on (for the relay address and UI URL). */
    readonly nodeAddresses: pulumi.Output<string[]>;
}

export interface ExistingClusterArgs {
    /** Admin kubeconfig of the cluster. Treated as a secret whatever its input says. */
    kubeconfig: pulumi.Input<string>;
    /**
     * Context of the kubeconfig to use.
     * @default the kubeconfig's `current-context`
     */
    context?: pulumi.Input<string>;
    /** The control-plane endpoint as the nodes reach it (no kube-proxy: Cilium talks to it directly). */
    controlPlaneEndpoint: pulumi.Input<{ host: string; port: number }>;
    /**
     * Addresses of nodes that serve NodePorts.
     * @default the control-plane endpoint's host
     */
    nodeAddresses?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * `mode: existing`: a cluster microseg did not build (bring-your-own, or the local lab). It only binds a
 * Kubernetes provider to the given kubeconfig; nothing is created on the hosts.
 */
export class ExistingCluster extends pulumi.ComponentResource implements ClusterAccess {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiEndpoint: pulumi.Output<{ host: string; port: number }>;
    readonly nodeAddresses: pulumi.Output<string[]>;

    constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microseg:cluster:ExistingCluster", name, {}, opts);
        this.kubeconfig = pulumi.secret(pulumi.output(args.kubeconfig));
        this.apiEndpoint = pulumi.output(args.controlPlaneEndpoint);
        this.nodeAddresses = args.nodeAddresses
            ? pulumi.output(args.nodeAddresses)
            : this.apiEndpoint.apply((e) => [e.host]);
        // ConfigMaps update in place: the stack record (a fixed name) would otherwise be replaced, i.e. deleted
        // before it is recreated, on every policy change, leaving the cluster without a record if the create fails.
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: this.kubeconfig, context: args.context, enableConfigMapMutable: true },
            { parent: this },
        );
        this.registerOutputs({ apiEndpoint: this.apiEndpoint, nodeAddresses: this.nodeAddresses });
    }
}

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { hubbleUiPortForwardCommand } from "../../lib/cilium/cilium-values";
import { apiTargetFromKubeconfig, readSecretData } from "../../lib/kube/kube-api";
import { RELAY_CLIENT_CERTS_SECRET, RELAY_TLS_SERVER_NAME } from "../../lib/cilium/hubble-relay";

/**
 * Field ownership, researched (sources below), and why the builder ALSO sets the same type/nodePort in the
 * chart values (lib/cilium/cilium-values.ts):
 * - The Release is installed by the Helm v3 library inside the provider. Helm 3 writes objects with
 *   create/three-way strategic-merge patches (an `Update` entry in managedFields), not server-side apply.
 *   On every upgrade it computes the patch from the old manifest, the LIVE object and the new manifest, so
 *   a live change to a field the chart renders is reverted (helm.sh/docs/faq/changes_since_helm2,
 *   "Improved Upgrade Strategy: 3-way Strategic Merge Patches": the `kubectl scale --replicas=0` example).
 *   A NodePort set only by a patch (or by `kubectl edit`, as in the walk-through) would silently go back to
 *   ClusterIP on the next chart upgrade or values change, and Pulumi would not notice without a refresh.
 * - This ServicePatch is a server-side apply with its own field manager (`pulumi.com/patchFieldManager`;
 *   otherwise a random one per Patch resource). SSA only conflicts when a field owned by another manager
 *   would CHANGE value; applying the value Helm already rendered makes the two managers co-owners, no
 *   conflict. `pulumi.com/patchForce: "true"` makes a different value win (e.g. a release installed by hand
 *   with ClusterIP) instead of failing (pulumi-kubernetes "Managing Resources with Server-Side Apply" and
 *   the Patch resources' doc: "Conflicts will result in an error by default, but can be forced using the
 *   pulumi.com/patchForce annotation").
 * - Deleting this patch relinquishes its fields; a field nobody else owns is reset to its default (the same
 *   SSA guide, "Deleting a Patch resource will undo the patched changes"). Since Helm co-owns type/nodePort
 *   with the same values, they stay.
 * - The ports list of a Service is a map keyed by (port, protocol) under SSA: the patch names the chart's
 *   port (443 with relay TLS, 80 without) and sets only its nodePort; targetPort stays the chart's named
 *   `grpc` port (4245). The walk-through's `targetPort: 80` would point at nothing.
 */
export interface RelayNodePortArgs {
    /** The NodePort (inside the apiserver's --service-node-port-range; checked by the values builder). */
    readonly nodePort: number;
    /** The chart's relay Service port (`Cilium.relayServicePort`). @default 443 */
    readonly servicePort?: number;
    /** A node address users can reach (relay address and UI URL). */
    readonly nodeAddress: pulumi.Input<string>;
    /** Relay serves TLS with client certificates (the default of the values builder). @default true */
    readonly tls?: boolean;
    /**
     * The Cilium release status (`Cilium.releaseStatus`): the client certificates are read only once the
     * release is deployed. Unknown during the preview of a new or changed release, so nothing is read then.
     */
    readonly releaseStatus: pulumi.Input<string>;
    /** Admin kubeconfig of the cluster (secret): the relay client certificates are read with it during `up`. */
    readonly kubeconfig: pulumi.Input<string>;
    /** Context of the kubeconfig, as the Kubernetes provider uses it. @default the kubeconfig's `current-context` */
    readonly context?: pulumi.Input<string>;
    /** The UI's NodePort, when exposed. @default undefined (the UI is reached with kubectl port-forward) */
    readonly uiNodePort?: number;
    /** @default "kube-system" */
    readonly namespace?: string;
    /** Where the hubble CLI lines expect the certificate files. @default "~/.config/hubble/microseg" */
    readonly certDir?: string;
}

/** Relay certificate names (chart 1.19 templates/hubble/tls-helm/relay-server-secret.yaml, relay-client-secret.yaml). */
const RELAY_SERVICE = "hubble-relay";

export { RELAY_TLS_SERVER_NAME };
const FIELD_MANAGER = "microseg-relay-node-port";

/** `hubble config set` lines for a relay at `address` (pure). */
export function hubbleConfigLines(address: string, tls: boolean, certDir: string): string[] {
    const lines = [`hubble config set relay-address ${address}`];
    if (tls) {
        lines.push(
            "hubble config set tls true",
            `hubble config set tls-server-name ${RELAY_TLS_SERVER_NAME}`,
            `hubble config set tls-ca-cert-files ${certDir}/ca.crt`,
            `hubble config set tls-client-cert-file ${certDir}/client.crt`,
            `hubble config set tls-client-key-file ${certDir}/client.key`,
        );
    }
    return lines;
}

/** Exposes the chart's `hubble-relay` Service on a NodePort with a server-side-apply patch. */
export class RelayNodePort extends pulumi.ComponentResource {
    readonly patch: k8s.core.v1.ServicePatch;
    /** `<node address>:<nodePort>`. */
    readonly relayAddress: pulumi.Output<string>;
    /** The `hubble config set ...` lines, relay address first, then the TLS lines. */
    readonly hubbleConfigCommands: pulumi.Output<string[]>;
    /** CA, client certificate and key (PEM) for the hubble CLI; secret outputs, undefined without TLS. */
    readonly caCert?: pulumi.Output<string>;
    readonly clientCert?: pulumi.Output<string>;
    readonly clientKey?: pulumi.Output<string>;
    /** The Hubble UI URL (NodePort, else the local end of `kubectl port-forward`). */
    readonly uiUrl: pulumi.Output<string>;
    /** How to reach the UI when it is not exposed. */
    readonly uiPortForwardCommand: string;

    constructor(name: string, args: RelayNodePortArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microseg:cilium:RelayNodePort", name, {}, opts);
        const namespace = args.namespace ?? "kube-system";
        const tls = args.tls ?? true;
        const certDir = args.certDir ?? "~/.config/hubble/microseg";

        this.patch = new k8s.core.v1.ServicePatch(`${name}-patch-service`, {
            metadata: {
                name: RELAY_SERVICE,
                namespace,
                annotations: { "pulumi.com/patchForce": "true", "pulumi.com/patchFieldManager": FIELD_MANAGER },
            },
            spec: {
                type: "NodePort",
                ports: [{ port: args.servicePort ?? 443, protocol: "TCP", nodePort: args.nodePort }],
            },
        }, { parent: this });

        // The address depends on the patch, so it is only reported once the Service really is a NodePort.
        this.relayAddress = pulumi.all([args.nodeAddress, this.patch.id]).apply(([node]) => `${hostForUrl(node)}:${args.nodePort}`);
        this.hubbleConfigCommands = this.relayAddress.apply((a) => hubbleConfigLines(a, tls, certDir));

        if (tls) {
            // Read straight from the apiserver during `up`, once the release is deployed (unknown at preview of a
            // new or changed release, so nothing is read then). Not a `Secret.get` resource: that would show a
            // `read` on every run of an unchanged stack.
            const certs = pulumi.all([args.kubeconfig, args.context, args.releaseStatus]).apply(([kubeconfig, context]) =>
                readSecretData(apiTargetFromKubeconfig(kubeconfig, context), namespace, RELAY_CLIENT_CERTS_SECRET),
            );
            const field = (key: string) => pulumi.secret(certs.apply((d) => d[key] ?? ""));
            this.caCert = field("ca.crt");
            this.clientCert = field("tls.crt");
            this.clientKey = field("tls.key");
        }

        this.uiPortForwardCommand = hubbleUiPortForwardCommand(namespace);
        this.uiUrl = args.uiNodePort !== undefined
            ? pulumi.output(args.nodeAddress).apply((n) => `http://${hostForUrl(n)}:${args.uiNodePort}`)
            : pulumi.output("http://localhost:12000");

        this.registerOutputs({
            relayAddress: this.relayAddress,
            hubbleConfigCommands: this.hubbleConfigCommands,
            caCert: this.caCert,
            clientCert: this.clientCert,
            clientKey: this.clientKey,
            uiUrl: this.uiUrl,
        });
    }
}

/** IPv6 literals need brackets in host:port. */
function hostForUrl(host: string): string {
    return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { demoManifests, type Manifest } from "../../lib/stack/demo-manifests";
import type { Workloads } from "../../lib/policy/model/workloads-schema";

export interface DemoArgs {
    /** The declared workloads to deploy (`policies/workloads.ts`); kube-system entries are only declared, not deployed. */
    readonly workloads: Workloads;
}

/**
 * The walk-through's workloads (busybox and an HTTP test-app in `default`, backend-app in `backend`, busybox in
 * `frontend` and `test`), deployed by the same graph when `policies.demo: true`, so the walk-through can be
 * replayed end to end. Policies that select them depend on this component (their namespaces must exist).
 */
export class Demo extends pulumi.ComponentResource {
    /** `namespace/name` of each Deployment. */
    readonly deployments: string[];

    constructor(name: string, args: DemoArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microseg:demo:Demo", name, {}, opts);
        const manifests = demoManifests(args.workloads);
        const namespaces = new Map<string, k8s.core.v1.Namespace>();
        this.deployments = [];
        for (const m of manifests) {
            const resourceName = `${name}-${m.kind.toLowerCase()}-${m.metadata.namespace ? `${m.metadata.namespace}-` : ""}${m.metadata.name}`;
            const ns = m.metadata.namespace ? namespaces.get(m.metadata.namespace) : undefined;
            const childOpts: pulumi.CustomResourceOptions = { parent: this, ...(ns ? { dependsOn: [ns] } : {}) };
            const resource = create(resourceName, m, childOpts);
            if (resource instanceof k8s.core.v1.Namespace) namespaces.set(m.metadata.name, resource);
            if (m.kind === "Deployment") this.deployments.push(`${m.metadata.namespace}/${m.metadata.name}`);
        }
        this.registerOutputs({ deployments: this.deployments });
    }
}

function create(name: string, m: Manifest, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    switch (m.kind) {
        case "Namespace":
            return new k8s.core.v1.Namespace(name, m as k8s.types.input.core.v1.Namespace, opts);
        case "ConfigMap":
            return new k8s.core.v1.ConfigMap(name, m as k8s.types.input.core.v1.ConfigMap, opts);
        case "Deployment":
            return new k8s.apps.v1.Deployment(name, m as k8s.types.input.apps.v1.Deployment, opts);
        case "Service":
            return new k8s.core.v1.Service(name, m as k8s.types.input.core.v1.Service, opts);
        default:
            throw new Error(`demo: no resource type for kind ${m.kind}`);
    }
}

import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { checkPolicies, type CheckContext, type Finding } from "../../lib/policy/policy-checks";
import { formatFindings } from "../../lib/policy/policy-files";
import type { PolicyManifest } from "../../lib/policy/model/schema";
import { CrdWaitError, waitForCrdsEstablished } from "./crd-wait";

/** The CRDs cilium-operator registers at start-up; the Cilium chart does not ship them. */
export const CILIUM_POLICY_CRDS = ["ciliumnetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io"] as const;

/** What the lint needs to know about the cluster (lib/policy/policy-checks.ts), without file sources. */
export type PolicyCheckContext = Omit<CheckContext, "sources">;

export interface PolicySetArgs {
    /**
     * The typed policies (`policies/index.ts`). Each becomes one `CustomResource` named
     * {@link policyResourceName}; every one is checked before anything is registered.
     */
    readonly policies: readonly PolicyManifest[];
    /**
     * Admin kubeconfig of the cluster the component's provider talks to (`ClusterAccess.kubeconfig`); used only to
     * wait for the CRDs during `up`. Pass the provider itself as `opts.provider`.
     */
    readonly kubeconfig: pulumi.Input<string>;
    /** Context of the kubeconfig. @default the kubeconfig's `current-context` */
    readonly context?: pulumi.Input<string>;
    /**
     * The Cilium Helm release (`Cilium.release`). The CRD wait starts once it is deployed and every policy
     * depends on it. @default none (the CRDs are expected to come from elsewhere; the wait still runs)
     */
    readonly ciliumRelease?: pulumi.CustomResource;
    /**
     * The cluster's pod and service CIDRs, whether the L7 proxy is on, and the declared workloads, for the lint.
     * Error findings refuse the whole set; warnings are printed. @default {} (L7 proxy on, no CIDR or workload checks)
     */
    readonly checks?: PolicyCheckContext;
    /**
     * Seconds to wait during `up` for the Cilium policy CRDs to be Established before failing with what to check.
     * Not used at preview. @default 300
     */
    readonly crdTimeoutSeconds?: number;
}

/**
 * The typed Cilium policies as one `CiliumNetworkPolicy` / `CiliumClusterwideNetworkPolicy` custom resource each.
 *
 * Order: the lint (refusal before anything is registered, warnings logged), then, during `up` only, a bounded
 * wait for the policy CRDs, which cilium-operator registers at run time while the provider only retries a missing
 * kind for about a minute. At preview no wait: the policies are registered right away, so a preview against a
 * running cluster shows each policy's diff. The wait is a poll inside the program, not a resource: an unchanged
 * stack shows no change, and a cluster rebuilt under the same stack is waited for again.
 */
export class PolicySet extends pulumi.ComponentResource {
    /** One per policy, in the order given. */
    readonly resources: k8s.apiextensions.CustomResource[];
    /** `namespace/name` of each CiliumNetworkPolicy, `name` of each clusterwide one; resolves once all exist. */
    readonly policyNames: pulumi.Output<string[]>;
    /** sha256 (hex) of the manifests, canonical JSON, order-independent; known at preview. */
    readonly digest: string;

    constructor(name: string, args: PolicySetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microseg:policy:PolicySet", name, {}, opts);
        const timeout = args.crdTimeoutSeconds ?? 300;
        if (!Number.isFinite(timeout) || timeout <= 0) {
            throw new pulumi.ResourceError(`PolicySet ${name}: crdTimeoutSeconds must be a positive number of seconds, got ${JSON.stringify(args.crdTimeoutSeconds)}`, this, true);
        }
        this.refuseOrWarn(name, args);
        this.digest = policyDigest(args.policies);

        const crdsReady = this.crdsEstablished(args, timeout);
        this.resources = args.policies.map((m) => new k8s.apiextensions.CustomResource(policyResourceName(m), {
            apiVersion: m.apiVersion,
            kind: m.kind,
            metadata: m.metadata,
            ...(m.spec !== undefined ? { spec: m.spec } : {}),
            ...(m.specs !== undefined ? { specs: m.specs } : {}),
        }, { parent: this, dependsOn: crdsReady }));

        const names = args.policies.map(policyDisplayName);
        this.policyNames = pulumi.all(this.resources.map((r) => r.id)).apply(() => names);
        this.registerOutputs({ policyNames: this.policyNames, digest: this.digest });
    }

    /** The lint: a ResourceError listing every error finding, or the warnings logged on this component. */
    private refuseOrWarn(name: string, args: PolicySetArgs): void {
        const findings = checkPolicies(args.policies, args.checks ?? {});
        const errors = [...findings.filter((f) => f.severity === "error"), ...nameCollisions(args.policies)];
        if (errors.length > 0) {
            throw new pulumi.ResourceError(
                `PolicySet ${name}: ${errors.length} error${errors.length === 1 ? "" : "s"} in the policies; nothing was created:\n${formatFindings(errors)}`,
                this, true,
            );
        }
        for (const w of findings.filter((f) => f.severity === "warning")) {
            void pulumi.log.warn(formatFindings([w]).split("\n").slice(0, -1).join("\n"), this);
        }
    }

    /**
     * What every policy depends on. Preview: the release as is. Up: an output that resolves to the release once
     * it is deployed and the CRDs are Established, and fails with a {@link CrdWaitError}'s message on timeout.
     */
    private crdsEstablished(args: PolicySetArgs, timeoutSeconds: number): pulumi.Input<pulumi.Resource[]> {
        const deps: pulumi.Resource[] = args.ciliumRelease ? [args.ciliumRelease] : [];
        if (pulumi.runtime.isDryRun()) return deps;
        const releaseDone = args.ciliumRelease ? args.ciliumRelease.id : pulumi.output("");
        let lastLog = 0;
        return pulumi.all([args.kubeconfig, args.context, releaseDone]).apply(async ([kubeconfig, context]) => {
            try {
                await waitForCrdsEstablished({
                    kubeconfig, context, names: CILIUM_POLICY_CRDS, timeoutSeconds,
                    onWaiting: (pending, elapsed) => {
                        if (elapsed - lastLog < 10 && lastLog !== 0) return;
                        lastLog = Math.max(elapsed, 1);
                        void pulumi.log.info(`waiting for ${pending.map((p) => `${p.name} (${p.state})`).join(", ")}: ${elapsed}/${timeoutSeconds} s`, this);
                    },
                });
            } catch (e) {
                const why = e instanceof CrdWaitError ? e.message : `cannot ask the apiserver for the Cilium CRDs: ${(e as Error).message}`;
                throw new pulumi.ResourceError(`PolicySet: ${why}`, this, true);
            }
            return deps;
        });
    }
}

/** Stable Pulumi name of a policy's resource: `<kind>-<namespace>-<name>`, lower case; no namespace for a CCNP. */
export function policyResourceName(m: PolicyManifest): string {
    const kind = m.kind.toLowerCase();
    return m.kind === "CiliumNetworkPolicy" ? `${kind}-${m.metadata.namespace}-${m.metadata.name}` : `${kind}-${m.metadata.name}`;
}

/** `namespace/name`, or `name` for a clusterwide policy. */
export function policyDisplayName(m: PolicyManifest): string {
    return m.metadata.namespace !== undefined ? `${m.metadata.namespace}/${m.metadata.name}` : m.metadata.name;
}

/** sha256 of the manifests as canonical JSON (sorted keys), sorted by resource name. */
export function policyDigest(policies: readonly PolicyManifest[]): string {
    const sorted = [...policies].sort((a, b) => cmp(policyResourceName(a), policyResourceName(b)));
    return createHash("sha256").update(canonicalJson(sorted)).digest("hex");
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function canonicalJson(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
    if (v !== null && typeof v === "object") {
        const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => cmp(a, b));
        return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
    }
    return JSON.stringify(v);
}

/**
 * Two different policies whose resource names coincide (`a` in `x-b` and `b-a` in `x`...): the lint's duplicate
 * check only sees equal kind/namespace/name, and Pulumi would refuse the second URN with a less helpful message.
 */
function nameCollisions(policies: readonly PolicyManifest[]): Finding[] {
    const seen = new Map<string, PolicyManifest>();
    const out: Finding[] = [];
    for (const m of policies) {
        const rn = policyResourceName(m);
        const first = seen.get(rn);
        if (first && policyDisplayName(first) !== policyDisplayName(m)) {
            out.push({
                id: "resource-name-collision", severity: "error", policy: m.metadata.name, namespace: m.metadata.namespace, path: "metadata.name",
                message: `its resource name ${JSON.stringify(rn)} is also the one of ${JSON.stringify(policyDisplayName(first))}`,
                fix: "rename one of the two policies",
            });
        } else if (!first) {
            seen.set(rn, m);
        }
    }
    return out;
}

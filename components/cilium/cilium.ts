import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadChartValidator } from "../../lib/cilium/chart-schema";
import {
    buildAndValidateCiliumValues, ciliumValuesWarnings, CiliumValuesError, hubbleUiPortForwardCommand, relayServicePort,
    type CiliumValues, type CiliumValuesArgs,
} from "../../lib/cilium/cilium-values";
import { helmErrorProblems } from "../../lib/cilium/helm-template";

/** Where the chart comes from. `repo` and `path` are mutually exclusive: choose a single source. */
export interface CiliumChartSource {
    /** Chart version, pinned (e.g. "1.18.4"). With `path`, it must equal the local chart's Chart.yaml version. */
    readonly version: string;
    /** Helm repository URL. @default "https://helm.cilium.io/" (ignored when `path` is set) */
    readonly repo?: string;
    /** A local chart directory (air-gapped sites, the local lab). @default undefined (use `repo`) */
    readonly path?: string;
    /**
     * A local copy of the chart used only to check the values against its `values.schema.json` before
     * anything is sent, when the chart itself comes from `repo`. @default `path` when set, else no local check
     * (the render below still runs Helm's own schema validation)
     */
    readonly schemaDir?: string;
}

export interface CiliumArgs {
    /** Typed chart values (lib/cilium/cilium-values.ts); built, checked and rendered before the Release exists. */
    readonly values: CiliumValuesArgs;
    /** The chart, version pinned. */
    readonly chart: CiliumChartSource;
    /** Release namespace. @default "kube-system" */
    readonly namespace?: string;
    /**
     * Seconds Helm waits for the release's workloads to be ready before failing (bounded, never infinite).
     * @default 600
     */
    readonly timeoutSeconds?: number;
    /**
     * Render the chart with the provider's Helm engine (`kubernetes:helm:template`) at preview, so a template
     * `fail` is a config error before anything is sent. @default true
     */
    readonly renderBeforeInstall?: boolean;
}

/**
 * Cilium (CNI, kube-proxy replacement, Hubble) as a Helm release in kube-system.
 *
 * Order of checks, all before the Release is registered: the values builder (invariants, overrides), the
 * chart's values.schema.json (local chart), then a full render by the real Helm engine in the provider.
 *
 * `atomic` is off on purpose: for a CNI a rollback on the first install uninstalls Cilium and removes the pods
 * whose logs explain the failure; the nodes stay NotReady either way. A failed release stays `failed` for
 * inspection and the next `pulumi up` upgrades it. Waits are bounded by `timeoutSeconds`.
 */
export class Cilium extends pulumi.ComponentResource {
    /** The chart values sent (plain data, known at preview). */
    readonly values: CiliumValues;
    /** Port of the chart's `hubble-relay` Service (443 with relay TLS, 80 without). */
    readonly relayServicePort: number;
    /** Resolves once the provider's Helm engine rendered the chart with these values; rejects with the refusal. */
    readonly chartRendered: pulumi.Output<boolean>;
    readonly release: k8s.helm.v3.Release;
    /** Chart version Helm deployed (`status.version`). */
    readonly chartVersion: pulumi.Output<string>;
    /** Release status (`deployed`, `failed`, ...). Known only once the release exists. */
    readonly releaseStatus: pulumi.Output<string>;
    readonly releaseRevision: pulumi.Output<number>;
    readonly namespace: string;
    /** The `kubectl port-forward` line that reaches Hubble UI at http://localhost:12000 without exposing it. */
    readonly hubbleUiPortForward: string;
    /** Warnings about the values (each Hubble UI exposure: it has no authentication), logged at preview and up. */
    readonly warnings: readonly string[];

    constructor(name: string, args: CiliumArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microseg:cilium:Cilium", name, {}, opts);
        this.namespace = args.namespace ?? "kube-system";
        this.values = this.checkedValues(args);
        this.relayServicePort = relayServicePort(this.values);
        this.hubbleUiPortForward = hubbleUiPortForwardCommand(this.namespace);
        this.warnings = ciliumValuesWarnings(args.values);
        for (const w of this.warnings) void pulumi.log.warn(w, this);

        const local = args.chart.path !== undefined;
        this.chartRendered = (args.renderBeforeInstall ?? true)
            ? pulumi.output(renderChartWithProvider(this, args.chart, this.namespace, this.values))
            : pulumi.output(true);
        const needsJobs = this.values.hubble.tls.auto.method === "cronJob";
        this.release = new k8s.helm.v3.Release(`${name}-helm-release`, {
            name: "cilium", // the Cilium CLI and docs assume this release name
            chart: local ? args.chart.path! : "cilium",
            ...(local ? {} : { version: args.chart.version, repositoryOpts: { repo: args.chart.repo ?? "https://helm.cilium.io/" } }),
            namespace: this.namespace,
            createNamespace: false,
            // Only sent once the render passed: a refused render fails the program before the Release exists.
            values: this.chartRendered.apply(() => this.values as Record<string, unknown>),
            timeout: args.timeoutSeconds ?? 600,
            atomic: false,
            cleanupOnFail: false,
            skipAwait: false,
            waitForJobs: needsJobs, // cronJob certgen: the Job writes the Hubble certificates
            maxHistory: 10,
        }, { parent: this });

        this.chartVersion = this.release.status.version;
        this.releaseStatus = this.release.status.status;
        this.releaseRevision = this.release.status.revision;
        this.registerOutputs({
            chartVersion: this.chartVersion,
            releaseStatus: this.releaseStatus,
            releaseRevision: this.releaseRevision,
            relayServicePort: this.relayServicePort,
            hubbleUiPortForward: this.hubbleUiPortForward,
        });
    }

    /** Builder + (local) schema check, synchronously: a bad config fails before any resource is registered. */
    private checkedValues(args: CiliumArgs): CiliumValues {
        try {
            const schemaDir = args.chart.schemaDir ?? args.chart.path;
            if (args.chart.path !== undefined) {
                const local = loadChartValidator(args.chart.path).metadata.version;
                if (local !== args.chart.version) {
                    throw new CiliumValuesError([
                        `cilium.version: the local chart at cilium.chart.path (${args.chart.path}) is ${local}, not the pinned version (${JSON.stringify(args.chart.version)}). Pin ${JSON.stringify(local)} or point cilium.chart.path at the ${args.chart.version} chart.`,
                    ]);
                }
            }
            return buildAndValidateCiliumValues(args.values, schemaDir);
        } catch (e) {
            if (e instanceof CiliumValuesError) throw new pulumi.ResourceError(e.message, this, true);
            throw e;
        }
    }
}

/**
 * Renders the chart with the provider's Helm engine: the `kubernetes:helm:template` invoke that
 * `k8s.helm.v3.Chart` uses (node_modules/@pulumi/kubernetes/helm/v3/helm.js, same `jsonOpts`). The provider runs
 * it client-only (Install with DryRun + ClientOnly, in-memory release storage), and Invoke is meant to work at
 * preview before the cluster exists (provider/pkg/provider/provider.go: "Some invoke logic is intended to run
 * during preview, and the Kubernetes provider inputs may not have resolved yet"). Not `helm.v4.Chart`: it is a
 * provider-side component that wants a reachable cluster at preview (pulumi/pulumi-kubernetes#3027).
 * Resolves true, or rejects with a ResourceError naming the settings (see {@link chartRefusalMessage}).
 */
export function renderChartWithProvider(
    parent: pulumi.Resource, chart: CiliumChartSource, namespace: string, values: CiliumValues,
): Promise<boolean> {
    const source = chart.path !== undefined
        ? { path: chart.path }
        : { chart: "cilium", version: chart.version, fetch_opts: { repo: chart.repo ?? "https://helm.cilium.io/", version: chart.version } };
    const jsonOpts = JSON.stringify({ ...source, namespace, release_name: "cilium", values });
    return pulumi.runtime.invoke(
        "kubernetes:helm:template", { jsonOpts },
        { parent, provider: parent.getProvider("kubernetes:helm:template"), async: true },
    ).then(
        () => true,
        (err: unknown) => {
            throw new pulumi.ResourceError(chartRefusalMessage(err, values), parent, true);
        },
    );
}

/** The config error for a refused render: helm's text (the invoke error's message or gRPC details) mapped to settings. */
export function chartRefusalMessage(err: unknown, values: CiliumValues): string {
    const parts: string[] = [];
    if (err instanceof Error) parts.push(err.message);
    if (typeof err === "object" && err !== null && typeof (err as { details?: unknown }).details === "string") {
        parts.push((err as { details: string }).details);
    }
    if (parts.length === 0) parts.push(String(err));
    const problems = helmErrorProblems(parts.join("\n"), values);
    return `The Cilium chart refused these values (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n`
        + problems.map((p) => `  - ${p}`).join("\n");
}

// The Helm values of the Cilium chart, built from typed arguments. Pure: no @pulumi/*, no I/O except the
// optional schema check in renderCiliumValuesArtefact (which reads the chart directory it is given).
//
// What the builder guarantees, whatever the overrides (an override breaking one is refused, never merged):
// - kubeProxyReplacement: true. kubeadm is told to skip kube-proxy, so the agent must replace it. The
//   string "strict" of older guides was removed in Cilium 1.15; the chart now fails the render unless the
//   value is true or false (templates/cilium-configmap.yaml).
// - k8sServiceHost/k8sServicePort: the control-plane endpoint. With no kube-proxy nothing translates the
//   `kubernetes` Service VIP before the agent is up, so the agent must dial the apiserver directly.
// - IPAM wired to the pod CIDR (see IpamMode), Hubble on with TLS, Relay and UI on as asked.
import * as YAML from "yaml";
import { loadChartValidator, quoteValue } from "./chart-schema";
import { resolve, STACK_SETTING_NAMES, type CiliumSettingNames, type CiliumValuesArgs, type HubbleTlsMethod, type IpamMode, type PolicyEnforcementMode, type Resolved } from "./values-args";
import { checkArgs } from "./values-checks";
import { checkInvariants, deepMerge, getAt } from "./values-invariants";

// The arguments and their stack settings (values-args.ts), for the builder's callers.
export {
    HUBBLE_TLS_METHODS,
    IPAM_MODES,
    POLICY_ENFORCEMENT_MODES,
    STACK_SETTING_NAMES,
    type CiliumSettingNames,
    type CiliumValuesArgs,
    type HubbleTlsArgs,
    type HubbleTlsMethod,
    type IpamMode,
    type PolicyEnforcementMode,
    type RelayArgs,
    type UiArgs,
} from "./values-args";
export { deepMerge } from "./values-invariants";

/** The values handed to the chart: the keys the builder owns, plus whatever the overrides add. */
export interface CiliumValues {
    kubeProxyReplacement: true;
    k8sServiceHost: string;
    k8sServicePort: number;
    ipam: { mode: IpamMode; operator?: { clusterPoolIPv4PodCIDRList: string[]; clusterPoolIPv4MaskSize: number } };
    k8s?: { requireIPv4PodCIDR: boolean };
    policyEnforcementMode: PolicyEnforcementMode;
    l7Proxy: boolean;
    hubble: {
        enabled: true;
        tls: { enabled: boolean; auto: { enabled: boolean; method: HubbleTlsMethod; certValidityDuration: number } };
        relay: {
            enabled: boolean;
            service?: { type: "NodePort"; nodePort: number };
            tls: { server: { enabled: boolean; mtls: boolean } };
        };
        ui: { enabled: boolean; service?: { type: "NodePort"; nodePort: number } };
    };
    [key: string]: unknown;
}

/** Every problem of one call to the builder, each `<setting>: <what> (<quoted value>). <fix>.` */
export class CiliumValuesError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`Cilium values are invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n`
            + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "CiliumValuesError";
    }
}

/**
 * Builds the chart values. Throws {@link CiliumValuesError} listing every problem of the arguments and of
 * the overrides at once. The result does not depend on anything but `args` (same input, same values).
 */
export function buildCiliumValues(args: CiliumValuesArgs): CiliumValues {
    return build(args, undefined);
}

/**
 * Builds the values and, when `chartDir` is given, checks them against that chart's `values.schema.json`
 * (see lib/cilium/chart-schema.ts); throws {@link CiliumValuesError} with every problem of both steps at once.
 */
export function buildAndValidateCiliumValues(args: CiliumValuesArgs, chartDir?: string): CiliumValues {
    return build(args, chartDir);
}

function build(args: CiliumValuesArgs, chartDir: string | undefined): CiliumValues {
    const r = resolve(args);
    const argProblems = checkArgs(r, args);
    if (argProblems.length > 0) throw new CiliumValuesError(argProblems);
    const merged = deepMerge(baseValues(r), r.overrides) as CiliumValues;
    const problems = checkInvariants(r, merged);
    if (chartDir !== undefined) problems.push(...loadChartValidator(chartDir).validate(merged, { settingPrefix: r.names.overrides }));
    if (problems.length > 0) throw new CiliumValuesError(problems);
    return merged;
}

/** One way the values make the Hubble UI reachable from outside the cluster. */
export interface UiExposure {
    /** The setting that does it, e.g. "hubble.ui.expose" or "cilium.valuesOverrides.hubble.ui.ingress.enabled". */
    readonly setting: string;
    /** The value written there. */
    readonly value: unknown;
    /** "on NodePort 31235 of every node", "through an Ingress", ... */
    readonly how: string;
}

/**
 * Every way the UI is exposed: the UI NodePort (`hubble.ui.expose`), or chart values given as overrides that do it
 * behind that setting's back (an Ingress, a LoadBalancer Service). Hubble UI has no authentication of its own and
 * reads every flow through the relay, so each one is warned about, and refused in prod-like stacks (config.ts).
 */
export function hubbleUiExposures(uiNodePort: number | undefined, overrides: unknown, names: Partial<CiliumSettingNames> = {}): UiExposure[] {
    const n = { ...STACK_SETTING_NAMES, ...names };
    const out: UiExposure[] = [];
    if (uiNodePort !== undefined) out.push({ setting: n.uiExpose, value: true, how: `on NodePort ${uiNodePort} of every node, over plain HTTP` });
    const ui = getAt(overrides, ["hubble", "ui"]);
    const type = getAt(ui, ["service", "type"]);
    if (type === "LoadBalancer") out.push({ setting: `${n.overrides}.hubble.ui.service.type`, value: type, how: "on a LoadBalancer Service, over plain HTTP" });
    const ingress = getAt(ui, ["ingress", "enabled"]);
    if (ingress === true || ingress === "true") out.push({ setting: `${n.overrides}.hubble.ui.ingress.enabled`, value: ingress, how: "through an Ingress" });
    return out;
}

/** The `kubectl port-forward` line that reaches the UI without exposing it (the chart's hubble-ui Service listens on 80). */
export function hubbleUiPortForwardCommand(namespace = "kube-system"): string {
    return `kubectl -n ${namespace} port-forward svc/hubble-ui 12000:80`;
}

/** Warnings about the built values (printed by `microseg check`, logged at preview): each UI exposure. */
export function ciliumValuesWarnings(args: CiliumValuesArgs): string[] {
    const r = resolve(args);
    return hubbleUiExposures(r.ui.enabled ? r.ui.nodePort : undefined, r.overrides, r.names).map((e) =>
        `${e.setting}: Hubble UI is exposed ${e.how}, without authentication (it has none of its own): anyone who reaches it reads every flow of the cluster (${quoteValue(e.value)}). `
        + `Reach it with \`${hubbleUiPortForwardCommand()}\` instead (the stack output hubbleUiPortForward), or put an authenticating proxy in front.`);
}

/** The port of the chart's `hubble-relay` Service: 443 with relay TLS, 80 without (templates/hubble-relay/service.yaml). */
export function relayServicePort(values: Pick<CiliumValues, "hubble">): number {
    return values.hubble.relay.tls.server.enabled ? 443 : 80;
}

/** A rendered artefact of `microseg render --only cilium-values`. */
export interface CiliumValuesArtefact {
    /** Registry name. */
    readonly name: "cilium-values";
    /** Suggested file name. */
    readonly fileName: "cilium-values.yaml";
    readonly mediaType: "application/yaml";
    /** The values as YAML (the file `helm install -f` takes), with a header naming the chart it was checked against. */
    readonly content: string;
}

/**
 * Renders the values as a YAML file. Pure except that, with `options.chartDir`, it reads the chart's
 * `Chart.yaml` and `values.schema.json` and refuses values the schema rejects.
 * Throws {@link CiliumValuesError}.
 */
export function renderCiliumValuesArtefact(
    args: CiliumValuesArgs, options: { readonly chartDir?: string } = {},
): CiliumValuesArtefact {
    const values = buildAndValidateCiliumValues(args, options.chartDir);
    const header = ["# Cilium Helm values generated by microseg (lib/cilium/cilium-values.ts). Do not edit: change the stack config."];
    if (options.chartDir !== undefined) {
        const m = loadChartValidator(options.chartDir).metadata;
        header.push(`# Checked against the values.schema.json of chart ${m.name} ${m.version}.`);
    }
    return {
        name: "cilium-values",
        fileName: "cilium-values.yaml",
        mediaType: "application/yaml",
        content: `${header.join("\n")}\n${YAML.stringify(values, { lineWidth: 0 })}`,
    };
}

function baseValues(r: Resolved): CiliumValues {
    const ipam: CiliumValues["ipam"] = r.ipamMode === "cluster-pool"
        ? { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: [r.podCidr], clusterPoolIPv4MaskSize: r.maskSize } }
        : { mode: "kubernetes" };
    const exposed = r.relay.nodePort !== undefined;
    return {
        kubeProxyReplacement: true,
        k8sServiceHost: r.host,
        k8sServicePort: r.port,
        ipam,
        // kubernetes IPAM: the agent waits for the node's podCIDR instead of starting without one.
        ...(r.ipamMode === "kubernetes" ? { k8s: { requireIPv4PodCIDR: true } } : {}),
        policyEnforcementMode: r.policyEnforcementMode,
        l7Proxy: r.l7Proxy,
        hubble: {
            enabled: true,
            tls: { enabled: r.tls.enabled, auto: { enabled: r.tls.enabled, method: r.tls.method, certValidityDuration: r.tls.days } },
            relay: {
                enabled: r.relay.enabled,
                // The chart renders type/nodePort itself, so Helm keeps them on upgrade; RelayNodePort applies
                // the same fields with its own field manager (see components/cilium/relay-node-port.ts).
                ...(exposed ? { service: { type: "NodePort" as const, nodePort: r.relay.nodePort! } } : {}),
                tls: { server: { enabled: r.relay.enabled && r.relay.tls, mtls: r.relay.enabled && r.relay.tls && exposed } },
            },
            ui: {
                enabled: r.ui.enabled,
                ...(r.ui.nodePort !== undefined ? { service: { type: "NodePort" as const, nodePort: r.ui.nodePort } } : {}),
            },
        },
    };
}

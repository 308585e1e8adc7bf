// From the parsed stack config to what each part of the graph needs: one pure place, used by index.ts and
// by `microseg render`, so the CLI prints exactly what `pulumi up` would send.
import * as path from "node:path";
import { chartSource, endpointHostPort, type StackConfig } from "../../config";
import { hasL7, RULE_LISTS, type L7Rules, type PolicyManifest } from "../policy/model/schema";
import type { Workloads } from "../policy/model/workloads-schema";
import { ChartRenderError, findHelm, helmTemplate } from "../cilium/helm-template";
import { buildAndValidateCiliumValues, buildCiliumValues, ciliumValuesWarnings, CiliumValuesError, STACK_SETTING_NAMES, type CiliumValuesArgs } from "../cilium/cilium-values";
import { checkPolicies, type CheckContext } from "../policy/policy-checks";

/** "30000-32767" → { min, max } (the config already checked the format). */
export function nodePortRange(range: string): { min: number; max: number } {
    const [min, max] = range.split("-").map((p) => Number(p));
    return { min: min!, max: max! };
}

/** Whether any policy carries L7 rules (HTTP, Kafka, DNS, generic L7): Cilium's L7 proxy must then be on. */
export function policiesNeedL7Proxy(manifests: readonly PolicyManifest[]): boolean {
    const specs = manifests.flatMap((m) => [...(m.spec ? [m.spec] : []), ...(m.specs ?? [])]);
    return specs.some((spec) =>
        RULE_LISTS.some((list) =>
            (spec[list] ?? []).some((rule) =>
                ("toPorts" in rule ? rule.toPorts ?? [] : []).some((p) => "rules" in p && hasL7(p.rules as L7Rules | undefined)),
            ),
        ),
    );
}

/**
 * The user's policies and declared workloads (`policies/`). Only the composition roots (index.ts, cli/) import
 * `policies/`; everything under lib/ takes them as this parameter, so tests pass their own fixtures.
 */
export interface StackPolicies {
    /** The policies this stack deploys. */
    readonly policies: readonly PolicyManifest[];
    /** The declared workloads the checks, the matrix and the demo use. */
    readonly workloads: Workloads;
}

/**
 * What this stack deploys of the user's policies: as written, or, under policies.httpRules "omit" (the lab: no
 * Envoy), without their HTTP rules. Every consumer of the deployed set (values, checks, PolicySet, matrix, artefacts)
 * takes this, never the user's set directly.
 */
export function deployedPolicies(cfg: StackConfig, project: StackPolicies): StackPolicies {
    return cfg.policies.httpRules === "omit" ? { ...project, policies: project.policies.map(withoutHttpRules) } : project;
}

/** The policy with the `http` list of every toPorts rule removed (an emptied `rules` goes too); others as they are. */
export function withoutHttpRules(m: PolicyManifest): PolicyManifest {
    const strip = (spec: NonNullable<PolicyManifest["spec"]>) => Object.fromEntries(Object.entries(spec).map(([k, v]) =>
        (RULE_LISTS as readonly string[]).includes(k) && Array.isArray(v)
            ? [k, v.map((rule: Record<string, unknown>) => Array.isArray(rule["toPorts"])
                ? { ...rule, toPorts: rule["toPorts"].map((p: Record<string, unknown>) => {
                    const { http: _http, ...rest } = (p["rules"] ?? {}) as Record<string, unknown>;
                    const { rules: _rules, ...port } = p;
                    return p["rules"] === undefined ? p : Object.keys(rest).length > 0 ? { ...port, rules: rest } : port;
                }) }
                : rule)]
            : [k, v])) as typeof spec;
    return { ...m, ...(m.spec ? { spec: strip(m.spec) } : {}), ...(m.specs ? { specs: m.specs.map(strip) } : {}) } as PolicyManifest;
}

/** The user's policies whose HTTP rules this stack leaves out (policies.httpRules "omit"): `namespace/name` each. */
export function omittedHttpRules(cfg: StackConfig, project: StackPolicies): string[] {
    if (cfg.policies.httpRules !== "omit") return [];
    return project.policies.filter((m) => JSON.stringify(withoutHttpRules(m)) !== JSON.stringify(m))
        .map((m) => `${m.metadata.namespace ? `${m.metadata.namespace}/` : ""}${m.metadata.name}`);
}

/** Typed arguments of the Cilium values builder, from the stack config. */
export function ciliumValuesArgs(cfg: StackConfig, project: StackPolicies): CiliumValuesArgs {
    const endpoint = endpointHostPort(cfg);
    const relay = cfg.hubble.relay;
    const ui = cfg.hubble.ui;
    // With no controlPlaneEndpoint (kubeadm, one control plane) the endpoint is the first control-plane host.
    const cpIndex = cfg.cluster.mode === "kubeadm" && cfg.cluster.controlPlaneEndpoint === undefined
        ? cfg.cluster.hosts.findIndex((h) => h.role === "control-plane")
        : -1;
    const endpointSetting = cpIndex >= 0 ? `cluster.hosts[${cpIndex}].address` : "cluster.controlPlaneEndpoint";
    return {
        k8sServiceHost: endpoint.host,
        k8sServicePort: endpoint.port,
        podCidr: cfg.cluster.podCidr,
        ipamMode: cfg.cilium.ipam.mode,
        policyEnforcementMode: cfg.cilium.policyEnforcementMode,
        l7Proxy: policiesNeedL7Proxy(project.policies) || undefined,
        relay: { enabled: true, tls: relay.tls, ...(relay.expose ? { nodePort: relay.nodePort } : {}) },
        ui: { enabled: true, ...(ui.expose ? { nodePort: ui.nodePort } : {}) },
        nodePortRange: nodePortRange(cfg.cluster.serviceNodePortRange),
        overrides: cfg.cilium.valuesOverrides,
        settingNames: { ...STACK_SETTING_NAMES, k8sServiceHost: endpointSetting, k8sServicePort: "cluster.controlPlaneEndpoint" },
    };
}

/** The chart to install, with local paths made absolute against the project directory. */
export function ciliumChart(cfg: StackConfig, projectDir: string): { version: string; repo?: string; path?: string } {
    const source = chartSource(cfg);
    return source.kind === "path"
        ? { version: cfg.cilium.version, path: path.resolve(projectDir, source.path) }
        : { version: cfg.cilium.version, repo: source.repository };
}

/** What the policy checks need to know about the cluster. */
export function policyCheckContext(cfg: StackConfig, project: StackPolicies, values: { l7Proxy: boolean }): CheckContext {
    return {
        podCidr: cfg.cluster.podCidr,
        serviceCidr: cfg.cluster.serviceCidr,
        l7ProxyEnabled: values.l7Proxy,
        workloads: project.workloads,
    };
}

/** Every problem preview would find past the config schema: Cilium values (and the local chart's schema), policies. */
export interface StackCheck {
    /** `setting: what (value). fix.` lines; any of them stops preview. */
    readonly errors: readonly string[];
    /** Printed, not fatal. */
    readonly warnings: readonly string[];
    /** What could not be checked here, and where it is checked instead (printed, not fatal). */
    readonly notes: readonly string[];
}

/**
 * Runs the checks the components run at preview, offline: the Cilium values builder (plus the local chart's
 * values.schema.json when the chart is a local path) and the policy checks. The Helm render itself needs the
 * helm binary and is not part of this (see lib/cilium/helm-template.ts).
 */
export function checkStack(cfg: StackConfig, userProject: StackPolicies, projectDir: string, opts: { readonly checkFiles?: boolean } = {}): StackCheck {
    const errors: string[] = [];
    const warnings: string[] = [];
    const project = deployedPolicies(cfg, userProject);
    const omitted = omittedHttpRules(cfg, userProject);
    if (omitted.length > 0) {
        warnings.push(`policies.httpRules: "omit": ${omitted.join(", ")} deployed without their HTTP rules: every request their peers send to those ports is allowed (lab only; \`microseg verify\` reports those expectations as L7 not enforced)`);
    }
    const notes: string[] = [];
    const chart = ciliumChart(cfg, projectDir);
    if (chart.path === undefined) {
        notes.push(`cilium.chart: the chart comes from ${chart.repo}, so it was not rendered here and cilium.valuesOverrides was not checked against its values.schema.json; preview renders it. Set cilium.chart.path to a local copy of the ${chart.version} chart to check both offline.`);
    } else if (opts.checkFiles === false) {
        notes.push("cilium.chart.path: not read (--no-file-checks): the chart's values.schema.json and templates were not checked; preview checks them.");
    }
    let l7Proxy = true;
    const args = ciliumValuesArgs(cfg, project);
    try {
        const values = buildAndValidateCiliumValues(args, opts.checkFiles === false ? undefined : chart.path);
        l7Proxy = values.l7Proxy;
        warnings.push(...ciliumValuesWarnings(args));
    } catch (e) {
        if (!(e instanceof CiliumValuesError)) throw e;
        errors.push(...e.problems);
    }
    for (const f of checkPolicies(project.policies, policyCheckContext(cfg, project, { l7Proxy }))) {
        const where = `policies: ${f.namespace ? `${f.namespace}/` : ""}${f.policy}: ${f.path}`;
        (f.severity === "error" ? errors : warnings).push(`${where}: ${f.message}. ${f.fix}`);
    }
    return { errors, warnings, notes };
}

/**
 * {@link checkStack}, then the render preview runs: the chart's own templates (`fail` checks no schema sees, e.g.
 * routingMode native without ipv4NativeRoutingCIDR) with the real helm binary (lib/cilium/helm-template.ts), on a local
 * chart. Preview renders with the provider's Helm instead; both map a refusal to settings with helmErrorProblems.
 * Says in `notes` when the render cannot run here (chart from a repository, no local files, no helm).
 */
export async function checkStackRendered(
    cfg: StackConfig, project: StackPolicies, projectDir: string, opts: { readonly checkFiles?: boolean; /** null: as if no helm were installed. @default findHelm() */ readonly helmBin?: string | null } = {},
): Promise<StackCheck> {
    const base = checkStack(cfg, project, projectDir, opts);
    const chart = ciliumChart(cfg, projectDir);
    if (chart.path === undefined || opts.checkFiles === false || base.errors.some((e) => !e.startsWith("policies: "))) return base;
    const helm = opts.helmBin === null ? undefined : opts.helmBin ?? findHelm();
    if (helm === undefined) {
        return { ...base, notes: [...base.notes, "cilium.chart.path: helm not found (.engine/bin/helm, built by lab/build-engine.sh, or helm on PATH): the chart's templates were not rendered here; preview renders them."] };
    }
    try {
        await helmTemplate({ chartDir: chart.path, values: buildCiliumValues(ciliumValuesArgs(cfg, deployedPolicies(cfg, project))), helmBin: helm });
        return base;
    } catch (e) {
        if (!(e instanceof ChartRenderError)) throw e;
        return { ...base, errors: [...base.errors, ...e.problems] };
    }
}

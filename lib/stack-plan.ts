// From the parsed stack config to what each part of the graph needs: one pure place, used by index.ts and
// by `microseg render`, so the CLI prints exactly what `pulumi up` would send.
import * as path from "node:path";
import { chartSource, endpointHostPort, type StackConfig } from "../config";
import { policies } from "../policies";
import { hasL7, RULE_LISTS, type L7Rules, type PolicyManifest } from "../policies/schema";
import { workloads } from "../policies/workloads";
import { buildAndValidateCiliumValues, CiliumValuesError, type CiliumValuesArgs } from "./cilium-values";
import { checkPolicies, type CheckContext } from "./policy-checks";

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

/** The policies this stack deploys: every file of `policies/`. */
export function stackPolicies(_cfg: StackConfig): readonly PolicyManifest[] {
    return policies;
}

/** Typed arguments of the Cilium values builder, from the stack config. */
export function ciliumValuesArgs(cfg: StackConfig): CiliumValuesArgs {
    const endpoint = endpointHostPort(cfg);
    const relay = cfg.hubble.relay;
    const ui = cfg.hubble.ui;
    return {
        k8sServiceHost: endpoint.host,
        k8sServicePort: endpoint.port,
        podCidr: cfg.cluster.podCidr,
        ipamMode: cfg.cilium.ipam.mode,
        policyEnforcementMode: cfg.cilium.policyEnforcementMode,
        l7Proxy: policiesNeedL7Proxy(stackPolicies(cfg)) || undefined,
        relay: { enabled: true, tls: relay.tls, ...(relay.expose ? { nodePort: relay.nodePort } : {}) },
        ui: { enabled: true, ...(ui.expose ? { nodePort: ui.nodePort } : {}) },
        nodePortRange: nodePortRange(cfg.cluster.serviceNodePortRange),
        overrides: cfg.cilium.valuesOverrides,
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
export function policyCheckContext(cfg: StackConfig, values: { l7Proxy: boolean }): CheckContext {
    return {
        podCidr: cfg.cluster.podCidr,
        serviceCidr: cfg.cluster.serviceCidr,
        l7ProxyEnabled: values.l7Proxy,
        workloads,
    };
}

/** Every problem preview would find past the config schema: Cilium values (and the local chart's schema), policies. */
export interface StackCheck {
    /** `setting: what (value). fix.` lines; any of them stops preview. */
    readonly errors: readonly string[];
    /** Printed, not fatal. */
    readonly warnings: readonly string[];
}

/**
 * Runs the checks the components run at preview, offline: the Cilium values builder (plus the local chart's
 * values.schema.json when the chart is a local path) and the policy checks. The Helm render itself needs the
 * helm binary and is not part of this (see lib/helm-template.ts).
 */
export function checkStack(cfg: StackConfig, projectDir: string, opts: { readonly checkFiles?: boolean } = {}): StackCheck {
    const errors: string[] = [];
    const warnings: string[] = [];
    const chart = ciliumChart(cfg, projectDir);
    let l7Proxy = true;
    try {
        const values = buildAndValidateCiliumValues(ciliumValuesArgs(cfg), opts.checkFiles === false ? undefined : chart.path);
        l7Proxy = values.l7Proxy;
    } catch (e) {
        if (!(e instanceof CiliumValuesError)) throw e;
        errors.push(...e.problems);
    }
    for (const f of checkPolicies(stackPolicies(cfg), policyCheckContext(cfg, { l7Proxy }))) {
        const where = `policies: ${f.namespace ? `${f.namespace}/` : ""}${f.policy}: ${f.path}`;
        (f.severity === "error" ? errors : warnings).push(`${where}: ${f.message}. ${f.fix}`);
    }
    return { errors, warnings };
}

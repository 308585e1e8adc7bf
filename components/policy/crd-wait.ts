/**
 * A bounded wait until CustomResourceDefinitions are Established, asked of the apiserver directly with the
 * stack's kubeconfig. PolicySet needs it because cilium-operator registers the Cilium policy CRDs at run time
 * (the chart does not ship them) and the Kubernetes provider retries a missing kind for about a minute only.
 * No `@pulumi/*` import: it is testable without the engine.
 */
import { apiGet, apiTargetFromKubeconfig, type ApiTarget } from "../../lib/kube/kube-api";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});

/** Where a CRD stands: `established`, or why not (`not found`, `not Established yet: ...`, an HTTP or transport error). */
export async function crdState(target: ApiTarget, name: string): Promise<{ established: boolean; state: string }> {
    let res: { status: number; body: string };
    try {
        res = await apiGet(target, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    } catch (e) {
        return { established: false, state: `apiserver unreachable: ${(e as Error).message}` };
    }
    if (res.status === 404) return { established: false, state: "not found" };
    if (res.status !== 200) return { established: false, state: `HTTP ${res.status}: ${res.body.slice(0, 200).trim()}` };
    const conditions = obj(obj(JSON.parse(res.body))["status"])["conditions"];
    const established = (Array.isArray(conditions) ? conditions.map(obj) : []).find((c) => c["type"] === "Established");
    if (established?.["status"] === "True") return { established: true, state: "Established" };
    return { established: false, state: `not Established yet${established?.["message"] ? `: ${String(established["message"])}` : ""}` };
}

export interface WaitForCrdsOptions {
    /** Admin kubeconfig (YAML). */
    kubeconfig: string;
    /** Kubeconfig context. @default its current-context */
    context?: string;
    /** CRD names, e.g. `ciliumnetworkpolicies.cilium.io`. */
    names: readonly string[];
    /** Give up after this many seconds. */
    timeoutSeconds: number;
    /** Between two polls. @default 2000 */
    intervalMs?: number;
    /** Called once per poll round with the CRDs still missing and their state, e.g. to log progress. */
    onWaiting?: (pending: { name: string; state: string }[], elapsedSeconds: number) => void;
}

/** Thrown when the CRDs are not Established in time; the message names them, their state and what to check. */
export class CrdWaitError extends Error {}

/** Resolves once every named CRD is Established; rejects with a {@link CrdWaitError} after `timeoutSeconds`. */
export async function waitForCrdsEstablished(o: WaitForCrdsOptions): Promise<void> {
    const target = apiTargetFromKubeconfig(o.kubeconfig, o.context);
    const started = Date.now();
    const deadline = started + o.timeoutSeconds * 1000;
    for (;;) {
        const states = await Promise.all(o.names.map(async (name) => ({ name, ...(await crdState(target, name)) })));
        const pending = states.filter((s) => !s.established).map(({ name, state }) => ({ name, state }));
        if (pending.length === 0) return;
        const elapsed = Math.round((Date.now() - started) / 1000);
        if (Date.now() >= deadline) {
            throw new CrdWaitError(
                `timed out after ${o.timeoutSeconds} s waiting for the CRD${pending.length === 1 ? "" : "s"} `
                + pending.map((p) => `${p.name} (${p.state})`).join(", ")
                + ` to be Established at ${target.server}. cilium-operator registers them when it starts: check that it runs `
                + "(kubectl -n kube-system get deploy/cilium-operator) and read its logs "
                + "(kubectl -n kube-system logs deploy/cilium-operator); or raise crdTimeoutSeconds.",
            );
        }
        o.onWaiting?.(pending, elapsed);
        await new Promise((r) => setTimeout(r, Math.min(o.intervalMs ?? 2000, Math.max(0, deadline - Date.now()))));
    }
}

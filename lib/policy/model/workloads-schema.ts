/**
 * The declared workloads of a cluster: namespaces with their labels and pods with theirs, plus what
 * each pod serves. The policy checks use it to find selectors that match nothing; the offline verdict
 * engine and the Demo component read the same data.
 */
import { z } from "zod";
import { LabelValue, Port, Protocol } from "./schema";

export const Namespace = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  /** Namespace labels; Kubernetes always sets `kubernetes.io/metadata.name` to the name. */
  labels: z.record(z.string(), LabelValue),
});
export type Namespace = z.infer<typeof Namespace>;

export const Serves = z.strictObject({
  port: Port,
  protocol: Protocol.default("TCP"),
  /** HTTP endpoints answered on this port, when the workload speaks HTTP. */
  http: z.array(z.strictObject({ method: z.string(), path: z.string() })).optional(),
});

export const Workload = z.strictObject({
  /** Pod (or Deployment) name, unique within its namespace. */
  name: z.string().min(1),
  namespace: z.string(),
  /** Pod labels, as Kubernetes has them (no `k8s:` source prefix). */
  labels: z.record(z.string(), LabelValue),
  serves: z.array(Serves).default([]),
});
export type Workload = z.infer<typeof Workload>;

export const Workloads = z
  .strictObject({ namespaces: z.array(Namespace), workloads: z.array(Workload) })
  .superRefine((w, ctx) => {
    const names = new Set(w.namespaces.map((n) => n.name));
    w.namespaces.forEach((n, i) => {
      if (n.labels["kubernetes.io/metadata.name"] !== n.name) {
        ctx.addIssue({ code: "custom", path: ["namespaces", i, "labels"], message: `namespace ${JSON.stringify(n.name)} lacks the label kubernetes.io/metadata.name=${n.name} that Kubernetes sets` });
      }
    });
    const seen = new Set<string>();
    w.workloads.forEach((wl, i) => {
      if (!names.has(wl.namespace)) {
        ctx.addIssue({ code: "custom", path: ["workloads", i, "namespace"], message: `workload ${JSON.stringify(wl.name)} is in undeclared namespace ${JSON.stringify(wl.namespace)}` });
      }
      const key = `${wl.namespace}/${wl.name}`;
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: ["workloads", i, "name"], message: `workload ${key} is declared twice` });
      seen.add(key);
    });
  });
export type Workloads = z.infer<typeof Workloads>;
export type WorkloadsInput = z.input<typeof Workloads>;

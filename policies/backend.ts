/**
 * The `backend` namespace: the walk-through's namespace-isolation, corrected.
 */
import { cnp, fromNamespace } from "../lib/policy/model/helpers";

/**
 * namespace-isolation: backend-app accepts ingress from pods of the `frontend` namespace only.
 * Differs from the walk-through: the namespace is selected by the label Cilium derives from it,
 * `k8s:io.kubernetes.pod.namespace`, not by a pod label `namespace` (which no pod carries, so that
 * rule matched nothing); and `fromEntities: cluster`, which admitted every pod of the cluster (the
 * `test` namespace included), is gone.
 */
export const namespaceIsolation = cnp("namespace-isolation", "backend", {
  description: "backend-app accepts ingress from the frontend namespace only",
  endpointSelector: { matchLabels: { app: "backend-app" } },
  ingress: [{ fromEndpoints: [fromNamespace("frontend")] }],
});

export const policies = [namespaceIsolation];

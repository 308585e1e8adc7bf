/**
 * kube-system: what the cluster's DNS needs once every endpoint is default-deny (`policyEnforcementMode: always`,
 * as staging and prod run). Not in the walk-through, which never left `default` mode.
 */
import { ccnp, KUBE_DNS, tcp, udp } from "../lib/policy/model/helpers";

/**
 * allow-kube-dns: every pod of the cluster may query kube-dns on 53; kube-dns may watch the apiserver and
 * forward to upstream resolvers outside the cluster. Clusterwide because its peers are the whole cluster (a
 * namespaced policy admitting `cluster` would be flagged as widening).
 */
export const allowKubeDns = ccnp("allow-kube-dns", {
  description: "every pod may query kube-dns on 53/UDP+TCP; kube-dns may reach the apiserver and upstream DNS",
  endpointSelector: KUBE_DNS,
  ingress: [{ fromEntities: ["cluster"], toPorts: [{ ports: [udp(53), tcp(53)] }] }],
  egress: [
    { toEntities: ["kube-apiserver"] },
    { toEntities: ["world"], toPorts: [{ ports: [udp(53), tcp(53)] }] },
  ],
});

export const policies = [allowKubeDns];

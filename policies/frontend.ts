/**
 * The `frontend` namespace: its client of backend-app.
 */
import { allowDns, cnp, tcp, toEndpoints } from "../lib/policy/model/helpers";

/**
 * busybox-egress: busybox in `frontend` may reach backend-app in `backend` on TCP 80 and ask kube-dns.
 * Not in the walk-through (it only restricted backend-app's ingress): with `policyEnforcementMode: always`
 * the client's egress must be allowed too, or namespace isolation admits a flow nobody can send.
 */
export const frontendBusyboxEgress = cnp("busybox-egress", "frontend", {
  description: "busybox may reach backend/backend-app:80/TCP and kube-dns; no other egress",
  endpointSelector: { matchLabels: { app: "busybox" } },
  egress: [allowDns(), { toEndpoints: [toEndpoints({ app: "backend-app" }, { namespace: "backend" })], toPorts: [{ ports: [tcp(80)] }] }],
});

export const policies = [frontendBusyboxEgress];

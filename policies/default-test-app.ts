/**
 * test-app in `default`: the walk-through's allow-test-app, deny-all and http-filtering, corrected.
 */
import { allowDns, cnp, defaultDeny, fromEndpoints, http, tcp, toEndpoints } from "../lib/policy/model/helpers";

const testApp = { matchLabels: { app: "test-app" } };

/**
 * http-filtering: busybox → test-app on TCP 80, HTTP `GET /api` and `POST /submit` only.
 * Differs from the walk-through: it also stands in for its allow-test-app (busybox → test-app on
 * every port). Cilium wildcards the L7 rules of a port for any peer that another rule allows at L3
 * or L4 (wildcardL3L4Rule), so with allow-test-app applied busybox could send any request to
 * test-app, `/delete` included. busybox → test-app is allowed here, through the L7 filter.
 */
export const httpFiltering = cnp("http-filtering", "default", {
  description: "busybox may call GET /api and POST /submit on test-app:80/TCP; nothing else",
  endpointSelector: testApp,
  ingress: [
    {
      fromEndpoints: [fromEndpoints({ app: "busybox" })],
      toPorts: [{ ports: [tcp(80)], rules: { http: [http.get("/api"), http.post("/submit")] } }],
    },
  ],
});

/**
 * deny-all: default deny at ingress for test-app; it allows nothing itself.
 * Differs from the walk-through: `ingress: []` there means "no ingress rules", so that policy denied
 * nothing; `ingress: [{}]` turns default deny on (see defaultDeny in helpers.ts).
 */
export const denyAll = cnp("deny-all", "default", {
  description: "default deny at ingress for test-app; allows come from other policies",
  endpointSelector: testApp,
  ...defaultDeny({ ingress: true }),
});

/**
 * busybox-egress: busybox in `default` may reach test-app on TCP 80 and ask kube-dns; nothing else.
 * Not in the walk-through, which only restricted ingress: with `policyEnforcementMode: always` (staging,
 * prod) every endpoint is default-deny in both directions, so without an egress allow busybox reached
 * nothing. In `default` mode it makes busybox least-privilege on the way out as well.
 */
export const busyboxEgress = cnp("busybox-egress", "default", {
  description: "busybox may reach test-app:80/TCP and kube-dns; no other egress",
  endpointSelector: { matchLabels: { app: "busybox" } },
  egress: [allowDns(), { toEndpoints: [toEndpoints({ app: "test-app" })], toPorts: [{ ports: [tcp(80)] }] }],
});

export const policies = [httpFiltering, denyAll, busyboxEgress];

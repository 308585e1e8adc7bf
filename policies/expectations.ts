/**
 * Flows the policies must allow or deny: a test suite for the policies of policies/, checked by
 * `microseg check` against the declared workloads (policies/workloads.ts) with lib/policy/expectations.ts.
 * Endpoints are `namespace/name` of a declared workload, or an entity (`world`, `host`, ...).
 * `expect: "allowed"` is met by a flow allowed at L3/L4 or through L7 rules; with `http`, the request itself
 * must pass the L7 rules (a request no rule matches is denied by the proxy).
 */
import { Expectation, type ExpectationInput } from "../lib/policy/model/expectation";

const input: ExpectationInput[] = [
  { from: "default/busybox", to: "default/test-app", port: 80, expect: "allowed", http: { method: "GET", path: "/api" }, why: "walk-through: the L7 filter lets GET /api through" },
  { from: "default/busybox", to: "default/test-app", port: 80, expect: "allowed", http: { method: "POST", path: "/submit" }, why: "walk-through: the L7 filter lets POST /submit through" },
  { from: "default/busybox", to: "default/test-app", port: 80, expect: "denied", http: { method: "DELETE", path: "/delete" }, why: "walk-through: the L7 filter refuses DELETE /delete (HTTP 403)" },
  { from: "default/busybox", to: "default/test-app", port: 80, expect: "denied", http: { method: "GET", path: "/api/admin" }, why: "the path rule matches /api exactly, not its sub-paths" },
  { from: "default/busybox", to: "default/test-app", port: 8080, expect: "denied", why: "only port 80 is allowed to test-app" },
  { from: "frontend/busybox", to: "default/test-app", port: 80, expect: "denied", why: "deny-all: only busybox of default reaches test-app" },
  { from: "test/busybox", to: "default/test-app", port: 80, expect: "denied", why: "deny-all: only busybox of default reaches test-app" },
  { from: "world", to: "default/test-app", port: 80, expect: "denied", why: "test-app is not public" },
  { from: "frontend/busybox", to: "backend/backend-app", port: 80, expect: "allowed", why: "walk-through: namespace isolation admits the frontend namespace" },
  { from: "test/busybox", to: "backend/backend-app", port: 80, expect: "denied", why: "walk-through: the test namespace must not reach backend-app" },
  { from: "default/busybox", to: "backend/backend-app", port: 80, expect: "denied", why: "namespace isolation: only the frontend namespace" },
  { from: "world", to: "backend/backend-app", port: 80, expect: "denied", why: "backend-app is not public" },
  { from: "host", to: "backend/backend-app", port: 80, expect: "allowed", why: "kubelet probes: Cilium lets the local host reach its pods (allow-localhost)" },
  { from: "default/busybox", to: "kube-system/coredns", port: 53, protocol: "UDP", expect: "allowed", why: "pods resolve names, in every enforcement mode" },
  { from: "frontend/busybox", to: "kube-system/coredns", port: 53, protocol: "UDP", expect: "allowed", why: "pods resolve names, in every enforcement mode" },
  { from: "default/busybox", to: "world", port: 443, expect: "denied", why: "busybox-egress: busybox reaches test-app and DNS only" },
];

export const expectations: readonly Expectation[] = input.map((e) => Expectation.parse(e));

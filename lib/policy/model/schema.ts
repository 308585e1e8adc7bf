/**
 * zod schemas for CiliumNetworkPolicy (CNP) and CiliumClusterwideNetworkPolicy (CCNP), cilium.io/v2.
 *
 * Two layers, one schema:
 * - the shape mirrors the CRD's openAPIV3Schema of the Cilium release lab/versions.env pins (1.20.2; the CRD
 *   manifests lab/build-cilium.sh copies from its Go module, which the tests validate against): closed objects, the
 *   same enums, patterns and bounds. Where 1.20 widened the CRD, the narrower rule that older supported releases
 *   and microseg's own setup need is kept, with a message saying so: extended IP protocols (VRRP, GRE, ...) and a
 *   port rule without `port` (both need the agent's enable-extended-ip-protocols, which microseg does not set), the
 *   `cluster-mesh` entity, wildcards inside `serverNames` (1.18's pattern, a subset of 1.20's). Fields 1.20 (or
 *   1.19) removed stay in the shape only to be refused by name: `rules.kafka`, `rules.l7proto`, `rules.l7`
 *   (Kafka and Envoy Go extensions, removed in 1.20) and non-empty `fromRequires`/`toRequires` (removed in 1.19);
 * - refinements add what the CRD lets through but the agent refuses when it sanitizes the rule
 *   (cilium pkg/policy/api/rule_validation.go), so a policy that parses here is one Cilium will load.
 *   Each refinement carries a stable `id` and a `fix` in its issue params (see `issueMeta`).
 *
 * Types are inferred (`z.infer` = what we emit, `z.input` = what helpers accept); never written twice.
 */
import { z } from "zod";
import { closest } from "../../base/text";
import { fail, q, strictObject } from "./schema-base";
import { Authentication, Cidr, CidrRule, DNS_SUBDOMAIN, EndpointSelector, Entity, FqdnSelector, Group, IcmpRule, Service } from "./peers";
import { DenyPortRule, EgressPortRule, hasL7, IngressPortRule } from "./ports";

// The model's parts, for its importers.
export { policyPath, type IssueMeta } from "./schema-base";
export * from "./peers";
export * from "./ports";

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/** Peer fields that Cilium refuses to combine inside one rule (rule_validation.go, "Combining X and Y"). */
export const INGRESS_PEERS = ["fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups"] as const;
export const EGRESS_PEERS = ["toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes"] as const;

function peerChecks(peers: readonly string[]) {
  return (r: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const k of ["fromRequires", "toRequires"]) {
      if (Array.isArray(r[k]) && (r[k] as unknown[]).length > 0) {
        fail(ctx, [k], "removed-field", `${k} was removed in Cilium 1.19; the 1.20 CRD takes only an empty list`, `add the required labels to the selectors of each rule instead (e.g. matchLabels on ${k === "fromRequires" ? "fromEndpoints" : "toEndpoints"}), or refuse the others with a deny rule`);
      }
    }
    const used = peers.filter((k) => Array.isArray(r[k]) && (r[k] as unknown[]).length > 0);
    if (used.length > 1) {
      fail(ctx, [used[1]!], "peers-combined", `${used.join(" and ")} are combined in one rule; Cilium refuses it ("Combining ${used[0]} and ${used[1]} is not supported")`, `split them into separate rules, one peer kind per rule`);
    }
    const icmps = r["icmps"] as unknown[] | undefined;
    const toPorts = r["toPorts"] as unknown[] | undefined;
    if ((icmps?.length ?? 0) > 0 && (toPorts?.length ?? 0) > 0) {
      fail(ctx, ["icmps"], "icmps-with-ports", "icmps and toPorts are in the same rule; Cilium refuses it", "define a separate rule for the ICMP types");
    }
  };
}

const ingressCommon = {
  fromEndpoints: z.array(EndpointSelector).optional(),
  fromRequires: z.array(EndpointSelector).optional(),
  fromCIDR: z.array(Cidr).optional(),
  fromCIDRSet: z.array(CidrRule).optional(),
  fromEntities: z.array(Entity).optional(),
  fromGroups: z.array(Group).optional(),
  fromNodes: z.array(EndpointSelector).optional(),
  icmps: z.array(IcmpRule).optional(),
};
const egressCommon = {
  toEndpoints: z.array(EndpointSelector).optional(),
  toRequires: z.array(EndpointSelector).optional(),
  toCIDR: z.array(Cidr).optional(),
  toCIDRSet: z.array(CidrRule).optional(),
  toEntities: z.array(Entity).optional(),
  toGroups: z.array(Group).optional(),
  toNodes: z.array(EndpointSelector).optional(),
  toServices: z.array(Service).optional(),
  icmps: z.array(IcmpRule).optional(),
};

export const IngressRule = strictObject({ ...ingressCommon, toPorts: z.array(IngressPortRule).optional(), authentication: Authentication.optional() })
  .superRefine(peerChecks(INGRESS_PEERS));
export type IngressRule = z.infer<typeof IngressRule>;

export const IngressDenyRule = strictObject({ ...ingressCommon, toPorts: z.array(DenyPortRule).optional() })
  .superRefine(peerChecks(INGRESS_PEERS));
export type IngressDenyRule = z.infer<typeof IngressDenyRule>;

export const EgressRule = strictObject({
    ...egressCommon,
    toFQDNs: z.array(FqdnSelector).optional(),
    toPorts: z.array(EgressPortRule).optional(),
    authentication: Authentication.optional(),
  })
  .superRefine(peerChecks(EGRESS_PEERS))
  .superRefine((r, ctx) => {
    if ((r.toServices?.length ?? 0) > 0 && (r.toPorts?.length ?? 0) > 0) {
      fail(ctx, ["toPorts"], "services-with-ports", "toServices and toPorts are combined in one rule; Cilium refuses it", "drop toPorts (the service's ports apply) or select the backends with toEndpoints");
    }
  });
export type EgressRule = z.infer<typeof EgressRule>;

export const EgressDenyRule = strictObject({ ...egressCommon, toPorts: z.array(DenyPortRule).optional() })
  .superRefine(peerChecks(EGRESS_PEERS));
export type EgressDenyRule = z.infer<typeof EgressDenyRule>;

// ---------------------------------------------------------------------------------------------
// Spec and manifests
// ---------------------------------------------------------------------------------------------

export const RULE_LISTS = ["ingress", "ingressDeny", "egress", "egressDeny"] as const;
export type RuleListName = (typeof RULE_LISTS)[number];

export const PolicySpec = strictObject({
    description: z.string().optional(),
    endpointSelector: EndpointSelector.optional(),
    nodeSelector: EndpointSelector.optional(),
    ingress: z.array(IngressRule).optional(),
    ingressDeny: z.array(IngressDenyRule).optional(),
    egress: z.array(EgressRule).optional(),
    egressDeny: z.array(EgressDenyRule).optional(),
    enableDefaultDeny: strictObject({ ingress: z.boolean().optional(), egress: z.boolean().optional() }).optional(),
    labels: z.array(strictObject({ key: z.string(), value: z.string().optional(), source: z.string().optional() })).optional(),
    log: strictObject({ value: z.string().max(32).regex(/^\P{C}*$/u).optional() }).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.endpointSelector === undefined && s.nodeSelector === undefined) {
      fail(ctx, [], "selector-missing", "the spec has neither endpointSelector nor nodeSelector", "add endpointSelector (use {} to select every pod in scope)");
    } else if (s.endpointSelector !== undefined && s.nodeSelector !== undefined) {
      fail(ctx, ["nodeSelector"], "selector-both", "endpointSelector and nodeSelector are mutually exclusive", "keep one: endpointSelector for pods, nodeSelector for hosts");
    }
    if (!RULE_LISTS.some((k) => s[k] !== undefined)) {
      fail(ctx, [], "no-rule-list", "the spec has none of ingress, ingressDeny, egress, egressDeny (the CRD requires one)", "add a rule list, e.g. ingress: [{}] to deny all ingress");
    }
    if (s.nodeSelector !== undefined) {
      (["ingress", "egress"] as const).forEach((dir) =>
        (s[dir] ?? []).forEach((rule, i) =>
          (rule.toPorts ?? []).forEach((pr, j) => {
            if (hasL7(pr.rules)) fail(ctx, [dir, i, "toPorts", j, "rules"], "host-policy-l7", "host policies (nodeSelector) do not support L7 rules", "drop the L7 rules, or select pods with endpointSelector");
          }),
        ),
      );
    }
  });
export type PolicySpec = z.infer<typeof PolicySpec>;
export type PolicySpecInput = z.input<typeof PolicySpec>;

const DNS_LABEL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ObjectName = z
  .string()
  .max(253)
  .regex(DNS_SUBDOMAIN, { error: (iss) => `name ${q(iss.input)} is not a DNS subdomain (lowercase letters, digits, "-", ".")` });

/** ObjectMeta's other fields, which a manifest from `kubectl get -o yaml` carries; anything else is a typo. */
const OTHER_OBJECT_META = ["generateName", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers", "ownerReferences", "managedFields", "selfLink"];
const TYPED_META = { name: ObjectName, namespace: z.string().max(63).regex(DNS_LABEL_NAME).optional(), labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() };

/**
 * ObjectMeta: the fields people write are typed, the others ObjectMeta has pass as they are, and any other key is
 * refused with a suggestion (e.g. "namepsace", which would silently put the policy in the default namespace).
 */
const Metadata = z.looseObject(TYPED_META).superRefine((m, ctx) => {
  const known = [...Object.keys(TYPED_META), ...OTHER_OBJECT_META];
  for (const k of Object.keys(m)) {
    if (known.includes(k)) continue;
    const near = closest(k, Object.keys(TYPED_META));
    ctx.addIssue({ code: "unrecognized_keys", keys: [k], path: [], message: `unknown field ${q(k)}; ${near ? `did you mean ${q(near)}?` : `the fields here are ${Object.keys(TYPED_META).join(", ")}`}` } as never);
  }
});

function manifestChecks(kind: "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy") {
  return (m: { metadata: z.infer<typeof Metadata>; spec?: PolicySpec; specs?: PolicySpec[] }, ctx: z.RefinementCtx) => {
    if (m.spec === undefined && (m.specs === undefined || m.specs.length === 0)) {
      fail(ctx, [], "spec-missing", `${kind} ${q(m.metadata.name)} has no spec and no specs`, "add spec");
    }
    if (kind === "CiliumNetworkPolicy") {
      if (m.metadata.namespace === undefined) {
        fail(ctx, ["metadata", "namespace"], "namespace-missing", `CiliumNetworkPolicy ${q(m.metadata.name)} has no metadata.namespace`, "set metadata.namespace (kubectl would use the current context's namespace, which a check cannot know)");
      }
      const specs: [PolicySpec | undefined, (string | number)[]][] = [[m.spec, ["spec"]], ...(m.specs ?? []).map((s, i): [PolicySpec, (string | number)[]] => [s, ["specs", i]])];
      for (const [s, at] of specs) {
        if (s?.nodeSelector !== undefined) {
          fail(ctx, [...at, "nodeSelector"], "node-selector-namespaced", "nodeSelector can only be used in a CiliumClusterwideNetworkPolicy", "move this host policy to a CiliumClusterwideNetworkPolicy, or use endpointSelector");
        }
      }
    } else if (m.metadata.namespace !== undefined) {
      fail(ctx, ["metadata", "namespace"], "namespace-on-clusterwide", `CiliumClusterwideNetworkPolicy ${q(m.metadata.name)} is cluster-scoped but has metadata.namespace ${q(m.metadata.namespace)}`, "remove metadata.namespace, or make it a CiliumNetworkPolicy");
    }
  };
}

export const CiliumNetworkPolicy = strictObject({
    apiVersion: z.literal("cilium.io/v2"),
    kind: z.literal("CiliumNetworkPolicy"),
    metadata: Metadata,
    spec: PolicySpec.optional(),
    specs: z.array(PolicySpec).optional(),
  })
  .superRefine(manifestChecks("CiliumNetworkPolicy"));
export type CiliumNetworkPolicy = z.infer<typeof CiliumNetworkPolicy>;

export const CiliumClusterwideNetworkPolicy = strictObject({
    apiVersion: z.literal("cilium.io/v2"),
    kind: z.literal("CiliumClusterwideNetworkPolicy"),
    metadata: Metadata,
    spec: PolicySpec.optional(),
    specs: z.array(PolicySpec).optional(),
  })
  .superRefine(manifestChecks("CiliumClusterwideNetworkPolicy"));
export type CiliumClusterwideNetworkPolicy = z.infer<typeof CiliumClusterwideNetworkPolicy>;

export const PolicyManifest = z.discriminatedUnion("kind", [CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy]);
export type PolicyManifest = z.infer<typeof PolicyManifest>;
export type PolicyManifestInput = z.input<typeof PolicyManifest>;

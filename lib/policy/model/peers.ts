// Selectors (labels, label selectors) and L3 peers (entities, CIDRs, ICMP, groups, FQDNs, Services) of the model.
import { z } from "zod";
import ipaddr from "ipaddr.js";
import { fail, q, strictObject } from "./schema-base";

// ---------------------------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------------------------

/** Label value as the CRD constrains it (also the Kubernetes label-value rule). */
export const LabelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, {
    error: (iss) => `label value ${q(iss.input)} is not a valid label value (at most 63 characters: letters, digits, "-", "_", "." , starting and ending alphanumeric)`,
  });

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A selector key: an optional Cilium label source (`k8s:`, `any:`, `reserved:`, ...) and a Kubernetes
 * qualified name. The CRD does not check keys; Cilium validates them (as `<source>.<key>`) when it
 * sanitizes the selector, so an invalid key is refused by the agent.
 */
export function labelKeyProblem(key: string): string | undefined {
  const colon = key.indexOf(":");
  const rest = colon >= 0 ? key.slice(colon + 1) : key;
  const slash = rest.lastIndexOf("/");
  const prefix = slash >= 0 ? rest.slice(0, slash) : undefined;
  const name = slash >= 0 ? rest.slice(slash + 1) : rest;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `its prefix ${q(prefix)} is not a DNS subdomain`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `its name ${q(name)} is not a qualified name (1-63 letters, digits, "-", "_", ".", starting and ending alphanumeric)`;
  }
  return undefined;
}

export const SelectorOperator = z.enum(["In", "NotIn", "Exists", "DoesNotExist"]);

export const LabelSelectorRequirement = strictObject({
    key: z.string(),
    operator: SelectorOperator,
    values: z.array(z.string()).optional(),
  })
  .superRefine((r, ctx) => {
    const n = r.values?.length ?? 0;
    if ((r.operator === "In" || r.operator === "NotIn") && n === 0) {
      fail(ctx, ["values"], "selector-values", `operator ${q(r.operator)} on key ${q(r.key)} needs at least one value`, `list the values, or use "Exists"/"DoesNotExist"`);
    }
    if ((r.operator === "Exists" || r.operator === "DoesNotExist") && n > 0) {
      fail(ctx, ["values"], "selector-values", `operator ${q(r.operator)} on key ${q(r.key)} takes no values, got ${q(r.values)}`, `drop "values", or use "In"/"NotIn"`);
    }
    const problem = labelKeyProblem(r.key);
    if (problem) fail(ctx, ["key"], "selector-key", `selector key ${q(r.key)} is invalid: ${problem}`, `write the key as [source:][prefix/]name, e.g. "k8s:app"`);
    r.values?.forEach((v, i) => {
      if (!LabelValue.safeParse(v).success) {
        fail(ctx, ["values", i], "selector-value", `selector value ${q(v)} for key ${q(r.key)} is not a valid label value`, "use at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric");
      }
    });
  });

/** EndpointSelector / NodeSelector: a Kubernetes LabelSelector. `{}` selects everything in scope. */
export const EndpointSelector = strictObject({
    matchLabels: z.record(z.string(), LabelValue).optional(),
    matchExpressions: z.array(LabelSelectorRequirement).optional(),
  })
  .superRefine((s, ctx) => {
    for (const key of Object.keys(s.matchLabels ?? {})) {
      const problem = labelKeyProblem(key);
      if (problem) fail(ctx, ["matchLabels", key], "selector-key", `selector key ${q(key)} is invalid: ${problem}`, `write the key as [source:][prefix/]name, e.g. "k8s:app"`);
    }
  });
export type EndpointSelector = z.infer<typeof EndpointSelector>;

// ---------------------------------------------------------------------------------------------
// L3 peers
// ---------------------------------------------------------------------------------------------

/** The CRD's closed set of entities, less 1.20's `cluster-mesh` (see the header). */
export const Entity = z.enum(["all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"], {
  error: (iss) => iss.input === "cluster-mesh"
    ? `entity "cluster-mesh" (Cilium 1.20: every endpoint of a ClusterMesh) is not supported here: microseg manages one cluster, where "cluster" is what it selects, and Cilium before 1.20 refuses it`
    : undefined,
});
export type Entity = z.infer<typeof Entity>;

/** `ip/prefix` (the CRD's `format: cidr`; a bare address is refused by the API server). */
export const Cidr = z.string().superRefine((s, ctx) => {
  if (!ipaddr.isValidCIDR(s)) {
    const hint = ipaddr.isValid(s) ? ` Did you mean "${s}/${ipaddr.parse(s).kind() === "ipv4" ? 32 : 128}"?` : "";
    fail(ctx, [], "cidr", `${q(s)} is not a CIDR (address/prefix-length)`, `write it as address/prefix, e.g. "10.0.0.0/8".${hint}`);
  }
});

const CIDR_GROUP_REF = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const CidrRule = strictObject({
    cidr: Cidr.optional(),
    cidrGroupRef: z.string().max(253).regex(CIDR_GROUP_REF).optional(),
    cidrGroupSelector: EndpointSelector.optional(),
    except: z.array(Cidr).optional(),
  })
  .superRefine((r, ctx) => {
    const set = (["cidr", "cidrGroupRef", "cidrGroupSelector"] as const).filter((k) => r[k] !== undefined);
    if (set.length !== 1) {
      fail(ctx, [], "cidr-set-one-of", `a CIDR set entry needs exactly one of cidr, cidrGroupRef, cidrGroupSelector; got ${set.length === 0 ? "none" : set.join(", ")}`, "keep exactly one of the three");
      return;
    }
    if (r.cidr === undefined || !ipaddr.isValidCIDR(r.cidr)) return;
    const [net, bits] = ipaddr.parseCIDR(r.cidr);
    r.except?.forEach((e, i) => {
      if (!ipaddr.isValidCIDR(e)) return;
      const [addr] = ipaddr.parseCIDR(e);
      if (addr.kind() !== net.kind() || !addr.match(net, bits)) {
        fail(ctx, ["except", i], "cidr-except-outside", `except ${q(e)} is not inside cidr ${q(r.cidr)}; Cilium refuses the rule`, `remove it, or widen cidr to contain it`);
      }
    });
  });

export const IcmpField = strictObject({
  family: z.enum(["IPv4", "IPv6"]).optional(),
  type: z.union([
    z.number().int().min(0).max(255),
    z.string().regex(
      /^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]|EchoReply|DestinationUnreachable|Redirect|Echo|RouterAdvertisement|RouterSelection|TimeExceeded|ParameterProblem|Timestamp|TimestampReply|Photuris|ExtendedEchoRequest|ExtendedEcho Reply|PacketTooBig|EchoRequest|MulticastListenerQuery|MulticastListenerReport|MulticastListenerDone|RouterSolicitation|NeighborSolicitation|NeighborAdvertisement|RedirectMessage|RouterRenumbering|ICMPNodeInformationQuery|ICMPNodeInformationResponse|InverseNeighborDiscoverySolicitation|InverseNeighborDiscoveryAdvertisement|HomeAgentAddressDiscoveryRequest|HomeAgentAddressDiscoveryReply|MobilePrefixSolicitation|MobilePrefixAdvertisement|DuplicateAddressRequestCodeSuffix|DuplicateAddressConfirmationCodeSuffix)$/,
    ),
  ]),
});
export const IcmpRule = strictObject({ fields: z.array(IcmpField).max(40).optional() });

export const Authentication = strictObject({ mode: z.enum(["disabled", "required", "test-always-fail"]) });

export const AwsGroup = strictObject({
  labels: z.record(z.string(), z.string()).optional(),
  region: z.string().optional(),
  securityGroupsIds: z.array(z.string()).optional(),
  securityGroupsNames: z.array(z.string()).optional(),
});
export const Group = strictObject({ aws: AwsGroup.optional() });

export const FqdnSelector = strictObject({
    matchName: z.string().max(255).regex(/^([-a-zA-Z0-9_]+[.]?)+$/).optional(),
    matchPattern: z.string().max(255).regex(/^([-a-zA-Z0-9_*]+[.]?)+$/).optional(),
  })
  .superRefine((f, ctx) => {
    if ((f.matchName === undefined) === (f.matchPattern === undefined)) {
      fail(ctx, [], "fqdn-one-of", `a name selector needs exactly one of matchName, matchPattern; got ${f.matchName === undefined ? "neither" : "both"}`, "keep exactly one of matchName or matchPattern");
    }
  });
export type FqdnSelector = z.infer<typeof FqdnSelector>;

export const Service = strictObject({
  k8sService: strictObject({ namespace: z.string().optional(), serviceName: z.string().optional() }).optional(),
  k8sServiceSelector: strictObject({
      namespace: z.string().optional(),
      // The CRD reuses the selector shape here without Cilium's key checks.
      selector: strictObject({
        matchLabels: z.record(z.string(), LabelValue).optional(),
        matchExpressions: z.array(LabelSelectorRequirement).optional(),
      }),
    })
    .optional(),
});

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
import ipaddr from "ipaddr.js";
import { closest, formatPath } from "../../base/text";

/** Extra data carried by every refinement issue, read back by lib/policy/policy-checks.ts. */
export interface IssueMeta {
  id: string;
  fix: string;
}

function fail(ctx: z.RefinementCtx, path: (string | number)[], id: string, message: string, fix: string): void {
  ctx.addIssue({ code: "custom", path, message, params: { id, fix } satisfies IssueMeta });
}

/** Field path as people read it: `spec.ingress[0].toPorts[1].ports[0].port` (field names, shown as written). */
export function policyPath(path: readonly PropertyKey[]): string {
  return formatPath(path, { redact: false });
}

const q = (v: unknown): string => JSON.stringify(v);

/** Common slips whose nearest spelling is another field: ports are only ever matched on the destination side. */
const MEANT: Readonly<Record<string, string>> = { fromPorts: "toPorts", fromPort: "toPorts", toPort: "toPorts", ports: "toPorts" };

/**
 * A closed object (the CRD refuses unknown fields) whose unknown keys are reported with the field they most likely
 * meant: `unknown field "toPort"; did you mean "toPorts"?`.
 */
function strictObject<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      return iss.keys.map((k) => {
        const near = MEANT[k] !== undefined && known.includes(MEANT[k]) ? MEANT[k] : closest(k, known);
        return `unknown field ${q(k)}; ${near ? `did you mean ${q(near)}?` : `the fields here are ${known.join(", ")}`}`;
      }).join("; ");
    },
  });
}

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
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

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

// ---------------------------------------------------------------------------------------------
// L4 and L7
// ---------------------------------------------------------------------------------------------

/** Cilium 1.20's CRD adds protocols without ports; the agent takes them only with enable-extended-ip-protocols. */
const EXTENDED_PROTOCOLS = ["VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH"];
export const Protocol = z.enum(["TCP", "UDP", "SCTP", "ANY"], {
  error: (iss) => typeof iss.input === "string" && EXTENDED_PROTOCOLS.includes(iss.input)
    ? `protocol ${q(iss.input)} (an extended IP protocol of Cilium 1.20) needs the agent's enable-extended-ip-protocols, which microseg does not set (nor does the verdict engine model it); the protocols here are TCP, UDP, SCTP, ANY`
    : undefined,
});
export type Protocol = z.infer<typeof Protocol>;

/** IANA service name, as Cilium's iana.IsSvcName (and the CRD pattern's second branch). */
const SVC_NAME = /^([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$/;

/**
 * A port: a number 0-65535 (0 = every port) or a named container port. Accepted as a number for
 * convenience and always emitted as a string, which is what the CRD's `type: string` demands.
 * The CRD pattern is anchored only on one side (`^(digits)|(name)$`), so it lets "99999" through;
 * Cilium then fails to parse it.
 */
export const Port = z.union([z.string(), z.number()], {
  // The 1.20 CRD lets a port entry without port through; the agent refuses it ("port must be specified") unless it
  // runs with enable-extended-ip-protocols.
  error: (iss) => iss.input === undefined ? `port is missing; Cilium refuses a port entry without one ("port must be specified")` : undefined,
}).transform((raw, ctx) => {
  const s = String(raw);
  if (typeof raw === "number" && !Number.isInteger(raw)) {
    fail(ctx, [], "port-range", `port ${raw} is not an integer`, "use a whole port number 0-65535");
    return z.NEVER;
  }
  if (/^[0-9]+$/.test(s)) {
    if (Number(s) > 65535) {
      fail(ctx, [], "port-range", `port ${q(s)} is above 65535`, "use a port number 0-65535 (0 means every port), or endPort for a range");
      return z.NEVER;
    }
    if (s.length > 1 && s.startsWith("0")) {
      fail(ctx, [], "port-range", `port ${q(s)} has a leading zero (Cilium parses it as octal)`, `write it as "${String(Number(s))}"`);
      return z.NEVER;
    }
    return s;
  }
  if (s.length > 15 || !SVC_NAME.test(s)) {
    fail(ctx, [], "port-name", `port ${q(s)} is neither a number 0-65535 nor an IANA port name (1-15 letters, digits, single inner "-", at least one letter)`, `use a number such as "80" or a container port name such as "http"`);
    return z.NEVER;
  }
  return s;
});

export const PortProtocol = strictObject({
    port: Port,
    endPort: z.number().int().min(0).max(65535).optional(),
    protocol: Protocol.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.endPort === undefined || p.endPort === 0) return;
    if (!/^[0-9]+$/.test(p.port)) {
      fail(ctx, ["endPort"], "port-range", `endPort ${p.endPort} is set on the named port ${q(p.port)}`, "use a numeric port with endPort, or drop endPort");
    } else if (p.endPort < Number(p.port)) {
      fail(ctx, ["endPort"], "port-range", `endPort ${p.endPort} is below port ${q(p.port)}`, `set endPort to at least ${p.port}, or swap the two`);
    }
  });
export type PortProtocol = z.infer<typeof PortProtocol>;

export const Secret = strictObject({ name: z.string(), namespace: z.string().optional() });
export const TlsContext = strictObject({
  certificate: z.string().optional(),
  privateKey: z.string().optional(),
  secret: Secret,
  trustedCA: z.string().optional(),
});

export const HeaderMatch = strictObject({
  mismatch: z.enum(["LOG", "ADD", "DELETE", "REPLACE"]).optional(),
  name: z.string().min(1),
  secret: Secret.optional(),
  value: z.string().optional(),
});

/** HTTP rule; method, path and host are (RE2) regular expressions matched by Envoy. */
export const HttpRule = strictObject({
  headerMatches: z.array(HeaderMatch).optional(),
  headers: z.array(z.string()).optional(),
  host: z.string().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
});
export type HttpRule = z.infer<typeof HttpRule>;

export const DnsRule = FqdnSelector;
export type DnsRule = z.infer<typeof DnsRule>;

export const KafkaRule = strictObject({
  apiKey: z.string().optional(),
  apiVersion: z.string().optional(),
  clientID: z.string().optional(),
  role: z.enum(["produce", "consume"]).optional(),
  topic: z.string().max(255).optional(),
});

const L7_KINDS = ["http", "dns"] as const;
/** L7 rule fields of Cilium before 1.20 (Kafka and Envoy Go extension parsers, removed in 1.20): refused by name. */
const REMOVED_L7 = ["kafka", "l7proto", "l7"] as const;

export const L7Rules = strictObject({
    http: z.array(HttpRule).optional(),
    kafka: z.array(KafkaRule).optional(),
    dns: z.array(DnsRule).optional(),
    l7proto: z.string().optional(),
    l7: z.array(z.record(z.string(), z.string())).optional(),
  })
  .superRefine((r, ctx) => {
    const removed = REMOVED_L7.filter((k) => r[k] !== undefined);
    for (const k of removed) {
      fail(ctx, [k], "removed-field", `rules.${k} was removed in Cilium 1.20 (with the Kafka and Envoy Go extension parsers); its CRD has no such field`, "remove it: keep the toPorts entry without rules (an L4 allow), or use http rules");
    }
    const kinds = L7_KINDS.filter((k) => r[k] !== undefined);
    if (removed.length === 0 && kinds.length !== 1) {
      fail(ctx, [], "l7-one-kind", `rules needs exactly one of http, dns; got ${kinds.length === 0 ? "none" : kinds.join(", ")}`, "split the rules into one toPorts entry per L7 protocol");
    }
  });
export type L7Rules = z.infer<typeof L7Rules>;

export const Listener = strictObject({
  envoyConfig: strictObject({ kind: z.enum(["CiliumEnvoyConfig", "CiliumClusterwideEnvoyConfig"]).optional(), name: z.string().min(1) }),
  name: z.string().min(1),
  priority: z.number().int().min(1).max(100).optional(),
});

/** Whether a toPorts entry carries L7 rules (what Cilium's `L7Rules.IsEmpty()` answers, negated). */
export function hasL7(rules: L7Rules | undefined): boolean {
  if (!rules) return false;
  return (rules.http?.length ?? 0) + (rules.kafka?.length ?? 0) + (rules.dns?.length ?? 0) > 0 || (rules.l7proto ?? "") !== "";
}

function makePortRule(direction: "ingress" | "egress") {
  return strictObject({
      ports: z.array(PortProtocol).max(40).optional(),
      rules: L7Rules.optional(),
      listener: Listener.optional(),
      originatingTLS: TlsContext.optional(),
      terminatingTLS: TlsContext.optional(),
      serverNames: z.array(z.string().max(255).regex(/^(\*?\*\.)?([-a-zA-Z0-9_]+\.?)+$/)).min(1).optional(),
    })
    .superRefine((pr, ctx) => {
      const l7 = hasL7(pr.rules);
      const dns = (pr.rules?.dns?.length ?? 0) > 0;
      const ports = pr.ports ?? [];
      if (new Set(pr.serverNames ?? []).size !== (pr.serverNames ?? []).length) {
        fail(ctx, ["serverNames"], "server-names-duplicate", `serverNames lists a name twice: ${q(pr.serverNames)}`, "list each server name once (the CRD declares it a set)");
      }
      if (direction === "ingress" && dns) {
        fail(ctx, ["rules", "dns"], "dns-on-ingress", "DNS rules are not allowed on ingress; Cilium only proxies DNS on egress", "move the DNS rule to an egress rule towards the DNS server");
      }
      if (pr.serverNames && l7 && !pr.terminatingTLS) {
        fail(ctx, ["serverNames"], "server-names-l7", "serverNames with L7 rules need terminatingTLS", "add terminatingTLS, or drop serverNames or the L7 rules");
      }
      if (pr.listener && direction === "ingress") {
        fail(ctx, ["listener"], "listener-ingress", `listener ${q(pr.listener.name)} is not allowed on ingress`, "use the listener on an egress rule");
      } else if (pr.listener && l7) {
        fail(ctx, ["listener"], "listener-l7", `listener ${q(pr.listener.name)} cannot be combined with L7 rules`, "drop the L7 rules or the listener");
      }
      if (!l7) return;
      ports.forEach((p, i) => {
        if (!dns && p.protocol !== "TCP") {
          fail(ctx, ["ports", i, "protocol"], "l7-non-tcp", `L7 rules only apply to TCP, but port ${q(p.port)} has protocol ${q(p.protocol ?? "ANY")}${p.protocol === undefined ? " (the default)" : ""}`, `set protocol: "TCP" on this port, or move the L7 rules to a separate TCP entry`);
        }
        if (p.port === "0") {
          fail(ctx, ["ports", i, "port"], "l7-port-zero", `L7 rules cannot apply to port "0" (every port)`, "name the port(s) the L7 protocol runs on");
        }
        if (dns && p.endPort !== undefined && /^[0-9]+$/.test(p.port) && p.endPort > Number(p.port)) {
          fail(ctx, ["ports", i, "endPort"], "dns-port-range", `DNS rules do not support port ranges (port ${q(p.port)}, endPort ${p.endPort})`, `drop endPort and use port "53"`);
        }
      });
      if (dns && ports.length === 0) {
        fail(ctx, ["ports"], "dns-needs-port", "DNS rules need the DNS port listed", `add ports: [{ port: "53", protocol: "UDP" }, { port: "53", protocol: "TCP" }]`);
      }
    });
}

/** Deny rules carry ports only (no L7). */
export const DenyPortRule = strictObject({ ports: z.array(PortProtocol).optional() });

export const IngressPortRule = makePortRule("ingress");
export const EgressPortRule = makePortRule("egress");
export type PortRule = z.infer<typeof EgressPortRule>;

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

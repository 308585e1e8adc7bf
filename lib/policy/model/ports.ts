// L4 and L7 of the model: protocols, ports, TLS, HTTP and DNS rules, port rules.
import { z } from "zod";
import { fail, q, strictObject } from "./schema-base";
import { FqdnSelector } from "./peers";

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

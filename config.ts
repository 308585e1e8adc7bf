// The stack config: one zod schema (`StackConfig`), its cross-field checks, and `parseConfig()`, which turns
// the `microseg:*` keys into a typed value or throws ONE `ConfigError` listing every problem as
// `<setting>: <what is wrong> (<value>). <how to fix>.` Pure: no `@pulumi/*` import, so the CLI, the tests and
// index.ts all run the very same checks.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import semver from "semver";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import {
  cidrContains,
  cidrOrUndefined,
  cidrsOverlap,
  formatHostPort,
  inPortRange,
  isDnsLabel,
  isHostAddress,
  parseCidr,
  parseHostPort,
  parseIp,
  parsePortRange,
  type Cidr,
  type PortRange,
} from "./lib/net";
import { REDACTED, Secret } from "./lib/secret";

export { Secret } from "./lib/secret";

// ---------------------------------------------------------------------------------------------------------
// Constants

/** One stack per environment; `prod` gets the stricter rules below. */
export const ENVIRONMENTS = ["dev", "staging", "prod", "lab"] as const;
/** Kubernetes minors microseg installs with kubeadm (pkgs.k8s.io keeps one apt repository per minor). */
export const SUPPORTED_KUBERNETES_MINORS = ["1.32", "1.33", "1.34", "1.35"] as const;
/** Cilium minors whose chart takes `kubeProxyReplacement: true` and the Hubble values microseg sets. */
export const SUPPORTED_CILIUM_MINORS = ["1.16", "1.17", "1.18", "1.19"] as const;

export const DEFAULT_POD_CIDR = "10.244.0.0/16";
/** kubeadm's own default `networking.serviceSubnet`. */
export const DEFAULT_SERVICE_CIDR = "10.96.0.0/12";
/** kube-apiserver's default `--service-node-port-range`. */
export const DEFAULT_NODE_PORT_RANGE = "30000-32767";
export const DEFAULT_API_SERVER_PORT = 6443;
export const DEFAULT_CILIUM_REPOSITORY = "https://helm.cilium.io";
/** 31245 echoes 4245, the relay's container port that the walk-through wrongly used as a NodePort. */
export const DEFAULT_RELAY_NODE_PORT = 31245;
/** The Cilium chart's own default for `hubble.ui.service.nodePort`. */
export const DEFAULT_UI_NODE_PORT = 31235;
/** Per-node pod CIDR size kube-controller-manager allocates by default for IPv4 (`--node-cidr-mask-size`). */
const NODE_CIDR_MASK_V4 = 24;

/** Ports that services on every node already listen on; NodePorts (TCP and UDP) must not take them. */
const HOST_PORTS: ReadonlyArray<readonly [number, string]> = [
  [2379, "etcd client"],
  [2380, "etcd peer"],
  [4240, "cilium-health"],
  [4244, "Hubble server"],
  [6443, "kube-apiserver"],
  [8472, "Cilium VXLAN"],
  [10250, "kubelet"],
  [10257, "kube-controller-manager"],
  [10259, "kube-scheduler"],
];

const POD_CIDR_CANDIDATES = ["10.244.0.0/16", "172.16.0.0/16", "192.168.0.0/16", "10.200.0.0/16"];
const SERVICE_CIDR_CANDIDATES = ["10.96.0.0/12", "172.20.0.0/16", "10.128.0.0/16", "192.168.128.0/20"];

/** Keys whose values are secret: never quoted in a message. */
const SECRET_KEYS = new Set(["privateKey", "kubeconfig"]);

// ---------------------------------------------------------------------------------------------------------
// Message helpers

type Ctx = z.core.$RefinementCtx<unknown>;
type Key = string | number;

/** The value as it appears in a message: JSON, shortened; secrets never shown. */
function quote(value: unknown, secret = false): string {
  if (secret || value instanceof Secret) return REDACTED;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function sentence(text: string): string {
  return /[.?!]$/.test(text) ? text : `${text}.`;
}

/** "<what> (<value>). <fix>." — the value part is left out when there is no value to show. */
function msg(what: string, value: unknown, fix: string, secret = false): string {
  const shown = value === undefined ? "" : ` (${quote(value, secret)})`;
  return `${what}${shown}. ${sentence(fix)}`;
}

function add(ctx: Ctx, where: Key[], what: string, value: unknown, fix: string, secret = false): void {
  ctx.addIssue({ code: "custom", path: where, message: msg(what, value, fix, secret) });
}

export function formatPath(p: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const k of p) out += typeof k === "number" ? `[${k}]` : out === "" ? String(k) : `.${String(k)}`;
  return out === "" ? "microseg" : out;
}

/** Small edit distance for "did you mean": hand-written because no dependency here provides one. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

/** The candidate a typo most likely meant, if any is close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let score = editDistance(lower, cl);
    if (lower.length >= 3 && (cl.startsWith(lower) || lower.startsWith(cl))) score = Math.min(score, 1);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  return bestScore <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function oneOf(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

/** A strict object whose unknown keys come back as "did you mean" lines (encoded key\tfix, one per line). */
function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      return iss.keys
        .map((k) => {
          const near = closest(k, known);
          return `${k}\t${near ? `Did you mean "${near}"?` : `Known settings here: ${known.join(", ")}.`}`;
        })
        .join("\n");
    },
  });
}

const always = { when: () => true };

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Secret)
    ? (v as Record<string, unknown>)
    : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Field schemas

/**
 * A secret string: a plain string (Pulumi config at run time), a `Secret`, or a stack file's
 * `{ secure: "v1:…" }` ciphertext (present but opaque).
 */
const SecretString = z.unknown().transform((v, ctx): Secret => {
  if (v instanceof Secret) return v;
  if (typeof v === "string" && v.length > 0) return Secret.of(v);
  const r = rec(v);
  if (r && Object.keys(r).length === 1 && typeof r.secure === "string") return Secret.encrypted();
  ctx.addIssue({
    code: "custom",
    message: msg("must be a non-empty secret string", v, "Set it with `pulumi config set --secret --path`", true),
  });
  return z.NEVER;
});

function checkCidr(value: string, ctx: Ctx): void {
  const r = parseCidr(value);
  if (!r.ok) add(ctx, [], r.problem, value, r.fix);
}
const CidrString = z.string().superRefine(checkCidr);

const PortRangeString = z.string().superRefine((value, ctx) => {
  if (!parsePortRange(value)) {
    add(ctx, [], "not a port range", value, 'Write "from-to" with 1 <= from <= to <= 65535, e.g. "30000-32767"');
  }
});

const Port = z.number().int().min(1).max(65535);

const HostAddress = z.string().superRefine((value, ctx) => {
  if (!isHostAddress(value)) add(ctx, [], "not an IP address or DNS name", value, 'Write e.g. "10.0.0.10" or "cp-0.example.com"');
});

function checkEndpoint(value: string, ctx: Ctx, needPort: boolean): void {
  const r = parseHostPort(value);
  if (!r.ok) return add(ctx, [], r.problem, value, r.fix);
  if (needPort && r.value.port === undefined) {
    add(ctx, [], "the port is missing", value, `Write host:port as the API server is reached, e.g. "${formatHostPort(r.value.host, DEFAULT_API_SERVER_PORT)}"`);
  }
}

/** A full "major.minor.patch" version whose minor is in `supported`. */
function versionString(product: string, supported: readonly string[], example: string, allowPrerelease: boolean) {
  return z.string().superRefine((value, ctx) => {
    if (/^v\d/.test(value) && semver.valid(value.slice(1)) === value.slice(1)) {
      return add(ctx, [], "the version has a leading \"v\"", value, `Did you mean "${value.slice(1)}"?`);
    }
    if (/^\d+\.\d+$/.test(value)) {
      return add(ctx, [], "not a full version", value, `Pin major.minor.patch, e.g. "${value}.0"`);
    }
    if (semver.valid(value) !== value) {
      return add(ctx, [], "not a version", value, `Pin major.minor.patch, e.g. "${example}"`);
    }
    if (!allowPrerelease && semver.prerelease(value)) {
      return add(ctx, [], `${product} pre-releases are not supported`, value, `Use a released version, e.g. "${semver.major(value)}.${semver.minor(value)}.0"`);
    }
    const minor = `${semver.major(value)}.${semver.minor(value)}`;
    if (!supported.includes(minor)) {
      add(ctx, [], `${product} ${minor} is not supported`, value, `Use a supported minor: ${supported.join(", ")}`);
    }
  });
}

const QUALIFIED_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;

/** Kubernetes label/taint key: optional DNS-subdomain prefix and "/", then a qualified name. */
function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length > 253 || !prefix.split(".").every(isDnsLabel))) return false;
  return QUALIFIED_NAME.test(name);
}

const LabelKey = z.string().superRefine((value, ctx) => {
  if (!isLabelKey(value)) add(ctx, [], "not a valid label key", value, 'Use [prefix/]name with letters, digits, "-", "_", ".", e.g. "node.example.com/zone"');
});
const LabelValue = z.string().superRefine((value, ctx) => {
  if (!LABEL_VALUE.test(value)) add(ctx, [], "not a valid label value", value, 'Use at most 63 letters, digits, "-", "_", ".", starting and ending with a letter or digit');
});

const HOST_KEY_TYPES = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"];

/** Checks "type base64 [comment]" and that the key blob itself says the same type. */
const HostKey = z.string().superRefine((value, ctx) => {
  const fix = 'Paste the host\'s public key line, e.g. from `ssh-keyscan -t ed25519 HOST`: "ssh-ed25519 AAAA..."';
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(value.trim());
  if (!m || !HOST_KEY_TYPES.includes(m[1]!)) return add(ctx, [], "not an SSH public host key", value, fix);
  const blob = Buffer.from(m[2]!, "base64");
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len < 0 || blob.length < 4 + len || blob.subarray(4, 4 + len).toString("latin1") !== m[1]) {
    add(ctx, [], `the key data is not a ${m[1]} key`, value, fix);
  }
});

// ---------------------------------------------------------------------------------------------------------
// SSH

const sshAuthShape = {
  /** The private key itself (PEM/OpenSSH), as a Pulumi secret. Mutually exclusive with `privateKeyPath` and `agent`. */
  privateKey: SecretString.optional(),
  /** A private key file; relative paths resolve against the project dir, `~/` against the home dir. Mutually exclusive with `privateKey` and `agent`. */
  privateKeyPath: z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      if (value.endsWith(".pub")) add(ctx, [], "a public key file", value, `Point it at the private key, e.g. "${value.slice(0, -4)}"`);
    })
    .optional(),
  /** Use the keys of the running ssh-agent (`SSH_AUTH_SOCK`). Mutually exclusive with `privateKey` and `privateKeyPath`. */
  agent: z.boolean().optional(),
};

const AUTH_FIX = "Give exactly one of privateKeyPath, privateKey (a secret) or agent: true";

/** At most one (or, with `required`, exactly one) way to authenticate; a known private key must look like one. */
function checkAuth(v: unknown, ctx: Ctx, required: boolean): void {
  const r = rec(v);
  if (!r) return;
  const given = (["privateKey", "privateKeyPath", "agent"] as const).filter((k) => (k === "agent" ? r[k] === true : r[k] !== undefined));
  if (given.length > 1) {
    add(ctx, [given[1]!], `conflicts with ${given[0]}; they are mutually exclusive`, undefined, `Keep only one of ${given.join(", ")}`);
  } else if (given.length === 0 && required) {
    add(ctx, [], "no SSH key", undefined, AUTH_FIX);
  }
  const key = r.privateKey;
  if (key instanceof Secret && key.known && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.reveal())) {
    add(ctx, ["privateKey"], "does not look like a private key", key, "Give the private key file's content (its first line starts with -----BEGIN and names a PRIVATE KEY, e.g. ~/.ssh/id_ed25519), not the public key (.pub)", true);
  }
}

/** A jump host SSH connections go through. */
const Bastion = strict({
  /** IP address or DNS name of the bastion. */
  address: HostAddress,
  /** @default 22 */
  port: Port.default(22),
  /** @default the hosts' SSH user */
  user: z.string().min(1).optional(),
  ...sshAuthShape,
}).superRefine((v, ctx) => checkAuth(v, ctx, false), always);

/** SSH settings for every host (`cluster.ssh`). Exactly one of privateKey, privateKeyPath, agent. */
const SshDefaults = strict({
  /** @default "ubuntu" */
  user: z.string().min(1).default("ubuntu"),
  /** @default 22 */
  port: Port.default(22),
  ...sshAuthShape,
  /** Optional jump host. Its auth fields, when all omitted, default to the hosts' auth. */
  bastion: Bastion.optional(),
}).superRefine((v, ctx) => checkAuth(v, ctx, true), always);

/** A host's SSH override: each field given replaces the default; an auth field replaces the default auth entirely. */
const SshOverride = strict({
  user: z.string().min(1).optional(),
  port: Port.optional(),
  ...sshAuthShape,
  bastion: Bastion.optional(),
}).superRefine((v, ctx) => checkAuth(v, ctx, false), always);

// ---------------------------------------------------------------------------------------------------------
// Cluster

const Taint = strict({
  /** Taint key, e.g. "dedicated". */
  key: LabelKey,
  /** Optional taint value. */
  value: LabelValue.optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});

/** One Ubuntu host of a kubeadm cluster. */
const Host = strict({
  /** Node name (DNS-1123 label), also the host's name in step names and errors. */
  name: z.string().superRefine((value, ctx) => {
    if (!isDnsLabel(value)) {
      const fixed = value.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
      add(ctx, [], "not a DNS-1123 label", value, isDnsLabel(fixed) ? `Did you mean "${fixed}"?` : 'Use lower-case letters, digits and "-", e.g. "worker-0"');
    }
  }),
  /** The address SSH connects to and the node's InternalIP when it is an IP (IPv4/IPv6 or DNS name). */
  address: HostAddress,
  role: z.enum(["control-plane", "worker"]),
  /** An extra address (e.g. a public IP) added to the API server certificate's SANs. */
  publicAddress: HostAddress.optional(),
  /** Node labels set at join. @default {} */
  labels: z.record(LabelKey, LabelValue).default({}),
  /** Node taints set at join. @default [] */
  taints: z.array(Taint).default([]),
  /** Pinned SSH host public key ("ssh-ed25519 AAAA..."); when absent the first key seen is trusted. */
  hostKey: HostKey.optional(),
  /** Per-host SSH override of `cluster.ssh`. */
  ssh: SshOverride.optional(),
});

const networkShape = {
  /** Pod CIDR (kubeadm `networking.podSubnet`; Cilium IPAM hands out node blocks from it). @default "10.244.0.0/16" */
  podCidr: CidrString.default(DEFAULT_POD_CIDR),
  /** Service CIDR (kubeadm `networking.serviceSubnet`). @default "10.96.0.0/12" (kubeadm's default) */
  serviceCidr: CidrString.default(DEFAULT_SERVICE_CIDR),
  /** kube-apiserver `--service-node-port-range`, "from-to". @default "30000-32767" */
  serviceNodePortRange: PortRangeString.default(DEFAULT_NODE_PORT_RANGE),
};

/** `mode: kubeadm`: microseg installs Kubernetes on the hosts over SSH. */
const KubeadmCluster = strict({
  mode: z.literal("kubeadm"),
  /** Full Kubernetes version for kubelet/kubeadm/kubectl, e.g. "1.34.2"; minors in SUPPORTED_KUBERNETES_MINORS. */
  kubernetesVersion: versionString("Kubernetes", SUPPORTED_KUBERNETES_MINORS, "1.34.2", false),
  ...networkShape,
  /**
   * "host" or "host:port" the nodes and the kubeconfig use for the API server; port defaults to 6443.
   * Required (and must be a load balancer, not a host) with more than one control-plane host.
   * @default "<first control-plane address>:6443" (see `endpointHostPort`)
   */
  controlPlaneEndpoint: z.string().superRefine((v, ctx) => checkEndpoint(v, ctx, false)).optional(),
  /** SSH settings shared by every host. */
  ssh: SshDefaults,
  /** The hosts; at least one control-plane host, and an odd number of them (etcd quorum). */
  hosts: z.array(Host).min(1),
});

/** `mode: existing`: bring your own cluster (and the local lab). Exactly one of kubeconfig, kubeconfigPath. */
const ExistingCluster = strict({
  mode: z.literal("existing"),
  /** The kubeconfig content, as a Pulumi secret. Mutually exclusive with `kubeconfigPath`. */
  kubeconfig: SecretString.optional(),
  /** A kubeconfig file; relative paths resolve against the project dir. Mutually exclusive with `kubeconfig`. */
  kubeconfigPath: z.string().min(1).optional(),
  /** Kubeconfig context. @default the kubeconfig's current-context */
  context: z.string().min(1).optional(),
  /** "host:port" of the API server as nodes reach it: Cilium's k8sServiceHost/Port (there is no kube-proxy). */
  controlPlaneEndpoint: z.string().superRefine((v, ctx) => checkEndpoint(v, ctx, true)),
  ...networkShape,
  /** Node addresses, used to print the relay address and checked against the CIDRs. @default [] */
  nodeAddresses: z.array(HostAddress).default([]),
}).superRefine((v, ctx) => {
  const r = rec(v);
  if (!r) return;
  if (r.kubeconfig !== undefined && r.kubeconfigPath !== undefined) {
    add(ctx, ["kubeconfigPath"], "conflicts with kubeconfig; they are mutually exclusive", undefined, "Keep only one of kubeconfig, kubeconfigPath");
  } else if (r.kubeconfig === undefined && r.kubeconfigPath === undefined) {
    add(ctx, [], "no kubeconfig", undefined, "Give kubeconfigPath (a file) or kubeconfig (a secret)");
  }
  if (r.kubeconfig instanceof Secret && r.kubeconfig.known) {
    const problem = kubeconfigProblem(r.kubeconfig.reveal(), r.context);
    if (problem) add(ctx, [problem.where], problem.what, problem.where === "context" ? r.context : r.kubeconfig, problem.fix, problem.where === "kubeconfig");
  }
}, always);

const Cluster = z.discriminatedUnion("mode", [KubeadmCluster, ExistingCluster]);

/** What is wrong with a kubeconfig's content, if anything. */
function kubeconfigProblem(text: string, context: unknown): { where: "kubeconfig" | "context"; what: string; fix: string } | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    doc = undefined;
  }
  const r = rec(doc);
  if (!r || !Array.isArray(r.clusters)) {
    return { where: "kubeconfig", what: "not a kubeconfig (no clusters list)", fix: "Give the content of a kubeconfig file, e.g. /etc/kubernetes/admin.conf" };
  }
  if (typeof context === "string") {
    const names = (Array.isArray(r.contexts) ? r.contexts : []).map((c) => rec(c)?.name).filter((n): n is string => typeof n === "string");
    if (!names.includes(context)) {
      return { where: "context", what: "no such context in the kubeconfig", fix: names.length ? `Use one of: ${names.join(", ")}` : "Remove it to use the kubeconfig's current-context" };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Cilium, Hubble, policies, safety

/** Where the chart comes from: `repository` or `path`, not both. @default { repository: "https://helm.cilium.io" } */
const Chart = strict({
  /** Helm repository URL (https://, http:// or oci://). */
  repository: z
    .string()
    .superRefine((value, ctx) => {
      let ok = false;
      try {
        ok = ["https:", "http:", "oci:"].includes(new URL(value).protocol);
      } catch {
        ok = false;
      }
      if (!ok) add(ctx, [], "not a Helm repository URL", value, `Use an https:// or oci:// URL, e.g. "${DEFAULT_CILIUM_REPOSITORY}"`);
    })
    .optional(),
  /** Local chart directory or .tgz (air-gapped); relative paths resolve against the project dir. */
  path: z.string().min(1).optional(),
}).superRefine((v, ctx) => {
  const r = rec(v);
  if (!r) return;
  if (r.repository !== undefined && r.path !== undefined) {
    add(ctx, ["path"], "conflicts with repository; they are mutually exclusive", undefined, "Keep repository (download) or path (local chart), not both");
  } else if (r.repository === undefined && r.path === undefined) {
    add(ctx, [], "no chart source", undefined, `Give repository (e.g. "${DEFAULT_CILIUM_REPOSITORY}") or path (a local chart)`);
  }
}, always);

/** Only `true` is accepted: microseg installs no kube-proxy. */
const KubeProxyReplacement = z
  .unknown()
  .optional()
  .transform((v, ctx): true => {
    if (v === undefined || v === true) return true;
    const fixes: Record<string, string> = {
      strict: '"strict" was removed in Cilium 1.15 and the chart only takes true or false. Use true',
      partial: '"partial" was removed in Cilium 1.15 and the chart only takes true or false. Use true (or remove the setting)',
      probe: '"probe" was removed in Cilium 1.15 and the chart only takes true or false. Use true (or remove the setting)',
      disabled: '"disabled" was removed in Cilium 1.15. microseg installs no kube-proxy, so it must be true',
      true: "Write true without quotes",
    };
    const fix =
      typeof v === "string" && fixes[v] !== undefined
        ? fixes[v]
        : v === false || v === "false"
          ? "microseg installs no kube-proxy, so Cilium must replace it. Use true (or remove the setting)"
          : "Use true (or remove the setting)";
    ctx.addIssue({ code: "custom", message: msg("must be true", v, fix) });
    return z.NEVER;
  });

const CiliumConfig = strict({
  /** Cilium chart version, e.g. "1.18.2"; pre-releases ("1.19.0-rc.1", "1.19.0-dev") allowed outside prod. */
  version: versionString("Cilium", SUPPORTED_CILIUM_MINORS, "1.18.2", true),
  chart: Chart.prefault({ repository: DEFAULT_CILIUM_REPOSITORY }),
  /** Must be true (the default): there is no kube-proxy. "strict" is refused (removed in Cilium 1.15). @default true */
  kubeProxyReplacement: KubeProxyReplacement,
  /** Cilium's policy enforcement mode; "never" in prod needs safety.allowPolicyEnforcementNever. @default "default" */
  policyEnforcementMode: z.enum(["default", "always", "never"]).default("default"),
  /**
   * `kubernetes` (default) takes each node's podCIDR that kube-controller-manager carves from `cluster.podCidr`,
   * so the pod CIDR has one source of truth; `cluster-pool` makes the operator allocate from `cluster.podCidr`.
   * @default { mode: "kubernetes" }
   */
  ipam: strict({ mode: z.enum(["kubernetes", "cluster-pool"]).default("kubernetes") }).prefault({}),
  /** Free-form Helm values merged last (checked by the Cilium values builder). @default {} */
  valuesOverrides: z.record(z.string(), z.unknown()).default({}),
});

const HubbleConfig = strict({
  relay: strict({
    /** Patch the hubble-relay Service to a NodePort. @default true */
    expose: z.boolean().default(true),
    /** NodePort of the relay, inside cluster.serviceNodePortRange. @default 31245 */
    nodePort: Port.default(DEFAULT_RELAY_NODE_PORT),
    /** Relay serves TLS. @default true */
    tls: z.boolean().default(true),
    /** Must be set to expose the relay without TLS; meaningless with tls: true. @default false */
    insecure: z.boolean().default(false),
  }).prefault({}),
  ui: strict({
    /** Expose Hubble UI on a NodePort (it has no authentication of its own). @default false */
    expose: z.boolean().default(false),
    /** NodePort of the UI, inside cluster.serviceNodePortRange. @default 31235 */
    nodePort: Port.default(DEFAULT_UI_NODE_PORT),
  }).prefault({}),
});

const PoliciesConfig = strict({
  /** Deploy the walk-through's demo policies (busybox → test-app); refused in prod. @default false */
  demo: z.boolean().default(false),
});

/** Explicit allowances for destructive or risky changes. */
const SafetyConfig = strict({
  /** Allow an update that replaces (destroys and recreates) the cluster. @default false */
  allowClusterReplacement: z.boolean().default(false),
  /** Allow cilium.policyEnforcementMode "never" in prod. @default false */
  allowPolicyEnforcementNever: z.boolean().default(false),
});

// ---------------------------------------------------------------------------------------------------------
// The stack config

export const StackConfig = strict({
  /** The environment this stack deploys: dev, staging, prod or lab. */
  environment: z.enum(ENVIRONMENTS),
  cluster: Cluster,
  cilium: CiliumConfig,
  /** @default relay exposed on 31245 with TLS, UI not exposed */
  hubble: HubbleConfig.prefault({}),
  /** @default { demo: false } */
  policies: PoliciesConfig.prefault({}),
  /** @default every allowance false */
  safety: SafetyConfig.prefault({}),
}).superRefine((v, ctx) => crossChecks(v, ctx), always);

export type StackConfig = z.infer<typeof StackConfig>;
export type ClusterConfig = StackConfig["cluster"];
export type KubeadmClusterConfig = Extract<ClusterConfig, { mode: "kubeadm" }>;
export type ExistingClusterConfig = Extract<ClusterConfig, { mode: "existing" }>;
export type HostConfig = KubeadmClusterConfig["hosts"][number];
export type SshConfig = KubeadmClusterConfig["ssh"];
export type BastionConfig = NonNullable<SshConfig["bastion"]>;

// ---------------------------------------------------------------------------------------------------------
// Cross-field checks. They run even when other fields failed, so every input is re-checked defensively.

function firstFree(candidates: readonly string[], taken: readonly Cidr[], addresses: readonly string[]): string | undefined {
  return candidates.find((c) => {
    const cidr = cidrOrUndefined(c)!;
    return !taken.some((t) => cidrsOverlap(t, cidr)) && !addresses.some((a) => {
      const ip = parseIp(a);
      return ip !== undefined && cidrContains(cidr, ip);
    });
  });
}

function crossChecks(v: unknown, ctx: Ctx): void {
  const top = rec(v);
  const cluster = rec(top?.cluster);
  if (!top) return;
  if (cluster) clusterChecks(top, cluster, ctx);
  hubbleChecks(top, cluster, ctx);
  environmentChecks(top, ctx);
}

function clusterChecks(top: Record<string, unknown>, c: Record<string, unknown>, ctx: Ctx): void {
  const pod = cidrOrUndefined(c.podCidr);
  const svc = cidrOrUndefined(c.serviceCidr);
  const hosts = Array.isArray(c.hosts) ? c.hosts.map(rec) : [];
  // [setting path, address] of every node-side address we know.
  const addresses: Array<[string, string]> = [];
  if (c.mode === "kubeadm") {
    hosts.forEach((h, i) => typeof h?.address === "string" && addresses.push([`cluster.hosts[${i}].address`, h.address]));
  } else if (Array.isArray(c.nodeAddresses)) {
    c.nodeAddresses.forEach((a, i) => typeof a === "string" && addresses.push([`cluster.nodeAddresses[${i}]`, a]));
  }
  const endpoint = typeof c.controlPlaneEndpoint === "string" ? parseHostPort(c.controlPlaneEndpoint) : undefined;
  if (endpoint?.ok && parseIp(endpoint.value.host)) addresses.push(["cluster.controlPlaneEndpoint", endpoint.value.host]);
  const plain = addresses.map(([, a]) => a);

  if (pod && svc) {
    if (pod.family !== svc.family) {
      add(ctx, ["cluster", "serviceCidr"], `is ${svc.family} but cluster.podCidr "${pod.text}" is ${pod.family}`, svc.text, "Use one IP family for both CIDRs (dual-stack is not supported yet)");
    } else if (cidrsOverlap(pod, svc)) {
      const alt = firstFree(POD_CIDR_CANDIDATES, [svc], plain);
      add(ctx, ["cluster", "podCidr"], `overlaps cluster.serviceCidr "${svc.text}"`, pod.text, `Choose a pod CIDR outside the service CIDR${alt ? `, e.g. "${alt}"` : ""}`);
    }
  }
  for (const [key, cidr, candidates, others] of [
    ["podCidr", pod, POD_CIDR_CANDIDATES, svc],
    ["serviceCidr", svc, SERVICE_CIDR_CANDIDATES, pod],
  ] as const) {
    if (!cidr) continue;
    const inside = addresses.filter(([, a]) => {
      const ip = parseIp(a);
      return ip !== undefined && cidrContains(cidr, ip);
    });
    if (inside.length > 0) {
      const alt = firstFree(candidates, others ? [others] : [], plain);
      const list = inside.map(([p, a]) => `${p} "${a}"`).join(", ");
      add(ctx, ["cluster", key], `contains ${list}`, cidr.text, `Choose a ${key === "podCidr" ? "pod" : "service"} CIDR that no node address falls in${alt ? `, e.g. "${alt}"` : ""}`);
    }
  }

  if (c.mode !== "kubeadm") return;
  const hostList = hosts.filter((h): h is Record<string, unknown> => h !== undefined);
  if (pod && pod.family === "ipv4" && hostList.length > 0) {
    const blocks = pod.prefix <= NODE_CIDR_MASK_V4 ? 2 ** (NODE_CIDR_MASK_V4 - pod.prefix) : 0;
    if (blocks < hostList.length) {
      add(ctx, ["cluster", "podCidr"], `has room for ${blocks} per-node /${NODE_CIDR_MASK_V4} block(s) but ${hostList.length} hosts are listed`, pod.text, 'Use a larger pod CIDR, e.g. "10.244.0.0/16"');
    }
  }

  for (const field of ["name", "address"] as const) {
    const seen = new Map<string, number>();
    hosts.forEach((h, i) => {
      const raw = h?.[field];
      if (typeof raw !== "string") return;
      const norm = parseIp(raw)?.toNormalizedString() ?? raw.toLowerCase();
      const first = seen.get(norm);
      if (first === undefined) seen.set(norm, i);
      else add(ctx, ["cluster", "hosts", i, field], `duplicates cluster.hosts[${first}].${field}`, raw, `Give every host a unique ${field}`);
    });
  }

  const cps = hostList.filter((h) => h.role === "control-plane");
  const rolesKnown = hostList.every((h) => h.role === "control-plane" || h.role === "worker");
  if (rolesKnown && hostList.length > 0 && cps.length === 0) {
    add(ctx, ["cluster", "hosts"], 'no host has role "control-plane"', undefined, 'Give one host (or 3 or 5, for HA) role: "control-plane"');
  } else if (cps.length % 2 === 0 && cps.length > 0) {
    add(ctx, ["cluster", "hosts"], `${cps.length} control-plane hosts: etcd needs an odd number to keep a quorum through a failure`, undefined, "Use 1, 3 or 5 control-plane hosts");
  }
  if (cps.length > 1) {
    const hostNames = new Set(hostList.flatMap((h) => [h.address, h.publicAddress, h.name]).filter((a): a is string => typeof a === "string").map((a) => parseIp(a)?.toNormalizedString() ?? a.toLowerCase()));
    if (c.controlPlaneEndpoint === undefined) {
      add(ctx, ["cluster", "controlPlaneEndpoint"], `required with ${cps.length} control-plane hosts`, undefined, 'Set it to a load-balanced address in front of every control-plane host, e.g. "k8s-api.example.com:6443"');
    } else if (endpoint?.ok && hostNames.has(parseIp(endpoint.value.host)?.toNormalizedString() ?? endpoint.value.host.toLowerCase())) {
      add(ctx, ["cluster", "controlPlaneEndpoint"], `is a single host, so the API goes down with it although there are ${cps.length} control-plane hosts`, c.controlPlaneEndpoint, "Point it at a load balancer or DNS name in front of every control-plane host");
    }
  }

  const range = typeof c.serviceNodePortRange === "string" ? parsePortRange(c.serviceNodePortRange) : undefined;
  if (range) {
    const used: Array<readonly [number, string]> = [...HOST_PORTS];
    const ssh = rec(c.ssh);
    const sshPorts = new Set<number>([typeof ssh?.port === "number" ? ssh.port : 22]);
    hostList.forEach((h) => typeof rec(h.ssh)?.port === "number" && sshPorts.add(rec(h.ssh)!.port as number));
    sshPorts.forEach((p) => used.push([p, "sshd"]));
    if (endpoint?.ok && endpoint.value.port !== undefined && endpoint.value.port !== DEFAULT_API_SERVER_PORT) {
      used.push([endpoint.value.port, "the control-plane endpoint"]);
    }
    const clashes = used.filter(([p]) => inPortRange(range, p)).sort(([a], [b]) => a - b);
    if (clashes.length > 0) {
      add(ctx, ["cluster", "serviceNodePortRange"], `contains ports the nodes already use: ${clashes.map(([p, w]) => `${p} (${w})`).join(", ")}`, c.serviceNodePortRange, `Keep NodePorts clear of host ports, e.g. "${DEFAULT_NODE_PORT_RANGE}"`);
    }
  }
}

function hubbleChecks(top: Record<string, unknown>, cluster: Record<string, unknown> | undefined, ctx: Ctx): void {
  const hubble = rec(top.hubble);
  const relay = rec(hubble?.relay);
  const ui = rec(hubble?.ui);
  const rangeText = typeof cluster?.serviceNodePortRange === "string" ? cluster.serviceNodePortRange : undefined;
  const range: PortRange | undefined = rangeText ? parsePortRange(rangeText) : undefined;
  const exposed: Array<["relay" | "ui", number]> = [];
  for (const [name, part] of [["relay", relay], ["ui", ui]] as const) {
    const port = part?.nodePort;
    if (part?.expose === true && typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535) exposed.push([name, port]);
  }
  for (const [name, port] of exposed) {
    if (!range || inPortRange(range, port)) continue;
    const why = name === "relay" && port === 4245 ? "4245 is the relay's container port, not a NodePort: " : "";
    const example = name === "relay" ? DEFAULT_RELAY_NODE_PORT : DEFAULT_UI_NODE_PORT;
    const suggestion = inPortRange(range, example) ? example : range.from;
    add(ctx, ["hubble", name, "nodePort"], `outside cluster.serviceNodePortRange "${rangeText}"`, port, `${why}pick a port in ${rangeText}, e.g. ${suggestion}, or widen cluster.serviceNodePortRange explicitly`);
  }
  if (exposed.length === 2 && exposed[0]![1] === exposed[1]![1]) {
    add(ctx, ["hubble", "ui", "nodePort"], "equals hubble.relay.nodePort", exposed[1]![1], `Give the UI its own port, e.g. ${exposed[1]![1] === DEFAULT_UI_NODE_PORT ? DEFAULT_RELAY_NODE_PORT + 1 : DEFAULT_UI_NODE_PORT}`);
  }
  if (relay?.expose === true && relay.tls === false && relay.insecure !== true) {
    add(ctx, ["hubble", "relay", "tls"], "the relay would be exposed on a NodePort without TLS", false, "Keep tls: true, or set hubble.relay.insecure: true to accept plaintext flow data on the network");
  }
  if (relay?.tls === true && relay.insecure === true) {
    add(ctx, ["hubble", "relay", "insecure"], "only applies with tls: false", true, "Remove it, or set hubble.relay.tls: false as well");
  }
}

function environmentChecks(top: Record<string, unknown>, ctx: Ctx): void {
  const cilium = rec(top.cilium);
  const version = typeof cilium?.version === "string" && semver.valid(cilium.version) === cilium.version ? cilium.version : undefined;
  const chart = rec(cilium?.chart);
  if (version && semver.prerelease(version)?.[0] === "dev" && typeof chart?.repository === "string") {
    add(ctx, ["cilium", "version"], "a development snapshot, never published to a Helm repository", version, "Use a released version, or set cilium.chart.path to a local chart of that version");
  }
  if (top.environment !== "prod") return;
  if (version && semver.prerelease(version)) {
    add(ctx, ["cilium", "version"], "a pre-release in prod", version, "Pin a released version (without a \"-...\" suffix) in prod");
  }
  if (cilium?.policyEnforcementMode === "never" && rec(top.safety)?.allowPolicyEnforcementNever !== true) {
    add(ctx, ["cilium", "policyEnforcementMode"], "disables every network policy in prod", "never", 'Use "default" or "always", or set safety.allowPolicyEnforcementNever: true if you mean it');
  }
  if (rec(top.policies)?.demo === true) {
    add(ctx, ["policies", "demo"], "the demo workloads' policies do not belong in prod", true, "Set it to false in the prod stack");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Errors

export interface ConfigProblem {
  /** Setting path, e.g. "cluster.podCidr". */
  readonly path: string;
  /** "<what is wrong> (<value>). <how to fix>." */
  readonly message: string;
}

/** Every problem of a stack config at once. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `${p.path}: ${p.message}`);
    super(`invalid microseg config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }

  /** One line per problem: `<path>: <message>`. */
  get lines(): string[] {
    return this.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

const REQUIRED_FIX: Record<string, string> = {
  environment: `Set it to one of ${oneOf(ENVIRONMENTS)}`,
  cluster: 'Add it with mode "kubeadm" (hosts over SSH) or "existing" (a kubeconfig)',
  "cluster.mode": 'Set "kubeadm" (hosts over SSH) or "existing" (a kubeconfig)',
  "cluster.kubernetesVersion": 'Pin the Kubernetes version to install, e.g. "1.34.2"',
  "cluster.ssh": `Say how to reach the hosts. ${AUTH_FIX}`,
  "cluster.hosts": 'List the hosts, e.g. [{ name: cp-0, address: 10.0.0.10, role: control-plane }]',
  "cluster.hosts[].name": 'Give the node name, e.g. "worker-0"',
  "cluster.hosts[].address": "Give the address SSH connects to (IP address or DNS name)",
  "cluster.hosts[].role": 'Set "control-plane" or "worker"',
  "cluster.controlPlaneEndpoint": 'Give the API server\'s host:port as the nodes reach it, e.g. "10.0.0.10:6443": Cilium replaces kube-proxy and needs it',
  cilium: 'Add it with at least a version, e.g. { version: "1.18.2" }',
  "cilium.version": 'Pin the Cilium chart version, e.g. "1.18.2"',
};

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping of settings",
  record: "a mapping",
  array: "a list",
};

function valueAt(root: unknown, p: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const k of p) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function typeFix(expected: string, value: unknown): string {
  if (typeof value === "string" && (expected === "number" || expected === "int") && /^\d+$/.test(value)) return "Write the number without quotes";
  if (typeof value === "string" && expected === "boolean" && /^(true|false)$/.test(value)) return "Write true or false without quotes";
  if (typeof value === "number" && expected === "string") return `Quote it in YAML so it stays a string: "${value}"`;
  return `Write ${TYPE_NAMES[expected] ?? expected}`;
}

/** Turns a zod issue into problems (an unknown-keys issue gives one problem per key). */
function problemsOf(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem[] {
  const p = issue.path;
  const where = formatPath(p);
  const value = valueAt(raw, p);
  const secret = SECRET_KEYS.has(String(p[p.length - 1]));
  const generic = formatPath(p.map((k) => (typeof k === "number" ? "#" : k))).replace(/\[#\]/g, "[]");
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.message.split("\n").map((line) => {
        const [key, fix] = line.split("\t") as [string, string | undefined];
        return { path: formatPath([...p, key]), message: `unknown setting. ${fix ?? "Remove it."}` };
      });
    case "invalid_type":
      if (value === undefined) return [{ path: where, message: `required. ${sentence(REQUIRED_FIX[generic] ?? "Add it")}` }];
      return [{ path: where, message: msg(`must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`, value, typeFix(issue.expected, value), secret) }];
    case "invalid_value": {
      if (value === undefined) return [{ path: where, message: `required. ${sentence(REQUIRED_FIX[generic] ?? `Set one of ${oneOf(issue.values)}`)}` }];
      const near = typeof value === "string" ? closest(value, issue.values.map(String)) : undefined;
      const fix = near ? `Did you mean "${near}"?` : `Use one of ${oneOf(issue.values)}`;
      return [{ path: where, message: msg(`must be one of ${oneOf(issue.values)}`, value, fix, secret) }];
    }
    case "invalid_union": {
      const options = "options" in issue && Array.isArray(issue.options) ? (issue.options as unknown[]) : [];
      if (value === undefined) return [{ path: where, message: `required. ${sentence(REQUIRED_FIX[generic] ?? `Set one of ${oneOf(options)}`)}` }];
      const near = typeof value === "string" ? closest(value, options.map(String)) : undefined;
      return [{ path: where, message: msg(`must be one of ${oneOf(options)}`, value, near ? `Did you mean "${near}"?` : `Use one of ${oneOf(options)}`, secret) }];
    }
    case "too_small":
      if (issue.origin === "array") return [{ path: where, message: msg(`must list at least ${issue.minimum}`, value, REQUIRED_FIX[generic] ?? "Add entries") }];
      if (issue.origin === "string") return [{ path: where, message: msg("must not be empty", value, REQUIRED_FIX[generic] ?? "Give a value or remove the setting", secret) }];
      return [{ path: where, message: msg(`must be at least ${issue.minimum}`, value, `Use a value from ${issue.minimum}${p[p.length - 1] === "port" || String(p[p.length - 1]).endsWith("Port") ? " to 65535" : ""}`) }];
    case "too_big":
      return [{ path: where, message: msg(`must be at most ${issue.maximum}`, value, `Use a value up to ${issue.maximum}`) }];
    case "custom":
      return [{ path: where, message: issue.message }];
    case "invalid_key":
      // A record key failed its own schema: report the key's problem under the key's path.
      return issue.issues.flatMap((inner) => problemsOf({ ...inner, path: [...p, ...inner.path] } as z.core.$ZodIssue, raw)).map((q) => ({
        ...q,
        message: q.message.replace(/\((.*?)\)\. /, `(${quote(p[p.length - 1])}). `),
      }));
    default:
      return [{ path: where, message: msg(issue.message, value, "Fix the value", secret) }];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Local files and stack-file secrets (need the options, so they run beside the schema)

/** What lies at an absolute path: a readable file, a directory, or nothing usable. */
export type PathKind = "file" | "directory" | undefined;

export interface ParseOptions {
  /** Relative paths (privateKeyPath, kubeconfigPath, chart.path) resolve against it. @default process.cwd() */
  readonly projectDir?: string;
  /** `~/` in paths expands to it. @default os.homedir() */
  readonly homeDir?: string;
  /** Set false to skip every check that touches local files (CI without the keys). @default true */
  readonly checkFiles?: boolean;
  /** Injectable for tests. @default the real file system (readable file, directory, or undefined) */
  readonly pathKind?: (absPath: string) => PathKind;
  /** Injectable for tests; undefined when unreadable. @default fs.readFileSync(…, "utf8") */
  readonly readFile?: (absPath: string) => string | undefined;
  /**
   * "refuse" when reading a stack file: a secret setting written in plain text there is a leak.
   * Pulumi config at run time hands secrets over decrypted, so index.ts keeps "allow".
   * @default "allow"
   */
  readonly plaintextSecrets?: "allow" | "refuse";
}

function realPathKind(p: string): PathKind {
  try {
    const st = fs.statSync(p);
    if (st.isDirectory()) return "directory";
    fs.accessSync(p, fs.constants.R_OK);
    return st.isFile() ? "file" : undefined;
  } catch {
    return undefined;
  }
}

function realReadFile(p: string): string | undefined {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

/** Resolves a config path: `~/` against the home dir, relative paths against the project dir. */
export function resolveConfigPath(p: string, projectDir: string, homeDir: string = os.homedir()): string {
  if (p === "~" || p.startsWith("~/")) return path.join(homeDir, p.slice(1));
  return path.resolve(projectDir, p);
}

/** [path, ssh block] of every SSH block in the raw config. */
function sshBlocks(raw: unknown): Array<[Key[], Record<string, unknown>]> {
  const out: Array<[Key[], Record<string, unknown>]> = [];
  const push = (p: Key[], v: unknown) => {
    const r = rec(v);
    if (!r) return;
    out.push([p, r]);
    const b = rec(r.bastion);
    if (b) out.push([[...p, "bastion"], b]);
  };
  const cluster = rec(rec(raw)?.cluster);
  push(["cluster", "ssh"], cluster?.ssh);
  if (Array.isArray(cluster?.hosts)) cluster.hosts.forEach((h, i) => push(["cluster", "hosts", i, "ssh"], rec(h)?.ssh));
  return out;
}

function sideChecks(raw: unknown, opts: ParseOptions): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const report = (p: Key[], what: string, value: unknown, fix: string, secret = false) =>
    problems.push({ path: formatPath(p), message: msg(what, value, fix, secret) });
  const cluster = rec(rec(raw)?.cluster);
  const cilium = rec(rec(raw)?.cilium);

  if (opts.plaintextSecrets === "refuse") {
    const secrets: Array<[Key[], unknown]> = sshBlocks(raw).map(([p, b]) => [[...p, "privateKey"], b.privateKey]);
    secrets.push([["cluster", "kubeconfig"], cluster?.kubeconfig]);
    for (const [p, v] of secrets) {
      if (typeof v !== "string") continue;
      const key = `microseg:${formatPath(p)}`;
      report(p, "stored in plain text in the stack file", v, `Remove it and encrypt it: pulumi config set --secret --path '${key}' < FILE`, true);
    }
  }

  if (opts.checkFiles === false) return problems;
  const projectDir = opts.projectDir ?? process.cwd();
  const homeDir = opts.homeDir ?? os.homedir();
  const kindOf = opts.pathKind ?? realPathKind;
  const read = opts.readFile ?? realReadFile;
  const requireFile = (p: Key[], value: unknown, fix: string): string | undefined => {
    if (typeof value !== "string" || value === "") return undefined;
    const abs = resolveConfigPath(value, projectDir, homeDir);
    const kind = kindOf(abs);
    if (kind === "file") return abs;
    report(p, kind === "directory" ? `is a directory ("${abs}"), not a file` : `no readable file at "${abs}"`, value, fix);
    return undefined;
  };

  for (const [p, block] of sshBlocks(raw)) {
    requireFile([...p, "privateKeyPath"], block.privateKeyPath, "Point it at a readable private key, or give privateKey as a secret instead");
  }
  if (cluster?.mode === "existing") {
    const abs = requireFile(["cluster", "kubeconfigPath"], cluster.kubeconfigPath, "Point it at a readable kubeconfig (for the lab, start the lab first), or give kubeconfig as a secret");
    const text = abs ? read(abs) : undefined;
    if (text !== undefined) {
      const problem = kubeconfigProblem(text, cluster.context);
      if (problem) report(["cluster", problem.where === "context" ? "context" : "kubeconfigPath"], problem.what, problem.where === "context" ? cluster.context : cluster.kubeconfigPath, problem.fix);
    }
  }

  const chartPath = rec(cilium?.chart)?.path;
  if (typeof chartPath === "string" && chartPath !== "") {
    const abs = resolveConfigPath(chartPath, projectDir, homeDir);
    const kind = kindOf(abs);
    const fix = "Point it at an unpacked chart directory (with Chart.yaml) or a .tgz chart archive";
    if (kind === undefined) report(["cilium", "chart", "path"], `nothing readable at "${abs}"`, chartPath, fix);
    else if (kind === "file" && !/\.(tgz|tar\.gz)$/.test(abs)) report(["cilium", "chart", "path"], "not a .tgz chart archive", chartPath, fix);
    else if (kind === "directory") {
      const text = read(path.join(abs, "Chart.yaml"));
      let chart: Record<string, unknown> | undefined;
      try {
        chart = text === undefined ? undefined : rec(parseYaml(text));
      } catch {
        chart = undefined;
      }
      if (!chart) report(["cilium", "chart", "path"], "has no readable Chart.yaml", chartPath, fix);
      else if (chart.name !== "cilium") report(["cilium", "chart", "path"], `holds chart "${String(chart.name)}", not "cilium"`, chartPath, "Point it at the Cilium chart");
      else if (typeof cilium?.version === "string" && typeof chart.version === "string" && chart.version !== cilium.version) {
        report(["cilium", "version"], `differs from the chart at cilium.chart.path, which is "${chart.version}"`, cilium.version, `Set cilium.version to "${chart.version}", or point cilium.chart.path at a ${cilium.version} chart`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Entry point and helpers

const SECTION_ORDER = ["environment", "cluster", "cilium", "hubble", "policies", "safety"];
const CONFIG_NAMESPACE = "microseg:";

/**
 * The `microseg:*` entries of a stack's config as `parseConfig` takes them: the namespace dropped, structured values
 * (which the engine and the Automation API hand over as JSON text) parsed, plain strings kept.
 */
export function microsegConfigEntries(values: Readonly<Record<string, string>>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (!key.startsWith(CONFIG_NAMESPACE)) continue;
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      // a plain string scalar
    }
    raw[key.slice(CONFIG_NAMESPACE.length)] = parsed;
  }
  return raw;
}

/**
 * Parses and checks the `microseg:*` config (keys without the namespace). Throws one `ConfigError`
 * listing every problem; returns the typed config with every default filled.
 */
export function parseConfig(raw: unknown, opts: ParseOptions = {}): StackConfig {
  const result = StackConfig.safeParse(raw);
  const problems = [...(result.success ? [] : result.error.issues.flatMap((i) => problemsOf(i, raw))), ...sideChecks(raw, opts)];
  if (problems.length > 0) {
    const rank = (p: ConfigProblem) => {
      const i = SECTION_ORDER.indexOf(p.path.split(/[.[]/)[0]!);
      return i < 0 ? SECTION_ORDER.length : i;
    };
    const unique = problems.filter((p, i) => problems.findIndex((q) => q.path === p.path && q.message === p.message) === i);
    throw new ConfigError(unique.map((p, i) => [p, i] as const).sort(([a, i], [b, j]) => rank(a) - rank(b) || i - j).map(([p]) => p));
  }
  return result.data!;
}

/** The control-plane hosts, in config order (none in mode existing). */
export function controlPlaneHosts(cfg: StackConfig): HostConfig[] {
  return cfg.cluster.mode === "kubeadm" ? cfg.cluster.hosts.filter((h) => h.role === "control-plane") : [];
}

/** The host `kubeadm init` runs on. Throws in mode existing, which has no hosts. */
export function firstControlPlane(cfg: StackConfig): HostConfig {
  const cp = controlPlaneHosts(cfg)[0];
  if (!cp) throw new Error(`firstControlPlane: cluster.mode is "${cfg.cluster.mode}", which has no control-plane hosts`);
  return cp;
}

/** Host and port of the API server as nodes reach it (Cilium's k8sServiceHost/Port, kubeadm's controlPlaneEndpoint). */
export function endpointHostPort(cfg: StackConfig): { host: string; port: number } {
  const text = cfg.cluster.controlPlaneEndpoint;
  if (text !== undefined) {
    const r = parseHostPort(text);
    if (!r.ok) throw new Error(`endpointHostPort: unparsed config (${text})`);
    return { host: r.value.host, port: r.value.port ?? DEFAULT_API_SERVER_PORT };
  }
  return { host: firstControlPlane(cfg).address, port: DEFAULT_API_SERVER_PORT };
}

/** The endpoint as "host:port" (IPv6 bracketed). */
export function endpointString(cfg: StackConfig): string {
  const { host, port } = endpointHostPort(cfg);
  return formatHostPort(host, port);
}

export type SshAuth = { kind: "privateKey"; privateKey: Secret } | { kind: "privateKeyPath"; privateKeyPath: string } | { kind: "agent" };

/** How an SSH block authenticates (after parsing there is exactly one way in `cluster.ssh`). */
export function sshAuth(block: { privateKey?: Secret; privateKeyPath?: string; agent?: boolean }): SshAuth | undefined {
  if (block.privateKey) return { kind: "privateKey", privateKey: block.privateKey };
  if (block.privateKeyPath) return { kind: "privateKeyPath", privateKeyPath: block.privateKeyPath };
  if (block.agent) return { kind: "agent" };
  return undefined;
}

export interface HostConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly auth: SshAuth;
  readonly bastion?: { host: string; port: number; user: string; auth: SshAuth };
}

/** The effective SSH connection of a host: its override over `cluster.ssh`, the bastion defaulting to the host's user and auth. */
export function hostConnection(cluster: KubeadmClusterConfig, host: HostConfig): HostConnection {
  const o = host.ssh;
  const user = o?.user ?? cluster.ssh.user;
  const auth = (o && sshAuth(o)) ?? sshAuth(cluster.ssh)!;
  const b = o?.bastion ?? cluster.ssh.bastion;
  return {
    host: host.address,
    port: o?.port ?? cluster.ssh.port,
    user,
    auth,
    ...(b ? { bastion: { host: b.address, port: b.port, user: b.user ?? user, auth: sshAuth(b) ?? auth } } : {}),
  };
}

export type ChartSource = { kind: "repository"; repository: string } | { kind: "path"; path: string };

/** Where the Cilium chart comes from. */
export function chartSource(cfg: StackConfig): ChartSource {
  const c = cfg.cilium.chart;
  return c.path !== undefined ? { kind: "path", path: c.path } : { kind: "repository", repository: c.repository ?? DEFAULT_CILIUM_REPOSITORY };
}

// The stack config: one zod schema (`StackConfig`), its cross-field checks, and `parseConfig()`, which turns
// the `microseg:*` keys into a typed value or throws ONE `ConfigError` listing every problem as
// `<setting>: <what is wrong> (<value>). <how to fix>.` Pure: no `@pulumi/*` import, so the CLI, the tests and
// index.ts all run the very same checks.
import { z } from "zod";
import { isDnsLabel } from "./lib/base/net";
import { quote } from "./lib/base/text";
import { Secret, secretKind } from "./lib/base/secret";
import { DEFAULT_CILIUM_REPOSITORY, DEFAULT_NODE_PORT_RANGE, DEFAULT_POD_CIDR, DEFAULT_RELAY_NODE_PORT, DEFAULT_SERVICE_CIDR, DEFAULT_UI_NODE_PORT, ENVIRONMENTS, SUPPORTED_CILIUM_MINORS, SUPPORTED_KUBERNETES_MINORS } from "./lib/config/constants";
import { type Ctx, AUTH_FIX, add, always, exactlyOneOf, msg, rec, strict } from "./lib/config/messages";
import { CidrString, HostAddress, HostKey, LabelKey, LabelValue, Port, PortRangeString, SecretString, SshUser, checkEndpoint, versionString } from "./lib/config/fields";
import { crossChecks } from "./lib/config/cross-checks";
import { ConfigError, type ConfigProblem, problemsOf } from "./lib/config/problems";
import { kubeconfigProblem, type ParseOptions, sideChecks } from "./lib/config/file-checks";
export { Secret } from "./lib/base/secret";
export { CILIUM_KUBERNETES_COMPATIBILITY, DEFAULT_API_SERVER_PORT, DEFAULT_CILIUM_REPOSITORY, DEFAULT_NODE_PORT_RANGE, DEFAULT_POD_CIDR, DEFAULT_RELAY_NODE_PORT, DEFAULT_SERVICE_CIDR, DEFAULT_UI_NODE_PORT, ENVIRONMENTS, SUPPORTED_CILIUM_MINORS, SUPPORTED_KUBERNETES_MINORS } from "./lib/config/constants";
export { ConfigError, MAX_PROBLEMS_SHOWN, type ConfigProblem } from "./lib/config/problems";
export { resolveConfigPath, type ParseOptions, type PathKind } from "./lib/config/file-checks";
export { chartSource, controlPlaneHosts, endpointHostPort, endpointString, firstControlPlane, hostConnection, sshAuth, type ChartSource, type HostConnection, type SshAuth } from "./lib/config/accessors";

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
      if (value.endsWith(".pub")) add(ctx, [], "a public key file", value, `Point it at the private key, e.g. ${quote(value.slice(0, -4))}`);
    })
    .optional(),
  /** Use the keys of the running ssh-agent (`SSH_AUTH_SOCK`). Mutually exclusive with `privateKey` and `privateKeyPath`. */
  agent: z.boolean().optional(),
};


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
  user: SshUser.optional(),
  ...sshAuthShape,
  /**
   * Pinned SSH host public key of the bastion ("ssh-ed25519 AAAA...", e.g. from `ssh-keyscan`); when absent the
   * first key seen is recorded and required on every later run, as for a host's `hostKey`.
   */
  hostKey: HostKey.optional(),
}).superRefine((v, ctx) => checkAuth(v, ctx, false), always);

/** SSH settings for every host (`cluster.ssh`). Exactly one of privateKey, privateKeyPath, agent. */
const SshDefaults = strict({
  /** @default "ubuntu" */
  user: SshUser.default("ubuntu"),
  /** @default 22 */
  port: Port.default(22),
  ...sshAuthShape,
  /** Optional jump host. Its auth fields, when all omitted, default to the hosts' auth. */
  bastion: Bastion.optional(),
}).superRefine((v, ctx) => checkAuth(v, ctx, true), always);

/** A host's SSH override: each field given replaces the default; an auth field replaces the default auth entirely. */
const SshOverride = strict({
  user: SshUser.optional(),
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
export const Host = strict({
  /** Node name (DNS-1123 label), also the host's name in step names and errors. */
  name: z.string().superRefine((value, ctx) => {
    if (!isDnsLabel(value)) {
      const fixed = value.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
      // The suggestion is made from the value, so none for a value that must not be shown.
      add(ctx, [], "not a DNS-1123 label", value, isDnsLabel(fixed) && !secretKind(value) ? `Did you mean "${fixed}"?` : 'Use lower-case letters, digits and "-", e.g. "worker-0"');
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
  exactlyOneOf(ctx, r, "kubeconfig", "kubeconfigPath", { both: "Keep only one of kubeconfig, kubeconfigPath", missing: "no kubeconfig", neither: "Give kubeconfigPath (a file) or kubeconfig (a secret)" });
  if (r.kubeconfig instanceof Secret && r.kubeconfig.known) {
    const problem = kubeconfigProblem(r.kubeconfig.reveal(), r.context);
    if (problem) add(ctx, [problem.where], problem.what, problem.where === "context" ? r.context : r.kubeconfig, problem.fix, problem.where === "kubeconfig");
  }
}, always);

const Cluster = z.discriminatedUnion("mode", [KubeadmCluster, ExistingCluster]);


// ---------------------------------------------------------------------------------------------------------
// Cilium, Hubble, policies, safety

/** Where the chart comes from: `repository` or `path`, not both. @default { repository: "https://helm.cilium.io" } */
export const Chart = strict({
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
  exactlyOneOf(ctx, r, "repository", "path", { both: "Keep repository (download) or path (local chart), not both", missing: "no chart source", neither: `Give repository (e.g. "${DEFAULT_CILIUM_REPOSITORY}") or path (a local chart)` });
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
  /**
   * "omit" deploys the policies without their HTTP rules (same peers and ports, no L7 filter), for a cluster
   * where Cilium's Envoy cannot run: the local lab, whose agent otherwise blocks on an endpoint with HTTP rules.
   * Every request to such a port is then allowed; refused outside the lab. @default "enforce"
   */
  httpRules: z.enum(["enforce", "omit"]).default("enforce"),
});

/** Explicit allowances for destructive or risky changes. */
const SafetyConfig = strict({
  /** Allow an update that replaces (destroys and recreates) the cluster. @default false */
  allowClusterReplacement: z.boolean().default(false),
  /** Allow cilium.policyEnforcementMode "never" in prod. @default false */
  allowPolicyEnforcementNever: z.boolean().default(false),
  /**
   * Allow Hubble UI to be exposed (hubble.ui.expose, or an Ingress / LoadBalancer through cilium.valuesOverrides)
   * in a prod-like stack (prod, staging). It has no authentication: only with a guard in front. @default false
   */
  allowUnauthenticatedHubbleUi: z.boolean().default(false),
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
    const seen = new Set<string>();
    const unique = problems.filter((p) => {
      const id = `${p.path}\u0000${p.message}`;
      return seen.has(id) ? false : (seen.add(id), true);
    });
    throw new ConfigError(unique.map((p, i) => [p, i] as const).sort(([a, i], [b, j]) => rank(a) - rank(b) || i - j).map(([p]) => p));
  }
  return result.data!;
}

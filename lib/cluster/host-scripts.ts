// The remote command of each host step: the script from components/cluster/scripts/ (loaded via __dirname),
// its inputs as `env NAME=value` on the command line, shell-quoted by shell-quote, and a trigger hash over the
// script text and those inputs, so an unchanged stack runs no remote command. Secrets never go on the command
// line: a step that takes secrets runs an uploaded copy of its script and reads them on stdin.
// Pure: no `@pulumi/*` import.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import semver from "semver";
import { quote } from "shell-quote";
import { controlPlaneHosts, type HostConfig, type StackConfig } from "../../config";
import { apiServerBindPort, formatLabels, renderKubeadmInit, renderKubeadmJoin } from "./kubeadm-config";
import { parseCidr } from "../base/net";
import { Secret } from "../base/secret";

export const SCRIPTS_DIR = path.join(__dirname, "..", "..", "components", "cluster", "scripts");
/** Where uploaded scripts land, relative to the SSH user's home (only that user can write there). */
export const UPLOAD_DIR = ".microseg/scripts";

interface StepSpec {
  /** Environment variables the script reads; all others are refused (except the MICROSEG_* profile switches). */
  readonly env: readonly string[];
  /** The script reads secrets on stdin, so it runs as an uploaded file. */
  readonly secretStdin?: boolean;
  /** The script prints secrets on stdout; the caller must keep stdout secret. */
  readonly secretStdout?: boolean;
}

/** Every host step, by name: the script is `<name>.sh`. */
export const HOST_STEPS = {
  "wait-ssh": { env: [] },
  preflight: { env: ["ROLE", "MIN_KERNEL", "CILIUM_VERSION", "NODE_PORT_RANGE", "API_SERVER_PORT"] },
  "prepare-host": { env: ["KUBERNETES_VERSION", "IP_FAMILY"] },
  "kubeadm-init": { env: ["KUBEADM_CONFIG_B64", "UPLOAD_CERTS"] },
  "read-kubeconfig": { env: [], secretStdout: true },
  "create-join-token": { env: ["NODE_NAME", "CONTROL_PLANE", "TOKEN_TTL"], secretStdout: true },
  "delete-join-token": { env: ["NODE_NAME"], secretStdin: true },
  "kubeadm-join": { env: ["KUBEADM_CONFIG_B64"], secretStdin: true },
  "label-node": { env: ["NODE_NAME", "NODE_LABELS", "NODE_WAIT_SECONDS"] },
  "drain-node": { env: ["NODE_NAME", "DRAIN_TIMEOUT"] },
  "remove-node": { env: ["NODE_NAME"] },
  "kubeadm-reset": { env: [] },
} as const satisfies Record<string, StepSpec>;
export type HostStepName = keyof typeof HOST_STEPS;

/** The profile switches every script reads (documented in each script's header). */
const PROFILE_ENV = ["MICROSEG_HOST_PROFILE", "MICROSEG_ROOT", "MICROSEG_LAB_PATH", "MICROSEG_LAB_CONTAINERD_VERSION"];

export function scriptPath(step: HostStepName): string {
  return path.join(SCRIPTS_DIR, `${step}.sh`);
}

/** The line by which each step script takes in the prelude (strict mode, PATH, host profile, kubectl helpers). */
export const PRELUDE_SOURCE_LINE = 'source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"';
export const PRELUDE_PATH = path.join(SCRIPTS_DIR, "prelude.sh");

/**
 * The script a host runs for a step: `<step>.sh` with the prelude's text in place of its `source` line, so the host
 * needs no other file (and the trigger hash, taken over this text, changes when the prelude does).
 */
export function loadScript(step: HostStepName): string {
  const script = fs.readFileSync(scriptPath(step), "utf8");
  const lines = script.split("\n");
  const at = lines.indexOf(PRELUDE_SOURCE_LINE);
  if (at < 0 || lines.indexOf(PRELUDE_SOURCE_LINE, at + 1) >= 0) {
    throw new Error(`${scriptPath(step)}: expected exactly one line ${PRELUDE_SOURCE_LINE} (after step=${step})`);
  }
  const prelude = fs.readFileSync(PRELUDE_PATH, "utf8").replace(/^#!.*\n/, "").replace(/\n$/, "");
  lines.splice(at, 1, `# --- prelude.sh`, prelude, `# --- ${step}.sh`);
  return lines.join("\n");
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export interface HostStep {
  readonly step: HostStepName;
  /** The script text. */
  readonly script: string;
  /** The step's inputs as set on the command line (never secret). */
  readonly env: Readonly<Record<string, string>>;
  /** The exact remote command line. */
  readonly command: string;
  /** What the command reads on stdin: the script itself, or (secret steps) nothing here: the caller sends the secrets. */
  readonly stdin: { readonly kind: "script"; readonly text: string } | { readonly kind: "secrets" };
  /** Secret steps: the script file to upload first (path relative to the SSH user's home). */
  readonly upload?: { readonly path: string; readonly content: string };
  /** True when stdout carries secrets (admin kubeconfig, join token). */
  readonly secretStdout: boolean;
  /** sha256 of the script and its (non-secret) inputs: the step's trigger. */
  readonly triggerHash: string;
}

export interface HostStepOptions {
  /** Prefix the command with `sudo -n` (the SSH user is not root). @default true */
  readonly sudo?: boolean;
}

/**
 * Builds the remote command of a step. Throws when an input is unknown to the step, is not a string, or is a
 * `Secret` (secrets go on stdin, never on the command line).
 */
export function hostStep(step: HostStepName, env: Readonly<Record<string, string>>, opts: HostStepOptions = {}): HostStep {
  const spec: StepSpec = HOST_STEPS[step];
  const names = Object.keys(env).sort();
  for (const name of names) {
    const value: unknown = env[name];
    if (value instanceof Secret) throw new Error(`${step}: ${name} is a secret; secrets never go on the command line (send them on stdin)`);
    if (typeof value !== "string") throw new Error(`${step}: ${name} must be a string, got ${typeof value}`);
    if (!spec.env.includes(name) && !PROFILE_ENV.includes(name)) {
      throw new Error(`${step}: unknown input ${name}; the script reads ${[...spec.env, ...PROFILE_ENV].join(", ")}`);
    }
  }
  const script = loadScript(step);
  const assignments = names.map((n) => `${n}=${quote([env[n]!])}`);
  const prefix = [...(opts.sudo === false ? [] : ["sudo", "-n"]), "env", ...assignments];
  const triggerHash = sha256(JSON.stringify({ step, script: sha256(script), env: names.map((n) => [n, env[n]]) }));
  if (spec.secretStdin) {
    const upload = { path: `${UPLOAD_DIR}/${sha256(script).slice(0, 12)}-${step}.sh`, content: script };
    return { step, script, env: { ...env }, command: [...prefix, "bash", upload.path].join(" "), stdin: { kind: "secrets" }, upload, secretStdout: spec.secretStdout === true, triggerHash };
  }
  return { step, script, env: { ...env }, command: [...prefix, "bash", "-s"].join(" "), stdin: { kind: "script", text: script }, secretStdout: spec.secretStdout === true, triggerHash };
}

// ---------------------------------------------------------------------------------------------------------
// Inputs of each step from the stack config

/** Cilium's documented minimum kernel: 5.4 from 1.16 (cilium/cilium#30869), 5.10 from 1.18 (cilium/cilium#38308). */
export function ciliumMinKernel(ciliumVersion: string): string {
  return semver.gte(semver.coerce(ciliumVersion) ?? "0.0.0", "1.18.0") ? "5.10" : "5.4";
}

function kubeadmOnly(cfg: StackConfig) {
  if (cfg.cluster.mode !== "kubeadm") throw new Error(`host steps: cluster.mode is "${cfg.cluster.mode}"; host steps exist only in mode "kubeadm"`);
  return cfg.cluster;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export function preflightStep(cfg: StackConfig, host: HostConfig, opts?: HostStepOptions): HostStep {
  const c = kubeadmOnly(cfg);
  return hostStep(
    "preflight",
    {
      ROLE: host.role,
      MIN_KERNEL: ciliumMinKernel(cfg.cilium.version),
      CILIUM_VERSION: cfg.cilium.version,
      NODE_PORT_RANGE: c.serviceNodePortRange,
      API_SERVER_PORT: String(apiServerBindPort(cfg, host)),
    },
    opts,
  );
}

export function prepareHostStep(cfg: StackConfig, opts?: HostStepOptions): HostStep {
  const c = kubeadmOnly(cfg);
  const pod = parseCidr(c.podCidr);
  return hostStep("prepare-host", { KUBERNETES_VERSION: c.kubernetesVersion, IP_FAMILY: pod.ok ? pod.value.family : "ipv4" }, opts);
}

export function kubeadmInitStep(cfg: StackConfig, host: HostConfig, opts?: HostStepOptions): HostStep {
  const r = renderKubeadmInit(cfg, host);
  return hostStep("kubeadm-init", { KUBEADM_CONFIG_B64: b64(r.yaml), UPLOAD_CERTS: r.uploadCerts ? "1" : "0" }, opts);
}

export function kubeadmJoinStep(cfg: StackConfig, host: HostConfig, opts?: HostStepOptions): HostStep {
  return hostStep("kubeadm-join", { KUBEADM_CONFIG_B64: b64(renderKubeadmJoin(cfg, host).yaml) }, opts);
}

/** Runs on the first control plane, once per joining host. */
export function createJoinTokenStep(host: HostConfig, opts?: HostStepOptions): HostStep {
  return hostStep("create-join-token", { NODE_NAME: host.name, CONTROL_PLANE: host.role === "control-plane" ? "1" : "0", TOKEN_TTL: "15m" }, opts);
}

/** Runs on the first control plane after each join (done or failed), with create-join-token's output on stdin. */
export function deleteJoinTokenStep(host: HostConfig, opts?: HostStepOptions): HostStep {
  return hostStep("delete-join-token", { NODE_NAME: host.name }, opts);
}

/**
 * Every label of the node, set from the first control plane once the node has joined; undefined when it has none.
 * All of them, not only those the kubelet may not set itself: the kubelet applies its `node-labels` only when it
 * registers the Node, so a label changed later must be set here (re-running the join does nothing on a joined host).
 */
export function labelNodeStep(cfg: StackConfig, host: HostConfig, opts?: HostStepOptions): HostStep | undefined {
  const first = controlPlaneHosts(cfg)[0];
  const r = first?.name === host.name ? renderKubeadmInit(cfg, host) : renderKubeadmJoin(cfg, host);
  const all = { ...r.labelsAfterJoin, ...(host.labels ?? {}) };
  if (Object.keys(all).length === 0) return undefined;
  return hostStep("label-node", { NODE_NAME: host.name, NODE_LABELS: formatLabels(all) }, opts);
}

/**
 * The delete of a host's label-node step: removes every label microseg set on the Node (those recorded in its
 * `microseg.io/managed-labels` annotation), no other. No wait: a Node that is already gone has nothing to undo.
 */
export function unlabelNodeStep(host: HostConfig, opts?: HostStepOptions): HostStep {
  return hostStep("label-node", { NODE_NAME: host.name, NODE_LABELS: "", NODE_WAIT_SECONDS: "0" }, opts);
}

// ---------------------------------------------------------------------------------------------------------
// Host identity (hostname, MAC addresses, product_uuid must be unique per node)

export interface HostIdentity {
  readonly hostname: string;
  readonly productUuid: string;
  readonly macs: readonly string[];
}

/** Parses the "identity ..." line preflight prints on stdout. */
export function parseIdentity(stdout: string): HostIdentity | undefined {
  const m = /^identity hostname=(\S+) product_uuid=(\S+) macs=(\S+)$/m.exec(stdout);
  if (!m) return undefined;
  return { hostname: m[1]!, productUuid: m[2]!, macs: m[3] === "none" ? [] : m[3]!.split(",") };
}

/** One message per value two hosts share (unknown values are not compared). */
export function identityClashes(byHost: ReadonlyArray<readonly [string, HostIdentity]>): string[] {
  const out: string[] = [];
  const fields: Array<[string, (i: HostIdentity) => readonly string[], string]> = [
    ["hostname", (i) => [i.hostname.toLowerCase()], "give each host its own hostname (hostnamectl set-hostname)"],
    ["product_uuid", (i) => (i.productUuid === "unknown" ? [] : [i.productUuid.toLowerCase()]), "cloned VMs need a fresh SMBIOS UUID (recreate the VM or change its uuid in the hypervisor)"],
    ["MAC address", (i) => i.macs.map((m) => m.toLowerCase()), "cloned VMs need fresh MAC addresses (regenerate them in the hypervisor)"],
  ];
  for (const [what, values, fix] of fields) {
    const seen = new Map<string, string>();
    for (const [host, id] of byHost) {
      for (const v of values(id)) {
        const first = seen.get(v);
        if (first === undefined) seen.set(v, host);
        else if (first !== host) out.push(`preflight: hosts "${first}" and "${host}" share the ${what} "${v}"; kubeadm needs it unique per node. Fix: ${fix}`);
      }
    }
  }
  return out;
}

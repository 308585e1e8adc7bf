// KubeadmCluster (`mode: kubeadm`): bare Ubuntu hosts to a Kubernetes cluster over SSH, one SshCommand chain per
// host. What runs where is decided by the pure `planCluster` (unit-tested); the component only turns the plan into
// resources. Decisions:
// - every step's trigger is its hash (script + non-secret inputs), so an unchanged stack runs no remote command and
//   a change to one host reruns only that host's steps (as updates: SshCommand never replaces);
// - kubeadm-init never carries a delete: the first control plane's reset hangs on `read-kubeconfig`, which only
//   reruns when its own script changes, and a rerun is an update, never a delete;
// - a join is one resource across the two hosts it needs: its create makes a fresh token on the first control plane
//   and pipes it into `kubeadm join` (so a join retried after the token's 15 minutes gets a new one, and the token
//   is never stored), then deletes that token there, joined or not (it would stay valid for its 15 minutes); its
//   delete drains and deletes the Node there, then runs `kubeadm reset` on the node;
// - label-node's delete removes the labels microseg set (emptying a host's labels deletes the step);
// - extra control planes join one after another (etcd member additions), workers all at once;
// - hostname, MACs and product_uuid are compared across hosts (IdentityCheck) before any host is prepared;
// - later steps pin the host key that wait-ssh saw (or the one in config), so a host is trusted once; a bastion's key
//   likewise: pinned in config, or recorded by the wait-ssh of the first host that goes through it and pinned by
//   every other step, on every host, including the steps run on the first control plane for another node.
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { controlPlaneHosts, endpointHostPort, hostConnection, resolveConfigPath, type HostConfig, type SshAuth, type StackConfig } from "../../config";
import {
  createJoinTokenStep, deleteJoinTokenStep, hostStep, kubeadmInitStep, kubeadmJoinStep, labelNodeStep,
  preflightStep, prepareHostStep, unlabelNodeStep, UPLOAD_DIR, type HostStep, type HostStepName,
} from "../../lib/cluster/host-scripts";
import { formatHostPort } from "../../lib/base/net";
import type { ClusterAccess } from "./existing-cluster";
import { IdentityCheck } from "./identity-check";
import { SshCommand, type SshCommandSpec, type SshConnectionArgs } from "./ssh-command";

/**
 * Where the host scripts run for real (the `MICROSEG_*` switches every script documents in its header).
 * - `ubuntu`: a real Ubuntu 22.04/24.04 host, every command for real.
 * - `lab`: the lab's netns hosts (lab/hosts-up.sh): files written below a per-host working root, and what needs a
 *   real Ubuntu kernel or the Kubernetes apt repository (apt-get, modprobe, kubeadm init/join/reset) prints
 *   "lab profile: skipped ...". kubectl/kubeadm from `labPath` talk to a real kube-apiserver.
 */
export type HostProfile =
  | { readonly kind: "ubuntu" }
  | {
        readonly kind: "lab";
        /** MICROSEG_ROOT per host name, e.g. `{ "cp-0": "/var/lib/microseg-lab/host-1" }`; every host needs one. */
        readonly roots: Readonly<Record<string, string>>;
        /** MICROSEG_LAB_PATH: put first on PATH (kubectl, kubeadm). @default unset */
        readonly labPath?: string;
    };

export interface KubeadmClusterArgs {
    /** The parsed stack config; `cluster.mode` must be `"kubeadm"`. */
    readonly config: StackConfig;
    /**
     * The host profile passed to every script. Never guessed: the lab tests set `lab` explicitly.
     * @default { kind: "ubuntu" }
     */
    readonly hostProfile?: HostProfile;
    /** Where relative `privateKeyPath`s resolve. @default process.cwd() */
    readonly projectDir?: string;
    /** Dial attempts of wait-ssh (1, 2, 4… up to 10 s apart): how long a booting host may take. @default 10 */
    readonly waitSshRetries?: number;
    /** Dial attempts of every later step: wait-ssh already proved the host answers. @default 2 */
    readonly stepRetries?: number;
}

// ---------------------------------------------------------------------------------------------------------
// The plan (pure)

/** One SshCommand of the cluster. */
export interface PlannedStep {
    /** Resource name, `<verb-noun>-<node>`, e.g. `prepare-host-worker-1`. */
    readonly name: string;
    /** The node this step is for. */
    readonly node: string;
    /** The host whose SSH connection runs it (the first control plane for label-node). */
    readonly runsOn: string;
    /** The step's own name (`verb-noun`), the second word of its errors. */
    readonly stepName: string;
    readonly create: HostStep;
    /** The steps whose scripts the delete runs, in order. @default none */
    readonly deleteSteps?: readonly HostStepName[];
    readonly delete?: SshCommandSpec & { readonly command: string };
    /** Resource names this step waits for. */
    readonly after: readonly string[];
    /**
     * Run first on another host (the first control plane); its stdout is the create's stdin (secret, never stored).
     * `cleanup` runs there after the create, done or failed, with the same stdout on its stdin.
     */
    readonly createStdinFrom?: { readonly runsOn: string; readonly stepName: HostStepName; readonly create: HostStep; readonly cleanup?: { readonly stepName: HostStepName; readonly create: HostStep } };
    /** Run first on another host when the step is destroyed. */
    readonly deleteFirst?: { readonly runsOn: string; readonly stepName: string; readonly delete: SshCommandSpec & { readonly command: string } };
    readonly secretStdout: boolean;
}

/** The `MICROSEG_*` variables of a host under a profile. */
export function profileEnv(profile: HostProfile, host: string): Record<string, string> {
    switch (profile.kind) {
        case "ubuntu":
            return {};
        case "lab": {
            const root = profile.roots[host];
            if (!root) throw new Error(`hostProfile: no lab root for host "${host}". Fix: add it to hostProfile.roots`);
            return { MICROSEG_HOST_PROFILE: "lab", MICROSEG_ROOT: root, ...(profile.labPath ? { MICROSEG_LAB_PATH: profile.labPath } : {}) };
        }
        default: {
            const never: never = profile;
            throw new Error(`unknown host profile ${JSON.stringify(never)}`);
        }
    }
}

const withProfile = (s: HostStep, env: Record<string, string>): HostStep => hostStep(s.step, { ...s.env, ...env });

/** A host step as SshCommand runs it: the command, with the script on stdin (a secret-stdin step uploads it instead). */
const asSpec = (s: HostStep): { command: string; stdin?: string; upload?: { path: string; content: string } } =>
    ({ command: s.command, ...(s.stdin.kind === "script" ? { stdin: s.stdin.text } : {}), ...(s.upload ? { upload: s.upload } : {}) });

/** drain-node (uploaded) then remove-node (on stdin), as one command on the first control plane. */
function drainAndRemove(node: string, env: Record<string, string>): SshCommandSpec & { command: string } {
    const drain = hostStep("drain-node", { NODE_NAME: node, DRAIN_TIMEOUT: "300s", ...env });
    const remove = hostStep("remove-node", { NODE_NAME: node, ...env });
    const path = `${UPLOAD_DIR}/${drain.triggerHash.slice(0, 12)}-drain-node.sh`;
    return { command: `${drain.command.replace(/ bash -s$/, ` bash ${path}`)} && ${remove.command}`, stdin: remove.script, upload: { path, content: drain.script } };
}

/** Every step of the cluster, per host, in chain order. Throws in mode existing or without a control plane. */
export function planCluster(cfg: StackConfig, profile: HostProfile = { kind: "ubuntu" }): PlannedStep[] {
    if (cfg.cluster.mode !== "kubeadm") throw new Error(`KubeadmCluster: cluster.mode is "${cfg.cluster.mode}". Fix: use ExistingCluster for mode "existing"`);
    const first = controlPlaneHosts(cfg)[0];
    if (!first) throw new Error("KubeadmCluster: no control-plane host. Fix: give one host role: control-plane");
    const cpEnv = profileEnv(profile, first.name);
    const steps: PlannedStep[] = [];
    const add = (s: Omit<PlannedStep, "name" | "secretStdout"> & { after: readonly string[] }) => {
        const p: PlannedStep = { ...s, name: `${s.stepName}-${s.node}`, secretStdout: s.create.secretStdout };
        steps.push(p);
        return p.name;
    };
    // Extra control planes join one at a time: each adds an etcd member, which etcd and kubeadm want done serially
    // (concurrent control-plane joins are a known race), and each join uploads the certificates with a new key.
    let previousControlPlaneJoin: string | undefined;
    for (const host of cfg.cluster.hosts) {
        const env = profileEnv(profile, host.name);
        const own = (stepName: string, create: HostStep, after: string[], more: Partial<PlannedStep> = {}) =>
            add({ node: host.name, runsOn: host.name, stepName, create: withProfile(create, env), after, ...more });
        const onCp = (stepName: string, create: HostStep, after: string[], more: Partial<PlannedStep> = {}) =>
            add({ node: host.name, runsOn: first.name, stepName, create: withProfile(create, cpEnv), after, ...more });
        let last = own("wait-ssh", hostStep("wait-ssh", {}), []);
        last = own("preflight", preflightStep(cfg, host), [last]);
        last = own("prepare-host", prepareHostStep(cfg), [last]);
        const label = labelNodeStep(cfg, host);
        const unlabel = withProfile(unlabelNodeStep(host), cpEnv);
        const labelMore = { deleteSteps: ["label-node"] as HostStepName[], delete: asSpec(unlabel) };
        if (host.name === first.name) {
            last = own("kubeadm-init", kubeadmInitStep(cfg, host), [last]);
            last = own("read-kubeconfig", hostStep("read-kubeconfig", {}), [last], { deleteSteps: ["kubeadm-reset"], delete: asSpec(withProfile(hostStep("kubeadm-reset", {}), env)) });
            if (label) last = onCp("label-node", label, [last], labelMore);
            continue;
        }
        const reset = withProfile(hostStep("kubeadm-reset", {}), env);
        const joinAfter = [last, `read-kubeconfig-${first.name}`, ...(host.role === "control-plane" && previousControlPlaneJoin ? [previousControlPlaneJoin] : [])];
        last = own("kubeadm-join", kubeadmJoinStep(cfg, host), joinAfter, {
            createStdinFrom: {
                runsOn: first.name, stepName: "create-join-token", create: withProfile(createJoinTokenStep(host), cpEnv),
                cleanup: { stepName: "delete-join-token", create: withProfile(deleteJoinTokenStep(host), cpEnv) },
            },
            deleteSteps: ["drain-node", "remove-node", "kubeadm-reset"],
            deleteFirst: { runsOn: first.name, stepName: "remove-node", delete: drainAndRemove(host.name, cpEnv) },
            delete: asSpec(reset),
        });
        if (host.role === "control-plane") previousControlPlaneJoin = last;
        if (label) onCp("label-node", label, [last], labelMore);
    }
    return steps;
}

/** The admin kubeconfig with every cluster's server set to the reachable endpoint (YAML library, other fields kept). */
export function rewriteKubeconfigServer(kubeconfig: string, endpoint: { host: string; port: number }): string {
    const doc = YAML.parse(kubeconfig) as { clusters?: Array<{ cluster?: { server?: string } }> } | null;
    if (!doc || !Array.isArray(doc.clusters) || doc.clusters.length === 0) throw new Error("read-kubeconfig: /etc/kubernetes/admin.conf has no clusters");
    for (const c of doc.clusters) if (c.cluster) c.cluster.server = `https://${formatHostPort(endpoint.host, endpoint.port)}`;
    return YAML.stringify(doc);
}

// ---------------------------------------------------------------------------------------------------------
// The component

function authArgs(auth: SshAuth, projectDir: string, host: string): Pick<SshConnectionArgs, "privateKey" | "agentSocket"> {
    switch (auth.kind) {
        case "privateKey":
            return { privateKey: pulumi.secret(auth.privateKey.reveal()) };
        case "privateKeyPath":
            return { privateKey: pulumi.secret(fs.readFileSync(resolveConfigPath(auth.privateKeyPath, projectDir), "utf8")) };
        case "agent": {
            const sock = process.env["SSH_AUTH_SOCK"];
            if (!sock) throw new Error(`${host}: ssh agent: true but SSH_AUTH_SOCK is not set. Fix: start ssh-agent and ssh-add the key, or set privateKeyPath`);
            return { agentSocket: sock };
        }
        default: {
            const never: never = auth;
            throw new Error(`unknown SSH auth ${JSON.stringify(never)}`);
        }
    }
}

/**
 * `mode: kubeadm`: installs Kubernetes with kubeadm on the config's hosts over SSH (one chain of SshCommands per
 * host, workers and extra control planes joined in parallel), and binds a Kubernetes provider to the result.
 */
export class KubeadmCluster extends pulumi.ComponentResource implements ClusterAccess {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiEndpoint: pulumi.Output<{ host: string; port: number }>;
    readonly nodeAddresses: pulumi.Output<string[]>;
    /** The node names, resolved once every host's chain is done. */
    readonly nodeNames: pulumi.Output<string[]>;
    /** The SshCommands by resource name (`prepare-host-worker-1`). */
    readonly steps: Readonly<Record<string, SshCommand>>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("microseg:cluster:KubeadmCluster", name, {}, opts);
        const cfg = args.config;
        if (cfg.cluster.mode !== "kubeadm") throw new pulumi.ResourceError(`${name}: cluster.mode is "${cfg.cluster.mode}". Fix: use ExistingCluster`, this);
        const cluster = cfg.cluster;
        let plan: PlannedStep[];
        try {
            plan = planCluster(cfg, args.hostProfile ?? { kind: "ubuntu" });
        } catch (e) {
            throw new pulumi.ResourceError((e as Error).message, this);
        }
        const hosts = new Map<string, HostConfig>(cluster.hosts.map((h) => [h.name, h]));
        const projectDir = args.projectDir ?? process.cwd();
        const auth = new Map<string, Pick<SshConnectionArgs, "privateKey" | "agentSocket" | "host" | "port" | "user" | "hostKeySetting">>();
        /** Per host, its bastion: how to log in, the setting that pins its key, the key pinned in config. */
        const bastions = new Map<string, { args: Omit<SshConnectionArgs, "proxy" | "hostKey">; key: string; hostKey?: string }>();
        /** The host whose wait-ssh records a bastion's key when the config pins none, by bastion (address:port). */
        const recorder = new Map<string, string>();
        for (const [i, h] of cluster.hosts.entries()) {
            const c = hostConnection(cluster, h);
            auth.set(h.name, { host: c.host, port: c.port, user: c.user, ...authArgs(c.auth, projectDir, h.name), hostKeySetting: `cluster.hosts[${i}].hostKey` });
            if (!c.bastion) continue;
            const b = c.bastion;
            const key = `${b.host}:${b.port}`;
            const hostKeySetting = h.ssh?.bastion ? `cluster.hosts[${i}].ssh.bastion.hostKey` : "cluster.ssh.bastion.hostKey";
            bastions.set(h.name, { args: { host: b.host, port: b.port, user: b.user, ...authArgs(b.auth, projectDir, h.name), hostKeySetting }, key, ...(b.hostKey ? { hostKey: b.hostKey } : {}) });
            if (!b.hostKey && !recorder.has(key)) recorder.set(key, h.name);
        }

        const made: Record<string, SshCommand> = {};
        const pinnedKey = (host: string) => hosts.get(host)!.hostKey ?? made[`wait-ssh-${host}`]?.hostKey;
        // A bastion's key: from config, else what the recording host's wait-ssh saw. That wait-ssh itself has none
        // at its first run (it records) and pins its recorded key on a rerun (SshCommand's state).
        const pinnedProxyKey = (host: string) => {
            const b = bastions.get(host)!;
            // Set whenever this host has a bastion: the recording host goes through the same one.
            return b.hostKey ?? (made[`wait-ssh-${recorder.get(b.key)!}`]?.proxyHostKey as pulumi.Output<string> | undefined);
        };
        // How a step reaches a host: its key and its bastion's pinned (config, else what the wait-ssh steps recorded).
        const reach = (host: string, dialRetries: number): SshConnectionArgs => {
            const b = bastions.get(host);
            return { ...auth.get(host)!, hostKey: pinnedKey(host), dialRetries, ...(b ? { proxy: { ...b.args, hostKey: pinnedProxyKey(host) } } : {}) };
        };
        let identity: IdentityCheck | undefined;
        // Every host's wait-ssh and preflight first, then the identity check (it compares their preflight output),
        // then the rest in plan order (a step only waits for steps made before it).
        const early = (s: PlannedStep) => s.stepName === "wait-ssh" || s.stepName === "preflight";
        for (const s of [...plan.filter(early), ...plan.filter((p) => !early(p))]) {
            const retries = s.stepName === "wait-ssh" ? args.waitSshRetries ?? 10 : args.stepRetries ?? 2;
            const connection = reach(s.runsOn, retries);
            const after = s.after.map((a) => made[a]!);
            let dependsOn: pulumi.Resource[] = after;
            if (s.stepName === "prepare-host") {
                // kubeadm needs hostname, MAC and product_uuid unique across hosts: compared before any host changes.
                const preflight = (h: string) => plan.find((p) => p.name === `preflight-${h}`)!.create;
                identity ??= new IdentityCheck("check-identity", {
                    hosts: cluster.hosts.map((h) => ({ hostName: h.name, connection: reach(h.name, retries) })),
                    commands: Object.fromEntries(cluster.hosts.map((h) => [h.name, asSpec(preflight(h.name))])),
                    recorded: Object.fromEntries(cluster.hosts.map((h) => [h.name, made[`preflight-${h.name}`]!.stdout])),
                }, { parent: this });
                dependsOn = [...after, identity];
            }
            // A step run on another host (the first control plane) for this node is named after both.
            const nameOn = (runsOn: string) => (runsOn === s.node ? s.node : `${runsOn} (for ${s.node})`);
            const f = s.createStdinFrom;
            const d = s.deleteFirst;
            made[s.name] = new SshCommand(s.name, {
                hostName: nameOn(s.runsOn),
                stepName: s.stepName,
                connection,
                create: asSpec(s.create),
                createStdinFrom: f ? {
                    hostName: nameOn(f.runsOn), connection: reach(f.runsOn, retries), stepName: f.stepName, command: asSpec(f.create),
                    ...(f.cleanup ? { cleanup: { stepName: f.cleanup.stepName, command: asSpec(f.cleanup.create) } } : {}),
                } : undefined,
                deleteFirst: d ? { hostName: nameOn(d.runsOn), connection: reach(d.runsOn, retries), stepName: d.stepName, command: d.delete } : undefined,
                delete: s.delete,
                triggers: [s.create.triggerHash, ...(f ? [f.create.triggerHash] : [])],
                secretStdout: s.secretStdout,
            }, { parent: this, dependsOn });
        }
        this.steps = made;

        const first = controlPlaneHosts(cfg)[0]!;
        const endpoint = endpointHostPort(cfg);
        this.apiEndpoint = pulumi.output(endpoint);
        this.kubeconfig = pulumi.secret(made[`read-kubeconfig-${first.name}`]!.stdout.apply((k) => rewriteKubeconfigServer(k, endpoint)));
        this.nodeAddresses = pulumi.output(cluster.hosts.map((h) => h.publicAddress ?? h.address));
        // The last step of each host's chain: a node counts as done when it is.
        const lastOf = new Map<string, SshCommand>();
        for (const s of plan) lastOf.set(s.node, made[s.name]!);
        const lasts = [...lastOf.values()];
        this.nodeNames = pulumi.all(lasts.map((c) => c.id)).apply(() => cluster.hosts.map((h) => h.name));
        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableConfigMapMutable: true }, { parent: this, dependsOn: lasts });
        this.registerOutputs({ apiEndpoint: this.apiEndpoint, nodeAddresses: this.nodeAddresses, nodeNames: this.nodeNames });
    }
}

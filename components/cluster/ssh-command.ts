// SshCommand: one remote command over SSH, as a Pulumi dynamic resource on the `ssh2` package. microseg's own
// stand-in for `@pulumi/command`'s `remote.Command` (its provider cannot be built here, see lab/versions.env), with
// what that one lacks: the host key is pinned (from config, or recorded at first contact and required on every
// later run) and a changed key is refused before authenticating, so no secret reaches an impostor.
//
// Decisions, each local to one function (here, in ssh-session.ts or in ssh-host-keys.ts):
// - a change of `create` or `triggers` reruns `create` as an UPDATE, not a replace (`diffSshCommand`): update is
//   the only operation that sees the resource's previous state, so the recorded host key is checked on a rerun
//   too, and a rerun never runs the old `delete` (a kubeadm-init step is never reset because its trigger moved);
// - any other change (a rotated key, a new `delete`) is an update that runs nothing;
// - a failed create or rerun throws, so nothing new is recorded and the next `up` runs it again;
// - the provider keeps every input as an output (destroy only sees outputs), so `connection` is always a secret
//   output and `create`/`delete` are secret outputs too (their stdin may be); see `secretOutputs`;
// - a step may need a command on another host first (`createStdinFrom`: a join token made on the control plane,
//   piped into the join; `deleteFirst`: drain and delete the Node there before the reset). Both run inside this
//   resource's create/update/delete, so a retried join always gets a fresh token, the token is never stored, and
//   no resource exists only to carry a delete. The other host's key, and its bastion's, must be pinned (`check`
//   refuses them unset): nothing is recorded for another host, so an unpinned key would be trusted on every run;
// - `createStdinFrom.cleanup` runs on that host after `create`, succeeded or failed, with the same output on its
//   stdin (the join token is deleted once the join is done, so it is not valid for the rest of its 15 minutes);
// - an RSA pin offers rsa-sha2-512/256 before the SHA-1 `ssh-rsa` (OpenSSH 8.8+ refuses SHA-1 signatures).
import { randomUUID } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { parseKeyLine } from "./ssh-host-keys";
import { runSpec, type Conn, type Spec } from "./ssh-session";

/** How to reach a bastion (jump host); the same fields as the host's connection, without a further proxy. */
export type SshProxyArgs = Omit<SshConnectionArgs, "proxy">;

export interface SshConnectionArgs {
    /** Address or DNS name of the host. */
    readonly host: pulumi.Input<string>;
    /** @default 22 */
    readonly port?: pulumi.Input<number>;
    /** The login user (microseg's host steps run `sudo -n` as this user). */
    readonly user: pulumi.Input<string>;
    /** Private key (OpenSSH or PEM), kept secret in state, never logged. Mutually exclusive with `agentSocket`. */
    readonly privateKey?: pulumi.Input<string>;
    /** Path of an SSH agent's socket (e.g. `$SSH_AUTH_SOCK`). Mutually exclusive with `privateKey`. */
    readonly agentSocket?: pulumi.Input<string>;
    /**
     * The host's public key, `"ssh-ed25519 AAAA…"` (a `known_hosts` or `.pub` line without the host name).
     * @default unset: the key seen at first contact is recorded (output `hostKey`, `proxyHostKey` for the bastion)
     * and required on every later run
     */
    readonly hostKey?: pulumi.Input<string>;
    /**
     * The setting a user pins this key with, named in the refusal of a changed key (e.g. `cluster.hosts[1].hostKey`,
     * `cluster.ssh.bastion.hostKey`). @default "the connection's hostKey"
     */
    readonly hostKeySetting?: pulumi.Input<string>;
    /** A bastion to connect through (an SSH `direct-tcpip` channel, like `ssh -J`). @default none */
    readonly proxy?: pulumi.Input<SshProxyArgs>;
    /** Seconds one connection attempt may take, TCP and SSH handshake. @default 15 */
    readonly dialTimeoutSeconds?: pulumi.Input<number>;
    /**
     * Further attempts when the host cannot be reached (refused, unreachable, timed out), waiting 1, 2, 4… up to 10 s
     * in between. A changed host key or a refused login is never retried.
     * @default 10
     */
    readonly dialRetries?: pulumi.Input<number>;
}

/** One remote command. */
export interface SshCommandSpec {
    /** The exact remote command line (e.g. `hostStep(...).command` of lib/cluster/host-scripts.ts). */
    readonly command: pulumi.Input<string>;
    /** Sent on the command's stdin, then EOF: a script, or the secrets a step reads (pass them as a secret). @default none */
    readonly stdin?: pulumi.Input<string>;
    /** A file written before the command runs (atomically: a temp file, then renamed), relative to the user's home. @default none */
    readonly upload?: pulumi.Input<{ readonly path: string; readonly content: string; readonly mode?: number }>;
}

/** A command on another host, run inside this resource's create/update (`createStdinFrom`) or delete (`deleteFirst`). */
export interface SshPreludeArgs {
    /** That host's name in errors, e.g. `cp-0 (for worker-1)`. */
    readonly hostName: string;
    /** Its step, `verb-noun` (e.g. `create-join-token`): the second word of its errors. */
    readonly stepName: string;
    /** How to reach it; `hostKey` (and the bastion's, with a `proxy`) is required: nothing is recorded for another host. */
    readonly connection: pulumi.Input<SshConnectionArgs>;
    readonly command: SshCommandSpec;
    /**
     * `createStdinFrom` only: run on the same host after `create`, whether it succeeded or failed, with the command's
     * stdout on its stdin (secret, never stored); skipped when that stdout is empty. A failure of it fails the step.
     * E.g. delete the join token the join used. Its `stdin` is replaced. @default none
     */
    readonly cleanup?: { readonly stepName: string; readonly command: SshCommandSpec };
}

export interface SshCommandArgs {
    /** The host's name in microseg (e.g. `worker-0`): the first word of every error. */
    readonly hostName: string;
    /** The step, `verb-noun` (e.g. `prepare-host`): the second word of every error. */
    readonly stepName: string;
    readonly connection: pulumi.Input<SshConnectionArgs>;
    /** Run on create, and again whenever `create` or `triggers` change (as an update, see the file's header). */
    readonly create: SshCommandSpec;
    /**
     * Run when the resource is destroyed (never on a rerun). Leave unset for steps with nothing to undo.
     * @default none
     */
    readonly delete?: SshCommandSpec;
    /**
     * Run first, on another host, before each run of `create`; its stdout becomes `create`'s stdin (as a secret,
     * never stored). A change of its command reruns `create`. @default none
     */
    readonly createStdinFrom?: SshPreludeArgs;
    /** Run first, on another host, when the resource is destroyed; `delete` runs only if it succeeds. @default none */
    readonly deleteFirst?: SshPreludeArgs;
    /** Any JSON; a change reruns `create`. microseg passes the step's trigger hash. @default none */
    readonly triggers?: pulumi.Input<unknown>;
    /** Keep `stdout` secret (an admin kubeconfig, a join token). @default false */
    readonly secretStdout?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// What the provider sees: plain values (the engine unwraps secrets for dynamic providers; Conn, Spec in ssh-session.ts).

interface Prelude { hostName: string; stepName: string; connection: Conn; command: Spec; cleanup?: { stepName: string; command: Spec } }
export interface SshCommandInputs {
    hostName: string; stepName: string; connection: Conn; create: Spec; delete?: Spec; triggers?: unknown;
    createStdinFrom?: Prelude; deleteFirst?: Prelude;
    /** Whether each stdin is a secret, so it is scrubbed from stderr in errors. */
    stdinSecret?: { create?: boolean; delete?: boolean; createStdinFrom?: boolean; deleteFirst?: boolean };
}
export interface SshCommandOutputs extends SshCommandInputs {
    stdout: string; stderrTail: string; exitCode: number; hostKey: string; hostKeyFingerprint: string; proxyHostKey?: string;
}

// ---------------------------------------------------------------------------------------------------------
// The provider's decisions, pure (unit-tested in test/unit/ssh-command.test.ts)

/** What a dynamic provider's `check` sees for a value not known yet (the engine's `rpc.unknownValue`). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Whether the previous state's command must run again: its command, stdin, upload, the command feeding its stdin, or triggers changed. */
export function needsRerun(olds: Pick<SshCommandInputs, "create" | "triggers" | "createStdinFrom">, news: Pick<SshCommandInputs, "create" | "triggers" | "createStdinFrom">): boolean {
    return !same(olds.create, news.create) || !same(olds.triggers, news.triggers) || !same(olds.createStdinFrom?.command, news.createStdinFrom?.command);
}

/** The engine's diff: never a replace (a rerun is an update); changes when any input changed. */
export function diffSshCommand(olds: SshCommandOutputs, news: SshCommandInputs): pulumi.dynamic.DiffResult {
    const keys: (keyof SshCommandInputs)[] = ["hostName", "stepName", "connection", "create", "delete", "triggers", "createStdinFrom", "deleteFirst"];
    return { changes: keys.some((k) => !same(olds[k], news[k])), replaces: [], deleteBeforeReplace: false };
}

/** Input checks at preview (`check`): every problem of the inputs, as `property: what is wrong. Fix`. */
export function checkSshCommand(news: SshCommandInputs): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const conns: [string, Conn | undefined][] = [["connection", news.connection], ["connection.proxy", news.connection?.proxy]];
    for (const k of ["createStdinFrom", "deleteFirst"] as const) {
        const p = news[k];
        if (!p) continue;
        conns.push([`${k}.connection`, p.connection], [`${k}.connection.proxy`, p.connection?.proxy]);
        // Unknown at a first preview (pinned from another step's output): checked when known.
        if (p.connection && !p.connection.hostKey) failures.push({ property: `${k}.connection`, reason: `${news.hostName}: ${k}.connection.hostKey is required: a command on another host runs only against a pinned host key. Fix: pass that host's key (the hostKey output of its first step)` });
        const proxy = p.connection?.proxy;
        if (proxy && typeof proxy === "object" && !proxy.hostKey) failures.push({ property: `${k}.connection.proxy`, reason: `${news.hostName}: ${k}.connection.proxy.hostKey is required: a command on another host runs only against a pinned bastion key. Fix: pass the bastion's key (the proxyHostKey output of that host's first step)` });
    }
    for (const [at, c] of conns) {
        if (!c || typeof c !== "object") continue;
        if (c.privateKey && c.agentSocket) failures.push({ property: at, reason: `${news.hostName}: ${at}.privateKey and ${at}.agentSocket are mutually exclusive. Choose a single approach.` });
        if (!c.privateKey && !c.agentSocket) failures.push({ property: at, reason: `${news.hostName}: ${at} has neither privateKey nor agentSocket. Fix: set one of them` });
        if (c.port !== undefined && !(Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535)) failures.push({ property: at, reason: `${news.hostName}: ${at}.port ${c.port} is not a TCP port (1-65535)` });
        if (c.hostKey && c.hostKey !== UNKNOWN) {
            try { parseKeyLine(news.hostName, c.hostKey); } catch (e) { failures.push({ property: at, reason: (e as Error).message }); }
        }
    }
    return failures;
}

/**
 * Runs `create`, after the command on another host that feeds its stdin when there is one, and then that host's
 * cleanup with the same output (whatever `create` did: a failed join leaves no valid token behind either).
 */
async function runCreate(i: SshCommandInputs, expected: { host?: string; proxy?: string }) {
    if (!i.createStdinFrom) return runSpec(i, i.create, i.stdinSecret?.create === true, expected);
    const p = i.createStdinFrom;
    const fed = await runSpec(p, p.command, i.stdinSecret?.createStdinFrom === true, {});
    let created: Awaited<ReturnType<typeof runSpec>> | undefined;
    let failed: Error | undefined;
    try {
        created = await runSpec(i, { ...i.create, stdin: fed.stdout }, true, expected);
    } catch (e) {
        failed = e as Error;
    }
    let cleanupFailed: Error | undefined;
    if (p.cleanup && fed.stdout.trim() !== "") {
        try {
            await runSpec({ ...p, stepName: p.cleanup.stepName }, { ...p.cleanup.command, stdin: fed.stdout }, true, {});
        } catch (e) {
            cleanupFailed = e as Error;
        }
    }
    if (failed) throw cleanupFailed ? new Error(`${failed.message}\nand then ${cleanupFailed.message}`) : failed;
    if (cleanupFailed) throw new Error(`${cleanupFailed.message}\n(${i.hostName} ${i.stepName} itself succeeded; the next up runs it again, which does nothing on a done host, and retries this.)`);
    return created!;
}

/** Without undefined fields: the provider's protobuf encoding refuses them ("Unexpected struct type"). */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The provider; the engine serializes it, and what it calls (here, ssh-session.ts, ssh-host-keys.ts), into the state. */
export const sshCommandProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: SshCommandInputs, news: SshCommandInputs) {
        return { inputs: news, failures: checkSshCommand(news) };
    },
    async diff(_id: string, olds: SshCommandOutputs, news: SshCommandInputs) {
        return diffSshCommand(olds, news);
    },
    async create(inputs: SshCommandInputs) {
        const r = await runCreate(inputs, {});
        return { id: `${inputs.hostName}/${inputs.stepName}/${randomUUID()}`, outs: plain({ ...inputs, ...r }) };
    },
    async update(_id: string, olds: SshCommandOutputs, news: SshCommandInputs) {
        if (!needsRerun(olds, news)) {
            const { stdout, stderrTail, exitCode, hostKey, hostKeyFingerprint, proxyHostKey } = olds;
            return { outs: plain({ ...news, stdout, stderrTail, exitCode, hostKey, hostKeyFingerprint, proxyHostKey }) };
        }
        const r = await runCreate(news, { host: olds.hostKey, proxy: olds.proxyHostKey });
        return { outs: plain({ ...news, ...r }) };
    },
    async delete(_id: string, props: SshCommandOutputs) {
        if (props.deleteFirst) await runSpec(props.deleteFirst, props.deleteFirst.command, props.stdinSecret?.deleteFirst === true, {});
        if (props.delete) await runSpec(props, props.delete, props.stdinSecret?.delete === true, { host: props.hostKey, proxy: props.proxyHostKey });
    },
};

/** The outputs kept secret whatever the inputs say: the connections (their keys), every command (their stdin). */
export function secretOutputs(secretStdout: boolean): string[] {
    return ["connection", "create", "delete", "createStdinFrom", "deleteFirst", ...(secretStdout ? ["stdout"] : [])];
}

/**
 * One command on one host over SSH: `create` runs once, again when `create` or `triggers` change, `delete` on
 * destroy. The host key is pinned (see `SshConnectionArgs.hostKey`). Errors read `<host> <step>: …`.
 */
export class SshCommand extends pulumi.dynamic.Resource {
    /** The command's stdout (secret when `secretStdout`). */
    declare readonly stdout: pulumi.Output<string>;
    /** The last lines of its stderr, secrets of a secret stdin scrubbed. */
    declare readonly stderrTail: pulumi.Output<string>;
    /** Always 0: a failing command fails the step. */
    declare readonly exitCode: pulumi.Output<number>;
    /** The host's public key as seen at the last run (`"ssh-ed25519 AAAA…"`). */
    declare readonly hostKey: pulumi.Output<string>;
    /** Its SHA256 fingerprint, as `ssh-keygen -l` prints it. */
    declare readonly hostKeyFingerprint: pulumi.Output<string>;
    /** The bastion's public key as seen at the last run; unset without a bastion. */
    declare readonly proxyHostKey: pulumi.Output<string | undefined>;

    constructor(name: string, args: SshCommandArgs, opts?: pulumi.CustomResourceOptions) {
        if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(args.stepName)) {
            throw new pulumi.ResourceError(`${args.hostName}: stepName "${args.stepName}" is not verb-noun. Fix: e.g. "prepare-host"`, opts?.parent);
        }
        if (!args.hostName) throw new pulumi.ResourceError(`${name}: hostName is empty. Fix: the host's name, e.g. "worker-0"`, opts?.parent);
        const isSecret = (v: pulumi.Input<string> | undefined) => pulumi.isSecret(pulumi.output(v ?? ""));
        const props = {
            hostName: args.hostName,
            stepName: args.stepName,
            connection: args.connection,
            create: args.create,
            delete: args.delete,
            triggers: args.triggers,
            createStdinFrom: args.createStdinFrom,
            deleteFirst: args.deleteFirst,
            stdinSecret: { create: isSecret(args.create.stdin), delete: isSecret(args.delete?.stdin), createStdinFrom: isSecret(args.createStdinFrom?.command.stdin), deleteFirst: isSecret(args.deleteFirst?.command.stdin) },
            stdout: undefined, stderrTail: undefined, exitCode: undefined, hostKey: undefined, hostKeyFingerprint: undefined, proxyHostKey: undefined,
        };
        const additionalSecretOutputs = [...(opts?.additionalSecretOutputs ?? []), ...secretOutputs(args.secretStdout === true)];
        super(sshCommandProvider, name, props, { ...opts, additionalSecretOutputs }, "microseg", "SshCommand");
    }
}

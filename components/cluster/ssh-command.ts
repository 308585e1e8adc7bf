// SshCommand: one remote command over SSH, as a Pulumi dynamic resource on the `ssh2` package. microseg's own
// stand-in for `@pulumi/command`'s `remote.Command` (its provider cannot be built here, see lab/versions.env), with
// what that one lacks: the host key is pinned (from config, or recorded at first contact and required on every
// later run) and a changed key is refused before authenticating, so no secret reaches an impostor.
//
// Decisions, each local to one function below:
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
import { createHash, randomUUID } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as ssh2 from "ssh2";

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
// What the provider sees: plain values (the engine unwraps secrets for dynamic providers).

export interface Conn {
    host: string; port?: number; user: string; privateKey?: string; agentSocket?: string; hostKey?: string; hostKeySetting?: string;
    proxy?: Conn; dialTimeoutSeconds?: number; dialRetries?: number;
}
export interface Spec { command: string; stdin?: string; upload?: { path: string; content: string; mode?: number } }
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

/** Lines of stderr kept in `stderrTail` and quoted in errors. */
export const STDERR_TAIL_LINES = 20;

// ---------------------------------------------------------------------------------------------------------
// Pure parts (unit-tested in test/unit/ssh-command.test.ts)

/** The SHA256 fingerprint of a public key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
    return "SHA256:" + createHash("sha256").update(new Uint8Array(blob)).digest("base64").replace(/=+$/, "");
}

/** `"<type> <base64>"` of a key blob (the type is the blob's first SSH string). */
export function keyLine(blob: Buffer): string {
    const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
    const type = blob.subarray(4, 4 + len).toString("latin1");
    return `${type} ${blob.toString("base64")}`;
}

/** Parses `"<type> <base64> [comment]"`; throws a message naming the host when it is not a public key line. */
export function parseKeyLine(hostName: string, line: string): { type: string; blob: Buffer } {
    const [type, b64] = line.trim().split(/\s+/);
    const blob = Buffer.from(b64 ?? "", "base64");
    if (!type || !b64 || keyLine(blob).split(" ")[0] !== type) {
        throw new Error(`${hostName}: hostKey "${line.slice(0, 40)}" is not a public key line. Fix: give it as "ssh-ed25519 AAAA…" (the host's /etc/ssh/ssh_host_ed25519_key.pub without the comment)`);
    }
    return { type, blob };
}

/** The name ssh-keyscan and the key files use for a key type: `ed25519`, `rsa`, `ecdsa`. */
export function keyTypeName(type: string): string {
    return type === "ssh-ed25519" ? "ed25519" : type === "ssh-rsa" ? "rsa" : type.startsWith("ecdsa-") ? "ecdsa" : type;
}

/** Where a refused key was expected to come from and how the user pins a new one. */
export interface PinnedAt {
    /** The pin came from the setting (`config`) or from the key recorded at first contact (`state`). */
    readonly from: "config" | "state";
    /** The key's type (`ssh-ed25519`, `ssh-rsa`, …). */
    readonly type: string;
    /** The address the key was read at, for ssh-keyscan. */
    readonly address: string;
    /** The setting that pins it, e.g. `cluster.ssh.bastion.hostKey`. */
    readonly setting?: string;
    /** A host or a bastion (jump host). @default "host" */
    readonly role?: "host" | "bastion";
}

/** The refusal of a changed or wrong host key: both fingerprints, how to check the new key, the setting to pin it with. */
export function hostKeyChangedMessage(hostName: string, expected: string, got: string, at: PinnedAt): string {
    const t = keyTypeName(at.type);
    const role = at.role ?? "host";
    const setting = at.setting ?? "the connection's hostKey";
    const overrides = at.from === "state" ? " (it overrides the key recorded at first contact)" : "";
    return `${hostName}: SSH host key changed: expected ${expected} got ${got}. If the ${role} was rebuilt on purpose, read its new key from a network you trust (\`ssh-keyscan -t ${t} ${at.address}\` prints it after the address), compare its fingerprint with \`ssh-keygen -lf /etc/ssh/ssh_host_${t}_key.pub\` on the ${role}'s console, then set ${setting} to it${overrides}, and run up again. Otherwise the connection may be intercepted. Nothing was sent: the connection was closed before logging in.`;
}

/**
 * The host key algorithms to offer for a pinned key type. An RSA key signs with rsa-sha2-512/256 (RFC 8332), which
 * OpenSSH 8.8+ requires (it refuses SHA-1 `ssh-rsa` signatures); `ssh-rsa` stays last for servers older than 7.2.
 */
export function hostKeyAlgorithms(type: string): string[] {
    return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** Replaces every secret fragment of `secret` (its lines, `NAME=value` values, words of 8+ characters) in `text`. */
export function scrub(text: string, secret: string | undefined): string {
    if (!secret) return text;
    const parts = new Set<string>();
    for (const line of secret.split("\n")) {
        const t = line.trim();
        if (t.length >= 4) parts.add(t);
        const eq = t.indexOf("=");
        if (eq > 0 && t.length - eq - 1 >= 4) parts.add(t.slice(eq + 1).replace(/^["']|["']$/g, ""));
        for (const w of t.split(/[\s=:,"']+/)) if (w.length >= 8) parts.add(w);
    }
    let out = text;
    for (const p of [...parts].sort((a, b) => b.length - a.length)) out = out.split(p).join("[secret]");
    return out;
}

/** The last `STDERR_TAIL_LINES` non-empty lines. */
export function tail(text: string, lines = STDERR_TAIL_LINES): string {
    return text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "").slice(-lines).join("\n");
}

/** The error of a finished command: `<host> <step>: exit <code>: <stderr tail>`. */
export function commandFailedMessage(hostName: string, stepName: string, r: { exitCode?: number; signal?: string; stderr: string }): string {
    const how = r.exitCode !== undefined ? `exit ${r.exitCode}` : r.signal ? `killed by signal ${r.signal}` : "connection lost before the command finished (no exit status)";
    return `${hostName} ${stepName}: ${how}: ${tail(r.stderr) || "(no stderr)"}`;
}

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

// ---------------------------------------------------------------------------------------------------------
// SSH (runs inside the dynamic provider)

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A plain Error with a flag, not a subclass: the engine serializes the provider's code, classes do not survive it.
type SshError = Error & { retry: boolean };
const sshError = (message: string, retry: boolean): SshError => Object.assign(new Error(message), { retry });

interface Seen { hostKey?: string }

/** One SSH connection, host key checked against `expected` (or recorded into `seen`) before authentication. */
function dialOnce(label: string, c: Conn, expected: { key: string; from: "config" | "state" } | undefined, seen: Seen, role: "host" | "bastion", sock?: NodeJS.ReadableStream): Promise<ssh2.Client> {
    return new Promise((resolve, reject) => {
        const client = new ssh2.Client();
        let refusal: string | undefined;
        const want = expected ? parseKeyLine(label, expected.key) : undefined;
        client.on("ready", () => resolve(client));
        client.on("error", (err: Error & { level?: string }) => {
            client.end();
            if (refusal) return reject(sshError(refusal, false));
            if (err.level === "client-authentication") {
                return reject(sshError(`${label}: SSH login as ${c.user} refused at ${c.host}:${c.port ?? 22} (publickey). Fix: check the connection's privateKey/agentSocket and the user's authorized_keys`, false));
            }
            const retry = err.level === "client-socket" || err.level === "client-timeout" || /ECONNRESET|ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|ENETUNREACH|Timed out/i.test(err.message);
            reject(sshError(err.message, retry));
        });
        client.connect({
            host: c.host, port: c.port ?? 22, username: c.user, sock: sock as never,
            privateKey: c.privateKey, agent: c.agentSocket,
            readyTimeout: (c.dialTimeoutSeconds ?? 15) * 1000, keepaliveInterval: 5000, keepaliveCountMax: 3,
            // Ask for the pinned key's type, so a host with several keys shows the one we know. ssh2 calls the
            // verifier during key exchange: a refusal closes the connection before any authentication request.
            algorithms: want ? { serverHostKey: hostKeyAlgorithms(want.type) as ssh2.ServerHostKeyAlgorithm[] } : undefined,
            hostVerifier: (blob: Buffer) => {
                seen.hostKey = keyLine(blob);
                if (want && blob.toString("base64") !== want.blob.toString("base64")) {
                    refusal = hostKeyChangedMessage(label, fingerprint(want.blob), fingerprint(blob), { from: expected!.from, type: want.type, address: c.host, setting: c.hostKeySetting, role });
                    return false;
                }
                return true;
            },
        });
    });
}

/** Connects (through the bastion when set), retrying while the host cannot be reached. */
async function dial(hostName: string, stepName: string, c: Conn, expected: { host?: string; proxy?: string }, seen: { host: Seen; proxy: Seen }): Promise<ssh2.Client[]> {
    const pin = (config: string | undefined, state: string | undefined) =>
        config ? { key: config, from: "config" as const } : state ? { key: state, from: "state" as const } : undefined;
    const retries = c.dialRetries ?? 10;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
        const opened: ssh2.Client[] = [];
        try {
            if (c.proxy) {
                const bastion = await dialOnce(`${hostName} (bastion ${c.proxy.host})`, c.proxy, pin(c.proxy.hostKey, expected.proxy), seen.proxy, "bastion");
                opened.push(bastion);
                const stream = await new Promise<NodeJS.ReadableStream>((res, rej) =>
                    bastion.forwardOut("127.0.0.1", 0, c.host, c.port ?? 22, (err, ch) => (err ? rej(sshError(`bastion cannot reach ${c.host}:${c.port ?? 22}: ${err.message}`, true)) : res(ch))));
                opened.push(await dialOnce(hostName, c, pin(c.hostKey, expected.host), seen.host, "host", stream));
            } else {
                opened.push(await dialOnce(hostName, c, pin(c.hostKey, expected.host), seen.host, "host"));
            }
            return opened;
        } catch (e) {
            opened.forEach((o) => o.end());
            const err: SshError = typeof (e as SshError)?.retry === "boolean" ? (e as SshError) : sshError(String((e as Error)?.message ?? e), false);
            if (!err.retry) throw new Error(err.message.startsWith(hostName) ? err.message : `${hostName} ${stepName}: ${err.message}`);
            if (attempt >= retries) {
                const secs = ((Date.now() - started) / 1000).toFixed(0);
                throw new Error(`${hostName} ${stepName}: cannot reach ${c.user}@${c.host}:${c.port ?? 22} after ${attempt + 1} attempts in ${secs} s: ${err.message}. Fix: check that the host is up and sshd listens, or raise dialRetries/dialTimeoutSeconds`);
            }
            await sleep(Math.min(1000 * 2 ** attempt, 10_000));
        }
    }
}

/** Runs one command on an open connection; resolves whatever the exit status (none when the connection dropped). */
function exec(client: ssh2.Client, command: string, stdin: string | undefined): Promise<{ exitCode?: number; signal?: string; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        let exitCode: number | undefined;
        let signal: string | undefined;
        const finish = () => resolve({ exitCode, signal, stdout, stderr });
        client.once("close", finish);
        client.exec(command, (err, stream) => {
            if (err) return reject(err);
            stream.setEncoding("utf8");
            stream.stderr.setEncoding("utf8");
            stream.on("data", (d: string) => { stdout += d; });
            stream.stderr.on("data", (d: string) => { stderr = (stderr + d).slice(-65536); });
            stream.on("exit", (code: number | null, sig?: string) => { if (typeof code === "number") exitCode = code; else signal = sig; });
            stream.on("close", () => { client.removeListener("close", finish); finish(); });
            stream.end(stdin ?? "");
        });
    });
}

/** Connects, uploads, runs `spec`; throws `<host> <step>: …` on any failure. Also the SSH of IdentityCheck. */
export async function runSpec(at: { hostName: string; stepName: string; connection: Conn }, spec: Spec, stdinSecret: boolean, expected: { host?: string; proxy?: string }) {
    const seen = { host: {} as Seen, proxy: {} as Seen };
    const clients = await dial(at.hostName, at.stepName, at.connection, expected, seen);
    const client = clients[clients.length - 1]!;
    const clean = (t: string) => (stdinSecret ? scrub(t, spec.stdin) : t);
    try {
        if (spec.upload) {
            const p = sq(spec.upload.path);
            const mode = (spec.upload.mode ?? 0o644).toString(8);
            const up = await exec(client, `umask 077 && mkdir -p "$(dirname ${p})" && cat > ${p}.tmp.$$ && chmod ${mode} ${p}.tmp.$$ && mv -f ${p}.tmp.$$ ${p}`, spec.upload.content);
            if (up.exitCode !== 0) throw new Error(commandFailedMessage(at.hostName, at.stepName, { ...up, stderr: `upload of ${spec.upload.path} failed\n${clean(up.stderr)}` }));
        }
        const r = await exec(client, spec.command, spec.stdin);
        const stderr = clean(r.stderr);
        if (r.exitCode !== 0) throw new Error(commandFailedMessage(at.hostName, at.stepName, { ...r, stderr }));
        const hostKey = seen.host.hostKey!;
        return { stdout: r.stdout, stderrTail: tail(stderr), exitCode: 0, hostKey, hostKeyFingerprint: fingerprint(parseKeyLine(at.hostName, hostKey).blob), proxyHostKey: seen.proxy.hostKey };
    } finally {
        clients.reverse().forEach((c) => c.end());
    }
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

/** The provider; everything it calls is in this file (the engine serializes it into the state). */
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

// One SSH session of a step, inside a dynamic provider: connect (through a bastion when set, retrying while the
// host cannot be reached), the host key checked against its pin before authenticating (or recorded at first
// contact), an optional upload, one command; errors read `<host> <step>: …`. Used by SshCommand and IdentityCheck.
import * as ssh2 from "ssh2";
import { commandFailedMessage, fingerprint, hostKeyAlgorithms, hostKeyChangedMessage, keyLine, parseKeyLine, scrub, tail } from "./ssh-host-keys";

// What the providers see: plain values (the engine unwraps secrets for dynamic providers).
export interface Conn {
    host: string; port?: number; user: string; privateKey?: string; agentSocket?: string; hostKey?: string; hostKeySetting?: string;
    proxy?: Conn; dialTimeoutSeconds?: number; dialRetries?: number;
}
export interface Spec { command: string; stdin?: string; upload?: { path: string; content: string; mode?: number } }

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

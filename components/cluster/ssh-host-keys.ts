// SSH host keys and the messages of a step: a key's line and fingerprint, the refusal of a changed key, the
// algorithms to offer for a pinned key, secrets scrubbed from stderr, the error of a failed command. Pure (no
// network, no Pulumi); unit-tested in test/unit/ssh-command.test.ts.
import { createHash } from "node:crypto";

/** Lines of stderr kept in `stderrTail` and quoted in errors. */
export const STDERR_TAIL_LINES = 20;

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

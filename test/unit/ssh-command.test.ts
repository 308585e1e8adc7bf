// components/cluster/ssh-command.ts, the pure parts: fingerprints (against ssh-keygen), key lines, the diff
// decisions (a rerun is an update, never a replace; a connection-only change runs nothing), the input checks, and
// the exact error messages (host and step first, stderr tail, secrets scrubbed). The SSH parts run against real sshd
// hosts in test/lab/ssh-command.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { checkSshCommand, diffSshCommand, needsRerun, secretOutputs, SshCommand, type SshCommandInputs, type SshCommandOutputs } from "../../components/cluster/ssh-command";
import { commandFailedMessage, fingerprint, hostKeyAlgorithms, hostKeyChangedMessage, keyLine, keyTypeName, parseKeyLine, scrub, tail } from "../../components/cluster/ssh-host-keys";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ssh-command-unit-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fresh key pair made by ssh-keygen: its public line and ssh-keygen's own fingerprint of it. */
function keygen(type: "ed25519" | "ecdsa" | "rsa", name: string): { line: string; sshKeygenFingerprint: string } {
    const file = path.join(tmp, name);
    const made = spawnSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "a comment", "-f", file], { encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    const listed = spawnSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${file}.pub`], { encoding: "utf8" });
    assert.equal(listed.status, 0, listed.stderr);
    return { line: fs.readFileSync(`${file}.pub`, "utf8").trim(), sshKeygenFingerprint: listed.stdout.split(" ")[1]! };
}

const inputs = (over: Partial<SshCommandInputs> = {}): SshCommandInputs => ({
    hostName: "worker-0",
    stepName: "prepare-host",
    connection: { host: "10.0.0.5", user: "ubuntu", privateKey: "KEY" },
    create: { command: "sudo -n env A=1 bash -s", stdin: "echo hi\n" },
    triggers: ["hash-1"],
    ...over,
});
const outputs = (i: SshCommandInputs): SshCommandOutputs => ({ ...i, stdout: "", stderrTail: "", exitCode: 0, hostKey: "ssh-ed25519 AAAA", hostKeyFingerprint: "SHA256:x" });

describe("host key maths", () => {
    for (const type of ["ed25519", "ecdsa", "rsa"] as const) {
        it(`fingerprint and key line of an ${type} key match ssh-keygen`, () => {
            const k = keygen(type, `k-${type}`);
            const parsed = parseKeyLine("h", k.line);
            assert.equal(fingerprint(parsed.blob), k.sshKeygenFingerprint);
            assert.equal(keyLine(parsed.blob), k.line.split(" ").slice(0, 2).join(" "));
            assert.equal(parsed.type, k.line.split(" ")[0]);
        });
    }

    it("refuses what is not a public key line, naming the host", () => {
        const expected = 'worker-0: hostKey "ssh-ed25519" is not a public key line. Fix: give it as "ssh-ed25519 AAAA…" (the host\'s /etc/ssh/ssh_host_ed25519_key.pub without the comment)';
        assert.throws(() => parseKeyLine("worker-0", "ssh-ed25519"), { message: expected });
        const ed = keygen("ed25519", "mislabelled").line.split(" ")[1]!;
        assert.throws(() => parseKeyLine("worker-0", `ssh-rsa ${ed}`), /worker-0: hostKey "ssh-rsa AAAA.*" is not a public key line/);
    });

    it("the changed-key refusal names the host, both fingerprints, how to check the new key and the setting that pins it", () => {
        assert.equal(
            hostKeyChangedMessage("worker-0", "SHA256:old", "SHA256:new", { from: "state", type: "ssh-ed25519", address: "10.0.0.5", setting: "cluster.hosts[1].hostKey" }),
            "worker-0: SSH host key changed: expected SHA256:old got SHA256:new. If the host was rebuilt on purpose, read its new key from a network you trust (`ssh-keyscan -t ed25519 10.0.0.5` prints it after the address), compare its fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host's console, then set cluster.hosts[1].hostKey to it (it overrides the key recorded at first contact), and run up again. Otherwise the connection may be intercepted. Nothing was sent: the connection was closed before logging in.",
        );
        assert.equal(
            hostKeyChangedMessage("cp-0 (bastion 10.0.0.2)", "SHA256:old", "SHA256:new", { from: "config", type: "ssh-rsa", address: "10.0.0.2", setting: "cluster.ssh.bastion.hostKey", role: "bastion" }),
            "cp-0 (bastion 10.0.0.2): SSH host key changed: expected SHA256:old got SHA256:new. If the bastion was rebuilt on purpose, read its new key from a network you trust (`ssh-keyscan -t rsa 10.0.0.2` prints it after the address), compare its fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_rsa_key.pub` on the bastion's console, then set cluster.ssh.bastion.hostKey to it, and run up again. Otherwise the connection may be intercepted. Nothing was sent: the connection was closed before logging in.",
        );
        assert.match(hostKeyChangedMessage("h", "a", "b", { from: "config", type: "ecdsa-sha2-nistp256", address: "h" }), /ssh-keyscan -t ecdsa h.*ssh_host_ecdsa_key\.pub.*then set the connection's hostKey to it, and run up again/);
    });

    it("an RSA pin offers the SHA-2 signature algorithms first (OpenSSH 8.8+ refuses SHA-1 ssh-rsa); other types only themselves", () => {
        assert.deepEqual(hostKeyAlgorithms("ssh-rsa"), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
        assert.deepEqual(hostKeyAlgorithms("ssh-ed25519"), ["ssh-ed25519"]);
        assert.deepEqual(hostKeyAlgorithms("ecdsa-sha2-nistp384"), ["ecdsa-sha2-nistp384"]);
        assert.deepEqual([keyTypeName("ssh-ed25519"), keyTypeName("ssh-rsa"), keyTypeName("ecdsa-sha2-nistp521")], ["ed25519", "rsa", "ecdsa"]);
    });
});

describe("diff decisions", () => {
    const olds = outputs(inputs());

    it("nothing changed: no changes, so no command runs", () => {
        assert.deepEqual(diffSshCommand(olds, inputs()), { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.equal(needsRerun(olds, inputs()), false);
    });

    it("a trigger, command, stdin or upload change is an update that reruns create, never a replace", () => {
        const changed: SshCommandInputs[] = [
            inputs({ triggers: ["hash-2"] }),
            inputs({ create: { command: "sudo -n env A=2 bash -s", stdin: "echo hi\n" } }),
            inputs({ create: { command: "sudo -n env A=1 bash -s", stdin: "echo bye\n" } }),
            inputs({ create: { command: "bash x.sh", upload: { path: "x.sh", content: "true\n" } } }),
        ];
        for (const news of changed) {
            assert.deepEqual(diffSshCommand(olds, news), { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.equal(needsRerun(olds, news), true);
        }
        const withUpload = outputs(inputs({ create: { command: "bash x.sh", upload: { path: "x.sh", content: "true\n", mode: 0o755 } } }));
        assert.equal(needsRerun(withUpload, inputs({ create: { command: "bash x.sh", upload: { path: "x.sh", content: "false\n", mode: 0o755 } } })), true);
    });

    it("a connection-only change (a rotated key, a pinned host key) or a new delete is an update that runs nothing", () => {
        for (const news of [
            inputs({ connection: { host: "10.0.0.5", user: "ubuntu", privateKey: "NEW-KEY" } }),
            inputs({ connection: { host: "10.0.0.5", user: "ubuntu", privateKey: "KEY", hostKey: "ssh-ed25519 AAAA" } }),
            inputs({ delete: { command: "sudo -n kubeadm reset -f" } }),
        ]) {
            assert.deepEqual(diffSshCommand(olds, news), { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.equal(needsRerun(olds, news), false);
        }
    });

    it("the command on another host that feeds create's stdin: its command or stdin reruns create; its connection does not", () => {
        const cp = (command: string, privateKey = "KEY") => ({ hostName: "cp-0 (for worker-0)", stepName: "create-join-token", connection: { host: "10.0.0.4", user: "ubuntu", privateKey, hostKey: "ssh-ed25519 AAAA" }, command: { command, stdin: "script\n" } });
        const fed = outputs(inputs({ createStdinFrom: cp("sudo -n env TOKEN_TTL=15m bash -s") }));
        assert.equal(needsRerun(fed, inputs({ createStdinFrom: cp("sudo -n env TOKEN_TTL=15m bash -s") })), false);
        assert.equal(needsRerun(fed, inputs({ createStdinFrom: cp("sudo -n env TOKEN_TTL=30m bash -s") })), true);
        assert.equal(needsRerun(fed, inputs({ createStdinFrom: cp("sudo -n env TOKEN_TTL=15m bash -s", "ROTATED") })), false);
        assert.equal(diffSshCommand(fed, inputs({ createStdinFrom: cp("sudo -n env TOKEN_TTL=15m bash -s", "ROTATED") })).changes, true, "recorded, nothing run");
        assert.equal(diffSshCommand(fed, inputs({ createStdinFrom: cp("sudo -n env TOKEN_TTL=15m bash -s"), deleteFirst: cp("drain") })).changes, true);
    });

    it("absent and empty triggers are the same", () => {
        assert.equal(needsRerun(outputs(inputs({ triggers: undefined })), inputs({ triggers: undefined })), false);
        assert.equal(needsRerun(outputs(inputs({ triggers: undefined })), inputs({ triggers: ["x"] })), true);
    });
});

describe("input checks (at preview)", () => {
    it("accepts a key or an agent, not both, not neither; ports; pinned keys", () => {
        assert.deepEqual(checkSshCommand(inputs()), []);
        assert.deepEqual(checkSshCommand(inputs({ connection: { host: "h", user: "u", agentSocket: "/run/agent" } })), []);
        assert.deepEqual(checkSshCommand(inputs({ connection: { host: "h", user: "u", privateKey: "K", agentSocket: "/a" } })), [
            { property: "connection", reason: "worker-0: connection.privateKey and connection.agentSocket are mutually exclusive. Choose a single approach." },
        ]);
        assert.deepEqual(checkSshCommand(inputs({ connection: { host: "h", user: "u", port: 70000, proxy: { host: "b", user: "u" } } })), [
            { property: "connection", reason: "worker-0: connection has neither privateKey nor agentSocket. Fix: set one of them" },
            { property: "connection", reason: "worker-0: connection.port 70000 is not a TCP port (1-65535)" },
            { property: "connection.proxy", reason: "worker-0: connection.proxy has neither privateKey nor agentSocket. Fix: set one of them" },
        ]);
        const bad = checkSshCommand(inputs({ connection: { host: "h", user: "u", privateKey: "K", hostKey: "not-a-key" } }));
        assert.equal(bad.length, 1);
        assert.match(bad[0]!.reason, /^worker-0: hostKey "not-a-key" is not a public key line/);
    });

    it("a command on another host needs that host's key pinned (unknown at a first preview is fine)", () => {
        const other = (hostKey?: string) => ({ hostName: "cp-0 (for worker-0)", stepName: "create-join-token", connection: { host: "10.0.0.4", user: "ubuntu", privateKey: "K", ...(hostKey ? { hostKey } : {}) }, command: { command: "true" } });
        assert.deepEqual(checkSshCommand(inputs({ createStdinFrom: other() })), [{
            property: "createStdinFrom.connection",
            reason: "worker-0: createStdinFrom.connection.hostKey is required: a command on another host runs only against a pinned host key. Fix: pass that host's key (the hostKey output of its first step)",
        }]);
        assert.deepEqual(checkSshCommand(inputs({ deleteFirst: other("04da6b54-80e4-46f7-96ec-b56ff0331ba9") })), []);
        const bad = checkSshCommand(inputs({ deleteFirst: other("not-a-key") }));
        assert.deepEqual(bad.map((f) => f.property), ["deleteFirst.connection"]);
        assert.match(bad[0]!.reason, /hostKey "not-a-key" is not a public key line/);
    });

    it("a command on another host through a bastion needs the bastion's key pinned too (nothing is recorded for it)", () => {
        const pinned = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA";
        const other = (proxyKey?: string) => ({ hostName: "cp-0 (for worker-0)", stepName: "create-join-token", connection: { host: "10.0.0.4", user: "ubuntu", privateKey: "K", hostKey: pinned, proxy: { host: "10.0.0.2", user: "ubuntu", privateKey: "K", ...(proxyKey ? { hostKey: proxyKey } : {}) } }, command: { command: "true" } });
        const refusal = (k: string) => ({
            property: `${k}.connection.proxy`,
            reason: `worker-0: ${k}.connection.proxy.hostKey is required: a command on another host runs only against a pinned bastion key. Fix: pass the bastion's key (the proxyHostKey output of that host's first step)`,
        });
        assert.deepEqual(checkSshCommand(inputs({ createStdinFrom: other(), deleteFirst: other() })), [refusal("createStdinFrom"), refusal("deleteFirst")]);
        assert.deepEqual(checkSshCommand(inputs({ createStdinFrom: other(pinned), deleteFirst: other("04da6b54-80e4-46f7-96ec-b56ff0331ba9") })), []);
        // The host's own bastion may be unpinned: its first contact is recorded (proxyHostKey) like the host's key.
        assert.deepEqual(checkSshCommand(inputs({ connection: { host: "h", user: "u", privateKey: "K", proxy: { host: "b", user: "u", privateKey: "K" } } })), []);
    });

    it("the resource refuses a step name that is not verb-noun, before anything is registered", () => {
        const args = { hostName: "worker-0", stepName: "Prepare Host", connection: { host: "h", user: "u" }, create: { command: "true" } };
        assert.throws(() => new SshCommand("x", args), { message: 'worker-0: stepName "Prepare Host" is not verb-noun. Fix: e.g. "prepare-host"' });
    });

    it("connection, both commands and (when asked) stdout are secret outputs", () => {
        assert.deepEqual(secretOutputs(false), ["connection", "create", "delete", "createStdinFrom", "deleteFirst"]);
        assert.deepEqual(secretOutputs(true), ["connection", "create", "delete", "createStdinFrom", "deleteFirst", "stdout"]);
    });
});

describe("error messages", () => {
    const stderr = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`).join("\n") + "\n\n";

    it("a failing command: host, step, exit code and the last 20 lines of stderr", () => {
        assert.equal(
            commandFailedMessage("worker-0", "prepare-host", { exitCode: 3, stderr }),
            `worker-0 prepare-host: exit 3: ${Array.from({ length: 20 }, (_, i) => `line ${i + 6}`).join("\n")}`,
        );
        assert.equal(commandFailedMessage("cp-0", "kubeadm-init", { exitCode: 1, stderr: "" }), "cp-0 kubeadm-init: exit 1: (no stderr)");
        assert.equal(commandFailedMessage("cp-0", "kubeadm-init", { signal: "KILL", stderr: "x\n" }), "cp-0 kubeadm-init: killed by signal KILL: x");
        assert.equal(
            commandFailedMessage("cp-0", "kubeadm-init", { stderr: "started\n" }),
            "cp-0 kubeadm-init: connection lost before the command finished (no exit status): started",
        );
        assert.equal(tail("a\n\nb  \nc", 2), "b\nc");
    });

    it("secrets of a secret stdin are scrubbed from stderr: whole lines, NAME=value values, long words", () => {
        const secret = "JOIN_TOKEN=abcdef.0123456789abcdef\nCERT_KEY='f00dfeedf00dfeedf00dfeed'\n";
        const err = "kubeadm: token abcdef.0123456789abcdef refused\nkey=f00dfeedf00dfeedf00dfeed\nline JOIN_TOKEN=abcdef.0123456789abcdef\n";
        const out = scrub(err, secret);
        assert.equal(out, "kubeadm: token [secret] refused\nkey=[secret]\nline [secret]\n");
        assert.equal(scrub("nothing secret", undefined), "nothing secret");
    });
});

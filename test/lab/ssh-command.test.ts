// SshCommand (components/cluster/ssh-command.ts) on the real engine, through the Automation API, against the lab's
// sshd hosts (lab/hosts-up.sh: network namespaces, Debian's stock sshd_config). Commands are counted on the host
// side (.lab/hosts/<host>/commands.log, written by the authorized_keys `command=` wrapper), never by the client.
// Starts the hosts when they are not up and stops them afterwards only then. Needs no Kubernetes.
//
// The dynamic provider's plugin `pulumi-resource-pulumi-nodejs` is installed in .engine/bin by lab/build-engine.sh.
// Run: source lab/engine-env.sh && node --import tsx --test test/lab/ssh-command.test.ts
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "ssh2";
import { LocalWorkspace, Stack, type UpResult } from "@pulumi/pulumi/automation";
import { hostStep } from "../../lib/cluster/host-scripts";
import { AUTH_LINE, cliStackExport, crashLabHost, engineEnv, repoRoot, sshdConnections, sshdLog } from "./harness";
import { readEnvFile } from "../../lib/base/env-file";

const PROJECT = "sshcommand-lab";
const HOSTS_DIR = path.join(repoRoot, ".lab", "hosts");
const run = `msc${process.pid}`;
const SECRET = `TOKEN=${run}-s3cr3t-${Date.now().toString(36)}`;

interface Step {
    name: string; host: string; step: string; command: string;
    stdin?: string; secretStdin?: string; upload?: { path: string; content: string; mode?: number };
    delete?: string; triggers?: unknown; hostKey?: string; secretStdout?: boolean; dialRetries?: number;
    /** Connect through this lab host as a bastion (ssh -J), its key pinned to `viaHostKey` when given. */
    via?: string;
    viaHostKey?: string;
    /** First run `command` on `host` (its key pinned), its stdout on create's stdin; then `cleanup` there with it. */
    from?: { host: string; step: string; command: string; cleanup?: string };
    /** Log in with the key held by the test's ssh-agent instead of the private key. */
    agent?: boolean;
}

/** The test program: one SshCommand per entry of spec.json, outputs per step. */
const program = `
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { SshCommand } from ${JSON.stringify(path.join(repoRoot, "components", "cluster", "ssh-command"))};

const spec = JSON.parse(fs.readFileSync(__dirname + "/spec.json", "utf8"));
const privateKey = pulumi.secret(fs.readFileSync(spec.keyPath, "utf8"));
const steps: Record<string, pulumi.Output<unknown>> = {};
for (const s of spec.steps) {
    const c = new SshCommand(s.name, {
        hostName: s.host,
        stepName: s.step,
        connection: {
            host: spec.addresses[s.host], user: spec.user, hostKey: s.hostKey, dialTimeoutSeconds: 5, dialRetries: s.dialRetries ?? 1,
            ...(s.agent ? { agentSocket: spec.agentSocket } : { privateKey }),
            ...(s.via ? { proxy: { host: spec.addresses[s.via], user: spec.user, privateKey, hostKey: s.viaHostKey, hostKeySetting: "cluster.ssh.bastion.hostKey" } } : {}),
        },
        createStdinFrom: s.from ? {
            hostName: s.from.host, stepName: s.from.step,
            connection: { host: spec.addresses[s.from.host], user: spec.user, privateKey, hostKey: spec.hostKeys[s.from.host], dialTimeoutSeconds: 5, dialRetries: 1 },
            command: { command: s.from.command },
            cleanup: s.from.cleanup ? { stepName: "clean-up", command: { command: s.from.cleanup } } : undefined,
        } : undefined,
        create: { command: s.command, stdin: s.secretStdin !== undefined ? pulumi.secret(s.secretStdin) : s.stdin, upload: s.upload },
        delete: s.delete ? { command: s.delete } : undefined,
        triggers: s.triggers,
        secretStdout: s.secretStdout,
    });
    steps[s.name] = pulumi.all([c.stdout, c.stderrTail, c.hostKey, c.hostKeyFingerprint]).apply(([stdout, stderrTail, hostKey, fingerprint]) => ({ stdout, stderrTail, hostKey, fingerprint }));
}
export const results = steps;
`;

/** .lab/hosts/env as a map. */
const hostsEnv = (): Record<string, string> => readEnvFile(path.join(HOSTS_DIR, "env"));

/** Commands of this run on a host whose command line holds `marker`, counted by the host. */
function count(host: string, marker: string): number {
    const log = fs.readFileSync(path.join(HOSTS_DIR, host, "commands.log"), "utf8");
    return log.split("\n").filter((l) => l.includes(`: ${marker};`)).length;
}
const acceptedLogins = (host: string) => fs.readFileSync(path.join(HOSTS_DIR, host, "sshd.log"), "utf8").split("\n").filter((l) => l.startsWith("Accepted publickey")).length;
const sshKeygenFingerprint = (host: string) =>
    execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", path.join(HOSTS_DIR, host, "ssh_host_ed25519_key.pub")], { encoding: "utf8" }).split(" ")[1]!;
const hostPublicKey = (host: string) => fs.readFileSync(path.join(HOSTS_DIR, host, "ssh_host_ed25519_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
const changes = (r: UpResult) => Object.fromEntries(Object.entries(r.summary.resourceChanges ?? {}).filter(([k]) => k !== "same"));
const hostsUp = (...args: string[]) => execFileSync("bash", [path.join(repoRoot, "lab", "hosts-up.sh"), ...args], { encoding: "utf8" });

describe("SshCommand on the real engine against the lab's sshd hosts", { timeout: 15 * 60_000 }, () => {
    let startedHosts = false;
    let stack: Stack;
    let workDir: string;
    let env: Record<string, string>;
    let hosts: Record<string, string>;
    let steps: Step[] = [];
    const output: string[] = [];
    let agentSocket: string | undefined;
    let agentPid: string | undefined;

    const writeSpec = () => {
        const spec = {
            keyPath: hosts["LAB_HOSTS_KEY"], agentSocket, user: hosts["LAB_HOSTS_USER"], steps,
            addresses: Object.fromEntries([1, 2, 3].map((i) => [`host-${i}`, hosts[`LAB_HOST_${i}_ADDRESS`]])),
            hostKeys: Object.fromEntries([1, 2, 3].map((i) => [`host-${i}`, hostPublicKey(`host-${i}`)])),
        };
        fs.writeFileSync(path.join(workDir, "spec.json"), JSON.stringify(spec, null, 2));
    };
    const up = async () => {
        writeSpec();
        return stack.up({ color: "never", onOutput: (o) => output.push(o) });
    };
    const marked = (name: string, command: string) => `: ${run}-${name}; ${command}`;
    const step = (name: string, host: string, stepName: string, command: string, more: Partial<Step> = {}): Step => ({ name, host, step: stepName, command: marked(name, command), triggers: ["1"], ...more });

    before(async () => {
        if (spawnSync("bash", [path.join(repoRoot, "lab", "hosts-status.sh")]).status !== 0) {
            execFileSync("bash", [path.join(repoRoot, "lab", "hosts-up.sh")], { env: { ...process.env, LAB_HOST_COUNT: "3" }, stdio: "inherit" });
            startedHosts = true;
        }
        hosts = hostsEnv();
        env = { ...engineEnv() };
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-sshcommand-"));
        fs.writeFileSync(path.join(workDir, "Pulumi.yaml"), `name: ${PROJECT}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`);
        fs.writeFileSync(path.join(workDir, "package.json"), JSON.stringify({ name: PROJECT, private: true, main: "index.ts" }));
        fs.writeFileSync(path.join(workDir, "index.ts"), program);
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workDir, "node_modules"));
        const ws = await LocalWorkspace.create({ workDir, envVars: env });
        stack = await Stack.create(`sshcmd-${run}`, ws);
    });

    after(async () => {
        try {
            if (stack) {
                steps = steps.filter((s) => !s.name.startsWith("fail-"));
                await stack.destroy({ color: "never" }).catch(() => undefined);
                await stack.workspace.removeStack(stack.name, { force: true } as never).catch(() => undefined);
            }
        } finally {
            if (agentPid) spawnSync("kill", [agentPid]);
            if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
            if (startedHosts) execFileSync("bash", [path.join(repoRoot, "lab", "hosts-down.sh")], { stdio: "inherit" });
        }
    });

    it("create runs each command once per host; the key seen is recorded with ssh-keygen's fingerprint", async (t) => {
        const waitSsh = hostStep("wait-ssh", {});
        steps = [1, 2, 3].map((i) => step(`wait-ssh-${i}`, `host-${i}`, "wait-ssh", waitSsh.command, { stdin: waitSsh.script, triggers: [waitSsh.triggerHash] }));
        const started = Date.now();
        const r = await up();
        t.diagnostic(`up, 3 hosts x 1 step: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.deepEqual(changes(r), { create: 4 }, "3 steps and the stack");
        const results = r.outputs["results"]!.value as Record<string, { stderrTail: string; hostKey: string; fingerprint: string }>;
        for (const i of [1, 2, 3]) {
            assert.equal(count(`host-${i}`, `${run}-wait-ssh-${i}`), 1, `host-${i}`);
            assert.equal(results[`wait-ssh-${i}`]!.fingerprint, sshKeygenFingerprint(`host-${i}`));
            assert.equal(results[`wait-ssh-${i}`]!.hostKey, hostPublicKey(`host-${i}`));
            // The real wait-ssh script ran as root through `sudo -n` on the host.
            assert.match(results[`wait-ssh-${i}`]!.stderrTail, /^wait-ssh: \S+ is reachable$/);
        }
    });

    it("an unchanged up runs no command and shows no change", async () => {
        const before = [1, 2, 3].map((i) => count(`host-${i}`, `${run}-wait-ssh-${i}`));
        const logins = [1, 2, 3].map((i) => acceptedLogins(`host-${i}`));
        const r = await up();
        assert.deepEqual(changes(r), {});
        assert.deepEqual([1, 2, 3].map((i) => count(`host-${i}`, `${run}-wait-ssh-${i}`)), before);
        assert.deepEqual([1, 2, 3].map((i) => acceptedLogins(`host-${i}`)), logins);
    });

    it("a trigger change reruns create on that host only (an update, no replace)", async () => {
        steps[1] = { ...steps[1]!, triggers: ["changed"] };
        const r = await up();
        assert.deepEqual(changes(r), { update: 1 });
        assert.deepEqual([1, 2, 3].map((i) => count(`host-${i}`, `${run}-wait-ssh-${i}`)), [1, 2, 1]);
    });

    it("values on the command line reach the command; env sent over SSH does not (stock AcceptEnv LANG LC_*)", async () => {
        steps.push(step("env-line", "host-1", "show-env", "env MICROSEG_VALUE=on-the-line bash -c 'printf %s \"$MICROSEG_VALUE\"'"));
        steps.push(step("upload", "host-2", "run-upload", `bash .microseg/scripts/${run}-hello.sh`, { upload: { path: `.microseg/scripts/${run}-hello.sh`, content: "printf uploaded-ok\n", mode: 0o700 } }));
        const r = await up();
        assert.deepEqual(changes(r), { create: 2 });
        const results = r.outputs["results"]!.value as Record<string, { stdout: string }>;
        assert.equal(results["env-line"]!.stdout, "on-the-line");
        assert.equal(results["upload"]!.stdout, "uploaded-ok");

        // The SSH protocol's env request (what remote.Command's `environment` sends): LC_* passes, the rest is dropped.
        const seen = await new Promise<string>((resolve, reject) => {
            const c = new Client();
            c.on("error", reject).on("ready", () => {
                c.exec(marked("proto-env", `printf '%s|%s' "\${MICROSEG_VALUE:-unset}" "\${LC_MICROSEG:-unset}"`), { env: { MICROSEG_VALUE: "sent", LC_MICROSEG: "sent" } }, (err, s) => {
                    if (err) return reject(err);
                    let out = "";
                    s.on("data", (d: Buffer) => (out += d.toString())).on("close", () => { c.end(); resolve(out); });
                });
            }).connect({ host: hosts["LAB_HOST_1_ADDRESS"], username: "ubuntu", privateKey: fs.readFileSync(hosts["LAB_HOSTS_KEY"]!) });
        });
        assert.equal(seen, "unset|sent");
    });

    it("a secret on stdin reaches the command, is scrubbed from its error, and is in no export or engine output", async () => {
        steps.push(step("read-secret", "host-3", "read-secret", `read -r line; printf '%s' "\${line#TOKEN=}" | sha256sum | cut -c1-16`, { secretStdin: `${SECRET}\n` }));
        const r = await up();
        assert.deepEqual(changes(r), { create: 1 });
        const want = execFileSync("bash", ["-c", `printf '%s' "${SECRET.slice("TOKEN=".length)}" | sha256sum | cut -c1-16`], { encoding: "utf8" });
        assert.equal((r.outputs["results"]!.value as Record<string, { stdout: string }>)["read-secret"]!.stdout, want);

        steps.push(step("fail-echo-secret", "host-3", "echo-secret", "read -r line; echo \"refused: $line\" >&2; exit 7", { secretStdin: `${SECRET}\n` }));
        await assert.rejects(up(), (e: Error) => {
            assert.match(e.message, /host-3 echo-secret: exit 7: refused: \[secret\]/);
            assert.ok(!e.message.includes(SECRET.slice(7)), "the secret is in the error");
            return true;
        });
        steps = steps.filter((s) => s.name !== "fail-echo-secret");

        const exported = cliStackExport(workDir, stack.name);
        const key = fs.readFileSync(hosts["LAB_HOSTS_KEY"]!, "utf8").split("\n")[1]!;
        for (const [what, text] of [["pulumi stack export", exported], ["engine output", output.join("")]] as const) {
            assert.ok(!text.includes(SECRET.slice(7)), `${what} holds the stdin secret`);
            assert.ok(!text.includes(key), `${what} holds the private key`);
        }
        assert.ok(exported.includes("ciphertext"), "the export holds the secrets encrypted");
    });

    it("a changed host key is refused with both fingerprints, before logging in; re-pinned, it converges", async () => {
        const old = sshKeygenFingerprint("host-3");
        hostsUp("--rekey", "host-3");
        const now = sshKeygenFingerprint("host-3");
        const logins = acceptedLogins("host-3");
        steps[2] = { ...steps[2]!, triggers: ["rekeyed"] };
        await assert.rejects(up(), (e: Error) => {
            assert.ok(e.message.includes(`host-3: SSH host key changed: expected ${old} got ${now}. If the host was rebuilt on purpose,`), e.message);
            return true;
        });
        assert.equal(count("host-3", `${run}-wait-ssh-3`), 1);
        assert.equal(acceptedLogins("host-3"), logins, "the client logged in to a host whose key changed");

        steps = steps.map((s) => (s.host === "host-3" ? { ...s, hostKey: hostPublicKey("host-3") } : s));
        const r = await up();
        assert.deepEqual(changes(r), { update: 2 });
        assert.equal(count("host-3", `${run}-wait-ssh-3`), 2);
        assert.equal(count("host-3", `${run}-read-secret`), 1, "a connection-only change ran a command");
    });

    it("a wrong pinned key is refused before logging in", async () => {
        const logins = acceptedLogins("host-1");
        steps.push(step("fail-wrong-pin", "host-1", "pinned-step", "true", { hostKey: hostPublicKey("host-2") }));
        await assert.rejects(up(), (e: Error) => {
            assert.ok(e.message.includes(`host-1: SSH host key changed: expected ${sshKeygenFingerprint("host-2")} got ${sshKeygenFingerprint("host-1")}.`), e.message);
            return true;
        });
        assert.equal(count("host-1", `${run}-fail-wrong-pin`), 0);
        assert.equal(acceptedLogins("host-1"), logins);
        steps = steps.filter((s) => s.name !== "fail-wrong-pin");
    });

    it("a pinned ssh-rsa host key connects: rsa-sha2-512/256 are offered (OpenSSH 9 refuses SHA-1 ssh-rsa signatures)", async () => {
        hostsUp("--rsa-host-key", "host-2");
        hosts = hostsEnv();
        const rsa = hosts["LAB_HOST_2_RSA_HOST_KEY"]!;
        assert.match(rsa, /^ssh-rsa AAAA/);
        // What e63cdae offered for an ssh-rsa pin, the SHA-1 `ssh-rsa` alone: this OpenSSH refuses it at key exchange.
        const oldList = await new Promise<string>((resolve, reject) => {
            const c = new Client();
            c.on("error", (e: Error) => { c.end(); resolve(e.message); }).on("ready", () => { c.end(); reject(new Error("connected with ssh-rsa only")); })
                .connect({ host: hosts["LAB_HOST_2_ADDRESS"], username: "ubuntu", privateKey: fs.readFileSync(hosts["LAB_HOSTS_KEY"]!), readyTimeout: 10_000, algorithms: { serverHostKey: ["ssh-rsa"] } });
        });
        assert.match(oldList, /no matching host key format|Handshake failed/i);
        // The host serves both keys: unpinned, the client takes ed25519 (as the first test recorded).
        steps.push(step("rsa-pin", "host-2", "rsa-pin", "echo rsa-ok", { hostKey: rsa }));
        // (a failed up drops the step, so the tests after this one do not inherit it)
        const r = await up().catch((e: Error) => { steps = steps.filter((s) => s.name !== "rsa-pin"); throw e; });
        assert.deepEqual(changes(r), { create: 1 });
        const res = (r.outputs["results"]!.value as Record<string, { stdout: string; hostKey: string; fingerprint: string }>)["rsa-pin"]!;
        assert.equal(res.stdout, "rsa-ok\n");
        assert.equal(res.hostKey, rsa, "the RSA key was the one verified");
        const rsaFingerprint = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", path.join(HOSTS_DIR, "host-2", "ssh_host_rsa_key.pub")], { encoding: "utf8" }).split(" ")[1];
        assert.equal(res.fingerprint, rsaFingerprint);
        assert.equal(count("host-2", `${run}-rsa-pin`), 1);
        steps = steps.filter((s) => s.name !== "rsa-pin");
        assert.deepEqual(changes(await up()), { delete: 1 });
    });

    it("a command on another host feeds create's stdin; its cleanup runs there afterwards with the same output, also when create fails", async () => {
        const made = `TOKEN=${run}-fed-${Date.now().toString(36)}`;
        const home = "/home/ubuntu";
        const seen = path.join(home, `${run}-cleanup-saw`);
        const from = (cleanup: string) => ({ host: "host-1", step: "make-token", command: marked("fed-make", `echo ${made}`), cleanup: marked("fed-clean", cleanup) });
        const record = `cat >> ${seen}`;
        steps.push(step("fed", "host-2", "use-token", `read -r v; test "$v" = ${made} && echo fed-ok`, { from: from(record), secretStdout: true }));
        let r = await up().catch((e: Error) => { steps = steps.filter((s) => s.name !== "fed"); throw e; });
        assert.deepEqual(changes(r), { create: 1 });
        assert.equal((r.outputs["results"]!.value as Record<string, { stdout: string }>)["fed"]!.stdout, "fed-ok\n");
        assert.deepEqual([count("host-1", `${run}-fed-make`), count("host-2", `${run}-fed`), count("host-1", `${run}-fed-clean`)], [1, 1, 1]);
        assert.equal(fs.readFileSync(seen, "utf8"), `${made}\n`, "the cleanup read what the first command printed");
        const order = fs.readFileSync(path.join(HOSTS_DIR, "host-1", "commands.log"), "utf8").split("\n").filter((l) => l.includes(`${run}-fed-`));
        assert.deepEqual(order.map((l) => /(fed-make|fed-clean)/.exec(l)![1]), ["fed-make", "fed-clean"]);

        // create fails: the cleanup still runs (a failed join leaves no valid token); the error is create's.
        steps = steps.map((s) => (s.name === "fed" ? { ...s, command: marked("fed", "read -r v; echo refused >&2; exit 3"), triggers: ["fail"] } : s));
        await assert.rejects(up(), (e: Error) => {
            assert.match(e.message, /host-2 use-token: exit 3: refused/);
            assert.doesNotMatch(e.message, /clean-up/);
            return true;
        });
        assert.deepEqual([count("host-1", `${run}-fed-make`), count("host-1", `${run}-fed-clean`)], [2, 2]);
        assert.equal(fs.readFileSync(seen, "utf8"), `${made}\n${made}\n`);

        // The cleanup fails after create succeeded: the step fails, naming the cleanup and saying create succeeded.
        steps = steps.map((s) => (s.name === "fed" ? { ...s, command: marked("fed", "cat >/dev/null; echo fed-ok"), triggers: ["cleanup-fails"], from: from("cat >/dev/null; echo cannot clean >&2; exit 4") } : s));
        await assert.rejects(up(), (e: Error) => {
            // (the engine indents the message's second line)
            assert.match(e.message, /host-1 clean-up: exit 4: cannot clean\n\s*\(host-2 use-token itself succeeded; the next up runs it again, which does nothing on a done host, and retries this\.\)/);
            return true;
        });
        // Nothing printed by the first command: no cleanup runs.
        steps = steps.map((s) => (s.name === "fed" ? { ...s, command: marked("fed", "cat >/dev/null; echo fed-ok"), triggers: ["nothing-fed"], from: { ...from(record), command: marked("fed-make", "true") } } : s));
        const cleans = count("host-1", `${run}-fed-clean`);
        r = await up();
        assert.deepEqual(changes(r), { update: 1 });
        assert.equal(count("host-1", `${run}-fed-clean`), cleans);
        assert.ok(!cliStackExport(workDir, stack.name).includes(made.slice("TOKEN=".length)), "the fed output is in the state");
        fs.rmSync(seen, { force: true });
        steps = steps.filter((s) => s.name !== "fed");
        assert.deepEqual(changes(await up()), { delete: 1 });
    });

    it("through a bastion (ssh -J, the bastion's stock sshd forwards): the command runs on the target, which sees the bastion's address", async () => {
        const acceptedFrom = (host: string) => fs.readFileSync(path.join(HOSTS_DIR, host, "sshd.log"), "utf8").split("\n").filter((l) => l.startsWith("Accepted publickey")).map((l) => / from (\S+) /.exec(l)?.[1]);
        const bastionLogins = acceptedLogins("host-1");
        steps.push(step("via-bastion", "host-3", "via-bastion", "echo via-bastion-ok", { via: "host-1" }));
        const r = await up();
        assert.deepEqual(changes(r), { create: 1 });
        assert.equal(count("host-3", `${run}-via-bastion`), 1);
        assert.equal(count("host-1", `${run}-via-bastion`), 0, "the bastion only forwards");
        assert.equal(acceptedLogins("host-1"), bastionLogins + 1, "one login on the bastion");
        assert.equal(acceptedFrom("host-3").pop(), hosts["LAB_HOST_1_ADDRESS"], "host-3 was reached from the bastion");
        assert.equal((r.outputs["results"]!.value as Record<string, { stdout: string }>)["via-bastion"]!.stdout, "via-bastion-ok\n");
        assert.deepEqual(changes(await up()), {});
    });

    it("a bastion whose key is not the pinned one is refused during key exchange: its sshd logged the connection, no authentication attempt", async () => {
        const mark = sshdLog("host-1").length;
        steps.push(step("fail-bastion-pin", "host-3", "via-bastion", "true", { via: "host-1", viaHostKey: hostPublicKey("host-2") }));
        const refused = up().finally(() => { steps = steps.filter((s) => s.name !== "fail-bastion-pin"); });
        await assert.rejects(refused, (e: Error) => {
            assert.ok(e.message.includes(`host-3 (bastion ${hosts["LAB_HOST_1_ADDRESS"]}): SSH host key changed: expected ${sshKeygenFingerprint("host-2")} got ${sshKeygenFingerprint("host-1")}. If the bastion was rebuilt on purpose, read its new key from a network you trust (\`ssh-keyscan -t ed25519 ${hosts["LAB_HOST_1_ADDRESS"]}\` prints it after the address), compare its fingerprint with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on the bastion's console, then set cluster.ssh.bastion.hostKey to it, and run up again.`), e.message);
            return true;
        });
        const logged = sshdLog("host-1", mark);
        const conns = sshdConnections(logged);
        assert.equal(conns.size, 1, `one connection reached the bastion (a changed key is not retried):\n${logged.join("\n")}`);
        assert.deepEqual(logged.filter((l) => AUTH_LINE.test(l)), [], "the bastion saw an authentication attempt");
        assert.match([...conns.values()][0]!.pop()!, /\[preauth\]$/);
        assert.equal(count("host-3", `${run}-fail-bastion-pin`), 0);
    });

    it("with an ssh-agent (no private key in the connection): logs in and runs", async () => {
        agentSocket = path.join(workDir, "agent.sock");
        const started = execFileSync("ssh-agent", ["-a", agentSocket], { encoding: "utf8" });
        agentPid = /SSH_AGENT_PID=(\d+)/.exec(started)![1];
        execFileSync("ssh-add", [hosts["LAB_HOSTS_KEY"]!], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket }, stdio: "ignore" });
        steps.push(step("via-agent", "host-2", "via-agent", "echo via-agent-ok", { agent: true }));
        const r = await up();
        assert.deepEqual(changes(r), { create: 1 });
        assert.equal(count("host-2", `${run}-via-agent`), 1);
        assert.equal((r.outputs["results"]!.value as Record<string, { stdout: string }>)["via-agent"]!.stdout, "via-agent-ok\n");
        steps = steps.filter((x) => x.name !== "via-agent");
        assert.deepEqual(changes(await up()), { delete: 1 });
    });

    it("a host crashing during up fails naming the host and step; after sshd restarts, the next up converges", async () => {
        steps.push(step("slow-2", "host-2", "slow-step", "sleep 3; echo slow-done"));
        const running = up();
        const deadline = Date.now() + 60_000;
        while (count("host-2", `${run}-slow-2`) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        crashLabHost("host-2");
        await assert.rejects(running, (e: Error) => {
            assert.match(e.message, /host-2 slow-step: (connection lost before the command finished|killed by signal)/);
            return true;
        });
        hostsUp();
        const r = await up();
        assert.deepEqual(changes(r), { create: 1 });
        assert.equal(count("host-2", `${run}-slow-2`), 2);
        assert.deepEqual(changes(await up()), {});
    });

    for (const signals of [1, 2]) it(`${signals === 1 ? "SIGINT" : "SIGINT twice (terminate at once)"} to pulumi up, then the next up converges`, async (t) => {
        steps = steps.map((s) => (s.name === "slow-2" ? { ...s, triggers: [`sigint-${signals}`] } : s));
        writeSpec();
        const before = count("host-2", `${run}-slow-2`);
        const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.name], { cwd: workDir, env: { ...process.env, ...env } });
        let cliOut = "";
        child.stdout.on("data", (d: Buffer) => (cliOut += d.toString()));
        child.stderr.on("data", (d: Buffer) => (cliOut += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        const deadline = Date.now() + 60_000;
        while (count("host-2", `${run}-slow-2`) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        child.kill("SIGINT");
        if (signals === 2) {
            await new Promise((r) => setTimeout(r, 500));
            child.kill("SIGINT");
        }
        const code = await exited;
        t.diagnostic(`pulumi up after ${signals} SIGINT: exit ${code}; ${cliOut.split("\n").filter((l) => /cancel|interrupt|slow-2|pending/i.test(l)).join(" | ")}`);
        const r = await up();
        assert.equal(r.summary.result, "succeeded");
        t.diagnostic(`next up: ${JSON.stringify(changes(r))}; ${output.slice(-3).join("").split("\n").filter((l) => /pending|interrupted/i.test(l)).join(" | ")}`);
        assert.deepEqual(changes(await up()), {});
        assert.ok(count("host-2", `${run}-slow-2`) >= before + 1);
    });

    it("destroy runs delete (and only delete) on the host", async () => {
        const marker = `/var/lib/microseg-lab/host-1/${run}-marker`;
        steps.push(step("marker-1", "host-1", "write-marker", `sudo -n touch ${marker}`, { delete: marked("marker-1-delete", `sudo -n rm -f ${marker}`) }));
        await up();
        assert.ok(fs.existsSync(marker));
        steps = steps.filter((s) => s.name !== "marker-1");
        const r = await up();
        assert.deepEqual(changes(r), { delete: 1 });
        assert.ok(!fs.existsSync(marker));
        assert.equal(count("host-1", `${run}-marker-1-delete`), 1);
    });
});

// Shared plumbing of the lab tests: the engine's environment, a throwaway copy of the project per test
// stack (so stack files never land in the work tree), and kubectl against the lab's kube-apiserver.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { parse as parseYaml } from "yaml";
import { ciliumShare } from "../../lab/cilium-share";
import { parseEnvDump, readEnvFile } from "../../lib/base/env-file";

export const repoRoot = path.resolve(__dirname, "..", "..");

/** The running lab's state directory: `LAB_DIR` (test/run.sh gives the tests a lab of their own), else `.lab`. */
export const labDir = process.env.LAB_DIR ?? path.join(repoRoot, ".lab");

/** The variables `lab/engine-env.sh` exports (PATH, PULUMI_HOME, backend, passphrase), read by sourcing it. */
export function engineEnv(): Record<string, string> {
    const out = execFileSync("bash", ["-c", `source lab/engine-env.sh >/dev/null && env -0`], {
        cwd: repoRoot,
        encoding: "utf8",
    });
    return parseEnvDump(out);
}


/** The lab's `.lab/env` as a map (KUBECONFIG, LAB_APISERVER_URL, ...); throws when the lab is not up. */
export function labEnv(): Record<string, string> {
    const file = path.join(labDir, "env");
    if (!fs.existsSync(file)) throw new Error(`the lab is not up (${file} is missing): run bash lab/up.sh`);
    return readEnvFile(file);
}

const projectEntries = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "config.ts", "components", "policies", "lib"];

/** A copy of the program in a temp dir with node_modules linked, so each test owns its stack files. */
export function copyProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-lab-"));
    for (const entry of projectEntries) {
        const from = path.join(repoRoot, entry);
        if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

/** A fresh stack of a fresh project copy, on the lab's file backend. */
export async function newLabStack(prefix: string): Promise<{ stack: Stack; workDir: string; cleanup: () => Promise<void> }> {
    const workDir = copyProject();
    const stackName = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
    const ws = await LocalWorkspace.create({ workDir, envVars: engineEnv() });
    const stack = await Stack.create(stackName, ws);
    const cleanup = async () => {
        try {
            await stack.destroy({ color: "never" });
        } finally {
            await ws.removeStack(stackName, { force: true } as never).catch(() => undefined);
            fs.rmSync(workDir, { recursive: true, force: true });
        }
    };
    return { stack, workDir, cleanup };
}

/** A lab host's sshd log (LogLevel VERBOSE, lab/hosts-up.sh; `sshd -E` ends lines with CR LF), from line `from` on: `sshdLog(h).length` marks a place. */
export function sshdLog(lab: string, from = 0): string[] {
    return fs.readFileSync(path.join(repoRoot, ".lab", "hosts", lab, "sshd.log"), "utf8").split("\n").map((l) => l.replace(/\r$/, "")).filter(Boolean).slice(from);
}

/**
 * The connections in sshd log lines, by client address and port: each one's lines. At LogLevel VERBOSE sshd logs
 * every publickey attempt of a connection ("Postponed publickey", "Accepted key", "Failed publickey", "Accepted
 * publickey") with its port, so a connection refused during key exchange shows none of them.
 */
export function sshdConnections(lines: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const l of lines) {
        const m = / from (\S+) port (\d+)|^(?:Connection (?:closed|reset) by|Disconnected from|Received disconnect from) (?:(?:authenticating |invalid )?user \S+ )?(\S+) port (\d+)/.exec(l);
        if (!m) continue;
        const key = `${m[1] ?? m[3]}:${m[2] ?? m[4]}`;
        out.set(key, [...(out.get(key) ?? []), l]);
    }
    return out;
}

/** Lines of sshd's log that show an authentication attempt or a login (any user, any method). */
export const AUTH_LINE = /publickey|password|keyboard-interactive|Accepted key|authenticating user|Starting session|User child/;

/** kubectl from the lab, against the lab's kube-apiserver. */
/** Kills every process of a lab host's network namespace (lab/hosts-up.sh): its sshd and whatever its sessions run. */
export function crashLabHost(lab: string): void {
    const pids = execFileSync("ip", ["netns", "pids", `ms-${lab}`], { encoding: "utf8" }).split("\n").filter(Boolean);
    if (pids.length) spawnSync("kill", ["-KILL", ...pids]);
}

export function kubectl(...args: string[]): { status: number; stdout: string; stderr: string } {
    const env = labEnv();
    const bin = path.join(repoRoot, ".lab", "bin", "kubectl");
    const r = spawnSync(bin, args, { env: { ...process.env, KUBECONFIG: env.KUBECONFIG }, encoding: "utf8" });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A fresh stack of a small test program: `files` (relative path -> content) written into a temp dir with the
 * repo's node_modules linked, so a lab test can drive one component without the full index.ts.
 */
export async function newProgramStack(
    prefix: string,
    files: Record<string, string>,
): Promise<{ stack: Stack; workDir: string; cleanup: () => Promise<void> }> {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `microseg-${prefix}-`));
    for (const [rel, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(workDir, rel)), { recursive: true });
        fs.writeFileSync(path.join(workDir, rel), content);
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workDir, "node_modules"));
    const stackName = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
    const ws = await LocalWorkspace.create({ workDir, envVars: engineEnv() });
    const stack = await Stack.create(stackName, ws);
    const cleanup = async () => {
        try {
            await stack.destroy({ color: "never" });
        } finally {
            await ws.removeStack(stackName, { force: true } as never).catch(() => undefined);
            fs.rmSync(workDir, { recursive: true, force: true });
        }
    };
    return { stack, workDir, cleanup };
}

/** `pulumi stack export` as a user runs it (no --show-secrets; the Automation API's exportStack decrypts). */
export function cliStackExport(workDir: string, stackName: string): string {
    return execFileSync("pulumi", ["stack", "export", "--stack", stackName], { cwd: workDir, env: { ...process.env, ...engineEnv() }, encoding: "utf8" });
}

/**
 * Pulumi.lab.yaml's config with its relative paths made absolute, for a stack living in a temp copy of the project.
 * A chart under .lab/share/cilium is the release lab/versions.env pins: missing or of another version (setup not
 * run), the tests stop here saying to run bash lab/setup.sh, not at preview.
 */
export function labStackConfig(): Record<string, any> {
    const doc = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, any> };
    const config = structuredClone(doc.config);
    config["microseg:cluster"].kubeconfigPath = labEnv().KUBECONFIG;
    const chart = path.resolve(repoRoot, config["microseg:cilium"].chart.path);
    if (chart.startsWith(path.join(repoRoot, ".lab", "share", "cilium") + path.sep)) {
        const share = ciliumShare();
        if (config["microseg:cilium"].version !== share.version) {
            throw new Error(`Pulumi.lab.yaml: cilium.version ${JSON.stringify(config["microseg:cilium"].version)} is not the ${share.version} of lab/versions.env, whose chart is at ${chart}`);
        }
    }
    config["microseg:cilium"].chart.path = chart;
    return config;
}

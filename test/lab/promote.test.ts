// `microseg promote` on the real engine: two stacks of one project copy, each on its own lab cluster (a stack
// refuses a cluster another stack recorded, so they cannot share one): `dev` (policyEnforcementMode default) and
// `staging` (always), started with lab/up.sh in their own LAB_DIR on other ports (the main lab is left alone).
// Edit a policy, promotion refused while dev has pending changes, preview of dev prints the traffic diff line,
// up dev, promote without --yes refused (no terminal), with --yes staging gets exactly the change and the tags,
// a second promotion applies nothing; an edit that breaks an expectation is refused even once dev runs it.
// Needs the engine and the lab binaries (.lab/bin, lab/build-lab.sh); test/run.sh provides both.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { ciliumCrdManifests, ciliumCrdNames } from "../../lab/cilium-crds";
import { policyDigest } from "../../components/policy/policy-set";
import { microseg } from "../unit/cli-bin";
import { copyProject, engineEnv, repoRoot } from "./harness";

interface Lab {
    readonly dir: string;
    readonly apiserverPort: number;
    started: boolean;
}

/**
 * A lab of its own: a fresh LAB_DIR under the temp dir (never one a crashed run left behind, with its etcd data),
 * binaries hard-linked from .lab/bin, ports offset from the main lab's.
 */
function labOn(name: string, offset: number): Lab {
    return { dir: fs.mkdtempSync(path.join(os.tmpdir(), `microseg-promote-lab-${name}-`)), apiserverPort: 26443 + offset, started: false };
}

function labVars(lab: Lab): Record<string, string> {
    const off = lab.apiserverPort - 26443;
    return {
        LAB_DIR: lab.dir,
        LAB_ETCD_CLIENT_PORT: String(22379 + off), LAB_ETCD_PEER_PORT: String(22380 + off), LAB_APISERVER_PORT: String(lab.apiserverPort),
        LAB_CONTROLLER_MANAGER_PORT: String(20257 + off), LAB_SCHEDULER_PORT: String(20259 + off), LAB_KWOK_PORT: String(20247 + off),
        LAB_NODE_COUNT: "1",
    };
}

function sh(cmd: string, args: string[], env: Record<string, string> = {}, input?: string): SpawnSyncReturns<string> {
    return spawnSync(cmd, args, { cwd: repoRoot, env: { ...process.env, ...env }, encoding: "utf8", input, timeout: 10 * 60_000 });
}

function startLab(lab: Lab): void {
    // Hard links: lab/up.sh recognises its processes by /proc/<pid>/exe == LAB_DIR/bin/<name>.
    if (!fs.existsSync(path.join(lab.dir, "bin"))) assert.equal(sh("cp", ["-al", path.join(repoRoot, ".lab", "bin"), path.join(lab.dir, "bin")]).status, 0);
    if (!fs.existsSync(path.join(lab.dir, "share"))) fs.cpSync(path.join(repoRoot, ".lab", "share"), path.join(lab.dir, "share"), { recursive: true });
    const r = sh("bash", ["lab/up.sh"], labVars(lab));
    assert.equal(r.status, 0, r.stderr + r.stdout);
    lab.started = true;
}

function kubectl(lab: Lab, args: string[], input?: string): SpawnSyncReturns<string> {
    return sh(path.join(lab.dir, "bin", "kubectl"), ["--kubeconfig", path.join(lab.dir, "kubeconfig"), ...args], {}, input);
}

/** The lab's stand-in for cilium-operator (lab/cilium-crds.ts), against this lab. */
function registerCrds(lab: Lab): void {
    const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: ciliumCrdManifests() });
    let r = kubectl(lab, ["apply", "--server-side", "--field-manager=lab-cilium-operator-stand-in", "--force-conflicts", "-f", "-"], list);
    assert.equal(r.status, 0, r.stderr);
    r = kubectl(lab, ["wait", "--for=condition=Established", "--timeout=60s", ...ciliumCrdNames.map((n) => `crd/${n}`)]);
    assert.equal(r.status, 0, r.stderr);
}

function stackConfig(lab: Lab, enforcement: "default" | "always", environment: string): Record<string, unknown> {
    const doc = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, any> };
    const config = structuredClone(doc.config);
    config["microseg:environment"] = environment;
    config["microseg:cluster"].kubeconfigPath = path.join(lab.dir, "kubeconfig");
    config["microseg:cluster"].controlPlaneEndpoint = `127.0.0.1:${lab.apiserverPort}`;
    config["microseg:cilium"].chart.path = path.resolve(repoRoot, config["microseg:cilium"].chart.path);
    config["microseg:cilium"].policyEnforcementMode = enforcement;
    // dev and staging deploy the HTTP rules (policies.httpRules "omit" is the datapath lab's alone, refused elsewhere);
    // these kwok labs run no agent, so nothing waits for an Envoy.
    delete config["microseg:policies"].httpRules;
    return config;
}

const changes = (c: Record<string, number> | undefined) => Object.fromEntries(Object.entries(c ?? {}).filter(([k]) => k !== "same"));
/** The traffic lines of the Diagnostics section (info lines bare, warnings prefixed `warning: `). */
const trafficLines = (stdout: string) => {
    const start = stdout.indexOf("Diagnostics:");
    if (start < 0) return [];
    const end = stdout.slice(start).search(/\n(Outputs|Resources):/);
    return stdout.slice(start, end < 0 ? undefined : start + end).split("\n").map((l) => l.trim().replace(/^warning: /, "")).filter((l) => l.startsWith("traffic: "));
};
/** `op name` of each resource a `preview --diff` output changes (the Stack itself left out). */
/** `<op> <resource name>` of each changed resource in a (non-diff) preview display, e.g. `update stack-record-configmap`. */
const changedResources = (stdout: string) =>
    [...stdout.matchAll(/^ ([~+-]+)\s+([\w.:/-]+) ([\w.-]+) ([\w-]+)\b/gm)]
        .filter((m) => m[2] !== "pulumi:pulumi:Stack").map((m) => `${m[4]} ${m[3]}`).sort();

const L7_LINE = "traffic: default/busybox → default/test-app TCP/80: allowed through L7 rules → allowed through L7 rules (L7 rules added: default/http-filtering GET /health)";

describe("microseg promote on two lab clusters", { timeout: 30 * 60_000 }, () => {
    const devLab = labOn("dev", 2000); // 27443 is test/run.sh's own test lab
    const stagingLab = labOn("staging", 3000);
    let workDir: string;
    let dev: Stack;
    let staging: Stack;
    const env = engineEnv();

    // Through the installed bin (`npx --no-install microseg promote`), in the lab's engine environment (the
    // caller's own: promote uses the caller's pulumi, backend and passphrase).
    const promote = (...args: string[]) => {
        const r = microseg(["promote", ...args, "--project-dir", workDir], workDir, { env, timeoutMs: 15 * 60_000 });
        return { code: r.code, out: r.stdout, err: r.stderr };
    };
    const editPolicy = (file: string, from: string, to: string) => {
        const f = path.join(workDir, "policies", file);
        const text = fs.readFileSync(f, "utf8");
        assert.ok(text.includes(from), `${file} has ${from}`);
        fs.writeFileSync(f, text.replace(from, to));
    };

    before(async () => {
        startLab(devLab);
        startLab(stagingLab);
        registerCrds(devLab);
        registerCrds(stagingLab);
        workDir = copyProject();
        const ws = await LocalWorkspace.create({ workDir, envVars: env });
        const suffix = `${process.pid}-${Date.now().toString(36)}`;
        dev = await Stack.create(`promote-dev-${suffix}`, ws);
        staging = await Stack.create(`promote-staging-${suffix}`, ws);
        fs.writeFileSync(path.join(workDir, `Pulumi.${dev.name}.yaml`), toYaml({ config: stackConfig(devLab, "default", "dev") }));
        fs.writeFileSync(path.join(workDir, `Pulumi.${staging.name}.yaml`), toYaml({ config: stackConfig(stagingLab, "always", "staging") }));
        const [d, s] = await Promise.all([dev.up({ color: "never" }), staging.up({ color: "never" })]);
        assert.equal(d.summary.result, "succeeded");
        assert.equal(s.summary.result, "succeeded");
    });

    after(async () => {
        for (const s of [dev, staging]) {
            if (!s) continue;
            await s.destroy({ color: "never" }).catch((e: Error) => console.error(`destroy ${s.name}: ${e.message}`));
            await s.workspace.removeStack(s.name).catch(() => undefined);
        }
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
        for (const lab of [devLab, stagingLab]) {
            if (lab.started) sh("bash", ["lab/down.sh"], { LAB_DIR: lab.dir });
            fs.rmSync(lab.dir, { recursive: true, force: true });
        }
    });

    it("the record holds the deployed matrix, and an unchanged preview prints no traffic line", async () => {
        const cm = JSON.parse(kubectl(devLab, ["-n", "kube-system", "get", "configmap", "microseg-stack", "-o", "json"]).stdout).data;
        assert.match(cm["traffic.matrix"], /^H4sI[A-Za-z0-9+/=]+$/);
        const p = await dev.preview({ color: "never" });
        assert.deepEqual(changes(p.changeSummary), {});
        assert.deepEqual(trafficLines(p.stdout), []);
    });

    it("with a policy edit not yet up on dev, promote is refused: dev is not up to date", async () => {
        editPolicy("default-test-app.ts", `http.post("/submit")] }`, `http.post("/submit"), http.get("/health")] }`);
        const r = promote(dev.name, staging.name, "--yes");
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.out, new RegExp(`refusing to promote "${dev.name}" to "${staging.name}" \\(nothing was changed\\):\\n  - "${dev.name}" is not up to date with this code: its preview shows changes \\(update 2\\)`));
        assert.deepEqual(changes((await staging.preview({ color: "never" })).changeSummary), { update: 2 }, "staging is untouched");
    });

    it("dev's preview prints the traffic diff line and nothing else; up dev", async () => {
        const p = await dev.preview({ color: "never" });
        // The record ConfigMap is updated in place (enableConfigMapMutable), as on every policy change (its policyDigest changes).
        assert.deepEqual(changes(p.changeSummary), { update: 2 });
        assert.deepEqual(changedResources(p.stdout), ["update ciliumnetworkpolicy-default-http-filtering", "update stack-record-configmap"]);
        assert.deepEqual(trafficLines(p.stdout), [L7_LINE], p.stdout);
        const u = await dev.up({ color: "never" });
        assert.deepEqual(changes(u.summary.resourceChanges), { update: 2 });
        assert.deepEqual(trafficLines(u.stdout), [L7_LINE]);
    });

    it("without --yes and without a terminal: staging's preview is shown, nothing applied, exit 1", async () => {
        const r = promote(dev.name, staging.name);
        assert.equal(r.code, 1, r.out + r.err);
        assert.deepEqual(trafficLines(r.out), [L7_LINE]);
        assert.match(r.out, /not applied: ".*" would change \(update 2\); there is no terminal to confirm on: pass --yes to apply\./);
        assert.deepEqual(changes((await staging.preview({ color: "never" })).changeSummary), { update: 2 });
    });

    it("with --yes staging gets exactly the change (the policy and the record), and the promotion is tagged", async () => {
        const r = promote(dev.name, staging.name, "--yes");
        assert.equal(r.code, 0, r.out + r.err);
        const preview = r.out.slice(r.out.indexOf(`preview of "${staging.name}":`), r.out.indexOf("Updating ("));
        assert.deepEqual(trafficLines(preview), [L7_LINE], "the preview shown before applying has the one traffic line");
        assert.deepEqual(changedResources(preview), ["update ciliumnetworkpolicy-default-http-filtering", "update stack-record-configmap"]);
        assert.match(r.out, new RegExp(`promoted "${dev.name}" to "${staging.name}" \\(update 2\\)`));
        const cnp = JSON.parse(kubectl(stagingLab, ["-n", "default", "get", "ciliumnetworkpolicy", "http-filtering", "-o", "json"]).stdout);
        assert.deepEqual(cnp.spec.ingress[0].toPorts[0].rules.http.map((h: { method: string; path: string }) => `${h.method} ${h.path}`), ["GET /api", "POST /submit", "GET /health"]);
        const tags = await staging.workspace.listTags(staging.name);
        assert.equal(tags["microseg:promoted-from"], dev.name);
        assert.equal(tags["microseg:policy-digest"], (await dev.outputs()).policyDigest!.value);
        assert.equal(tags["microseg:policy-digest"], (await staging.outputs()).policyDigest!.value);
        assert.notEqual(tags["microseg:policy-digest"], policyDigest((await import("../../policies")).policies), "the edited policies, not the repo's");
        assert.equal(tags["microseg:commit"], undefined, "the temp copy is no git work tree");
        assert.deepEqual(changes((await staging.preview({ color: "never" })).changeSummary), {});
    });

    it("promoting the same thing twice changes nothing", async () => {
        const before = (await staging.history(1))[0]!.version;
        const r = promote(dev.name, staging.name, "--yes");
        assert.equal(r.code, 0, r.out + r.err);
        assert.match(r.out, /already runs what ".*" runs: its preview shows no changes; nothing applied\./);
        assert.deepEqual(trafficLines(r.out), []);
        assert.equal((await staging.history(1))[0]!.version, before);
    });

    it("an edit that breaks an expectation is refused, naming the flow, even once dev runs it", async () => {
        editPolicy("backend.ts", `fromNamespace("frontend")`, `fromNamespace("test")`);
        const u = await dev.up({ color: "never" });
        assert.equal(u.summary.result, "succeeded");
        assert.deepEqual(trafficLines(u.stdout), [
            "traffic: frontend/busybox → backend/backend-app TCP/80: allowed → DENIED (default deny at ingress from backend/namespace-isolation)",
            "traffic: test/busybox → backend/backend-app TCP/80: DENIED → allowed (allowed by backend/namespace-isolation)",
        ]);
        assert.ok(trafficLines(u.stdout).includes("traffic: frontend/busybox → backend/backend-app TCP/80: allowed → DENIED (default deny at ingress from backend/namespace-isolation)"), u.stdout);
        const r = promote(dev.name, staging.name, "--yes");
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.out, /the expectations \(policies\/expectations\.ts\) fail on ".*":\n {4}expectations \(policyEnforcementMode default\): 2 of \d+ broken:\n {6}- frontend\/busybox → backend\/backend-app TCP\/80: expected allowed, got denied-default/);
        assert.doesNotMatch(r.out, /preview of/);
        const cnp = JSON.parse(kubectl(stagingLab, ["-n", "backend", "get", "ciliumnetworkpolicy", "namespace-isolation", "-o", "json"]).stdout);
        assert.equal(JSON.stringify(cnp.spec).includes("frontend"), true, "staging keeps its policy");
    });
});

// promote on a backend of the caller's own, not the lab's: their `pulumi` (a wrapper on PATH that logs its
// calls and runs the engine built here), their PULUMI_HOME (the plugins installed, nothing else), their passphrase,
// and their backend, once by PULUMI_BACKEND_URL and once by `pulumi login`. A trivial program (no cluster): what is
// tested is where the stacks are read from and with what.
describe("microseg promote on the caller's own backend", { timeout: 20 * 60_000 }, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-promote-own-"));
    const calls = path.join(tmp, "pulumi-calls.log");
    const home = path.join(tmp, "pulumi-home");
    const PASSPHRASE = "not-the-lab-passphrase";
    let workDir: string;

    /** The caller's environment: none of the lab's (test/run.sh sourced lab/engine-env.sh into this process). */
    const callerEnv = (backend: Record<string, string | undefined>): Record<string, string | undefined> => ({
        PATH: [path.join(tmp, "bin"), path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter),
        PULUMI_HOME: home, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
        PULUMI_BACKEND_URL: undefined, ...backend,
        PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        MICROSEG_REPO: undefined, MICROSEG_ENGINE: undefined,
    });
    const defined = (e: Record<string, string | undefined>) => Object.fromEntries(Object.entries(e).filter((x): x is [string, string] => x[1] !== undefined));

    /**
     * `pulumi ...args` in `workDir` with exactly the caller's environment `env` (not the Automation API: its
     * LocalWorkspace adds its envVars to this process's environment, which holds the lab's PULUMI_BACKEND_URL).
     */
    const pulumiAs = (env: Record<string, string | undefined>, args: string[], input?: string): string => {
        const r = spawnSync(path.join(tmp, "bin", "pulumi"), [...args, "--non-interactive"], { cwd: workDir, env: defined({ ...process.env, ...env }), input, encoding: "utf8" });
        assert.equal(r.status, 0, `pulumi ${args.join(" ")}: ${r.stdout}${r.stderr}`);
        return r.stdout;
    };

    /** Two stacks of `workDir` on the backend of `env`; FROM up once, each with a secret under the caller's passphrase. */
    function twoStacks(env: Record<string, string | undefined>, prefix: string): { from: string; to: string } {
        const config = { config: { "microseg:environment": "dev", "microseg:cluster": { mode: "existing", kubeconfigPath: "kubeconfig", controlPlaneEndpoint: "127.0.0.1:6443" }, "microseg:cilium": { version: "1.18.2" } } };
        const [from, to] = [`${prefix}-from`, `${prefix}-to`];
        for (const s of [from, to]) {
            fs.writeFileSync(path.join(workDir, `Pulumi.${s}.yaml`), toYaml(config));
            pulumiAs(env, ["stack", "init", s]);
            pulumiAs(env, ["config", "set", "--secret", "--stack", s, "own:probe"], "encrypted with the caller's passphrase");
        }
        assert.match(pulumiAs(env, ["up", "--yes", "--stack", from, "--color", "never"]), /Resources:\n\s+\+ 1 created/);
        return { from, to };
    }

    before(() => {
        fs.mkdirSync(path.join(tmp, "bin"));
        // The caller's pulumi: logs each call, then runs the engine built here.
        fs.writeFileSync(path.join(tmp, "bin", "pulumi"), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${path.join(repoRoot, ".engine", "bin", "pulumi")}' "$@"\n`, { mode: 0o755 });
        fs.mkdirSync(home);
        fs.symlinkSync(path.join(repoRoot, ".engine", "pulumi-home", "plugins"), path.join(home, "plugins"));
        workDir = copyProject();
        fs.writeFileSync(path.join(workDir, "index.ts"), 'export const policyDigest = "digest-on-the-own-backend";\n');
    });
    after(() => {
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    const labStacks = () => {
        const dir = path.join(repoRoot, ".pulumi-state", ".pulumi", "stacks", "microseg");
        return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    };

    for (const how of ["PULUMI_BACKEND_URL", "pulumi login"] as const) {
        it(`${how}: the stacks are read from and applied to that backend, with that pulumi and passphrase`, () => {
            const backendDir = path.join(tmp, how === "PULUMI_BACKEND_URL" ? "state-env" : "state-login");
            fs.mkdirSync(backendDir);
            const prefix = how === "PULUMI_BACKEND_URL" ? "own-env" : "own-login";
            let env: Record<string, string | undefined>;
            if (how === "PULUMI_BACKEND_URL") {
                env = callerEnv({ PULUMI_BACKEND_URL: `file://${backendDir}` });
            } else {
                env = callerEnv({});
                const login = spawnSync(path.join(tmp, "bin", "pulumi"), ["login", `file://${backendDir}`], { env: defined({ ...process.env, ...env }), encoding: "utf8" });
                assert.equal(login.status, 0, login.stderr);
            }
            const { from, to } = twoStacks(env, prefix);
            fs.writeFileSync(calls, "");

            const r = microseg(["promote", from, to, "--yes"], workDir, { env, timeoutMs: 10 * 60_000 });
            assert.equal(r.code, 0, r.stdout + r.stderr);
            assert.equal(r.stderr.split("\n")[0], `promote: your environment: ${path.join(tmp, "bin", "pulumi")}, stacks of file://${backendDir} (${how === "PULUMI_BACKEND_URL" ? "PULUMI_BACKEND_URL" : `pulumi login, ${home}`})`);
            assert.match(r.stdout, new RegExp(`promoted "${from}" to "${to}" \\(create 1\\); tags: microseg:promoted-from=${from} microseg:policy-digest=digest-on-the-own-backend`));
            // The caller's pulumi ran every engine command (stack list, previews, up, tags).
            const ran = fs.readFileSync(calls, "utf8");
            assert.match(ran, /^stack ls /m);
            assert.match(ran, /^preview /m);
            assert.match(ran, /^up /m);
            // The state is in that backend, the tags on its stack; the lab's backend holds neither stack.
            for (const s of [from, to]) assert.ok(fs.existsSync(path.join(backendDir, ".pulumi", "stacks", "microseg", `${s}.json`)), `${s} in ${backendDir}`);
            assert.equal((JSON.parse(pulumiAs(env, ["stack", "tag", "ls", "--json", "--stack", to])) as Record<string, string>)["microseg:promoted-from"], from);
            assert.deepEqual(labStacks().filter((n) => n === `${from}.json` || n === `${to}.json`), []);
        });
    }
});

// cli/promote.ts on a fake seam (no engine): the refusals with their reasons, the confirmation rules, the tags,
// and that promoting the same thing twice applies nothing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nextStep, promote, promoteEnvironment, refusals, type HistoryEntry, type PreviewFacts, type PromoteFacts, type PromoteSeam } from "../../cli/promote";
import { CliError } from "../../cli/stack-file";
import { policies } from "../fixtures/policies";
import { namespaceIsolation } from "../fixtures/policies/backend";
import { expectations } from "../fixtures/policies/expectations";
import { cnp, fromNamespace } from "../../lib/policy/model/helpers";
import { workloads } from "../fixtures/policies/workloads";

const ok: HistoryEntry = { kind: "update", result: "succeeded", version: 3, startTime: "2026-01-01T00:00:00.000Z" };
const clean: PreviewFacts = { changes: {}, stdout: "" };
const facts = (f: Partial<PromoteFacts> = {}): PromoteFacts => ({
    from: "dev", to: "staging", fromExists: true, toExists: true, fromHistory: [ok], fromEnforcement: "default", fromPreview: clean, ...f,
});
const model = { policies, workloads, expectations };

describe("refusals (pure)", () => {
    it("none when FROM exists, last update succeeded, preview is empty and expectations hold", () => {
        assert.deepEqual(refusals(facts()), []);
    });
    it("FROM or TO missing, the same stack twice", () => {
        assert.deepEqual(refusals(facts({ fromExists: false, toExists: false })), [
            'stack "dev" does not exist (pulumi stack ls lists the stacks of this project and backend)',
            'stack "staging" does not exist: create it with its own config first (pulumi stack init staging, Pulumi.staging.yaml)',
        ]);
        assert.deepEqual(refusals(facts({ to: "dev" })), ['FROM and TO are the same stack "dev"']);
    });
    it("a failed last update, a stack never updated, a destroyed stack", () => {
        assert.deepEqual(refusals(facts({ fromHistory: [{ ...ok, version: 4, result: "failed" }, ok] })), [
            'the last update of "dev" (#4 at 2026-01-01T00:00:00.000Z) ended "failed": fix it and pulumi up --stack dev until it succeeds',
        ]);
        assert.deepEqual(refusals(facts({ fromHistory: [] })), ['stack "dev" has never been updated (no update in its history): pulumi up --stack dev first']);
        assert.deepEqual(refusals(facts({ fromHistory: [{ kind: "destroy", result: "succeeded", version: 5 }, ok] })), [
            'stack "dev" was destroyed by its last operation (#5, succeeded): nothing runs there to promote',
        ]);
        // A refresh after a good update does not hide it.
        assert.deepEqual(refusals(facts({ fromHistory: [{ kind: "refresh", result: "succeeded" }, ok] })), []);
    });
    it("pending changes, a failing preview", () => {
        assert.deepEqual(refusals(facts({ fromPreview: { changes: { update: 1, create: 2 }, stdout: "" } })), [
            '"dev" is not up to date with this code: its preview shows changes (create 2, update 1); pulumi up --stack dev (and test it) before promoting, or undo the edit',
        ]);
        assert.match(refusals(facts({ fromPreview: undefined, fromPreviewError: "boom\nline2" }))[0]!, /^the preview of "dev" fails, so it cannot be shown up to date:\n {6}boom\n {6}line2$/);
    });
    it("broken expectations and an invalid config, all reasons at once", () => {
        const r = refusals(facts({ brokenExpectations: "expectations (policyEnforcementMode default): 1 of 16 broken:\n  - x", fromConfigError: "bad", fromPreview: { changes: { update: 1 }, stdout: "" } }));
        assert.equal(r.length, 3);
        assert.equal(r[1], 'the expectations (policies/expectations.ts) fail on "dev":\n    expectations (policyEnforcementMode default): 1 of 16 broken:\n      - x');
    });
});

describe("nextStep (pure)", () => {
    const changed = { changes: { update: 1 }, stdout: "" };
    it("nothing to do on an empty preview, whatever the flags", () => {
        assert.equal(nextStep(clean, { yes: false, interactive: false }), "nothing-to-do");
        assert.equal(nextStep(clean, { yes: true, interactive: true }), "nothing-to-do");
    });
    it("--yes applies; a terminal asks; neither refuses", () => {
        assert.equal(nextStep(changed, { yes: true, interactive: false }), "apply");
        assert.equal(nextStep(changed, { yes: false, interactive: true }), "ask");
        assert.equal(nextStep(changed, { yes: false, interactive: false }), "refuse-no-confirmation");
    });
});

/** A fake seam: two stacks, dev deployed; staging's preview has `pending` changes until an up. */
function fakeSeam(opts: { devPreview?: PreviewFacts; devHistory?: HistoryEntry[]; devConfig?: Record<string, unknown> } = {}) {
    const calls: string[] = [];
    let stagingPending: Record<string, number> = { update: 1 };
    const tags: Record<string, string> = {};
    const seam: PromoteSeam = {
        exists: async (s) => ["dev", "staging"].includes(s),
        history: async () => opts.devHistory ?? [ok],
        config: async () => opts.devConfig ?? { environment: "dev", cluster: { mode: "existing", kubeconfigPath: "k", controlPlaneEndpoint: "127.0.0.1:6443" }, cilium: { version: "1.18.2", policyEnforcementMode: "default" } },
        outputs: async () => ({ policyDigest: "abc123" }),
        preview: async (s) => {
            calls.push(`preview ${s}`);
            if (s === "dev") return opts.devPreview ?? clean;
            return { changes: stagingPending, stdout: Object.keys(stagingPending).length ? "~ update\ntraffic: a → b TCP/80: allowed → DENIED (x)" : "" };
        },
        up: async (s) => {
            calls.push(`up ${s}`);
            const changes = stagingPending;
            stagingPending = {};
            return { changes, stdout: "" };
        },
        setTags: async (s, t) => {
            calls.push(`tag ${s}`);
            Object.assign(tags, t);
        },
    };
    return { seam, calls, tags };
}

const run = async (seam: PromoteSeam, o: { yes?: boolean; interactive?: boolean; confirm?: () => Promise<boolean> } = {}, m = model) => {
    let out = "";
    const code = await promote({ from: "dev", to: "staging", yes: o.yes ?? false, interactive: o.interactive ?? false, confirm: o.confirm, projectDir: "/nonexistent", out: (s) => (out += s), commit: "f".repeat(40) }, seam, m);
    return { code, out };
};

describe("promote on a fake seam", () => {
    it("--yes: shows staging's preview with the traffic lines, applies, tags; a second run applies nothing", async () => {
        const { seam, calls, tags } = fakeSeam();
        const first = await run(seam, { yes: true });
        assert.equal(first.code, 0, first.out);
        assert.match(first.out, /preview of "staging":\n~ update\ntraffic: a → b TCP\/80: allowed → DENIED \(x\)\n/);
        assert.deepEqual(calls, ["preview dev", "preview staging", "up staging", "tag staging"]);
        assert.deepEqual(tags, { "microseg:promoted-from": "dev", "microseg:policy-digest": "abc123", "microseg:commit": "f".repeat(40) });
        const second = await run(seam, { yes: true });
        assert.equal(second.code, 0);
        assert.match(second.out, /"staging" already runs what "dev" runs: its preview shows no changes; nothing applied\./);
        assert.deepEqual(calls.slice(4), ["preview dev", "preview staging"]);
    });
    it("no terminal and no --yes: refused after the preview, exit 1, nothing applied", async () => {
        const { seam, calls } = fakeSeam();
        const r = await run(seam);
        assert.equal(r.code, 1);
        assert.match(r.out, /not applied: "staging" would change \(update 1\); there is no terminal to confirm on: pass --yes to apply\./);
        assert.ok(!calls.includes("up staging"));
    });
    it("a terminal: applies only when confirmed", async () => {
        const declined = fakeSeam();
        assert.equal((await run(declined.seam, { interactive: true, confirm: async () => false })).code, 1);
        assert.ok(!declined.calls.includes("up staging"));
        const confirmed = fakeSeam();
        assert.equal((await run(confirmed.seam, { interactive: true, confirm: async () => true })).code, 0);
        assert.ok(confirmed.calls.includes("up staging"));
    });
    it("pending changes on dev: refused with the reason before staging is even previewed", async () => {
        const { seam, calls } = fakeSeam({ devPreview: { changes: { update: 1 }, stdout: "" } });
        const r = await run(seam, { yes: true });
        assert.equal(r.code, 1);
        assert.equal(r.out, 'refusing to promote "dev" to "staging" (nothing was changed):\n  - "dev" is not up to date with this code: its preview shows changes (update 1); pulumi up --stack dev (and test it) before promoting, or undo the edit\n');
        assert.deepEqual(calls, ["preview dev"]);
    });
    it("expectations broken by the project's policies under dev's enforcement mode: refused naming the flow", async () => {
        const onlyTest = cnp("namespace-isolation", "backend", { endpointSelector: { matchLabels: { app: "backend-app" } }, ingress: [{ fromEndpoints: [fromNamespace("test")] }] });
        const broken = { ...model, policies: policies.map((p) => (p === namespaceIsolation ? onlyTest : p)) };
        const { seam } = fakeSeam();
        const r = await run(seam, { yes: true }, broken);
        assert.equal(r.code, 1);
        assert.match(r.out, /the expectations \(policies\/expectations\.ts\) fail on "dev":\n {4}expectations \(policyEnforcementMode default\): 2 of 16 broken:\n {6}- frontend\/busybox → backend\/backend-app TCP\/80: expected allowed, got denied-default/);
    });
    it("a failed last update on dev: refused", async () => {
        const { seam } = fakeSeam({ devHistory: [{ kind: "update", result: "failed", version: 7 }] });
        const r = await run(seam, { yes: true });
        assert.equal(r.code, 1);
        assert.match(r.out, /the last update of "dev" \(#7\) ended "failed"/);
    });
});

describe("promoteEnvironment: whose engine, backend and secrets promote uses", () => {
    /** A temp dir with an executable `pulumi` in bin/ and a repo with lab/engine-env.sh. */
    const tmp = () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-promote-env-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
        fs.mkdirSync(path.join(dir, "repo", "lab"), { recursive: true });
        fs.writeFileSync(path.join(dir, "repo", "lab", "engine-env.sh"), "");
        return dir;
    };
    const labEnvOf = (dir: string) => () => ({ PATH: path.join(dir, "bin"), PULUMI_HOME: "/repo/.engine/pulumi-home", PULUMI_BACKEND_URL: "file:///repo/.pulumi-state", PULUMI_CONFIG_PASSPHRASE: "microseg-lab-only" });
    const never = () => assert.fail("the lab's engine-env.sh was sourced");
    /** The backend shown for the caller's environment `env` (their pulumi in dir/bin). */
    const backendOf = (dir: string, env: Record<string, string | undefined>) =>
        promoteEnvironment({ labEngine: false, userEnv: { PATH: path.join(dir, "bin"), ...env }, repoRoot: path.join(dir, "repo"), labEnv: never }).backend;
    const login = (home: string, credentials: string) => {
        fs.mkdirSync(home, { recursive: true });
        fs.writeFileSync(path.join(home, "credentials.json"), credentials);
    };

    it("by default, the caller's environment untouched: their pulumi on PATH, backend, passphrase, PULUMI_* variables", () => {
        const dir = tmp();
        const userEnv = { PATH: `/nowhere:${path.join(dir, "bin")}`, PULUMI_BACKEND_URL: "s3://team-state/microseg?region=eu-west-1&awssdk=v2", PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/pp", PULUMI_SKIP_UPDATE_CHECK: "1", HOME: "/home/u", UNSET: undefined };
        const e = promoteEnvironment({ labEngine: false, userEnv, repoRoot: path.join(dir, "repo"), labEnv: never });
        assert.deepEqual(e, {
            env: { PATH: userEnv.PATH, PULUMI_BACKEND_URL: userEnv.PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/pp", PULUMI_SKIP_UPDATE_CHECK: "1", HOME: "/home/u" },
            source: "yours", pulumi: path.join(dir, "bin", "pulumi"), backend: "s3://team-state/microseg (PULUMI_BACKEND_URL)",
        });
    });

    it("the pulumi run is the first executable file named pulumi on the caller's PATH, as the shell finds it", () => {
        const dir = tmp();
        const notExec = path.join(dir, "not-exec");
        fs.mkdirSync(notExec);
        fs.writeFileSync(path.join(notExec, "pulumi"), "#!/bin/sh\n", { mode: 0o644 });
        const aDir = path.join(dir, "a-dir");
        fs.mkdirSync(path.join(aDir, "pulumi"), { recursive: true });
        const second = path.join(dir, "second");
        fs.mkdirSync(second);
        fs.writeFileSync(path.join(second, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
        const PATH = ["", notExec, aDir, path.join(dir, "bin"), second].join(path.delimiter);
        assert.equal(promoteEnvironment({ labEngine: false, userEnv: { PATH }, repoRoot: path.join(dir, "repo"), labEnv: never }).pulumi, path.join(dir, "bin", "pulumi"));
    });

    it("PULUMI_BACKEND_URL is shown without user info, query or fragment (they may carry credentials)", () => {
        const dir = tmp();
        const shown = (url: string) => backendOf(dir, { PULUMI_BACKEND_URL: url });
        assert.deepEqual(
            ["https://user:secret@state.example/x?token=t", "s3://AKIA0123:key@bucket/p?region=eu-west-1#frag", "azblob://container?storage_account=acct", "gs://bucket/dir", "file:///srv/state", "file://~/state"].map(shown),
            ["https://state.example/x (PULUMI_BACKEND_URL)", "s3://bucket/p (PULUMI_BACKEND_URL)", "azblob://container (PULUMI_BACKEND_URL)", "gs://bucket/dir (PULUMI_BACKEND_URL)", "file:///srv/state (PULUMI_BACKEND_URL)", "file://~/state (PULUMI_BACKEND_URL)"],
        );
        // Not a URL the WHATWG parser takes: only its query and fragment are cut.
        assert.deepEqual(["state-dir?token=t", "relative/path#x", "/abs/state"].map(shown), ["state-dir (PULUMI_BACKEND_URL)", "relative/path (PULUMI_BACKEND_URL)", "/abs/state (PULUMI_BACKEND_URL)"]);
    });

    it("without PULUMI_BACKEND_URL (unset or empty): the backend of `pulumi login` in the caller's PULUMI_HOME, credentials never shown", () => {
        const dir = tmp();
        const home = path.join(dir, "pulumi-home");
        login(home, JSON.stringify({ current: "https://api.pulumi.com", accessTokens: { "https://api.pulumi.com": "pul-0123456789abcdef" } }));
        const e = promoteEnvironment({ labEngine: false, userEnv: { PATH: path.join(dir, "bin"), PULUMI_HOME: home }, repoRoot: path.join(dir, "repo"), labEnv: never });
        assert.equal(e.backend, `https://api.pulumi.com/ (pulumi login, ${home})`);
        assert.equal(e.env["PULUMI_HOME"], home);
        assert.equal(backendOf(dir, { PULUMI_HOME: home, PULUMI_BACKEND_URL: "" }), `https://api.pulumi.com/ (pulumi login, ${home})`);
        // A login URL with credentials in it is cut like PULUMI_BACKEND_URL.
        const s3 = path.join(dir, "home-s3");
        login(s3, JSON.stringify({ current: "s3://team-state?awssdk=v2&profile=ops" }));
        assert.equal(backendOf(dir, { PULUMI_HOME: s3 }), `s3://team-state (pulumi login, ${s3})`);
    });

    it("no PULUMI_HOME: the login in HOME/.pulumi; no login there (no file, unreadable JSON, no or an empty current): pulumi's default", () => {
        const dir = tmp();
        const user = path.join(dir, "home-user");
        login(path.join(user, ".pulumi"), JSON.stringify({ current: "file:///srv/state" }));
        assert.equal(backendOf(dir, { HOME: user }), `file:///srv/state (pulumi login, ${path.join(user, ".pulumi")})`);
        const none = path.join(dir, "nohome");
        assert.equal(backendOf(dir, { HOME: none }), `pulumi's default, no login in ${path.join(none, ".pulumi")}`);
        assert.equal(backendOf(dir, {}), "pulumi's default, no login in ~/.pulumi");
        for (const [i, credentials] of ["{not json", "{}", JSON.stringify({ current: "" }), JSON.stringify({ current: 42 }), "null"].entries()) {
            const home = path.join(dir, `home-${i}`);
            login(home, credentials);
            assert.equal(backendOf(dir, { PULUMI_HOME: home }), `pulumi's default, no login in ${home}`, credentials);
        }
    });

    it("a stack's name or a sourced lab env in the caller's own environment never switches to the lab: --lab-engine alone does", () => {
        const dir = tmp();
        const labLike = { PATH: path.join(dir, "bin"), MICROSEG_REPO: path.join(dir, "repo"), PULUMI_BACKEND_URL: "file:///mine" };
        const e = promoteEnvironment({ labEngine: false, userEnv: labLike, repoRoot: path.join(dir, "repo"), labEnv: never });
        assert.deepEqual([e.source, e.env, e.backend], ["yours", labLike, "file:///mine (PULUMI_BACKEND_URL)"]);
    });

    it("--lab-engine: lab/engine-env.sh's environment (its engine, backend and passphrase), sourced in the caller's, said so", () => {
        const dir = tmp();
        const userEnv = { PATH: "/usr/bin", PULUMI_BACKEND_URL: "s3://mine" };
        const seen: unknown[] = [];
        const e = promoteEnvironment({ labEngine: true, userEnv, repoRoot: path.join(dir, "repo"), labEnv: (...a) => { seen.push(a); return labEnvOf(dir)(); } });
        assert.deepEqual(e, { env: labEnvOf(dir)(), source: "lab", pulumi: path.join(dir, "bin", "pulumi"), backend: "file:///repo/.pulumi-state (PULUMI_BACKEND_URL)" });
        assert.deepEqual(seen, [[path.join(dir, "repo"), userEnv]]);
    });

    describe("--lab-engine with the real lab/engine-env.sh (bash sources a copy in a temp repo)", () => {
        /** A repo holding this checkout's lab/engine-env.sh and an engine bin/pulumi. */
        const labRepo = () => {
            const repo = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-promote-labenv-"));
            fs.mkdirSync(path.join(repo, "lab"));
            fs.copyFileSync(path.join(__dirname, "..", "..", "lab", "engine-env.sh"), path.join(repo, "lab", "engine-env.sh"));
            fs.mkdirSync(path.join(repo, ".engine", "bin"), { recursive: true });
            fs.writeFileSync(path.join(repo, ".engine", "bin", "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
            return repo;
        };
        const pick = (env: Record<string, string>) => Object.fromEntries(
            ["PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", "MICROSEG_REPO", "KEEP"]
                .filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));

        it("a caller with no backend or passphrase of their own: the lab's engine, plugin cache, file backend in .pulumi-state and passphrase", () => {
            const repo = labRepo();
            const e = promoteEnvironment({ labEngine: true, userEnv: { PATH: "/usr/bin:/bin", KEEP: "kept" }, repoRoot: repo });
            assert.deepEqual(pick(e.env), {
                PATH: `${repo}/.engine/bin:/usr/bin:/bin`, PULUMI_HOME: `${repo}/.engine/pulumi-home`, PULUMI_BACKEND_URL: `file://${repo}/.pulumi-state`,
                PULUMI_CONFIG_PASSPHRASE: "microseg-lab-only", PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true", MICROSEG_REPO: repo, KEEP: "kept",
            });
            assert.deepEqual([e.source, e.pulumi, e.backend], ["lab", `${repo}/.engine/bin/pulumi`, `file://${repo}/.pulumi-state (PULUMI_BACKEND_URL)`]);
            assert.ok(fs.statSync(path.join(repo, ".pulumi-state")).isDirectory());
        });

        it("the caller's own PULUMI_BACKEND_URL and passphrase file are kept (the lab's defaults fill only what is unset)", () => {
            const repo = labRepo();
            const e = promoteEnvironment({ labEngine: true, userEnv: { PATH: "/usr/bin:/bin", PULUMI_BACKEND_URL: "s3://mine?region=x", PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pp" }, repoRoot: repo });
            assert.deepEqual([e.env["PULUMI_BACKEND_URL"], e.env["PULUMI_CONFIG_PASSPHRASE_FILE"], e.env["PULUMI_CONFIG_PASSPHRASE"], e.backend], ["s3://mine?region=x", "/run/pp", undefined, "s3://mine (PULUMI_BACKEND_URL)"]);
            assert.equal(fs.existsSync(path.join(repo, ".pulumi-state")), false);
        });

        it("a `pulumi login` in the lab's PULUMI_HOME is its backend: no file backend forced on it", () => {
            const repo = labRepo();
            login(path.join(repo, ".engine", "pulumi-home"), JSON.stringify({ current: "file:///srv/lab-login" }, null, 4));
            const e = promoteEnvironment({ labEngine: true, userEnv: { PATH: "/usr/bin:/bin", PULUMI_CONFIG_PASSPHRASE: "mine" }, repoRoot: repo });
            assert.deepEqual([e.env["PULUMI_BACKEND_URL"], e.env["PULUMI_CONFIG_PASSPHRASE"], e.backend],
                [undefined, "mine", `file:///srv/lab-login (pulumi login, ${repo}/.engine/pulumi-home)`]);
        });
    });

    it("no pulumi to run: a usage message with the ways out; --lab-engine without a lab or an engine says so", () => {
        const dir = tmp();
        assert.throws(() => promoteEnvironment({ labEngine: false, userEnv: { PATH: "/nowhere" }, repoRoot: path.join(dir, "repo"), labEnv: never }), (e: unknown) => {
            assert.ok(e instanceof CliError);
            assert.equal(e.exitCode, 1);
            assert.equal(e.message, "no pulumi CLI on PATH: install it and log in to the backend that holds your stacks (pulumi login), or, for this machine's lab, pass --lab-engine (or source lab/engine-env.sh first)");
            return true;
        });
        assert.throws(() => promoteEnvironment({ labEngine: false, userEnv: {}, repoRoot: path.join(dir, "repo"), labEnv: never }), { message: /^no pulumi CLI on PATH: / });
        const refusal = (o: Parameters<typeof promoteEnvironment>[0]) => {
            try {
                promoteEnvironment(o);
            } catch (e) {
                assert.ok(e instanceof CliError);
                return [e.exitCode, e.message];
            }
            return assert.fail("no refusal");
        };
        assert.deepEqual(refusal({ labEngine: true, userEnv: {}, repoRoot: path.join(dir, "repo"), labEnv: () => ({ PATH: "/nowhere" }) }),
            [1, `--lab-engine: the lab's engine is not built (no pulumi in ${path.join(dir, "repo", ".engine", "bin")}): run bash lab/setup.sh`]);
        assert.deepEqual(refusal({ labEngine: true, userEnv: { PATH: path.join(dir, "bin") }, repoRoot: path.join(dir, "elsewhere"), labEnv: never }),
            [2, `--lab-engine: no lab here (${path.join(dir, "elsewhere", "lab", "engine-env.sh")} is missing); drop --lab-engine to use your own pulumi and backend`]);
    });
});

// `microseg promote FROM TO [--yes]`: runs on stack TO what stack FROM runs, on the Automation API (a
// LocalWorkspace on the project directory, any backend). Stacks share the code and policies/; promoting means
// applying this code to TO once FROM has proved it: FROM exists, its last update succeeded, it is up to date
// (its preview shows no changes, so this code is what FROM runs) and the expectations hold under FROM's
// policyEnforcementMode. Then TO's preview is shown (with the traffic diff lines of lib/policy/traffic-diff.ts), applied
// only with --yes or a confirmation on a terminal, and TO is tagged with what was promoted. A second promotion of
// the same thing finds TO's preview empty and applies nothing.
//
// The decisions are pure functions over facts ({@link refusals}, {@link nextStep}); the Automation API sits behind
// {@link PromoteSeam}, so the unit tests run the whole command on a fake.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline/promises";
import { ConfigError, microsegConfigEntries, parseConfig } from "../config";
import { checkExpectations, formatBroken } from "../lib/policy/expectations";
import type { EnforcementMode } from "../lib/policy/verdicts";
import type { ProjectModel } from "./project-model";
import { CliError } from "./stack-file";
import { parseEnvDump } from "../lib/base/env-file";

/** One entry of a stack's history (Automation API UpdateSummary, the fields used here). */
export interface HistoryEntry {
    readonly kind: string;
    readonly result: string;
    readonly version?: number;
    readonly startTime?: string;
    readonly message?: string;
}

export interface PreviewFacts {
    /** Resource changes without "same": `{}` when nothing would change. */
    readonly changes: Readonly<Record<string, number>>;
    readonly stdout: string;
}

/** What promote needs from the stacks; implemented on the Automation API by {@link automationSeam}. */
export interface PromoteSeam {
    exists(stack: string): Promise<boolean>;
    /** Newest first. */
    history(stack: string): Promise<HistoryEntry[]>;
    /** The `microseg:*` config without the namespace, structured values parsed (what index.ts hands to parseConfig). */
    config(stack: string): Promise<Record<string, unknown>>;
    outputs(stack: string): Promise<Record<string, unknown>>;
    /** Rejects when the preview fails. */
    preview(stack: string): Promise<PreviewFacts>;
    /** Rejects when the update fails. */
    up(stack: string, onOutput: (s: string) => void): Promise<PreviewFacts>;
    setTags(stack: string, tags: Readonly<Record<string, string>>): Promise<void>;
}

/** What is known about FROM and TO before anything is applied. */
export interface PromoteFacts {
    readonly from: string;
    readonly to: string;
    readonly fromExists: boolean;
    readonly toExists: boolean;
    readonly fromHistory?: readonly HistoryEntry[];
    /** FROM's config does not parse: why. */
    readonly fromConfigError?: string;
    readonly fromEnforcement?: EnforcementMode;
    /** formatBroken() of the expectations under FROM's enforcement mode; undefined when all hold. */
    readonly brokenExpectations?: string;
    readonly fromPreview?: PreviewFacts;
    readonly fromPreviewError?: string;
}

export const TAG_PROMOTED_FROM = "microseg:promoted-from";
export const TAG_POLICY_DIGEST = "microseg:policy-digest";
export const TAG_COMMIT = "microseg:commit";

const changeText = (c: Readonly<Record<string, number>>) =>
    Object.entries(c).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(", ");
const firstLines = (s: string, n = 6) => s.trim().split("\n").slice(0, n).join("\n      ");

/** Why FROM cannot be promoted to TO, each a sentence with what to do; empty when it can. */
export function refusals(f: PromoteFacts): string[] {
    const out: string[] = [];
    if (f.from === f.to) return [`FROM and TO are the same stack "${f.from}"`];
    if (!f.fromExists) out.push(`stack "${f.from}" does not exist (pulumi stack ls lists the stacks of this project and backend)`);
    if (!f.toExists) out.push(`stack "${f.to}" does not exist: create it with its own config first (pulumi stack init ${f.to}, Pulumi.${f.to}.yaml)`);
    if (!f.fromExists) return out;

    const history = f.fromHistory ?? [];
    const newest = history[0];
    const lastUpdate = history.find((h) => h.kind === "update");
    if (!lastUpdate) {
        out.push(`stack "${f.from}" has never been updated (no update in its history): pulumi up --stack ${f.from} first`);
    } else if (newest && newest.kind === "destroy") {
        out.push(`stack "${f.from}" was destroyed by its last operation (#${newest.version ?? "?"}, ${newest.result}): nothing runs there to promote`);
    } else if (lastUpdate.result !== "succeeded") {
        out.push(`the last update of "${f.from}" (#${lastUpdate.version ?? "?"}${lastUpdate.startTime ? ` at ${lastUpdate.startTime}` : ""}) ended "${lastUpdate.result}": fix it and pulumi up --stack ${f.from} until it succeeds`);
    }

    if (f.fromConfigError !== undefined) out.push(`the config of "${f.from}" is invalid, so its enforcement mode is unknown: ${f.fromConfigError}`);
    if (f.brokenExpectations !== undefined) out.push(`the expectations (policies/expectations.ts) fail on "${f.from}":\n    ${f.brokenExpectations.split("\n").join("\n    ")}`);

    if (f.fromPreviewError !== undefined) {
        out.push(`the preview of "${f.from}" fails, so it cannot be shown up to date:\n      ${firstLines(f.fromPreviewError)}`);
    } else if (f.fromPreview && Object.keys(f.fromPreview.changes).length > 0) {
        out.push(`"${f.from}" is not up to date with this code: its preview shows changes (${changeText(f.fromPreview.changes)}); pulumi up --stack ${f.from} (and test it) before promoting, or undo the edit`);
    }
    return out;
}

export type NextStep = "nothing-to-do" | "apply" | "ask" | "refuse-no-confirmation";

/** After TO's preview: whether to apply it. */
export function nextStep(toPreview: PreviewFacts, opts: { readonly yes: boolean; readonly interactive: boolean }): NextStep {
    if (Object.keys(toPreview.changes).length === 0) return "nothing-to-do";
    if (opts.yes) return "apply";
    return opts.interactive ? "ask" : "refuse-no-confirmation";
}

/** The tags that record a promotion on TO. */
export function promotionTags(from: string, policyDigest: string | undefined, commit: string | undefined): Record<string, string> {
    return {
        [TAG_PROMOTED_FROM]: from,
        ...(policyDigest ? { [TAG_POLICY_DIGEST]: policyDigest } : {}),
        ...(commit ? { [TAG_COMMIT]: commit } : {}),
    };
}

export interface PromoteOptions {
    readonly from: string;
    readonly to: string;
    readonly yes: boolean;
    /** A terminal to confirm on. */
    readonly interactive: boolean;
    readonly projectDir: string;
    /** Asks the person; only called when interactive and not --yes. */
    readonly confirm?: (question: string) => Promise<boolean>;
    readonly out: (s: string) => void;
    /** The commit being promoted; undefined when unknown. */
    readonly commit?: string;
}

/** Gathers FROM's and TO's facts through the seam. */
export async function gatherFacts(o: Pick<PromoteOptions, "from" | "to" | "projectDir">, seam: PromoteSeam, model: ProjectModel): Promise<PromoteFacts> {
    const [fromExists, toExists] = await Promise.all([seam.exists(o.from), o.from === o.to ? Promise.resolve(true) : seam.exists(o.to)]);
    const base = { from: o.from, to: o.to, fromExists, toExists };
    if (!fromExists || o.from === o.to) return base;
    const fromHistory = await seam.history(o.from);
    let fromEnforcement: EnforcementMode | undefined;
    let fromConfigError: string | undefined;
    try {
        fromEnforcement = parseConfig(await seam.config(o.from), { projectDir: o.projectDir, checkFiles: false }).cilium.policyEnforcementMode;
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        fromConfigError = e.message;
    }
    const brokenExpectations = fromEnforcement === undefined ? undefined
        : formatBroken(checkExpectations(model.expectations, model.policies, model.workloads, { enforcement: fromEnforcement }), fromEnforcement);
    let fromPreview: PreviewFacts | undefined;
    let fromPreviewError: string | undefined;
    try {
        fromPreview = await seam.preview(o.from);
    } catch (e) {
        fromPreviewError = e instanceof Error ? e.message : String(e);
    }
    return { ...base, fromHistory, fromEnforcement, fromConfigError, brokenExpectations, fromPreview, fromPreviewError };
}

/** The command: exit code 0 (promoted, or nothing to do), 1 (refused, declined, or the update failed). */
export async function promote(o: PromoteOptions, seam: PromoteSeam, model: ProjectModel): Promise<number> {
    const facts = await gatherFacts(o, seam, model);
    const reasons = refusals(facts);
    if (reasons.length > 0) {
        o.out(`refusing to promote "${o.from}" to "${o.to}" (nothing was changed):\n${reasons.map((r) => `  - ${r}`).join("\n")}\n`);
        return 1;
    }
    o.out(`"${o.from}" is up to date, its last update succeeded, and ${model.expectations.length} expectations hold (policyEnforcementMode ${facts.fromEnforcement}).\n`);

    let toPreview: PreviewFacts;
    try {
        toPreview = await seam.preview(o.to);
    } catch (e) {
        o.out(`refusing to promote "${o.from}" to "${o.to}" (nothing was changed):\n  - the preview of "${o.to}" fails:\n      ${firstLines(e instanceof Error ? e.message : String(e), 20)}\n`);
        return 1;
    }
    o.out(`preview of "${o.to}":\n${toPreview.stdout.trimEnd()}\n`);

    const step = nextStep(toPreview, o);
    if (step === "nothing-to-do") {
        o.out(`"${o.to}" already runs what "${o.from}" runs: its preview shows no changes; nothing applied.\n`);
        return 0;
    }
    if (step === "refuse-no-confirmation") {
        o.out(`not applied: "${o.to}" would change (${changeText(toPreview.changes)}); there is no terminal to confirm on: pass --yes to apply.\n`);
        return 1;
    }
    if (step === "ask" && !(await (o.confirm ?? (async () => false))(`apply these changes to "${o.to}" (${changeText(toPreview.changes)})? [y/N] `))) {
        o.out("not applied: not confirmed.\n");
        return 1;
    }

    let result: PreviewFacts;
    try {
        result = await seam.up(o.to, (s) => o.out(s));
    } catch (e) {
        o.out(`the update of "${o.to}" failed; "${o.to}" is not tagged as promoted:\n  ${firstLines(e instanceof Error ? e.message : String(e), 20)}\n`);
        return 1;
    }
    const fromDigest = (await seam.outputs(o.from))["policyDigest"];
    const tags = promotionTags(o.from, typeof fromDigest === "string" ? fromDigest : undefined, o.commit);
    await seam.setTags(o.to, tags);
    o.out(`promoted "${o.from}" to "${o.to}" (${changeText(result.changes) || "no changes"}); tags: ${Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
    return 0;
}

// ------------------------------------------------------------------------------------------ the real seam

/**
 * The variables `source lab/engine-env.sh` gives in `repoRoot` when sourced in `userEnv` (the lab's engine, and the
 * lab's backend and passphrase only where `userEnv` sets none, as for a person who sources it).
 */
export function labEngineEnvironment(repoRoot: string, userEnv: NodeJS.ProcessEnv): Record<string, string> {
    // stdin not a socket (node's default pipe is one): Debian's bash would then source ~/.bashrc as for sshd.
    const out = execFileSync("bash", ["-c", `source lab/engine-env.sh >/dev/null && env -0`], { cwd: repoRoot, env: userEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return parseEnvDump(out);
}

/** Where promote's engine, backend and secrets come from. */
export interface PromoteEnvironment {
    /** The environment the Automation API runs `pulumi` with. */
    readonly env: Record<string, string>;
    /** "yours": the caller's environment as it is; "lab": lab/engine-env.sh (asked for with --lab-engine). */
    readonly source: "yours" | "lab";
    /** The `pulumi` found on the environment's PATH. */
    readonly pulumi: string;
    /** The backend the stacks are read from, for the person (no credentials, no query string). */
    readonly backend: string;
}

/** `name` on a PATH, as the shell finds it; undefined when absent. */
export function onPath(name: string, pathVar: string | undefined): string | undefined {
    for (const dir of (pathVar ?? "").split(path.delimiter)) {
        if (!dir) continue;
        const p = path.join(dir, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            if (fs.statSync(p).isFile()) return p;
        } catch {
            // not here
        }
    }
    return undefined;
}

/** A backend URL without user info or query (an s3:// or https:// URL may carry credentials in either). */
function shownBackend(url: string): string {
    try {
        const u = new URL(url);
        return `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
        return url.replace(/[?#].*$/, "");
    }
}

/**
 * The environment `microseg promote` runs the engine with. By default the caller's own, untouched: the `pulumi` on
 * PATH, PULUMI_HOME, the backend of PULUMI_BACKEND_URL or of `pulumi login`, the stack's secrets provider
 * (PULUMI_CONFIG_PASSPHRASE(_FILE), a KMS, Pulumi Cloud) and every other PULUMI_* variable: promoting staging to
 * prod must read the stacks where the person keeps them. The lab's engine environment (lab/engine-env.sh: the
 * engine built here, its PULUMI_HOME, and a file backend in .pulumi-state with the lab passphrase unless those are
 * set) only with `labEngine` (`--lab-engine`). Throws a CliError when there is no `pulumi` to run.
 */
export function promoteEnvironment(o: { labEngine: boolean; userEnv: NodeJS.ProcessEnv; repoRoot: string; labEnv?: (repoRoot: string, userEnv: NodeJS.ProcessEnv) => Record<string, string> }): PromoteEnvironment {
    let env: Record<string, string>;
    if (o.labEngine) {
        if (!fs.existsSync(path.join(o.repoRoot, "lab", "engine-env.sh"))) {
            throw new CliError(`--lab-engine: no lab here (${path.join(o.repoRoot, "lab", "engine-env.sh")} is missing); drop --lab-engine to use your own pulumi and backend`, 2);
        }
        env = (o.labEnv ?? labEngineEnvironment)(o.repoRoot, o.userEnv);
    } else {
        env = Object.fromEntries(Object.entries(o.userEnv).filter((e): e is [string, string] => e[1] !== undefined));
    }
    const pulumi = onPath("pulumi", env["PATH"]);
    if (pulumi === undefined) {
        throw new CliError(o.labEngine
            ? `--lab-engine: the lab's engine is not built (no pulumi in ${path.join(o.repoRoot, ".engine", "bin")}): run bash lab/setup.sh`
            : "no pulumi CLI on PATH: install it and log in to the backend that holds your stacks (pulumi login), or, for this machine's lab, pass --lab-engine (or source lab/engine-env.sh first)");
    }
    let backend: string;
    if (env["PULUMI_BACKEND_URL"]) {
        backend = `${shownBackend(env["PULUMI_BACKEND_URL"])} (PULUMI_BACKEND_URL)`;
    } else {
        const home = env["PULUMI_HOME"] ?? path.join(env["HOME"] ?? "~", ".pulumi");
        let current: unknown;
        try {
            current = (JSON.parse(fs.readFileSync(path.join(home, "credentials.json"), "utf8")) as { current?: unknown }).current;
        } catch {
            current = undefined;
        }
        backend = typeof current === "string" && current !== "" ? `${shownBackend(current)} (pulumi login, ${home})` : `pulumi's default, no login in ${home}`;
    }
    return { env, source: o.labEngine ? "lab" : "yours", pulumi, backend };
}

/** The Automation API: a LocalWorkspace on the project directory. */
export function automationSeam(projectDir: string, envVars: Record<string, string>): PromoteSeam {
    // Loaded here so the pure parts above import no Pulumi code.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const auto = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
    const ws = auto.LocalWorkspace.create({ workDir: projectDir, envVars });
    const stacks = new Map<string, Promise<import("@pulumi/pulumi/automation").Stack>>();
    const select = (name: string) => {
        if (!stacks.has(name)) stacks.set(name, ws.then((w) => auto.Stack.select(name, w)));
        return stacks.get(name)!;
    };
    const withoutSame = (c: Record<string, number> | undefined) => Object.fromEntries(Object.entries(c ?? {}).filter(([k, n]) => k !== "same" && n > 0));
    return {
        async exists(name) {
            const list = await (await ws).listStacks();
            return list.some((s) => s.name === name || s.name.endsWith(`/${name}`));
        },
        async history(name) {
            return (await (await select(name)).history(10)).map((h) => ({ kind: h.kind, result: h.result, version: h.version, startTime: h.startTime?.toISOString?.() ?? String(h.startTime), message: h.message }));
        },
        async config(name) {
            return microsegConfigEntries(Object.fromEntries(Object.entries(await (await select(name)).getAllConfig()).map(([k, v]) => [k, v.value])));
        },
        async outputs(name) {
            return Object.fromEntries(Object.entries(await (await select(name)).outputs()).map(([k, v]) => [k, v.value]));
        },
        async preview(name) {
            // Not `--diff`: in that display the engine leaves out the Stack's diagnostics, i.e. the traffic lines.
            const r = await (await select(name)).preview({ color: "never" });
            return { changes: withoutSame(r.changeSummary as Record<string, number>), stdout: r.stdout };
        },
        async up(name, onOutput) {
            const r = await (await select(name)).up({ color: "never", onOutput });
            return { changes: withoutSame(r.summary.resourceChanges), stdout: r.stdout };
        },
        async setTags(name, tags) {
            const s = await select(name);
            for (const [k, v] of Object.entries(tags)) await s.setTag(k, v);
        },
    };
}

/** `git rev-parse HEAD` in the project directory; undefined outside a git work tree. */
export function gitCommit(projectDir: string): string | undefined {
    try {
        const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: projectDir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
        return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
    } catch {
        return undefined;
    }
}

/** A y/N question on the terminal. */
export async function askOnTerminal(question: string): Promise<boolean> {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    try {
        return /^(y|yes)$/i.test((await rl.question(question)).trim());
    } finally {
        rl.close();
    }
}

// Renders a chart with the real Helm engine (`helm template`) and turns a refusal into setting-named errors.
// For the CLI and the tests; the Pulumi program renders through the Kubernetes provider instead
// (components/cilium/cilium.ts), and both paths share helmErrorProblems() below.
//
// Why render at all: the chart checks values in its templates with `fail` (e.g. kubeProxyReplacement must be
// true or false, Hubble UI needs the relay), which no JSON Schema sees; only rendering runs those checks.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { formatPath } from "../base/text";
import { isObject, quoteValue } from "./chart-schema";

/** The helm binary to use: `.engine/bin/helm` of this repository when present, else `helm` on PATH, else undefined. */
export function findHelm(env: NodeJS.ProcessEnv = process.env): string | undefined {
    const local = path.join(__dirname, "..", "..", ".engine", "bin", "helm");
    if (isExecutable(local)) return local;
    for (const dir of (env["PATH"] ?? "").split(path.delimiter)) {
        if (dir === "") continue;
        const candidate = path.join(dir, "helm");
        if (isExecutable(candidate)) return candidate;
    }
    return undefined;
}

/** Arguments of {@link helmTemplate}. */
export interface HelmTemplateArgs {
    /** The chart directory (containing Chart.yaml). */
    readonly chartDir: string;
    /** The values, written to a temporary values file (mode 0600) and passed with `--values`. */
    readonly values: Readonly<Record<string, unknown>>;
    /** @default "cilium" */
    readonly releaseName?: string;
    /** @default "kube-system" */
    readonly namespace?: string;
    /** `--kube-version`, e.g. "1.35.0". @default helm's built-in default */
    readonly kubeVersion?: string;
    /** @default findHelm() */
    readonly helmBin?: string;
    /** Prefix of setting names in errors. @default "cilium.valuesOverrides" */
    readonly settingPrefix?: string;
    /** @default 120000 */
    readonly timeoutMs?: number;
}

/** The rendered chart. */
export interface HelmTemplateResult {
    /** The manifest as helm printed it. */
    readonly manifest: string;
    /** Every non-empty document of the manifest, parsed. */
    readonly objects: Record<string, unknown>[];
}

/** Helm refused to render: `problems` are setting-named (`<setting>: <what> (<quoted value>). <fix>.`). */
export class ChartRenderError extends Error {
    constructor(readonly problems: readonly string[], readonly helmOutput: string) {
        super(`The chart refused these values (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n`
            + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ChartRenderError";
    }
}

/** Runs `helm template`; throws {@link ChartRenderError} when the chart refuses the values. */
export async function helmTemplate(args: HelmTemplateArgs): Promise<HelmTemplateResult> {
    const helm = args.helmBin ?? findHelm();
    if (helm === undefined) throw new Error("helm not found: build it with lab/build-engine.sh (.engine/bin/helm) or put it on PATH.");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-helm-"));
    try {
        const valuesFile = path.join(dir, "values.yaml");
        fs.writeFileSync(valuesFile, YAML.stringify(args.values), { mode: 0o600 });
        const argv = [
            "template", args.releaseName ?? "cilium", args.chartDir,
            "--namespace", args.namespace ?? "kube-system",
            "--values", valuesFile,
            ...(args.kubeVersion !== undefined ? ["--kube-version", args.kubeVersion] : []),
        ];
        const { code, stdout, stderr } = await run(helm, argv, args.timeoutMs ?? 120_000, dir);
        if (code !== 0) {
            const problems = helmErrorProblems(stderr, args.values, args.settingPrefix);
            throw new ChartRenderError(problems, stderr);
        }
        const objects = YAML.parseAllDocuments(stdout)
            .map((d) => d.toJS() as unknown)
            .filter((o): o is Record<string, unknown> => isObject(o));
        return { manifest: stdout, objects };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

// ---------------------------------------------------------------------------------------------------------
// Helm's error text → setting-named problems (pure; used by the Pulumi path too)

/** Fixes for the chart's `fail` checks this project can run into, by the setting they name. */
const FIXES: Readonly<Record<string, string>> = {
    "kubeProxyReplacement": "Set it to true (kube-proxy is not installed); \"strict\" was removed in Cilium 1.15",
    "hubble.relay.enabled": "Remove the override that turns the relay off: Hubble UI needs it",
    "hubble.enabled": "Remove the override that turns Hubble off (the relay needs it)",
    "k8sServiceHost": "Remove the k8sServiceHostRef override: microseg sets k8sServiceHost from cluster.controlPlaneEndpoint",
    "l7Proxy": "Remove the l7Proxy override while Ingress, Gateway API or Envoy config is on",
    "routingMode": "Also set ipv4NativeRoutingCIDR to the CIDR your network routes natively (e.g. cluster.podCidr), or remove routingMode",
    "hubble.tls.auto.certManagerIssuerRef": "Remove the hubble.tls.auto overrides: microseg generates Hubble certificates with the chart's \"helm\" method",
};

/**
 * Maps helm's stderr (or the provider's invoke error) to problems. Understands a template `fail`
 * (`execution error at (<chart>/templates/<file>:<line>:<col>): <message>`) and a values.schema.json
 * refusal (Helm ≥ 3.18 `- at '/a/b': …`, older `- a.b: …`). Anything else is returned as one problem.
 */
export function helmErrorProblems(text: string, values: unknown, settingPrefix = "cilium.valuesOverrides"): string[] {
    const problems: string[] = [];
    const execRe = /execution error at \(([^)]*?)(?::(\d+))?(?::\d+)?\):\s*([^\n]*)/g;
    for (const m of text.matchAll(execRe)) {
        const file = m[1]!.replace(/^[^/]+\//, "");
        const where = m[2] !== undefined ? `${file}:${m[2]}` : file;
        const message = m[3]!.trim().replace(/\.$/, "");
        const setting = settingOf(message, values);
        const value = setting === undefined ? undefined : getPath(values, setting);
        const name = setting === undefined ? `${settingPrefix}` : `${settingPrefix}.${setting}`;
        const fix = (setting !== undefined ? FIXES[setting] : undefined) ?? `Change the value so that the check in the chart's ${where} passes`;
        problems.push(`${name}: the chart refused to render (${where}): ${message} (${quoteValue(value)}). ${fix}.`);
    }
    for (const line of text.split("\n")) {
        const tekuri = /^\s*-\s+at '([^']*)':\s*(.*)$/.exec(line);
        const gojs = tekuri ? null : /^\s*-\s+([A-Za-z0-9_.[\]()-]+):\s*(.*)$/.exec(line);
        const hit = tekuri ?? gojs;
        if (!hit) continue;
        const segs = tekuri ? pointerToSegs(hit[1]!) : hit[1] === "(root)" ? [] : hit[1]!.split(".");
        const setting = formatPath(segs);
        const value = getAt(values, segs);
        problems.push(`${settingPrefix}${setting === "" ? "" : `.${setting}`}: rejected by the chart's values.schema.json: ${hit[2]!.trim()} (${quoteValue(value)}). Give a value the schema accepts.`);
    }
    if (problems.length === 0) {
        const first = text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "no output";
        problems.push(`${settingPrefix}: helm could not render the chart: ${first.replace(/^Error:\s*/, "")} (${quoteValue(undefined)}). Fix the chart source or the values.`);
    }
    return problems;
}

/** The setting a `fail` message is about: `.Values.a.b` when spelled out, else a dotted value name it starts with. */
function settingOf(message: string, values: unknown): string | undefined {
    const explicit = /\.Values\.([A-Za-z0-9_.]+[A-Za-z0-9_])/.exec(message);
    if (explicit) return explicit[1];
    for (const token of message.match(/[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*/g) ?? []) {
        if (getPath(values, token) !== undefined || token in FIXES) return token;
    }
    return undefined;
}

function getPath(values: unknown, dotted: string): unknown {
    return getAt(values, dotted.split("."));
}

function getAt(v: unknown, segs: readonly (string | number)[]): unknown {
    let cur: unknown = v;
    for (const s of segs) {
        if (!isObject(cur) && !Array.isArray(cur)) return undefined;
        cur = (cur as Record<string | number, unknown>)[s];
    }
    return cur;
}

function pointerToSegs(pointer: string): (string | number)[] {
    if (pointer === "" || pointer === "/") return [];
    return pointer.replace(/^\//, "").split("/").map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, "/").replace(/~0/g, "~")));
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function run(cmd: string, argv: string[], timeoutMs: number, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        // HELM_* caches in the temp dir: rendering a local chart needs no repository config, and none is written.
        const env = { ...process.env, HELM_CACHE_HOME: path.join(cwd, "cache"), HELM_CONFIG_HOME: path.join(cwd, "config"), HELM_DATA_HOME: path.join(cwd, "data") };
        execFile(cmd, argv, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, env, cwd }, (err, stdout, stderr) => {
            if (err && typeof (err as NodeJS.ErrnoException).code === "string") return reject(err); // ENOENT, EACCES...
            if (err && err.killed) return reject(new Error(`helm template timed out after ${timeoutMs} ms`));
            resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
        });
    });
}

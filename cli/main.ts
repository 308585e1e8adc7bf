// `microseg`: offline tools over a stack's config. `check` validates a stack file exactly as `pulumi preview`
// would (same parseConfig), then the expectations of policies/expectations.ts; `render` prints every artefact the
// stack would send; `matrix` prints the verdict matrix of policies and workloads. Exit codes: 0 ok,
// 1 bad config or unreadable input, 2 usage. Never prints a stack trace (set MICROSEG_DEBUG=1 to see one).
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { ConfigError, parseConfig, type StackConfig } from "../config";
import { ARTEFACT_KINDS, artefactsToYaml, renderArtefacts } from "../lib/stack/artefacts";
import { checkPolicies, hasErrors } from "../lib/policy/policy-checks";
import { checkPolicyFiles, formatFindings } from "../lib/policy/policy-files";
import { checkStackRendered, deployedPolicies, policyCheckContext } from "../lib/stack/stack-plan";
import { checkExpectations, formatBroken } from "../lib/policy/expectations";
import { MATRIX_FORMATS, renderMatrix, type MatrixFormat } from "../lib/policy/matrix-render";
import { loadPolicyFiles } from "../lib/policy/policy-files";
import { buildVerdictEngine, type EnforcementMode, type External } from "../lib/policy/verdicts";
import { PolicyManifest } from "../lib/policy/model/schema";
import { Workloads } from "../lib/policy/model/workloads-schema";
import { askOnTerminal, automationSeam, gitCommit, promote, promoteEnvironment } from "./promote";
import { loadProjectModel, type ProjectModel } from "./project-model";
import { CliError, display, findProjectDir, locateStack, readStackConfig } from "./stack-file";
import { verify } from "./verify";

/** The project of a command without a stack: --project-dir, else the nearest Pulumi.yaml upward. */
function projectDirOf(o: { projectDir?: string }): string | undefined {
  return o.projectDir !== undefined ? path.resolve(o.projectDir) : findProjectDir(process.cwd());
}

interface SourceOptions {
  config?: string;
  stack?: string;
  projectDir?: string;
  fileChecks: boolean;
}

/** Reads and parses the selected stack file; throws CliError or ConfigError. */
function load(o: SourceOptions): { cfg: StackConfig; shown: string; projectDir: string } {
  const cwd = process.cwd();
  if (o.config === undefined && o.stack === undefined) throw new CliError("give --config FILE or --stack NAME", 2);
  const src = locateStack({ ...o, cwd });
  const shown = display(src.file, cwd);
  const raw = readStackConfig(src.file, shown);
  try {
    const cfg = parseConfig(raw, { projectDir: src.projectDir, checkFiles: o.fileChecks, plaintextSecrets: "refuse" });
    return { cfg, shown, projectDir: src.projectDir };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${shown}: ${e.message}`);
    throw e;
  }
}

function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--config <file>", "a Pulumi stack file (Pulumi.<stack>.yaml)").conflicts("stack"))
    .addOption(new Option("--stack <name>", "a stack of the project: reads Pulumi.<name>.yaml next to Pulumi.yaml").conflicts("config"))
    .option("--project-dir <dir>", "the project directory (default: the nearest Pulumi.yaml upward)")
    .option("--no-file-checks", "skip the checks that read local files (SSH keys, kubeconfig, local chart)");
}

export function buildProgram(): Command {
  const program = new Command("microseg")
    .description("Offline tools for the microseg stack config")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  sourceOptions(program.command("check").description("validate a stack's config and policies as `pulumi preview` would"))
    .option("--policies <paths...>", "raw CNP/CCNP YAML files or directories to check (in the stack's context when one is given)")
    .action(async (o: SourceOptions & { policies?: string[] }) => {
      if (o.config === undefined && o.stack === undefined && o.policies === undefined) {
        throw new CliError("give --config FILE, --stack NAME and/or --policies PATH...", 2);
      }
      const problems: string[] = [];
      let cfg: StackConfig | undefined;
      let project: ProjectModel | undefined;
      if (o.config !== undefined || o.stack !== undefined) {
        const loaded = load(o);
        cfg = loaded.cfg;
        project = loadProjectModel(loaded.projectDir);
        // The same checks preview runs, the chart's render included (or a note saying why it could not run here).
        const result = await checkStackRendered(cfg, project, loaded.projectDir, { checkFiles: o.fileChecks });
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        for (const n of result.notes) process.stderr.write(`note: ${n}\n`);
        if (result.errors.length > 0) {
          problems.push(`${loaded.shown}: ${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}:\n${result.errors.map((e) => `  - ${e}`).join("\n")}`);
        } else {
          process.stdout.write(`ok: ${loaded.shown} (${cfg.environment}, ${cfg.cluster.mode})\n`);
        }
      }
      if (project === undefined) {
        // Raw files only: the expectations are the project's, when there is one.
        const dir = projectDirOf(o);
        if (dir !== undefined) project = loadProjectModel(dir);
        else process.stderr.write("note: no Pulumi.yaml here or above: only the given policy files were checked, not a project's expectations\n");
      }
      if (o.policies !== undefined) {
        const ctx = cfg && project ? policyCheckContext(cfg, project, { l7Proxy: true }) : {};
        // Raw files are checked against the cluster's CIDRs, not against the demo's declared workloads.
        const findings = checkPolicyFiles(o.policies, { ...ctx, workloads: undefined });
        process.stdout.write(`${formatFindings(findings)}\n`);
        if (hasErrors(findings)) problems.push(`policies: ${findings.filter((f) => f.severity === "error").length} error(s) in ${o.policies.join(" ")}`);
      }
      // The expectations (policies/expectations.ts) on the typed policies and declared workloads, under the stack's enforcement mode.
      const enforcement: EnforcementMode = cfg?.cilium.policyEnforcementMode ?? "default";
      const broken = project && formatBroken(checkExpectations(project.expectations, project.policies, project.workloads, { enforcement }), enforcement);
      if (broken !== undefined) problems.push(broken);
      if (problems.length > 0) throw new CliError(problems.join("\n"));
    });

  program
    .command("matrix")
    .description("print the verdict of every source -> destination port, as Cilium would decide it (offline)")
    .option("--policies <paths...>", "raw CNP/CCNP YAML files or directories (default: the typed policies of policies/)")
    .option("--workloads <file>", "declared workloads as YAML or JSON (namespaces, workloads, optional externals) (default: policies/workloads.ts)")
    .option("--project-dir <dir>", "the project whose policies/ is read (default: the nearest Pulumi.yaml upward)")
    .addOption(new Option("--format <format>", "output format").choices([...MATRIX_FORMATS]).default("table"))
    .addOption(new Option("--enforcement <mode>", "Cilium's policyEnforcementMode").choices(["default", "always", "never"]).default("default"))
    .action((o: { policies?: string[]; workloads?: string; projectDir?: string; format: MatrixFormat; enforcement: EnforcementMode }) => {
      const project = o.policies !== undefined && o.workloads !== undefined ? undefined : (() => {
        const dir = projectDirOf(o);
        if (dir === undefined) throw new CliError("matrix: no Pulumi.yaml here or above: run it in the project, pass --project-dir, or give both --policies and --workloads", 2);
        return loadProjectModel(dir);
      })();
      const ps = o.policies === undefined ? project!.policies : readPolicies(o.policies);
      const w = o.workloads === undefined ? { workloads: project!.workloads, externals: [] } : readWorkloads(o.workloads);
      const engine = (() => {
        try {
          return buildVerdictEngine(ps, w.workloads, { enforcement: o.enforcement, externals: w.externals });
        } catch (e) {
          throw new CliError(`matrix: ${e instanceof Error ? e.message : String(e)}`);
        }
      })();
      for (const n of engine.notes) process.stderr.write(`note: ${n}\n`);
      process.stdout.write(renderMatrix(engine.matrix(), o.format, { notes: engine.notes }));
    });

  const kinds = ARTEFACT_KINDS.map((k) => k.kind);
  sourceOptions(program.command("render").description("print every artefact the stack would send, as YAML, secrets redacted"))
    .addOption(
      new Option("--only <kind>", `render one kind only (${kinds.join(", ")})`).argParser((v: string) => {
        if (!kinds.includes(v)) throw new InvalidArgumentError(`unknown kind "${v}"; registered kinds: ${kinds.join(", ")}`);
        return v;
      }),
    )
    .action((o: SourceOptions & { only?: string }) => {
      const { cfg, projectDir } = load(o);
      process.stdout.write(artefactsToYaml(renderArtefacts(cfg, deployedPolicies(cfg, loadProjectModel(projectDir)), o.only), cfg));
    });
  sourceOptions(program.command("verify").description("probe the expectations (or, with --all, the whole matrix) between the real pods of a deployed stack and compare the datapath's and Hubble's verdicts with the offline engine's; exit 1 on any disagreement"))
    .option("--all", "probe every source -> destination port of the matrix, not only the expectations", false)
    .option("--relay <host:port>", "Hubble Relay's address (default: the first node address and hubble.relay.nodePort)")
    .option("--kubeconfig <file>", "the cluster's kubeconfig (default: cluster.kubeconfigPath / cluster.kubeconfig)")
    .option("--hubble <path>", "the hubble CLI (default: hubble on PATH, else .lab/bin/hubble)")
    .option("--lab-dir <dir>", "the datapath lab whose pods are probed (default: LAB_DIR, else .lab)")
    .action(async (o: SourceOptions & { all: boolean; relay?: string; kubeconfig?: string; hubble?: string; labDir?: string }) => {
      const { cfg, shown, projectDir } = load(o);
      const { code } = await verify({
        cfg, shown, projectDir, ...loadProjectModel(projectDir), all: o.all,
        ...(o.relay ? { relay: o.relay } : {}), ...(o.kubeconfig ? { kubeconfig: path.resolve(o.kubeconfig) } : {}),
        ...(o.hubble ? { hubbleBin: o.hubble } : {}), ...(o.labDir ? { labDir: o.labDir } : {}),
        out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t),
      });
      if (code !== 0) throw new CliError("verify: the datapath and the offline engine disagree (rows marked DISAGREE)", 1);
    });

  program
    .command("promote")
    .description("run on stack TO what stack FROM runs (Automation API): refused unless FROM exists, its last update succeeded, its preview is empty and the expectations hold; shows TO's preview with the traffic diff; applies with --yes or a confirmation")
    .argument("<from>", "the stack that runs the change (e.g. dev)")
    .argument("<to>", "the stack to bring to it (e.g. staging)")
    .option("--yes", "apply without asking (needed without a terminal)", false)
    .option("--project-dir <dir>", "the project directory (default: the nearest Pulumi.yaml upward)")
    .option("--lab-engine", "use this machine's lab engine, backend and passphrase (lab/engine-env.sh) instead of your pulumi, backend and secrets provider", false)
    .action(async (from: string, to: string, o: { yes: boolean; projectDir?: string; labEngine: boolean }) => {
      const projectDir = path.resolve(o.projectDir ?? findProjectDir(process.cwd()) ?? "");
      if (!o.projectDir && !findProjectDir(process.cwd())) throw new CliError("no Pulumi.yaml here or above: run it in the project or pass --project-dir", 2);
      const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
      const engine = promoteEnvironment({ labEngine: o.labEngine, userEnv: process.env, repoRoot: path.resolve(__dirname, "..") });
      process.stderr.write(`promote: ${engine.source === "lab" ? "the lab engine (lab/engine-env.sh)" : "your environment"}: ${engine.pulumi}, stacks of ${engine.backend}\n`);
      const code = await promote(
        { from, to, yes: o.yes, interactive, projectDir, confirm: askOnTerminal, out: (s) => process.stdout.write(s), commit: gitCommit(projectDir) },
        automationSeam(projectDir, engine.env),
        loadProjectModel(projectDir),
      );
      if (code !== 0) throw new CliError(`promote ${from} ${to}: not promoted`, 1);
    });
  return program;
}

/** Raw policy files, refused (with every problem) unless each document is a valid CNP/CCNP. */
function readPolicies(paths: readonly string[]): PolicyManifest[] {
  const loaded = loadPolicyFiles(paths);
  const findings = loaded.findings.filter((f) => f.severity === "error");
  const out: PolicyManifest[] = [];
  loaded.manifests.forEach((raw, i) => {
    const r = PolicyManifest.safeParse(raw);
    if (r.success) out.push(r.data);
    else findings.push(...checkPolicyFilesSchema(raw, loaded.sources[i]!));
  });
  if (findings.length > 0) throw new CliError(`matrix: the policies do not load:\n${formatFindings(findings)}`);
  return out;
}

function checkPolicyFilesSchema(raw: unknown, source: { file: string; document: number }) {
  return checkPolicies([raw], { sources: [source] }).filter((f) => f.severity === "error");
}

/** A workloads file: the Workloads schema, plus `externals: [{ name, address }]` for CIDR rules. */
function readWorkloads(file: string): { workloads: Workloads; externals: External[] } {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new CliError(`${file}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  const { externals = [], ...rest } = (doc ?? {}) as { externals?: unknown };
  const problems: string[] = [];
  const w = Workloads.safeParse(rest);
  if (!w.success) problems.push(...w.error.issues.map((i) => `${i.path.join(".") || "<root>"}: ${i.message}`));
  const ext = Array.isArray(externals) ? externals : [];
  if (!Array.isArray(externals)) problems.push("externals: must be a list of { name, address }");
  ext.forEach((x, i) => {
    const ok = x !== null && typeof x === "object" && typeof (x as External).name === "string" && typeof (x as External).address === "string";
    if (!ok) problems.push(`externals.${i}: must be { name: string, address: string }`);
  });
  if (problems.length > 0 || !w.success) throw new CliError(`${file}: invalid workloads (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return { workloads: w.data, externals: ext as External[] };
}

/**
 * Runs the CLI on `argv` (without node and the script) and resolves to its exit code once the command, async
 * ones (promote) included, has finished. bin/microseg.js calls it; this module never starts itself, so how the
 * bin was reached (npx's .bin symlink, a global link, a path) does not matter.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    return exitCode(e);
  }
}

function exitCode(e: unknown): number {
  if (e instanceof CommanderError) {
    return ["commander.helpDisplayed", "commander.help", "commander.version"].includes(e.code) ? 0 : 2;
  }
  if (e instanceof CliError) {
    process.stderr.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`error: internal: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.MICROSEG_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return 1;
}

// `microseg`: offline tools over a stack's config. `check` validates a stack file exactly as `pulumi preview`
// would (same parseConfig); `render` prints every artefact the stack would send. Exit codes: 0 ok,
// 1 bad config or unreadable input, 2 usage. Never prints a stack trace (set MICROSEG_DEBUG=1 to see one).
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ConfigError, parseConfig, type StackConfig } from "../config";
import { ARTEFACT_KINDS, artefactsToYaml, renderArtefacts } from "../lib/artefacts";
import { hasErrors } from "../lib/policy-checks";
import { checkPolicyFiles, formatFindings } from "../lib/policy-files";
import { checkStack, policyCheckContext } from "../lib/stack-plan";
import { CliError, display, locateStack, readStackConfig } from "./stack-file";

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
    .action((o: SourceOptions & { policies?: string[] }) => {
      if (o.config === undefined && o.stack === undefined && o.policies === undefined) {
        throw new CliError("give --config FILE, --stack NAME and/or --policies PATH...", 2);
      }
      const problems: string[] = [];
      let cfg: StackConfig | undefined;
      if (o.config !== undefined || o.stack !== undefined) {
        const loaded = load(o);
        cfg = loaded.cfg;
        const result = checkStack(cfg, loaded.projectDir, { checkFiles: o.fileChecks });
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        if (result.errors.length > 0) {
          problems.push(`${loaded.shown}: ${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}:\n${result.errors.map((e) => `  - ${e}`).join("\n")}`);
        } else {
          process.stdout.write(`ok: ${loaded.shown} (${cfg.environment}, ${cfg.cluster.mode})\n`);
        }
      }
      if (o.policies !== undefined) {
        const ctx = cfg ? policyCheckContext(cfg, { l7Proxy: true }) : {};
        // Raw files are checked against the cluster's CIDRs, not against the demo's declared workloads.
        const findings = checkPolicyFiles(o.policies, { ...ctx, workloads: undefined });
        process.stdout.write(`${formatFindings(findings)}\n`);
        if (hasErrors(findings)) problems.push(`policies: ${findings.filter((f) => f.severity === "error").length} error(s) in ${o.policies.join(" ")}`);
      }
      if (problems.length > 0) throw new CliError(problems.join("\n"));
    });

  const kinds = ARTEFACT_KINDS.map((k) => k.kind);
  sourceOptions(program.command("render").description("print every artefact the stack would send, as YAML, secrets redacted"))
    .addOption(
      new Option("--only <kind>", `render one kind only (${kinds.join(", ") || "no kinds registered yet"})`).argParser((v: string) => {
        if (!kinds.includes(v)) throw new InvalidArgumentError(`unknown kind "${v}"; registered kinds: ${kinds.join(", ") || "(none yet)"}`);
        return v;
      }),
    )
    .action((o: SourceOptions & { only?: string }) => {
      const { cfg } = load(o);
      if (ARTEFACT_KINDS.length === 0) {
        process.stderr.write("nothing to render yet: no artefact kinds are registered in lib/artefacts.ts\n");
        return;
      }
      process.stdout.write(artefactsToYaml(renderArtefacts(cfg, o.only), cfg));
    });
  return program;
}

export function main(argv: readonly string[]): number {
  try {
    buildProgram().parse([...argv], { from: "user" });
    return 0;
  } catch (e) {
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
}

if (require.main === module || process.argv[1]?.endsWith("microseg.js")) {
  process.exitCode = main(process.argv.slice(2));
}

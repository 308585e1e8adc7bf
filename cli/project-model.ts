// The policies, workloads and expectations of a project (its policies/, what its index.ts deploys), loaded by the
// CLI's commands from the stack's project, not from this package: the CLI is a composition root, like index.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Expectation } from "../lib/policy/model/expectation";
import type { PolicyManifest } from "../lib/policy/model/schema";
import type { Workloads } from "../lib/policy/model/workloads-schema";
import { CliError, display } from "./stack-file";

/** A project's policies/: the typed policies, declared workloads and expectations. */
export interface ProjectModel {
  readonly policies: readonly PolicyManifest[];
  readonly workloads: Workloads;
  readonly expectations: readonly Expectation[];
}

/**
 * The model of the project at `projectDir`: `--project-dir ../other` reads the other project's policies. A project
 * without policies/, or whose policies throw while loading, is refused with the reason.
 */
export function loadProjectModel(projectDir: string): ProjectModel {
  const dir = path.join(projectDir, "policies");
  const shown = display(dir, process.cwd());
  if (!fs.existsSync(dir)) {
    throw new CliError(`no ${shown}/: microseg reads the project's policies/ (index.ts, workloads.ts, expectations.ts), as its index.ts deploys them; run it in the project or pass --project-dir`);
  }
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { policies } = require(dir) as { policies: readonly PolicyManifest[] };
    const { workloads } = require(path.join(dir, "workloads")) as { workloads: Workloads };
    const { expectations } = require(path.join(dir, "expectations")) as { expectations: readonly Expectation[] };
    /* eslint-enable @typescript-eslint/no-require-imports */
    return { policies, workloads, expectations };
  } catch (e) {
    throw new CliError(`${shown}: the project's policies do not load: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// Where the released Cilium files pinned by lab/versions.env live: lab/build-cilium.sh copies them, unmodified, from
// the Go module github.com/cilium/cilium@CILIUM_VERSION (the one the lab's agent is built from) into
// <LAB_DIR>/share/cilium: chart/cilium (with values.schema.json) and crds/*.yaml. The unit tests, the lab's CRD
// registration and the lab stack all read them from here, so agent, chart and CRD schemas are one version.
// lab/setup.sh (which test/run.sh runs first) builds them; before that, every reader fails with how to get them.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

const repoRoot = path.resolve(__dirname, "..");

/** `CILIUM_VERSION` of lab/versions.env without the `v` (e.g. "1.20.2"). */
export function pinnedCiliumVersion(root = repoRoot): string {
    const file = path.join(root, "lab", "versions.env");
    const m = /^CILIUM_VERSION=v?(\S+)\s*$/m.exec(fs.readFileSync(file, "utf8"));
    if (!m) throw new Error(`${file} has no CILIUM_VERSION line`);
    return m[1]!;
}

/** The pinned Cilium files, found. */
export interface CiliumShare {
    /** e.g. "1.20.2": CILIUM_VERSION, equal to the chart's Chart.yaml version. */
    readonly version: string;
    /** `<LAB_DIR>/share/cilium`. */
    readonly dir: string;
    /** The released Helm chart directory (`chart/cilium`). */
    readonly chartDir: string;
    /** The CRD manifests directory (`crds`, one `<plural>.yaml` per CRD). */
    readonly crdDir: string;
}

/**
 * Finds the share directory holding the chart of the pinned version: `<repo>/.lab/share/cilium` (where lab/setup.sh
 * builds by default), else `$LAB_DIR/share/cilium`. Throws, naming what it found and `bash lab/setup.sh` as the fix,
 * when neither holds the pinned chart and its policy CRDs: never a silent fallback to another version.
 */
export function ciliumShare(opts: { root?: string; env?: NodeJS.ProcessEnv } = {}): CiliumShare {
    const root = opts.root ?? repoRoot;
    const env = opts.env ?? process.env;
    const version = pinnedCiliumVersion(root);
    const candidates = [path.join(root, ".lab", "share", "cilium")];
    if (env["LAB_DIR"]) candidates.push(path.join(path.resolve(root, env["LAB_DIR"]), "share", "cilium"));
    const seen: string[] = [];
    for (const dir of [...new Set(candidates)]) {
        const chartYaml = path.join(dir, "chart", "cilium", "Chart.yaml");
        if (!fs.existsSync(chartYaml)) {
            seen.push(`${chartYaml} is missing`);
            continue;
        }
        const found = (parseYaml(fs.readFileSync(chartYaml, "utf8")) as { version?: unknown } | null)?.version;
        if (found !== version) {
            seen.push(`${chartYaml} is version ${JSON.stringify(found)}`);
            continue;
        }
        const missing = ["chart/cilium/values.schema.json", "crds/ciliumnetworkpolicies.yaml", "crds/ciliumclusterwidenetworkpolicies.yaml"]
            .filter((f) => !fs.existsSync(path.join(dir, f)));
        if (missing.length > 0) {
            seen.push(`${dir} lacks ${missing.join(", ")}`);
            continue;
        }
        return { version, dir, chartDir: path.join(dir, "chart", "cilium"), crdDir: path.join(dir, "crds") };
    }
    throw new Error(
        `the released Cilium ${version} chart and CRDs (lab/versions.env CILIUM_VERSION) are not built: ${seen.join("; ")}. `
        + `lab/build-cilium.sh copies them from github.com/cilium/cilium@v${version}: run bash lab/setup.sh`,
    );
}

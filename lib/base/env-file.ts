// Environment files and dumps: the lab's `KEY=value` env files (lab/up.sh writes `export KEY=value`), and the
// NUL-separated `env -0` dump of a shell that sourced a script (lab/engine-env.sh).
import * as fs from "node:fs";

/** `KEY=value` lines (optionally `export KEY=value`, the value optionally in matching quotes) as a map; other lines are ignored. */
export function parseEnvAssignments(text: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
        if (m) env[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, "$2");
    }
    return env;
}

/** A `KEY=value` file as a map (see parseEnvAssignments). */
export function readEnvFile(file: string): Record<string, string> {
    return parseEnvAssignments(fs.readFileSync(file, "utf8"));
}

/** The output of `env -0` as a map (a value may hold newlines and `=`). */
export function parseEnvDump(out: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const entry of out.split("\0")) {
        const i = entry.indexOf("=");
        if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
    }
    return env;
}

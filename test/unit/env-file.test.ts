// lib/base/env-file.ts: the lab's env files (as lab/up.sh writes them) and `env -0` dumps (of a real bash).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseEnvAssignments, parseEnvDump, readEnvFile } from "../../lib/base/env-file";

describe("env files", () => {
    it("reads export lines and plain ones, strips matching quotes only, ignores comments and other lines", () => {
        assert.deepEqual(parseEnvAssignments([
            "# lab env", "export KUBECONFIG=/x/.lab/kubeconfig", "LAB_DATAPATH=1", `export A="two words"`, "export B='q'",
            `export C="unbalanced`, "export D=a=b", "not an assignment", "  export E=spaced  ",
        ].join("\n")), { KUBECONFIG: "/x/.lab/kubeconfig", LAB_DATAPATH: "1", A: "two words", B: "q", C: `"unbalanced`, D: "a=b", E: "spaced" });
    });
    it("a file sourced by bash gives the same values as the parser", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "env-file-"));
        try {
            const file = path.join(dir, "env");
            fs.writeFileSync(file, `export X=/a/b\nexport Y="c d"\nZ=3\n`);
            const sourced = parseEnvDump(execFileSync("bash", ["-c", `set -a; source ${JSON.stringify(file)}; env -0`], { encoding: "utf8", env: {} }));
            const parsed = readEnvFile(file);
            assert.deepEqual(parsed, { X: "/a/b", Y: "c d", Z: "3" });
            for (const [k, v] of Object.entries(parsed)) assert.equal(sourced[k], v, k);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("env -0 dumps keep newlines and = in values", () => {
        assert.deepEqual(parseEnvDump("A=1\0B=x=y\nz\0\0"), { A: "1", B: "x=y\nz" });
    });
});

// Process plumbing of the lab kubelet: killing a cgroup tree, a log's tail, signal numbers for exit codes.
import * as fs from "node:fs";
import * as path from "node:path";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills every process of a cgroup (cgroup.kill) and removes it, children first. */
export async function killCgroup(dir: string, remove = true): Promise<void> {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await killCgroup(path.join(dir, e.name), remove);
    }
    try {
        fs.writeFileSync(path.join(dir, "cgroup.kill"), "1");
    } catch {
        // gone meanwhile
    }
    if (!remove) return;
    for (let i = 0; i < 50; i++) {
        try {
            fs.rmdirSync(dir);
            return;
        } catch {
            await sleep(100);
        }
    }
}

/** The last `n` characters of a file ("" when it is not there). */
export function readTail(file: string, n: number): string {
    try {
        const text = fs.readFileSync(file, "utf8");
        return text.slice(-n);
    } catch {
        return "";
    }
}

/** The number of a signal Node names (the exit code is 128 + it). */
/** The number of a signal Node names (a killed container's exit code is 128 + it). */
export function signalNumber(sig: string): number | undefined {
    return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 } as Record<string, number>)[sig];
}

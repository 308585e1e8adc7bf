// Bench helper: a throwaway `lab` stack of the real program (a temp copy of the project, the lab's config), so
// benches can time previews of the real graph. Prints figures; never passes or fails on time.
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify as toYaml } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { registerCiliumCrds } from "../lab/cilium-crds";
import { labStackConfig, newLabStack } from "../test/lab/harness";

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
}

export async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
    const t0 = process.hrtime.bigint();
    const r = await f();
    return [Number(process.hrtime.bigint() - t0) / 1e9, r];
}

/** A lab stack of the real program, brought up once; `done()` destroys it. */
export async function upLabStack(prefix: string): Promise<{ stack: Stack; done: () => Promise<void> }> {
    await registerCiliumCrds();
    const { stack, workDir, cleanup } = await newLabStack(prefix);
    fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config: labStackConfig() }));
    await stack.up({ color: "never" });
    return { stack, done: cleanup };
}

/** Seconds of `runs` no-change previews of an up-to-date stack. */
export async function noChangePreviews(stack: Stack, runs = 3): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
        const [t, r] = await timed(() => stack.preview({ color: "never" }));
        const changed = Object.entries(r.changeSummary ?? {}).filter(([op]) => op !== "same");
        if (changed.length > 0) throw new Error(`the stack is not up to date: ${JSON.stringify(r.changeSummary)}`);
        times.push(t);
    }
    return times;
}

// `node --import tsx bench/lab-stack.ts`: the no-change preview figure of the lab stack.
if (require.main === module) {
    (async () => {
        const [tUp, { stack, done }] = await timed(() => upLabStack("bench"));
        try {
            const times = await noChangePreviews(stack, 3);
            console.log(`lab stack: first up ${tUp.toFixed(1)} s; no-change pulumi preview: median ${median(times).toFixed(2)} s (runs: ${times.map((t) => t.toFixed(2)).join(", ")} s)`);
        } finally {
            await done();
        }
    })().catch((e: Error) => {
        console.error(`bench: ${e.message}`);
        process.exit(1);
    });
}

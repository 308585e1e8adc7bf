// Figures for the Cilium part of preview: build the values, check them against the chart's values.schema.json,
// render the chart with helm, and a no-change preview of the lab stack with Cilium in it. Prints, never fails on time.
import * as path from "node:path";
import { loadChartValidator } from "../lib/cilium/chart-schema";
import { buildCiliumValues } from "../lib/cilium/cilium-values";
import { helmTemplate } from "../lib/cilium/helm-template";
import { ciliumValuesArgs } from "../lib/stack/stack-plan";
import { policies } from "../policies";
import { workloads } from "../policies/workloads";
import { parseConfig } from "../config";
import { readStackConfig } from "../cli/stack-file";
import { median, noChangePreviews, timed, upLabStack } from "./lab-stack";

const repo = path.resolve(__dirname, "..");
const ms = (s: number) => `${(s * 1000).toFixed(3)} ms`;

async function main(): Promise<void> {
    const cfg = parseConfig(readStackConfig(path.join(repo, "Pulumi.lab.yaml"), "Pulumi.lab.yaml"), { projectDir: repo, checkFiles: false });
    const chartDir = path.resolve(repo, "..", "shared", "reference", "cilium", "chart", "cilium");
    const args = ciliumValuesArgs(cfg, { policies, workloads });

    const builds: number[] = [];
    let values = buildCiliumValues(args);
    for (let i = 0; i < 50; i++) builds.push((await timed(async () => (values = buildCiliumValues(args))))[0]);
    console.log(`values build: median ${ms(median(builds))} (50 runs)`);

    const [tLoad, validator] = await timed(async () => loadChartValidator(chartDir));
    const checks: number[] = [];
    for (let i = 0; i < 20; i++) checks.push((await timed(async () => validator.validate(values, { settingPrefix: "cilium.valuesOverrides" })))[0]);
    console.log(`schema check: load + compile values.schema.json ${ms(tLoad)}; validate median ${ms(median(checks))} (20 runs)`);

    const renders: number[] = [];
    for (let i = 0; i < 3; i++) renders.push((await timed(async () => helmTemplate({ chartDir, values, namespace: "kube-system", releaseName: "cilium" })))[0]);
    console.log(`chart render (helm template, real chart): median ${ms(median(renders))} (3 runs)`);

    if (process.argv.includes("--no-lab")) return;
    const [tUp, { stack, done }] = await timed(() => upLabStack("benchcilium"));
    try {
        const previews = await noChangePreviews(stack, 3);
        console.log(`lab stack with Cilium: first up ${tUp.toFixed(1)} s; no-change preview median ${median(previews).toFixed(2)} s (runs: ${previews.map((t) => t.toFixed(2)).join(", ")} s)`);
    } finally {
        await done();
    }
}

main().catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
});

// Issue 11 on the real engine: `pulumi preview` of the real program (index.ts) refuses the new bad configs before
// anything is created, with the same messages as `microseg check`, and never prints a pasted credential; an
// exposed Hubble UI is warned about in the engine's output. Needs the engine and the lab (test/run.sh provides both).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify as toYaml } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { labEnv, labStackConfig, newLabStack } from "./harness";

describe("issue 11 refusals at preview, on the real engine", { timeout: 10 * 60_000 }, () => {
    let stack: Stack;
    let workDir: string;
    let cleanup: () => Promise<void>;
    const write = (config: Record<string, unknown>) => fs.writeFileSync(path.join(workDir, `Pulumi.${stack.name}.yaml`), toYaml({ config }));
    const resources = async () => ((await stack.exportStack()).deployment.resources ?? []).filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack");

    before(async () => {
        ({ stack, workDir, cleanup } = await newLabStack("issue11"));
    });
    after(async () => {
        await cleanup?.();
    });

    it("Hubble UI exposed in a staging stack: preview refuses it, naming the setting and the allowance; nothing is created", async () => {
        const config = labStackConfig();
        config["microseg:environment"] = "staging";
        config["microseg:hubble"] = { ...config["microseg:hubble"], ui: { expose: true } };
        write(config);
        await assert.rejects(stack.preview({ color: "never" }), (e: Error) => {
            assert.match(e.message, /hubble\.ui\.expose: exposes Hubble UI on NodePort 31235 of every node, over plain HTTP in the staging stack; it has no authentication, so anyone who reaches it reads every flow of the cluster \(true\)\. Remove it and reach the UI with `kubectl -n kube-system port-forward svc\/hubble-ui 12000:80` \(the stack output hubbleUiPortForward\), or set safety\.allowUnauthenticatedHubbleUi: true if an authenticating proxy guards it\./);
            return true;
        });
        assert.deepEqual(await resources(), []);
    });

    it("a kubeconfig pasted into kubeconfigPath: preview names it and never prints it", async () => {
        const kubeconfig = fs.readFileSync(labEnv().KUBECONFIG, "utf8");
        const keyData = /client-key-data: (\S+)/.exec(kubeconfig)![1]!;
        const config = labStackConfig();
        config["microseg:cluster"].kubeconfigPath = kubeconfig;
        write(config);
        let output = "";
        await assert.rejects(stack.preview({ color: "never", onOutput: (s) => (output += s) }), (e: Error) => {
            assert.match(e.message, /cluster\.kubeconfigPath: holds what looks like a kubeconfig itself, not a path \(\[looks like a kubeconfig; not shown\]\)\. Remove it and give the content as a secret instead: pulumi config set --secret --path 'microseg:cluster\.kubeconfig' < FILE/);
            for (const text of [e.message, output]) {
                assert.ok(!text.includes(keyData.slice(0, 24)), "the pasted kubeconfig's key is in the engine output");
                assert.ok(!text.includes("certificate-authority-data"), "the pasted kubeconfig is in the engine output");
            }
            return true;
        });
        assert.deepEqual(await resources(), []);
    });

    it("Hubble UI exposed in the lab stack: preview goes on, with the warning in the engine's output", async () => {
        const config = labStackConfig();
        config["microseg:hubble"] = { ...config["microseg:hubble"], ui: { expose: true } };
        write(config);
        const preview = await stack.preview({ color: "never" });
        assert.match(preview.stdout, /warning: hubble\.ui\.expose: Hubble UI is exposed on NodePort 31235 of every node, over plain HTTP, without authentication \(it has none of its own\): anyone who reaches it reads every flow of the cluster \(true\)\./);
    });
});

// The real datapath (issue 12): a stack of the program deployed by the real engine onto the datapath test lab
// (test/run.sh starts it: LAB_DIR .lab/dptest, bridge msdp1, real cilium-agent per lab node, real operator and
// hubble-relay from the released chart, kubeadm's CoreDNS, the demo pods as network namespaces attached by
// cilium-cni); probes sent from the real source pod's network namespace (lab/pod-exec.sh --net) to the real
// destination pod IP, and the verdicts read back from Hubble through the relay's NodePort with the stack's client
// certificate, as a user would.
//
// The lab has no Envoy (no cilium-envoy binary can be built here): the stack, like Pulumi.lab.yaml, sets
// policies.httpRules "omit" (the policies without their HTTP rules, same peers and ports; README, "L7 without Envoy").
// `microseg verify` runs through the installed bin (npx --no-install microseg) of the stack's project copy.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { copyProject, engineEnv, repoRoot } from "./harness";
import { readEnvFile } from "../../lib/base/env-file";
import { waitForHubbleStatus } from "../../lib/cilium/hubble-relay";
import { microseg, type CliRun } from "../unit/cli-bin";
import { expectations } from "../../policies/expectations";

const labDir = process.env["DATAPATH_LAB_DIR"] ?? path.join(repoRoot, ".lab", "dptest");

function dpEnv(): Record<string, string> {
    const file = path.join(labDir, "env");
    if (!fs.existsSync(file)) throw new Error(`the datapath test lab is not up (${file} is missing): test/run.sh starts it (LAB_DIR=${labDir} LAB_DATAPATH=1 ... lab/up.sh)`);
    const env = readEnvFile(file);
    if (env["LAB_DATAPATH"] !== "1") throw new Error(`${labDir} is not a datapath lab (LAB_DATAPATH=${env["LAB_DATAPATH"]})`);
    return env;
}

function kubectl(...args: string[]): string {
    const env = dpEnv();
    const r = spawnSync(path.join(labDir, "bin", "kubectl"), ["--kubeconfig", env["KUBECONFIG"]!, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

interface DemoPod { namespace: string; name: string; ip: string; node: string }

/** The demo pod of namespace/app, from the apiserver (Running, not being deleted). */
function demoPod(namespace: string, app: string): DemoPod {
    const pods = JSON.parse(kubectl("-n", namespace, "get", "pods", "-l", `app=${app},app.kubernetes.io/part-of=microseg-demo`, "-o", "json")).items
        .filter((p: any) => !p.metadata.deletionTimestamp && p.status.phase === "Running" && p.status.podIP);
    assert.equal(pods.length, 1, `one Running ${namespace}/${app} pod`);
    return { namespace, name: pods[0].metadata.name, ip: pods[0].status.podIP, node: pods[0].spec.nodeName };
}

/**
 * An HTTP GET from the source pod's network namespace (and cgroup) to the destination pod's IP, with this machine's
 * curl: the HTTP status when it passes, "timeout" when the packets are dropped (no answer in 3 s), else curl's exit code.
 */
function probe(from: DemoPod, to: DemoPod, urlPath = "/", port = 80): string {
    const r = spawnSync("bash", [path.join(repoRoot, "lab", "pod-exec.sh"), from.namespace, from.name, "--net", "--",
        "curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", `http://${to.ip}:${port}${urlPath}`], { encoding: "utf8", env: { ...process.env, LAB_DIR: labDir } });
    if (r.status === 0) return r.stdout.trim();
    if (r.status === 28) return "timeout";
    return `curl exit ${r.status}: ${r.stdout}${r.stderr}`.trim();
}

/** Polls probe() until it returns `want` (a policy change takes the agents a moment), at most `seconds`. */
async function probeUntil(from: DemoPod, to: DemoPod, want: string, seconds: number): Promise<string> {
    const deadline = Date.now() + seconds * 1000;
    let got = probe(from, to);
    while (got !== want && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        got = probe(from, to);
    }
    return got;
}

interface HubbleFlow { verdict: string; drop_reason_desc?: string; traffic_direction?: string; source?: { namespace?: string; pod_name?: string }; destination?: { namespace?: string; pod_name?: string; }; l4?: { TCP?: { destination_port?: number } }; Type?: string; policy_match_type?: number; ingress_denied_by?: unknown[]; ingress_allowed_by?: unknown[] }

describe("the real datapath (datapath test lab, real engine)", { timeout: 1_500_000 }, () => {
    let stack: Stack;
    let workDir: string;
    let certDir: string;
    let relay: string;
    let outputs: Record<string, { value: any; secret: boolean }>;
    let pods: Record<string, DemoPod>;
    let stackFile: string;

    /** `microseg verify` on the test's stack, through the copy's installed bin, probing in the datapath test lab. */
    function verify(...extra: string[]): CliRun {
        return microseg(["verify", "--config", stackFile, "--hubble", path.join(labDir, "bin", "hubble"), ...extra], workDir,
            { projectRoot: workDir, env: { LAB_DIR: labDir }, timeoutMs: 600_000 });
    }

    /** Waits until the relay answers through its NodePort (its pod may just have started). */
    async function relayReady(): Promise<void> {
        const last = await waitForHubbleStatus(path.join(labDir, "bin", "hubble"), hubbleTls(), 120_000);
        if (last !== undefined) assert.fail(`the relay at ${relay} did not answer in 120 s: ${last}`);
    }

    function hubbleTls(): string[] {
        return ["--server", relay, "--tls", "--tls-ca-cert-files", path.join(certDir, "ca.crt"), "--tls-client-cert-file", path.join(certDir, "client.crt"),
            "--tls-client-key-file", path.join(certDir, "client.key"), "--tls-server-name", "ui.hubble-relay.cilium.io"];
    }

    /** hubble observe through the relay NodePort from this machine's root namespaces, with the stack's client certificate. */
    function hubble(from: DemoPod, to: DemoPod): HubbleFlow[] {
        const r = spawnSync(path.join(labDir, "bin", "hubble"), ["observe", ...hubbleTls(), "--since", "5m", "-o", "json", "--from-pod", `${from.namespace}/${from.name}`, "--to-pod", `${to.namespace}/${to.name}`],
        { encoding: "utf8", timeout: 60_000 });
        assert.equal(r.status, 0, `hubble observe: ${r.stderr}`);
        return r.stdout.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { flow: HubbleFlow }).flow);
    }

    async function up(what: string): Promise<string> {
        let out = "";
        const r = await stack.up({ color: "never", onOutput: (s) => (out += s) });
        assert.equal(r.summary.result, "succeeded", `${what}: ${out.slice(-3000)}`);
        outputs = r.outputs as typeof outputs;
        return out;
    }

    before(async () => {
        const env = dpEnv();
        workDir = copyProject();
        // The CLI and the lab's probe scripts too: verify runs through the copy's own bin.
        for (const entry of ["bin", "cli", "lab"]) fs.cpSync(path.join(repoRoot, entry), path.join(workDir, entry), { recursive: true });

        const doc = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, any> };
        const config = structuredClone(doc.config);
        config["microseg:cluster"].kubeconfigPath = env["KUBECONFIG"];
        config["microseg:cluster"].controlPlaneEndpoint = `${env["LAB_DP_HOST"]}:${env["LAB_APISERVER_PORT"]}`;
        config["microseg:cluster"].nodeAddresses = [`${env["LAB_DP_NET"]}.10`];
        config["microseg:cilium"].chart.path = path.join(labDir, "share", "cilium", "chart", "cilium");
        assert.equal(config["microseg:policies"].httpRules, "omit", "Pulumi.lab.yaml deploys the policies without HTTP rules");
        const ws = await LocalWorkspace.create({ workDir, envVars: engineEnv() });
        const name = `datapath-${process.pid}-${Date.now().toString(36)}`;
        stackFile = path.join(workDir, `Pulumi.${name}.yaml`);
        fs.writeFileSync(stackFile, toYaml({ config }));
        stack = await Stack.create(name, ws);
        await up("first up");
        relay = outputs["hubbleRelayAddress"]!.value;
        certDir = fs.mkdtempSync(path.join(workDir, "certs-"));
        fs.writeFileSync(path.join(certDir, "ca.crt"), outputs["hubbleCaCert"]!.value);
        fs.writeFileSync(path.join(certDir, "client.crt"), outputs["hubbleClientCert"]!.value);
        fs.writeFileSync(path.join(certDir, "client.key"), outputs["hubbleClientKey"]!.value, { mode: 0o600 });
        // Clients on the first node, servers on the second (lab/spread-demo.sh), so flows cross the VXLAN tunnel.
        const spread = spawnSync("bash", [path.join(repoRoot, "lab", "spread-demo.sh")], { encoding: "utf8", env: { ...process.env, LAB_DIR: labDir } });
        assert.equal(spread.status, 0, spread.stdout + spread.stderr);
        await relayReady();
        pods = {
            defaultBusybox: demoPod("default", "busybox"), frontendBusybox: demoPod("frontend", "busybox"), testBusybox: demoPod("test", "busybox"),
            testApp: demoPod("default", "test-app"), backendApp: demoPod("backend", "backend-app"),
        };
    });

    after(async () => {
        if (stack) {
            await stack.destroy({ color: "never" }).catch((e: unknown) => console.error(`destroy: ${(e as Error).message}`));
            await stack.workspace.removeStack(stack.name, { force: true } as never).catch(() => undefined);
        }
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("places the demo so that flows cross nodes", () => {
        const { defaultBusybox, frontendBusybox, testApp, backendApp, testBusybox } = pods as Required<typeof pods>;
        assert.equal(frontendBusybox.node, defaultBusybox.node);
        assert.deepEqual([backendApp.node, testBusybox.node], [testApp.node, testApp.node]);
        assert.notEqual(defaultBusybox.node, testApp.node);
    });

    it("namespace isolation: frontend/busybox reaches backend-app across nodes, test/busybox (same node) and default/busybox (across nodes) are dropped; Hubble through the relay NodePort shows both verdicts", () => {
        const { frontendBusybox, testBusybox, defaultBusybox, backendApp } = pods as Required<typeof pods>;
        assert.equal(probe(frontendBusybox, backendApp), "200");
        assert.equal(probe(testBusybox, backendApp), "timeout");
        assert.equal(probe(defaultBusybox, backendApp), "timeout");

        const allowed = hubble(frontendBusybox, backendApp);
        assert.ok(allowed.some((f) => f.verdict === "FORWARDED" && f.Type === "L3_L4" && f.traffic_direction === "INGRESS"), `a FORWARDED ingress flow frontend/busybox -> backend-app: ${JSON.stringify(allowed.slice(0, 3))}`);
        // test/busybox has no egress policy: backend-app's ingress (namespace-isolation's default deny) drops it;
        // default/busybox's own egress (busybox-egress) drops it first, as the offline engine says (egress first).
        for (const [src, direction] of [[testBusybox, "INGRESS"], [defaultBusybox, "EGRESS"]] as const) {
            const denied = hubble(src, backendApp);
            const drop = denied.find((f) => f.verdict === "DROPPED");
            assert.ok(drop, `a DROPPED flow ${src.namespace}/busybox -> backend-app: ${JSON.stringify(denied.slice(0, 3))}`);
            assert.equal(drop.drop_reason_desc, "POLICY_DENIED");
            assert.equal(drop.traffic_direction, direction);
            assert.equal(drop.destination?.pod_name, backendApp.name);
        }
    });

    it("deny-all: only default/busybox reaches test-app (across nodes); frontend/busybox and test/busybox are dropped", () => {
        const { frontendBusybox, testBusybox, defaultBusybox, testApp } = pods as Required<typeof pods>;
        assert.equal(probe(defaultBusybox, testApp, "/api"), "200");
        assert.equal(probe(frontendBusybox, testApp), "timeout");
        assert.equal(probe(testBusybox, testApp), "timeout");
        assert.ok(hubble(frontendBusybox, testApp).some((f) => f.verdict === "DROPPED" && f.drop_reason_desc === "POLICY_DENIED"));
        assert.ok(hubble(defaultBusybox, testApp).some((f) => f.verdict === "FORWARDED" && f.traffic_direction === "INGRESS"));
    });

    it("busybox-egress: default/busybox reaches test-app on 80 only (8080 dropped at its egress) and resolves names through CoreDNS", () => {
        const { defaultBusybox, testApp } = pods as Required<typeof pods>;
        assert.equal(probe(defaultBusybox, testApp, "/api", 8080), "timeout");
        const flows = hubble(defaultBusybox, testApp);
        assert.ok(flows.some((f) => f.verdict === "DROPPED" && f.drop_reason_desc === "POLICY_DENIED" && f.traffic_direction === "EGRESS" && f.l4?.TCP?.destination_port === 8080), `an EGRESS drop to 8080: ${JSON.stringify(flows.slice(0, 3))}`);
        const r = spawnSync("bash", [path.join(repoRoot, "lab", "pod-exec.sh"), "default", defaultBusybox.name, "--net", "--", "getent", "hosts", "test-app.default.svc.cluster.local"], { encoding: "utf8", env: { ...process.env, LAB_DIR: labDir } });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^10\.\d+\.\d+\.\d+\s+test-app\.default\.svc\.cluster\.local/);
    });

    it("npx microseg verify: every expectation probed, the datapath and Hubble agree with the offline engine (HTTP ones at L3/L4, marked), exit 0", () => {
        const r = verify();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const http = expectations.filter((e) => e.http).length;
        assert.match(r.stdout, new RegExp(`^verify: ${expectations.length} flows: ${expectations.length - http} agree, 0 disagree, ${http} agree at L3/L4 with L7 not enforced \\(policies.httpRules "omit"\\)$`, "m"));
        const row = (flow: string) => r.stdout.split("\n").find((l) => l.startsWith(`${flow} `)) ?? assert.fail(`no row ${flow}:\n${r.stdout}`);
        assert.match(row("test/busybox → backend/backend-app TCP/80"), /denied\s+denied-default\s+dropped \(no answer\)\s+DROPPED POLICY_DENIED at ingress\s+agree$/);
        assert.match(row("frontend/busybox → backend/backend-app TCP/80"), /allowed\s+allowed\s+passed \(connected\)\s+FORWARDED \(egress: frontend\/busybox-egress, ingress: backend\/namespace-isolation\)\s+agree$/);
        assert.match(row("world → default/test-app TCP/80"), /dropped \(no answer\)\s+DROPPED POLICY_DENIED at ingress\s+agree$/);
        assert.match(row("default/busybox → world TCP/443"), /dropped \(no answer\)\s+DROPPED POLICY_DENIED at egress/);
        assert.match(row("default/busybox → default/test-app TCP/80 HTTP DELETE /delete"), /denied\s+denied-l7\s+passed \(HTTP 404 Not Found "test-app"\)\s+FORWARDED .*L4 agree, L7 not enforced$/);
    });

    it("a policy edit through pulumi up changes the real verdict, as the preview's traffic: line said", async () => {
        const { testBusybox, backendApp } = pods as Required<typeof pods>;
        const file = path.join(workDir, "policies", "backend.ts");
        const original = fs.readFileSync(file, "utf8");
        const edited = original.replace('ingress: [{ fromEndpoints: [fromNamespace("frontend")] }],', 'ingress: [{ fromEndpoints: [fromNamespace("frontend")] }, { fromEndpoints: [fromNamespace("test")] }],');
        assert.notEqual(edited, original, "namespace-isolation's ingress was found in the copy");
        fs.writeFileSync(file, edited);
        try {
            let preview = "";
            await stack.preview({ color: "never", onOutput: (s) => (preview += s) });
            assert.match(preview, /traffic: test\/busybox → backend\/backend-app TCP\/80: DENIED → allowed \(allowed by backend\/namespace-isolation\)/);
            await up("up with test admitted");
            assert.equal(await probeUntil(testBusybox, backendApp, "200", 60), "200");
        } finally {
            fs.writeFileSync(file, original);
        }
        // The code says denied again, the cluster still admits test: verify names the flow and exits 1.
        const drift = verify();
        assert.equal(drift.code, 1, drift.stdout + drift.stderr);
        assert.match(drift.stdout, /^test\/busybox → backend\/backend-app TCP\/80 .*passed \(connected\)\s+FORWARDED \(ingress: backend\/namespace-isolation\)\s+DISAGREE\n {4}the datapath let it through, the offline engine says denied$/m);
        assert.match(drift.stdout, /^verify: \d+ flows: \d+ agree, 1 disagree/m);
        assert.match(drift.stderr, /error: verify: the datapath and the offline engine disagree/);
        await up("up with the policy restored");
        assert.equal(await probeUntil(testBusybox, backendApp, "timeout", 60), "timeout");
    });
});

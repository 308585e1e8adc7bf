// components/cluster/kubeadm-cluster.ts: the plan (what runs where, in which order, what is deleted, the triggers)
// and the component under Pulumi mocks (resource names, parent, secrets, the identity check's inputs).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { parseConfig, Secret, type StackConfig } from "../../config";
import { KubeadmCluster, planCluster, profileEnv, rewriteKubeconfigServer, type PlannedStep } from "../../components/cluster/kubeadm-cluster";

const REPO = path.join(__dirname, "..", "..");
/** A fake key, built so no key-looking header sits in the source. */
const PEM_KIND = ["OPENSSH", "PRIVATE", "KEY"].join(" ");
const KEY = `-----BEGIN ${PEM_KIND}-----\nunit-test-key-material\n-----END ${PEM_KIND}-----\n`;

function devRaw(): Record<string, any> {
    const raw = YAML.parse(fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8")).config as Record<string, unknown>;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^microseg:/, ""), v]));
}
/** Pulumi.dev.yaml (cp-0, worker-0, worker-1) with the key in the stack instead of a file; `edit` changes the raw config. */
function cfgWith(edit: (raw: Record<string, any>) => void = () => {}): StackConfig {
    const raw = devRaw();
    delete raw["cluster"].ssh.privateKeyPath;
    raw["cluster"].ssh.privateKey = Secret.of(KEY);
    edit(raw);
    return parseConfig(raw, { checkFiles: false });
}
const byName = (plan: PlannedStep[]) => Object.fromEntries(plan.map((s) => [s.name, s]));

describe("planCluster", () => {
    const plan = planCluster(cfgWith());

    it("one chain per host, named <verb-noun>-<node>, each step waiting for the previous one of its host", () => {
        assert.deepEqual(plan.map((s) => [s.name, s.runsOn, s.after]), [
            ["wait-ssh-cp-0", "cp-0", []],
            ["preflight-cp-0", "cp-0", ["wait-ssh-cp-0"]],
            ["prepare-host-cp-0", "cp-0", ["preflight-cp-0"]],
            ["kubeadm-init-cp-0", "cp-0", ["prepare-host-cp-0"]],
            ["read-kubeconfig-cp-0", "cp-0", ["kubeadm-init-cp-0"]],
            ["wait-ssh-worker-0", "worker-0", []],
            ["preflight-worker-0", "worker-0", ["wait-ssh-worker-0"]],
            ["prepare-host-worker-0", "worker-0", ["preflight-worker-0"]],
            ["kubeadm-join-worker-0", "worker-0", ["prepare-host-worker-0", "read-kubeconfig-cp-0"]],
            ["label-node-worker-0", "cp-0", ["kubeadm-join-worker-0"]],
            ["wait-ssh-worker-1", "worker-1", []],
            ["preflight-worker-1", "worker-1", ["wait-ssh-worker-1"]],
            ["prepare-host-worker-1", "worker-1", ["preflight-worker-1"]],
            ["kubeadm-join-worker-1", "worker-1", ["prepare-host-worker-1", "read-kubeconfig-cp-0"]],
            ["label-node-worker-1", "cp-0", ["kubeadm-join-worker-1"]],
        ]);
    });

    it("workers depend on no other host except the first control plane after init", () => {
        for (const s of plan.filter((p) => p.node.startsWith("worker-"))) {
            for (const a of s.after) assert.ok(a.endsWith(`-${s.node}`) || a === "read-kubeconfig-cp-0", `${s.name} waits for ${a}`);
        }
    });

    it("only the per-node lifecycle steps carry a delete; kubeadm-init never does", () => {
        const deletes = plan.filter((s) => s.delete).map((s) => [s.name, s.deleteSteps]);
        assert.deepEqual(deletes, [
            ["read-kubeconfig-cp-0", ["kubeadm-reset"]],
            ["kubeadm-join-worker-0", ["drain-node", "remove-node", "kubeadm-reset"]],
            ["label-node-worker-0", ["label-node"]],
            ["kubeadm-join-worker-1", ["drain-node", "remove-node", "kubeadm-reset"]],
            ["label-node-worker-1", ["label-node"]],
        ]);
        assert.equal(byName(plan)["kubeadm-init-cp-0"]!.delete, undefined);
        // The join's delete: first, on the first control plane, drain then delete the Node (the drain script is
        // uploaded, remove-node on stdin); then kubeadm reset on the node itself.
        const join = byName(plan)["kubeadm-join-worker-0"]!;
        assert.equal(join.deleteFirst!.runsOn, "cp-0");
        assert.equal(join.deleteFirst!.stepName, "remove-node");
        assert.match(join.deleteFirst!.delete.command, /^sudo -n env DRAIN_TIMEOUT=300s NODE_NAME=worker-0 bash \.microseg\/scripts\/[0-9a-f]{12}-drain-node\.sh && sudo -n env NODE_NAME=worker-0 bash -s$/);
        assert.match(String(join.deleteFirst!.delete.stdin), /^#!\/usr\/bin\/env bash\n# remove-node:/);
        assert.match(join.delete!.command, /^sudo -n env bash -s$/);
        assert.match(String(join.delete!.stdin), /^#!\/usr\/bin\/env bash\n# kubeadm-reset:/);
        // label-node's delete removes what microseg set: no labels, no wait for a Node that may be gone.
        assert.equal(byName(plan)["label-node-worker-0"]!.delete!.command, "sudo -n env NODE_LABELS='' NODE_NAME=worker-0 NODE_WAIT_SECONDS=0 bash -s");
    });

    it("secrets: a fresh token is made on the first control plane inside the join and reaches kubeadm-join on stdin, never on a command line", () => {
        const p = byName(plan);
        assert.equal(p["read-kubeconfig-cp-0"]!.secretStdout, true);
        const from = p["kubeadm-join-worker-0"]!.createStdinFrom!;
        assert.deepEqual([from.runsOn, from.stepName, from.create.secretStdout], ["cp-0", "create-join-token", true]);
        assert.equal(from.create.command, "sudo -n env CONTROL_PLANE=0 NODE_NAME=worker-0 TOKEN_TTL=15m bash -s");
        assert.match(p["kubeadm-join-worker-0"]!.create.command, /^sudo -n env KUBEADM_CONFIG_B64=\S+ bash \.microseg\/scripts\/[0-9a-f]{12}-kubeadm-join\.sh$/);
        assert.equal(plan.some((s) => s.stepName === "create-join-token" || s.stepName === "remove-node"), false, "no resource of their own");
    });

    it("each join deletes its token on the first control plane afterwards: an uploaded script reading it on stdin, not part of the trigger", () => {
        const join = byName(plan)["kubeadm-join-worker-0"]!;
        const cleanup = join.createStdinFrom!.cleanup!;
        assert.equal(cleanup.stepName, "delete-join-token");
        assert.match(cleanup.create.command, /^sudo -n env NODE_NAME=worker-0 bash \.microseg\/scripts\/[0-9a-f]{12}-delete-join-token\.sh$/);
        assert.deepEqual([cleanup.create.stdin.kind, cleanup.create.upload?.content.split("\n")[1]], ["secrets", "# delete-join-token: on the first control-plane host, deletes the bootstrap token one node's join used, once that"]);
        const lab = byName(planCluster(cfgWith(), { kind: "lab", roots: { "cp-0": "/r/1", "worker-0": "/r/2", "worker-1": "/r/3" } }));
        assert.match(lab["kubeadm-join-worker-0"]!.createStdinFrom!.cleanup!.create.command, / MICROSEG_ROOT=\/r\/1 /, "runs with the control plane's root");
        // A changed delete script is recorded, it does not rerun the joins.
        assert.equal(join.create.triggerHash === cleanup.create.triggerHash, false);
    });

    it("trigger hashes: the same for an unchanged config, changed only for the changed host", () => {
        const triggers = (c: StackConfig) => Object.fromEntries(planCluster(c).map((s) => [s.name, s.create.triggerHash]));
        const a = triggers(cfgWith());
        assert.deepEqual(triggers(cfgWith()), a);
        const b = triggers(cfgWith((raw) => { raw["cluster"].hosts[2].labels = { "topology.kubernetes.io/zone": "lab-c" }; }));
        // The join carries the kubelet's labels (for its first registration); label-node sets them on the joined Node.
        assert.deepEqual(Object.keys(b).filter((k) => b[k] !== a[k]), ["kubeadm-join-worker-1", "label-node-worker-1"]);
        // A label the kubelet may not set itself only changes that worker's label-node step.
        const c = triggers(cfgWith((raw) => { raw["cluster"].hosts[1].labels["node-role.kubernetes.io/worker"] = ""; }));
        assert.deepEqual(Object.keys(c).filter((k) => c[k] !== a[k]), ["label-node-worker-0"]);
        // A host without labels has no label-node step.
        const d = planCluster(cfgWith((raw) => { raw["cluster"].hosts[1].labels = {}; }));
        assert.equal(d.some((s) => s.name === "label-node-worker-0"), false);
    });

    it("the lab profile puts MICROSEG_* on every command line (the host's own root; the control plane's for its steps)", () => {
        const lab = planCluster(cfgWith(), { kind: "lab", roots: { "cp-0": "/r/1", "worker-0": "/r/2", "worker-1": "/r/3" }, labPath: "/lab/bin" });
        const p = byName(lab);
        assert.match(p["prepare-host-worker-0"]!.create.command, /MICROSEG_HOST_PROFILE=lab MICROSEG_LAB_PATH=\/lab\/bin MICROSEG_ROOT=\/r\/2 /);
        assert.match(p["kubeadm-join-worker-0"]!.createStdinFrom!.create.command, / MICROSEG_ROOT=\/r\/1 /);
        assert.match(p["kubeadm-join-worker-0"]!.deleteFirst!.delete.command, / MICROSEG_ROOT=\/r\/1 .* MICROSEG_ROOT=\/r\/1 /);
        assert.match(p["label-node-worker-0"]!.delete!.command, / MICROSEG_ROOT=\/r\/1 /);
        assert.match(p["kubeadm-join-worker-0"]!.delete!.command, / MICROSEG_ROOT=\/r\/2 bash -s$/);
        assert.throws(() => profileEnv({ kind: "lab", roots: {} }, "cp-0"), { message: 'hostProfile: no lab root for host "cp-0". Fix: add it to hostProfile.roots' });
        // The default profile sets nothing: real Ubuntu.
        assert.doesNotMatch(planCluster(cfgWith()).map((s) => s.create.command).join("\n"), /MICROSEG_/);
    });

    it("HA: extra control planes join one after another, workers all at once", () => {
        const prod = (() => {
            const raw = YAML.parse(fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8")).config as Record<string, any>;
            const r = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^microseg:/, ""), v]));
            delete r["cluster"].ssh.privateKeyPath;
            delete r["cluster"].ssh.agent;
            r["cluster"].ssh.privateKey = Secret.of(KEY);
            return parseConfig(r, { checkFiles: false });
        })();
        const joins = planCluster(prod).filter((s) => s.stepName === "kubeadm-join").map((s) => [s.name, s.after]);
        assert.deepEqual(joins, [
            ["kubeadm-join-cp-1", ["prepare-host-cp-1", "read-kubeconfig-cp-0"]],
            ["kubeadm-join-cp-2", ["prepare-host-cp-2", "read-kubeconfig-cp-0", "kubeadm-join-cp-1"]],
            ["kubeadm-join-worker-0", ["prepare-host-worker-0", "read-kubeconfig-cp-0"]],
            ["kubeadm-join-worker-1", ["prepare-host-worker-1", "read-kubeconfig-cp-0"]],
            ["kubeadm-join-worker-2", ["prepare-host-worker-2", "read-kubeconfig-cp-0"]],
        ]);
        const token = (n: string) => planCluster(prod).find((s) => s.name === `kubeadm-join-${n}`)!.createStdinFrom!.create.env["CONTROL_PLANE"];
        assert.deepEqual([token("cp-1"), token("worker-0")], ["1", "0"], "a control-plane join gets a certificate key");
    });

    it("rewriteKubeconfigServer sets the endpoint and keeps the rest", () => {
        const kc = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n    server: https://10.0.0.5:6443\n  name: kubernetes\nkind: Config\n";
        const out = YAML.parse(rewriteKubeconfigServer(kc, { host: "fd00::1", port: 6443 }));
        assert.deepEqual(out.clusters[0].cluster, { "certificate-authority-data": "QUJD", server: "https://[fd00::1]:6443" });
        assert.throws(() => rewriteKubeconfigServer("kind: Config\n", { host: "a", port: 1 }), { message: "read-kubeconfig: /etc/kubernetes/admin.conf has no clusters" });
    });
});

// ---------------------------------------------------------------------------------------------------------
// Under mocks

interface Registered { type: string; name: string; inputs: any; urn: string }
const registered: Registered[] = [];
/** The bastion key a wait-ssh "saw" under the mocks; BASTION_PINNED is one set in config. */
const BASTION_SEEN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBASTIONSEEN";
const BASTION_PINNED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBASTIONPINNED";
const PREFLIGHT_OUT = (host: string) => `identity hostname=${host} product_uuid=uuid-${host} macs=none\n`;
const KUBECONFIG = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.5:6443\n  name: kubernetes\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: S0VZ\n";

before(async () => {
    await pulumi.runtime.setMocks({
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs, urn: "" });
            const step = String(args.inputs["stepName"] ?? "");
            const host = String(args.inputs["hostName"] ?? "");
            const stdout = step === "preflight" ? PREFLIGHT_OUT(host)
                : step === "read-kubeconfig" ? KUBECONFIG
                : "";
            const conn = args.inputs["connection"]?.value ?? args.inputs["connection"];
            const proxyHostKey = conn?.proxy ? { proxyHostKey: BASTION_SEEN } : {};
            return { id: `${args.name}-id`, state: { ...args.inputs, stdout, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA", ...proxyHostKey } };
        },
        call: () => ({}),
    }, "microseg", "test", false);
});

const out = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("KubeadmCluster under mocks", () => {
    it("registers the plan's SshCommands under the component, triggers = the step's hash, secrets kept secret", async () => {
        const cfg = cfgWith();
        const c = new KubeadmCluster("cluster", { config: cfg });
        assert.deepEqual(await out(c.nodeNames), ["cp-0", "worker-0", "worker-1"]);
        const plan = planCluster(cfg);
        const cmds = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/microseg:SshCommand");
        assert.deepEqual(cmds.map((r) => r.name).sort(), plan.map((s) => s.name).sort());
        for (const s of plan) {
            const r = cmds.find((x) => x.name === s.name)!;
            assert.deepEqual(r.inputs.triggers, [s.create.triggerHash, ...(s.createStdinFrom ? [s.createStdinFrom.create.triggerHash] : [])], s.name);
            assert.equal(r.inputs.stepName, s.stepName);
            assert.equal(r.inputs.delete === undefined, s.delete === undefined, `${s.name} delete`);
        }
        // One identity check for the cluster: the preflight output of every host, and each host's preflight command
        // (to read again on a clash), each host pinned to its wait-ssh key.
        const idc = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/microseg:IdentityCheck");
        assert.deepEqual(idc.map((r) => r.name), ["check-identity"]);
        const preflight = (h: string) => plan.find((p) => p.name === `preflight-${h}`)!.create;
        assert.deepEqual(idc[0]!.inputs.commands, Object.fromEntries(["cp-0", "worker-0", "worker-1"].map((h) => [h, { command: preflight(h).command, stdin: preflight(h).script }])));
        assert.deepEqual(idc[0]!.inputs.recorded, { "cp-0": PREFLIGHT_OUT("cp-0"), "worker-0": PREFLIGHT_OUT("worker-0"), "worker-1": PREFLIGHT_OUT("worker-1") });
        assert.deepEqual(idc[0]!.inputs.hosts.value.map((h: any) => [h.hostName, h.connection.hostKey]), [
            ["cp-0", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"], ["worker-0", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"], ["worker-1", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"],
        ]);
        // Parent: every step's URN is below the component's.
        const urn = await out(c.steps["kubeadm-init-cp-0"]!.urn);
        assert.match(urn, /::microseg:cluster:KubeadmCluster\$pulumi-nodejs:dynamic\/microseg:SshCommand::kubeadm-init-cp-0$/);
        assert.equal(await pulumi.isSecret(c.kubeconfig), true);
        // A step's secret stdout is the engine's additionalSecretOutputs (mocks do not apply them): the lab test
        // checks it in the real stack export. The join runs create-join-token on cp-0 first, pinned to cp-0's key.
        // Both carry cp-0's connection (its private key), so each arrives as a whole secret.
        const join = cmds.find((r) => r.name === "kubeadm-join-worker-0")!.inputs;
        const from = join.createStdinFrom.value;
        const first = join.deleteFirst.value;
        assert.deepEqual([from.hostName, from.stepName, first.hostName, first.stepName],
            ["cp-0 (for worker-0)", "create-join-token", "cp-0 (for worker-0)", "remove-node"]);
        assert.match(await out(c.kubeconfig), /server: https:\/\/192\.168\.1\.222:6443/);
        assert.deepEqual(await out(c.nodeAddresses), ["192.168.1.222", "192.168.1.223", "192.168.1.224"]);
        assert.deepEqual(await out(c.apiEndpoint), { host: "192.168.1.222", port: 6443 });
        // Later steps pin the key wait-ssh recorded; wait-ssh dials longer.
        const raw = (n: string) => cmds.find((r) => r.name === n)!.inputs.connection;
        // The connection holds the private key, so it arrives as a whole secret (the SDK's secret envelope).
        const SECRET_SIG = "4dabf18193072939515e22adb298388d";
        assert.equal(raw("wait-ssh-cp-0")[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270");
        const conn = (n: string) => raw(n).value;
        assert.equal(conn("wait-ssh-cp-0").privateKey, KEY);
        assert.equal(conn("prepare-host-worker-0").hostKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA");
        assert.equal(from.connection.hostKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA");
        assert.equal(from.connection.host, "192.168.1.222", "the first control plane's address");
        assert.equal(conn("wait-ssh-worker-0").hostKey, undefined);
        assert.deepEqual([conn("wait-ssh-worker-0").dialRetries, conn("prepare-host-worker-0").dialRetries], [10, 2]);
    });
});

describe("KubeadmCluster through a bastion, under mocks", () => {
    /** Every connection registered for the cluster's steps (their own, their prelude's), by where it is used. */
    const connections = (prefix: string) => {
        const out: Array<[string, any]> = [];
        for (const r of registered.filter((x) => x.type === "pulumi-nodejs:dynamic/microseg:SshCommand" && x.name.startsWith(prefix))) {
            out.push([r.name, r.inputs.connection.value]);
            for (const k of ["createStdinFrom", "deleteFirst"]) if (r.inputs[k]) out.push([`${r.name} ${k}`, r.inputs[k].value.connection]);
        }
        for (const r of registered.filter((x) => x.type === "pulumi-nodejs:dynamic/microseg:IdentityCheck" && x.name.startsWith(prefix))) {
            for (const h of r.inputs.hosts.value) out.push([`${r.name} ${h.hostName}`, h.connection]);
        }
        return out;
    };
    const renamed = (cfg: StackConfig, prefix: string): StackConfig => {
        if (cfg.cluster.mode !== "kubeadm") throw new Error("kubeadm only");
        return { ...cfg, cluster: { ...cfg.cluster, hosts: cfg.cluster.hosts.map((h) => ({ ...h, name: `${prefix}${h.name}` })) } };
    };

    it("unpinned: the first host's wait-ssh records the bastion's key; every other step, on every host, pins it", async () => {
        const cfg = renamed(cfgWith((raw) => { raw["cluster"].ssh.bastion = { address: "192.168.1.10" }; }), "a-");
        const c = new KubeadmCluster("cluster-a", { config: cfg });
        await out(c.nodeNames);
        const conns = connections("");
        const mine = conns.filter(([n]) => n.includes("a-cp-0") || n.includes("a-worker-"));
        assert.ok(mine.length >= 20, `${mine.length} connections`);
        for (const [where, conn] of mine) {
            assert.equal(conn.proxy.host, "192.168.1.10", where);
            assert.equal(conn.proxy.hostKeySetting, "cluster.ssh.bastion.hostKey", where);
            if (where === "wait-ssh-a-cp-0") assert.equal(conn.proxy.hostKey, undefined, "the recording step trusts its first contact");
            else assert.equal(conn.proxy.hostKey, BASTION_SEEN, where);
        }
        // The cross-host steps (label-node, and the join's token and drain steps on the first control plane) too.
        const names = mine.map(([n]) => n);
        for (const n of ["label-node-a-worker-0", "kubeadm-join-a-worker-0 createStdinFrom", "kubeadm-join-a-worker-0 deleteFirst", "check-identity a-worker-1"]) assert.ok(names.includes(n), n);
        assert.deepEqual(mine.filter(([n]) => n.startsWith("wait-ssh-")).map(([n, conn]) => [n, conn.hostKeySetting]),
            [["wait-ssh-a-cp-0", "cluster.hosts[0].hostKey"], ["wait-ssh-a-worker-0", "cluster.hosts[1].hostKey"], ["wait-ssh-a-worker-1", "cluster.hosts[2].hostKey"]]);
    });

    it("pinned in config (cluster.ssh.bastion.hostKey, or a host's own bastion): every step pins that key, the first contact too", async () => {
        const cfg = renamed(cfgWith((raw) => {
            raw["cluster"].ssh.bastion = { address: "192.168.1.10", hostKey: BASTION_PINNED };
            raw["cluster"].hosts[2].ssh = { bastion: { address: "192.168.1.11" } };
        }), "b-");
        const c = new KubeadmCluster("cluster-b", { config: cfg });
        await out(c.nodeNames);
        const mine = connections("").filter(([n]) => n.includes("b-cp-0") || n.includes("b-worker-"));
        for (const [where, conn] of mine) {
            // worker-1's own (unpinned) bastion is recorded by worker-1's wait-ssh: no other host goes through it.
            // (label-node-b-worker-1 and the join's preludes run on cp-0.)
            const own = /^(wait-ssh|preflight|prepare-host|kubeadm-join)-b-worker-1$/.test(where) || where === "check-identity b-worker-1";
            if (own) {
                assert.deepEqual([conn.proxy.host, conn.proxy.hostKeySetting], ["192.168.1.11", "cluster.hosts[2].ssh.bastion.hostKey"], where);
                assert.equal(conn.proxy.hostKey, where === "wait-ssh-b-worker-1" ? undefined : BASTION_SEEN, where);
            } else {
                assert.deepEqual([conn.proxy.host, conn.proxy.hostKey], ["192.168.1.10", BASTION_PINNED], where);
            }
        }
    });
});

// components/cluster/identity-check.ts: the decision on the recorded preflight lines (whether the hosts must be read
// again before a clash is refused). The SSH part runs in test/lab/kubeadm-cluster.test.ts against real sshd hosts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recordedClashes, type IdentityCheckInputs } from "../../components/cluster/identity-check";

const line = (host: string, uuid: string, mac: string) => `identity hostname=${host} product_uuid=${uuid} macs=${mac}\n`;
const inputs = (recorded: Record<string, string>): IdentityCheckInputs => ({
    hosts: Object.keys(recorded).map((hostName) => ({ hostName, connection: { host: "10.0.0.1", user: "ubuntu", privateKey: "K" } })),
    commands: Object.fromEntries(Object.keys(recorded).map((h) => [h, { command: "sudo -n env bash -s", stdin: "preflight\n" }])),
    recorded,
});

describe("IdentityCheck: the recorded preflight lines", () => {
    it("unique hosts: no clash, so no host is read again", () => {
        const r = recordedClashes(inputs({ "cp-0": line("cp-0", "u-0", "52:54:00:00:00:01"), "worker-0": line("worker-0", "u-1", "52:54:00:00:00:02") }));
        assert.deepEqual(r.clashes, []);
        assert.deepEqual(r.identities.map(([h, id]) => [h, id.productUuid]), [["cp-0", "u-0"], ["worker-0", "u-1"]]);
    });

    it("a shared product_uuid or MAC is a clash naming both hosts (then the hosts are read again)", () => {
        const r = recordedClashes(inputs({ "worker-0": line("worker-0", "u-1", "52:54:00:00:00:02"), "worker-1": line("worker-1", "U-1", "52:54:00:00:00:02") }));
        assert.deepEqual(r.clashes, [
            'preflight: hosts "worker-0" and "worker-1" share the product_uuid "u-1"; kubeadm needs it unique per node. Fix: cloned VMs need a fresh SMBIOS UUID (recreate the VM or change its uuid in the hypervisor)',
            'preflight: hosts "worker-0" and "worker-1" share the MAC address "52:54:00:00:00:02"; kubeadm needs it unique per node. Fix: cloned VMs need fresh MAC addresses (regenerate them in the hypervisor)',
        ]);
    });

    it("a host without a recorded line (unknown, or an older preflight) must be read", () => {
        const r = recordedClashes(inputs({ "cp-0": line("cp-0", "u-0", "none"), "worker-0": "" }));
        assert.deepEqual(r.clashes, ["worker-0: no identity line recorded"]);
    });
});

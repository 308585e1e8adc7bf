// lib/cilium/cilium-values.ts and lib/cilium/chart-schema.ts against the released Cilium chart pinned by lab/versions.env
// (lab/cilium-share.ts: built by lab/setup.sh, never vendored). Golden files: test/unit/golden/, rewrite with UPDATE_GOLDEN=1.
import { strict as assert } from "node:assert";
import { FIXTURE_POLICIES } from "../fixtures/stack-policies";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import * as YAML from "yaml";
import {
    buildAndValidateCiliumValues, buildCiliumValues, CiliumValuesError, renderCiliumValuesArtefact,
    type CiliumValuesArgs,
} from "../../lib/cilium/cilium-values";
import { loadChartValidator, validateChartValues } from "../../lib/cilium/chart-schema";
import { ciliumShare } from "../../lab/cilium-share";
import { assertGolden } from "../fixtures/golden";

const { chartDir: CHART, version: CHART_VERSION } = ciliumShare();

/** The walk-through's cluster: node 192.168.1.222, `kubeadm init --pod-network-cidr=10.97.0.0/16`. */
const BASE: CiliumValuesArgs = { k8sServiceHost: "192.168.1.222", podCidr: "10.97.0.0/16", relay: { nodePort: 31245 } };

/** The walk-through's `helm install ... --set` flags, as chart values. */
const WALKTHROUGH_SETS = {
    kubeProxyReplacement: "strict",
    hubble: { relay: { enabled: true }, ui: { enabled: true } },
    "enable-hubble": true,
};

function problemsOf(args: CiliumValuesArgs): readonly string[] {
    try {
        buildAndValidateCiliumValues(args, CHART);
    } catch (e) {
        if (e instanceof CiliumValuesError) return e.problems;
        throw e;
    }
    assert.fail("expected the values to be refused");
}

describe("chart schema", () => {
    it("reads Chart.yaml and the draft the chart's values.schema.json declares (draft-07)", () => {
        const v = loadChartValidator(CHART);
        assert.equal(v.metadata.name, "cilium");
        assert.equal(v.metadata.version, CHART_VERSION);
        assert.equal(v.metadata.appVersion, CHART_VERSION);
        assert.equal(v.draft, "http://json-schema.org/draft-07/schema#");
    });
    it("the chart's own values.yaml validates against its schema (the validator is not too strict)", () => {
        const defaults = YAML.parse(fs.readFileSync(path.join(CHART, "values.yaml"), "utf8"));
        assert.deepEqual(validateChartValues(CHART, defaults), []);
    });
});

describe("walk-through settings next to the corrected ones", () => {
    it("golden: the walk-through's --set flags are refused, every problem listed (strict removed in 1.15, enable-hubble not a chart value)", () => {
        const problems = problemsOf({ ...BASE, overrides: WALKTHROUGH_SETS });
        assertGolden("cilium-values.walkthrough.yaml", YAML.stringify({ walkthroughSets: WALKTHROUGH_SETS, problems }, { lineWidth: 0 }));
    });
    it("golden: corrected values = kubeProxyReplacement true, apiserver endpoint set (no kube-proxy), kubernetes IPAM from podSubnet (not the chart's 10.0.0.0/8), relay on NodePort 31245 with mTLS (4245 is outside 30000-32767)", () => {
        assertGolden("cilium-values.corrected.yaml", renderCiliumValuesArtefact(BASE, { chartDir: CHART }).content);
    });
    it("golden: cluster-pool variant pins the pool to the pod CIDR instead of the chart's default 10.0.0.0/8", () => {
        const values = buildAndValidateCiliumValues({ ...BASE, ipamMode: "cluster-pool" }, CHART);
        assertGolden("cilium-values.cluster-pool.yaml", YAML.stringify(values, { lineWidth: 0 }));
    });
    it("walk-through kubeProxyReplacement=strict → corrected true (boolean, never \"strict\")", () => {
        assert.equal(buildCiliumValues(BASE).kubeProxyReplacement, true);
    });
    it("walk-through had no k8sServiceHost/Port → corrected: the control-plane endpoint, since no kube-proxy translates the Service VIP", () => {
        const v = buildCiliumValues({ ...BASE, k8sServicePort: 8443 });
        assert.deepEqual([v.k8sServiceHost, v.k8sServicePort], ["192.168.1.222", 8443]);
    });
    it("walk-through relied on the chart's cluster-pool 10.0.0.0/8 ≠ --pod-network-cidr 10.97.0.0/16 → corrected: kubernetes IPAM, no pool", () => {
        const v = buildCiliumValues(BASE);
        assert.deepEqual(v.ipam, { mode: "kubernetes" });
        assert.equal(JSON.stringify(v).includes("10.0.0.0/8"), false);
    });
    it("walk-through relay nodePort 4245 (outside 30000-32767) → refused with a port in range suggested", () => {
        assert.deepEqual(problemsOf({ ...BASE, relay: { nodePort: 4245 } }), [
            "hubble.relay.nodePort: outside the cluster's NodePort range 30000-32767 (4245). Choose a port in 30000-32767 (e.g. 31245), or widen cluster.serviceNodePortRange.",
        ]);
    });
});

describe("good values validate against the real values.schema.json", () => {
    const goods: [string, CiliumValuesArgs][] = [
        ["defaults, relay not exposed", { k8sServiceHost: "10.0.0.10", podCidr: "10.244.0.0/16" }],
        ["relay and UI exposed", { ...BASE, ui: { nodePort: 31246 } }],
        ["cluster-pool /20 nodes", { ...BASE, ipamMode: "cluster-pool", clusterPoolMaskSize: 20 }],
        ["no Hubble TLS, relay internal", { k8sServiceHost: "cp.example.internal", podCidr: "10.97.0.0/16", tls: { enabled: false }, relay: { tls: false } }],
        ["cronJob certs, enforcement always, no L7", { ...BASE, tls: { method: "cronJob" }, policyEnforcementMode: "always", l7Proxy: false }],
        ["no relay, no UI", { k8sServiceHost: "10.0.0.10", podCidr: "10.97.0.0/16", relay: { enabled: false }, ui: { enabled: false } }],
        ["benign overrides merged", { ...BASE, overrides: { operator: { replicas: 1 }, hubble: { relay: { replicas: 2 } }, kubeProxyReplacement: true } }],
        ["custom NodePort range", { ...BASE, relay: { nodePort: 20245 }, nodePortRange: { min: 20000, max: 22767 } }],
    ];
    for (const [name, args] of goods) {
        it(name, () => {
            const values = buildCiliumValues(args);
            assert.deepEqual(validateChartValues(CHART, values), []);
            assert.equal(values.kubeProxyReplacement, true);
        });
    }
    it("property: any in-range nodePort and any aligned IPv4 pod CIDR /8-/24 give schema-valid values", () => {
        fc.assert(fc.property(
            fc.integer({ min: 30000, max: 32767 }), fc.integer({ min: 8, max: 24 }), fc.ipV4(),
            (nodePort, len, ip) => {
                const n = ip.split(".").map(Number).reduce((a, b) => a * 256 + b, 0);
                const net = n - (n % 2 ** (32 - len));
                const cidr = `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join(".")}/${len}`;
                const values = buildCiliumValues({ k8sServiceHost: "10.1.1.1", podCidr: cidr, relay: { nodePort }, ipamMode: "cluster-pool", clusterPoolMaskSize: 26 });
                assert.deepEqual(validateChartValues(CHART, values), []);
                assert.deepEqual(values.ipam.operator?.clusterPoolIPv4PodCIDRList, [cidr]);
            },
        ), { numRuns: 50 });
    });
    it("overrides merge deep and last, without mutating the input", () => {
        const overrides = { hubble: { relay: { replicas: 2 } } };
        const v = buildCiliumValues({ ...BASE, overrides });
        assert.equal((v.hubble.relay as Record<string, unknown>)["replicas"], 2);
        assert.equal(v.hubble.relay.service?.nodePort, 31245);
        assert.deepEqual(overrides, { hubble: { relay: { replicas: 2 } } });
    });
});

describe("bad values: exact messages", () => {
    const cases: [string, CiliumValuesArgs, string[]][] = [
        ["kubeProxyReplacement strict", { ...BASE, overrides: { kubeProxyReplacement: "strict" } }, [
            'cilium.valuesOverrides.kubeProxyReplacement: legacy value removed in Cilium 1.15, the chart accepts only true or false ("strict"). Remove the override; the builder sets true because kube-proxy is not installed.',
        ]],
        ["kubeProxyReplacement false", { ...BASE, overrides: { kubeProxyReplacement: false } }, [
            "cilium.valuesOverrides.kubeProxyReplacement: must be true: kube-proxy is not installed, the agent replaces it (false). Remove the override.",
        ]],
        ["kubeProxyReplacement the string \"true\"", { ...BASE, overrides: { kubeProxyReplacement: "true" } }, [
            'cilium.valuesOverrides.kubeProxyReplacement: must be true: kube-proxy is not installed, the agent replaces it ("true"). Remove the override.',
        ]],
        ["k8sServiceHost changed", { ...BASE, overrides: { k8sServiceHost: "10.96.0.1" } }, [
            'cilium.valuesOverrides.k8sServiceHost: must stay the control-plane endpoint "192.168.1.222" (without kube-proxy the agent dials the apiserver directly) ("10.96.0.1"). Change cluster.controlPlaneEndpoint instead of overriding it.',
        ]],
        ["k8sServicePort as a string", { ...BASE, overrides: { k8sServicePort: "6443" } }, [
            'cilium.valuesOverrides.k8sServicePort: must stay the control-plane endpoint port 6443 ("6443"). Change the port of cluster.controlPlaneEndpoint instead of overriding it.',
        ]],
        ["k8sServiceHostRef set", { ...BASE, overrides: { k8sServiceHostRef: { name: "cluster-info", key: "host" } } }, [
            'cilium.valuesOverrides.k8sServiceHostRef.name: conflicts with k8sServiceHost, which the builder sets (the chart fails when both are set) ("cluster-info"). Remove the override.',
        ]],
        ["ipam.mode cluster-pool over kubernetes", { ...BASE, overrides: { ipam: { mode: "cluster-pool" } } }, [
            'cilium.valuesOverrides.ipam.mode: conflicts with cilium.ipam.mode "kubernetes" and the pod CIDR 10.97.0.0/16 ("cluster-pool"). Set cilium.ipam.mode instead.',
        ]],
        ["pool set in kubernetes mode", { ...BASE, overrides: { ipam: { operator: { clusterPoolIPv4PodCIDRList: ["10.97.0.0/16"] } } } }, [
            'cilium.valuesOverrides.ipam.operator.clusterPoolIPv4PodCIDRList: has no effect with cilium.ipam.mode "kubernetes" (node podCIDRs come from kubeadm\'s podSubnet 10.97.0.0/16) (["10.97.0.0/16"]). Remove the override, or set cilium.ipam.mode "cluster-pool".',
        ]],
        ["cluster-pool pool outside the pod CIDR (the chart default 10.0.0.0/8)", { ...BASE, ipamMode: "cluster-pool", overrides: { ipam: { operator: { clusterPoolIPv4PodCIDRList: ["10.0.0.0/8"] } } } }, [
            'cilium.valuesOverrides.ipam.operator.clusterPoolIPv4PodCIDRList: pool "10.0.0.0/8" is not inside the pod CIDR 10.97.0.0/16 (kubeadm\'s podSubnet) (["10.0.0.0/8"]). Remove the override (the builder sets [podCidr]), or change cluster.podCidr.',
        ]],
        ["cluster-pool mask size overridden", { ...BASE, ipamMode: "cluster-pool", overrides: { ipam: { operator: { clusterPoolIPv4MaskSize: 20 } } } }, [
            "cilium.valuesOverrides.ipam.operator.clusterPoolIPv4MaskSize: conflicts with the per-node block size /24 microseg uses (the same as kube-controller-manager's --node-cidr-mask-size, which cluster.podCidr is checked against) (20). Remove the override.",
        ]],
        ["k8s.requireIPv4PodCIDR off in kubernetes mode", { ...BASE, overrides: { k8s: { requireIPv4PodCIDR: false } } }, [
            'cilium.valuesOverrides.k8s.requireIPv4PodCIDR: with cilium.ipam.mode "kubernetes" the agent must wait for its node\'s podCIDR (false). Remove the override.',
        ]],
        ["hubble off", { ...BASE, overrides: { hubble: { enabled: false } } }, [
            "cilium.valuesOverrides.hubble.enabled: Hubble must stay on (flows are how policies are verified) (false). Remove the override.",
        ]],
        ["relay off while exposed", { ...BASE, overrides: { hubble: { relay: { enabled: false } } } }, [
            "cilium.valuesOverrides.hubble.relay.enabled: turns the relay off while microseg deploys it and exposes it on NodePort 31245 (the Hubble UI and the hubble CLI read flows through it) (false). Remove the override (hubble.relay.expose decides only whether the relay is on a NodePort).",
        ]],
        ["relay block nulled", { ...BASE, overrides: { hubble: { relay: null } } }, [
            "cilium.valuesOverrides.hubble.relay: turns the relay off while microseg deploys it and exposes it on NodePort 31245 (the Hubble UI and the hubble CLI read flows through it) (null). Remove the override (hubble.relay.expose decides only whether the relay is on a NodePort).",
            "cilium.valuesOverrides.hubble.relay: turns relay TLS off while hubble.relay.tls is true (null). Set hubble.relay.tls instead.",
            "cilium.valuesOverrides.hubble.relay: turns client-certificate checks off on a relay exposed on NodePort 31245 (null). Remove the override.",
            "cilium.valuesOverrides.hubble.relay: must stay NodePort: the relay is exposed on NodePort 31245 (null). Remove the override, or turn hubble.relay.expose off.",
            "cilium.valuesOverrides.hubble.relay: conflicts with hubble.relay.nodePort 31245 (null). Set hubble.relay.nodePort instead.",
        ]],
        ["UI off while asked", { ...BASE, overrides: { hubble: { ui: { enabled: false } } } }, [
            "cilium.valuesOverrides.hubble.ui.enabled: turns the Hubble UI off while microseg deploys it (false). Remove the override (hubble.ui.expose decides only whether the UI is on a NodePort).",
        ]],
        ["Hubble TLS off while required", { ...BASE, overrides: { hubble: { tls: { enabled: false } } } }, [
            "cilium.valuesOverrides.hubble.tls.enabled: turns Hubble TLS off (microseg keeps it on: the relay authenticates the agents with it) (false). Remove the override.",
        ]],
        ["certificate generation off", { ...BASE, overrides: { hubble: { tls: { auto: { enabled: false } } } } }, [
            "cilium.valuesOverrides.hubble.tls.auto.enabled: turns certificate generation off while Hubble TLS is on (false). Remove the override.",
        ]],
        ["certmanager method by override", { ...BASE, overrides: { hubble: { tls: { auto: { method: "certmanager" } } } } }, [
            'cilium.valuesOverrides.hubble.tls.auto.method: conflicts with the certificate method microseg uses, "helm" (a certmanager issuer is not created here) ("certmanager"). Remove the override.',
        ]],
        ["relay server TLS off", { ...BASE, overrides: { hubble: { relay: { tls: { server: { enabled: false } } } } } }, [
            "cilium.valuesOverrides.hubble.relay.tls.server.enabled: turns relay TLS off while hubble.relay.tls is true (false). Set hubble.relay.tls instead.",
        ]],
        ["relay mTLS off while exposed", { ...BASE, overrides: { hubble: { relay: { tls: { server: { mtls: false } } } } } }, [
            "cilium.valuesOverrides.hubble.relay.tls.server.mtls: turns client-certificate checks off on a relay exposed on NodePort 31245 (false). Remove the override.",
        ]],
        ["relay Service back to ClusterIP", { ...BASE, overrides: { hubble: { relay: { service: { type: "ClusterIP" } } } } }, [
            'cilium.valuesOverrides.hubble.relay.service.type: must stay NodePort: the relay is exposed on NodePort 31245 ("ClusterIP"). Remove the override, or turn hubble.relay.expose off.',
        ]],
        ["relay nodePort changed by override", { ...BASE, overrides: { hubble: { relay: { service: { nodePort: 31999 } } } } }, [
            "cilium.valuesOverrides.hubble.relay.service.nodePort: conflicts with hubble.relay.nodePort 31245 (31999). Set hubble.relay.nodePort instead.",
        ]],
        ["relay exposed by override only", { k8sServiceHost: "10.0.0.10", podCidr: "10.97.0.0/16", overrides: { hubble: { relay: { service: { type: "NodePort" } } } } }, [
            'cilium.valuesOverrides.hubble.relay.service.type: exposes the relay while hubble.relay.expose is off ("NodePort"). Set hubble.relay.expose: true (and hubble.relay.nodePort) instead.',
        ]],
        ["L7 proxy off while policies have L7 rules", { ...BASE, l7Proxy: true, overrides: { l7Proxy: false } }, [
            "cilium.valuesOverrides.l7Proxy: turns the L7 proxy off while policies have L7 (HTTP/Kafka/DNS) rules (false). Remove the override, or remove the L7 rules.",
        ]],
        ["policyEnforcementMode by override", { ...BASE, overrides: { policyEnforcementMode: "always" } }, [
            'cilium.valuesOverrides.policyEnforcementMode: conflicts with cilium.policyEnforcementMode "default" ("always"). Set cilium.policyEnforcementMode instead.',
        ]],
        ["args: apiserver URL instead of a host", { ...BASE, k8sServiceHost: "https://10.0.0.1:6443" }, [
            'cluster.controlPlaneEndpoint: must be a bare host, without scheme, port or path ("https://10.0.0.1:6443"). Use "10.0.0.1"; the port is the endpoint\'s port.',
        ]],
        ["args: pod CIDR with host bits", { ...BASE, podCidr: "10.97.0.1/16" }, [
            'cluster.podCidr: host bits are set ("10.97.0.1/16"). Did you mean "10.97.0.0/16"?',
        ]],
        ["args: pod CIDR without a prefix length", { ...BASE, podCidr: "10.97.0.0" }, [
            'cluster.podCidr: not a CIDR, the prefix length is missing ("10.97.0.0"). Did you mean "10.97.0.0/16"?',
        ]],
        ["args: exposed relay without TLS", { ...BASE, relay: { nodePort: 31245, tls: false } }, [
            "hubble.relay.tls: a relay exposed on a NodePort must serve TLS with client certificates (false). Set hubble.relay.tls true, or turn hubble.relay.expose off and use kubectl port-forward.",
        ]],
        ["args: UI without relay", { k8sServiceHost: "10.0.0.10", podCidr: "10.97.0.0/16", relay: { enabled: false } }, [
            "buildCiliumValues ui.enabled: the Hubble UI needs the relay (relay.enabled false). Set relay.enabled true, or ui.enabled false.",
        ]],
        ["args: relay TLS without Hubble TLS", { k8sServiceHost: "10.0.0.10", podCidr: "10.97.0.0/16", tls: { enabled: false } }, [
            "buildCiliumValues relay.tls: relay TLS uses the certificates of Hubble TLS, which is off (tls.enabled false). Set tls.enabled true, or relay.tls false.",
        ]],
        ["args: unknown IPAM mode", { ...BASE, ipamMode: "eni" as never }, [
            'cilium.ipam.mode: not supported ("eni"). Use one of "kubernetes", "cluster-pool".',
        ]],
        ["args: relay and UI on the same NodePort", { ...BASE, ui: { nodePort: 31245 } }, [
            "hubble.ui.nodePort: same NodePort as hubble.relay.nodePort (31245). Give the UI and the relay different ports.",
        ]],
        ["schema: enable-hubble is an agent flag, not a chart value", { ...BASE, overrides: { "enable-hubble": true } }, [
            "cilium.valuesOverrides.enable-hubble: not a value of the chart, it is an agent flag (true). Set cilium.valuesOverrides.hubble.enabled instead.",
        ]],
        ["schema: typo under hubble.relay", { ...BASE, overrides: { hubble: { relay: { replcias: 2 } } } }, [
            'cilium.valuesOverrides.hubble.relay.replcias: unknown key under hubble.relay (2). Did you mean "replicas"?',
        ]],
        ["schema: typo at the top level", { ...BASE, overrides: { opertor: { replicas: 1 } } }, [
            'cilium.valuesOverrides.opertor: unknown key at the top level ({"replicas":1}). Did you mean "operator"?',
        ]],
        ["schema: number as a string", { ...BASE, overrides: { operator: { replicas: "2" } } }, [
            'cilium.valuesOverrides.operator.replicas: wrong type, the chart expects integer, got string ("2"). Write it as a number (2), not a string.',
        ]],
        ["schema: boolean as a string", { ...BASE, overrides: { bpf: { masquerade: "true" } } }, [
            'cilium.valuesOverrides.bpf.masquerade: wrong type, the chart expects null or boolean, got string ("true"). Write it as a boolean (true), not a string.',
        ]],
        ["schema: integer expected, fraction given", { ...BASE, overrides: { MTU: 1450.5 } }, [
            "cilium.valuesOverrides.MTU: wrong type, the chart expects integer, got number (1450.5). Give a value of type integer.",
        ]],
        ["schema: enum", { ...BASE, overrides: { identityManagementMode: "cluster" } }, [
            'cilium.valuesOverrides.identityManagementMode: not one of the chart\'s allowed values ("cluster"). Use one of "agent", "operator", "both".',
        ]],
        ["schema: oneOf null-or-enum", { ...BASE, overrides: { envoy: { log: { defaultLevel: "loud" } } } }, [
            'cilium.valuesOverrides.envoy.log.defaultLevel: not accepted by the chart, it expects null or one of "trace", "debug", "info", "warning", "error", "critical", "off" ("loud"). Use null or one of "trace", "debug", "info", "warning", "error", "critical", "off".',
        ]],
    ];
    for (const [name, args, expected] of cases) {
        it(name, () => assert.deepEqual(problemsOf(args), expected));
    }
    it("every invariant broken at once: one error lists all of them", () => {
        const e = (() => {
            try {
                buildCiliumValues({ ...BASE, overrides: { kubeProxyReplacement: "strict", k8sServicePort: 443, hubble: { enabled: false, tls: { enabled: false } }, l7Proxy: false } });
            } catch (err) {
                return err as CiliumValuesError;
            }
            return assert.fail("not refused");
        })();
        assert.ok(e instanceof CiliumValuesError);
        assert.equal(e.problems.length, 5);
        assert.match(e.message, /^Cilium values are invalid \(5 problems\):\n {2}- cilium\.valuesOverrides\.kubeProxyReplacement: /);
    });
});

describe("renderCiliumValuesArtefact", () => {
    it("is deterministic YAML that round-trips to the builder's values", () => {
        const a = renderCiliumValuesArtefact(BASE);
        assert.equal(a.content, renderCiliumValuesArtefact(BASE).content);
        assert.deepEqual(YAML.parse(a.content), buildCiliumValues(BASE));
        assert.deepEqual([a.name, a.fileName, a.mediaType], ["cilium-values", "cilium-values.yaml", "application/yaml"]);
    });
});

// ---------------------------------------------------------------------------------------------------------
// Issue 11, point 4: every message names the setting the user wrote.
import { parseConfig as parseStackConfig, type StackConfig as StackCfg } from "../../config";
import { checkStack, ciliumValuesArgs } from "../../lib/stack/stack-plan";

const KEY_PATH_FILES = { pathKind: () => "file" as const, readFile: () => undefined };
function stack(edit: (c: Record<string, any>) => void = () => {}): StackCfg {
    const c: Record<string, any> = {
        environment: "dev",
        cluster: {
            mode: "kubeadm", kubernetesVersion: "1.34.2", ssh: { privateKeyPath: "~/.ssh/id" },
            hosts: [{ name: "cp-0", address: "10.30.0.10", role: "control-plane" }, { name: "w-0", address: "10.30.0.11", role: "worker" }],
        },
        cilium: { version: "1.19.3" },
    };
    edit(c);
    return parseStackConfig(c, { ...KEY_PATH_FILES, checkFiles: false });
}

describe("setting names in the builder's messages (issue 11, point 4)", () => {
    it("a bare IPv6 endpoint host is a host, not host:port", () => {
        assert.equal(buildCiliumValues({ ...BASE, k8sServiceHost: "fd00:30::10" }).k8sServiceHost, "fd00:30::10");
        assert.equal(buildCiliumValues({ ...BASE, k8sServiceHost: "fd00::1" }).k8sServiceHost, "fd00::1");
    });
    it("a bracketed IPv6 host:port is refused with the bare address suggested, naming the endpoint setting", () => {
        assert.deepEqual(problemsOf({ ...BASE, k8sServiceHost: "[fd00:30::10]:6443" }), [
            'cluster.controlPlaneEndpoint: must be a bare address, an IPv6 address without brackets or port ("[fd00:30::10]:6443"). Use "fd00:30::10".',
        ]);
    });
    it("stack: an IPv6 control-plane endpoint passes the builder (was: cilium.k8sServiceHost ... \"fd00:30:\")", () => {
        const cfg = stack((c) => (c.cluster.controlPlaneEndpoint = "[fd00:30::10]:6443"));
        assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).errors, []);
        assert.equal(buildCiliumValues(ciliumValuesArgs(cfg, FIXTURE_POLICIES)).k8sServiceHost, "fd00:30::10");
    });
    it("stack: an IPv6 first control-plane host without an endpoint passes too", () => {
        const cfg = stack((c) => (c.cluster.hosts[0].address = "fd00:30::10"));
        assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).errors, []);
    });
    it("stack: the endpoint problem names the host setting it came from when controlPlaneEndpoint is omitted", () => {
        const args = ciliumValuesArgs(stack((c) => c.cluster.hosts.reverse()), FIXTURE_POLICIES);
        assert.deepEqual(problemsOf({ ...args, k8sServiceHost: "https://10.30.0.10" }), [
            'cluster.hosts[1].address: must be a bare host, without scheme, port or path ("https://10.30.0.10"). Use "10.30.0.10"; the port is the endpoint\'s port.',
        ]);
    });
    it("stack: one host with a /24 pod CIDR under kubernetes IPAM is accepted (was: cilium.clusterPoolMaskSize)", () => {
        const cfg = stack((c) => {
            c.cluster.hosts = [c.cluster.hosts[0]];
            c.cluster.podCidr = "10.244.0.0/24";
        });
        assert.deepEqual(checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false }).errors, []);
        const pool = stack((c) => {
            c.cluster.hosts = [c.cluster.hosts[0]];
            c.cluster.podCidr = "10.244.0.0/24";
            c.cilium.ipam = { mode: "cluster-pool" };
        });
        assert.deepEqual(checkStack(pool, FIXTURE_POLICIES, "/proj", { checkFiles: false }).errors, []);
    });
    it("cluster-pool with a pod CIDR smaller than one node block names cluster.podCidr", () => {
        assert.deepEqual(problemsOf({ ...BASE, podCidr: "10.97.0.0/25", ipamMode: "cluster-pool" }), [
            'cluster.podCidr: smaller than one per-node /24 block of cluster-pool IPAM ("10.97.0.0/25"). Use a /24 or larger pod CIDR, e.g. "10.244.0.0/16".',
        ]);
    });

    // The class: from a stack config, every message starts with a setting that config.ts has (or a chart value
    // under cilium.valuesOverrides), never a builder argument name.
    const full = parseStackConfig({
        environment: "dev",
        cluster: {
            mode: "kubeadm", kubernetesVersion: "1.34.2", controlPlaneEndpoint: "k8s.example.com:6443",
            ssh: { privateKeyPath: "~/.ssh/id", bastion: { address: "b.example.com", user: "jump", privateKeyPath: "~/.ssh/b" } },
            hosts: [{ name: "cp-0", address: "10.30.0.10", publicAddress: "1.2.3.4", role: "control-plane", labels: { "node.example.com/a": "b" }, taints: [{ key: "k", value: "v", effect: "NoSchedule" }], ssh: { user: "u", port: 2222, agent: true } }],
        },
        cilium: { version: "1.19.3", ipam: { mode: "cluster-pool" }, valuesOverrides: { a: 1 } },
        hubble: { relay: { expose: true, nodePort: 31245, tls: true }, ui: { expose: true, nodePort: 31235 } },
    }, { checkFiles: false });
    const settings = new Set<string>();
    const walk = (v: unknown, at: string) => {
        if (at !== "") settings.add(at);
        if (Array.isArray(v)) v.forEach((x) => walk(x, `${at}[0]`));
        else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, at === "" ? k : `${at}.${k}`);
    };
    walk(JSON.parse(JSON.stringify(full)), "");
    const known = (setting: string) => settings.has(setting.replace(/\[\d+\]/g, "[0]")) || setting.startsWith("cilium.valuesOverrides");
    /** The line's own setting, and every setting its text names (e.g. "Set cilium.relay.enabled instead"), are real. */
    const realSetting = (line: string) => {
        if (line.startsWith("policies: ")) return true;
        const named = (line.slice(line.indexOf(": ")).match(/\b(?:cluster|cilium|hubble|safety)\.[A-Za-z0-9.[\]]*[A-Za-z0-9\]]/g) ?? [])
            .filter((t) => !/^cilium\.io\b/.test(t));
        return known(line.slice(0, line.indexOf(": "))) && named.every(known);
    };
    const overrides: Array<Record<string, unknown>> = [
        { kubeProxyReplacement: "strict" }, { k8sServiceHost: "1.1.1.1" }, { k8sServicePort: 1 }, { k8sServiceHostRef: { name: "x" } },
        { ipam: { mode: "cluster-pool" } }, { ipam: { operator: { clusterPoolIPv4PodCIDRList: ["10.0.0.0/8"] } } }, { k8s: { requireIPv4PodCIDR: false } },
        { hubble: { enabled: false } }, { hubble: { relay: { enabled: false } } }, { hubble: { ui: { enabled: false } } }, { hubble: { tls: { enabled: false } } },
        { hubble: { tls: { auto: { enabled: false, method: "certmanager" } } } }, { hubble: { relay: { tls: { server: { enabled: false, mtls: false } } } } },
        { hubble: { relay: { service: { type: "ClusterIP", nodePort: 1 } } } }, { hubble: { ui: { service: { type: "NodePort", nodePort: 30001 } } } },
        { policyEnforcementMode: "never" }, { l7Proxy: false }, { hubble: { relay: null } },
    ];
    it("class: every override refused, in either IPAM mode, relay exposed or not, names a real setting", () => {
        let refused = 0;
        for (const o of overrides) {
            for (const ipam of ["kubernetes", "cluster-pool"]) {
                for (const exposed of [true, false]) {
                    const cfg = stack((c) => {
                        c.cilium.valuesOverrides = o;
                        c.cilium.ipam = { mode: ipam };
                        c.hubble = { relay: { expose: exposed } };
                    });
                    const { errors } = checkStack(cfg, FIXTURE_POLICIES, "/proj", { checkFiles: false });
                    if (errors.length > 0) refused++;
                    for (const e of errors) assert.ok(realSetting(e), `${JSON.stringify(o)}, ${ipam}: not a setting of the stack config: ${e}`);
                }
            }
        }
        // A few combinations are fine (e.g. ipam.mode cluster-pool when it is already cluster-pool).
        assert.ok(refused >= 60, `${refused} of ${overrides.length * 4} refused`);
    });
    it("class: the builder's own argument checks, reached from stack values, name stack settings", () => {
        const args = ciliumValuesArgs(stack(), FIXTURE_POLICIES);
        const lines = [
            ...problemsOf({ ...args, k8sServiceHost: "" }), ...problemsOf({ ...args, k8sServicePort: 0 }),
            ...problemsOf({ ...args, podCidr: "fd00::/64" }), ...problemsOf({ ...args, ipamMode: "eni" as never }),
            ...problemsOf({ ...args, policyEnforcementMode: "x" as never }), ...problemsOf({ ...args, nodePortRange: { min: 2, max: 1 } }),
            ...problemsOf({ ...args, relay: { ...args.relay, nodePort: 80 } }), ...problemsOf({ ...args, ui: { nodePort: 31245 } }),
            ...problemsOf({ ...args, relay: { ...args.relay, tls: false } }), ...problemsOf({ ...args, overrides: [] as never }),
        ];
        assert.ok(lines.length >= 10, lines.join("\n"));
        for (const l of lines) assert.ok(realSetting(l), `not a setting of the stack config: ${l}`);
    });
});

// The microseg program: reads the stack config once, wires the components, exports the outputs.
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Cilium } from "./components/cilium/cilium";
import { RelayNodePort } from "./components/cilium/relay-node-port";
import { ExistingCluster, type ClusterAccess } from "./components/cluster/existing-cluster";
import { KubeadmCluster } from "./components/cluster/kubeadm-cluster";
import { Demo } from "./components/demo/demo";
import { guardClusterIdentity, readDeployedRecord, reportTrafficDiff } from "./components/environment/record-checks";
import { StackRecord } from "./components/environment/stack-record";
import { PolicySet } from "./components/policy/policy-set";
import { ConfigError, endpointHostPort, microsegConfigEntries, parseConfig, resolveConfigPath, type StackConfig } from "./config";
import { policies as userPolicies } from "./policies";
import { workloads } from "./policies/workloads";
import { clusterIdentity, identityData } from "./lib/cluster/cluster-identity";
import { ciliumChart, ciliumValuesArgs, deployedPolicies, omittedHttpRules, policyCheckContext } from "./lib/stack/stack-plan";
import { encodeTraffic, trafficSnapshot, TRAFFIC_MATRIX_KEY } from "./lib/policy/traffic-diff";
import { buildVerdictEngine } from "./lib/policy/verdicts";

function loadConfig(): StackConfig {
    try {
        return parseConfig(microsegConfigEntries(pulumi.runtime.allConfig()), { projectDir: __dirname });
    } catch (e) {
        // RunError: the engine prints the message alone, without a stack trace, and preview stops here.
        if (e instanceof ConfigError) throw new pulumi.RunError(`microseg: the stack config is invalid.\n${e.message}`);
        throw e;
    }
}

function cluster(cfg: StackConfig): ClusterAccess {
    const c = cfg.cluster;
    switch (c.mode) {
        case "existing": {
            const kubeconfig = c.kubeconfig !== undefined
                ? pulumi.secret(c.kubeconfig.reveal())
                : pulumi.secret(fs.readFileSync(resolveConfigPath(c.kubeconfigPath!, __dirname), "utf8"));
            return new ExistingCluster("cluster", {
                kubeconfig,
                context: c.context,
                controlPlaneEndpoint: endpointHostPort(cfg),
                nodeAddresses: c.nodeAddresses.length > 0 ? c.nodeAddresses : undefined,
            });
        }
        case "kubeadm":
            // The real Ubuntu host profile; only the lab tests drive the component with the lab profile.
            return new KubeadmCluster("cluster", { config: cfg, hostProfile: { kind: "ubuntu" }, projectDir: __dirname });
        default: {
            const never: never = c;
            throw new Error(`unknown cluster mode ${JSON.stringify(never)}`);
        }
    }
}

/** The kubeconfig context every reader of the cluster uses, as the Kubernetes provider does (cluster.context). */
function clusterContext(cfg: StackConfig): string | undefined {
    return cfg.cluster.mode === "existing" ? cfg.cluster.context : undefined;
}

const cfg = loadConfig();
// The user's policies and declared workloads (index.ts and cli/ are the only importers of policies/), and
// `project`, the same as this stack deploys them (policies.httpRules "omit": without their HTTP rules).
const userProject = { policies: userPolicies, workloads };
const project = deployedPolicies(cfg, userProject);
const k8sCluster = cluster(cfg);
const onCluster = { provider: k8sCluster.provider };
const record = readDeployedRecord(k8sCluster.kubeconfig, { mode: cfg.cluster.mode, context: clusterContext(cfg) });
const identityGuard = guardClusterIdentity(clusterIdentity(cfg), cfg.safety.allowClusterReplacement, record);
const traffic = trafficSnapshot(buildVerdictEngine(project.policies, project.workloads, { enforcement: cfg.cilium.policyEnforcementMode }).matrix());
const trafficDiff = reportTrafficDiff(traffic, record);

const cilium = new Cilium("cilium", { values: ciliumValuesArgs(cfg, project), chart: ciliumChart(cfg, __dirname) }, { ...onCluster, dependsOn: identityGuard });

const relay = cfg.hubble.relay.expose
    ? new RelayNodePort("hubble-relay", {
          nodePort: cfg.hubble.relay.nodePort,
          servicePort: cilium.relayServicePort,
          tls: cfg.hubble.relay.tls,
          nodeAddress: k8sCluster.nodeAddresses.apply((a) => a[0] ?? endpointHostPort(cfg).host),
          releaseStatus: cilium.releaseStatus,
          kubeconfig: k8sCluster.kubeconfig,
          context: clusterContext(cfg),
          uiNodePort: cfg.hubble.ui.expose ? cfg.hubble.ui.nodePort : undefined,
      }, { ...onCluster, dependsOn: [cilium] })
    : undefined;

if (cfg.hubble.relay.expose && !cfg.hubble.relay.tls) {
    pulumi.log.warn("hubble.relay: exposed WITHOUT TLS (insecure: true): anyone who reaches a node can read every flow.");
}

const withoutHttp = omittedHttpRules(cfg, userProject);
if (withoutHttp.length > 0) {
    pulumi.log.warn(`policies.httpRules "omit": ${withoutHttp.join(", ")} deployed WITHOUT their HTTP rules: every request their peers send to those ports is allowed.`);
}

// The walk-through's workloads (opt-in): the policies that select them need their namespaces first.
const demo = cfg.policies.demo ? new Demo("demo", { workloads }, onCluster) : undefined;

const policySet = new PolicySet("policies", {
    policies: project.policies,
    kubeconfig: k8sCluster.kubeconfig,
    context: clusterContext(cfg),
    ciliumRelease: cilium.release,
    checks: policyCheckContext(cfg, project, { l7Proxy: cilium.values.l7Proxy }),
}, { ...onCluster, dependsOn: demo ? [demo] : [] });

new StackRecord("stack-record", {
    environment: cfg.environment,
    data: { ciliumChartVersion: cfg.cilium.version, policyDigest: policySet.digest, ...identityData(clusterIdentity(cfg)), [TRAFFIC_MATRIX_KEY]: encodeTraffic(traffic) },
}, { ...onCluster, dependsOn: pulumi.all([identityGuard, trafficDiff]).apply(([a, b]) => [...a, ...b]) });

export const environment = cfg.environment;
export const clusterMode = cfg.cluster.mode;
export const kubeconfig = k8sCluster.kubeconfig;
export const apiEndpoint = k8sCluster.apiEndpoint.apply((e) => `${e.host}:${e.port}`);
export const ciliumVersion = cilium.chartVersion;
export const ciliumReleaseStatus = cilium.releaseStatus;
export const hubbleRelayAddress = relay?.relayAddress;
export const hubbleConfigCommands = relay?.hubbleConfigCommands;
export const hubbleCaCert = relay?.caCert;
export const hubbleClientCert = relay?.clientCert;
export const hubbleClientKey = relay?.clientKey;
export const hubbleUiUrl = relay?.uiUrl;
/** Hubble UI without exposing it (it has no authentication): run this, then open http://localhost:12000. */
export const hubbleUiPortForward = cilium.hubbleUiPortForward;
export const policies = policySet.policyNames;
export const policyDigest = policySet.digest;

// The walk-through's demo workloads as Kubernetes manifests, from the declared workloads (policies/workloads.ts),
// so `policies.demo: true` replays the walk-through on a real cluster and the policies have something to select.
// Pure: same workloads, same manifests.
import type { Workload, Workloads } from "../policy/model/workloads-schema";

/** Namespaces that exist in every cluster: the demo neither creates nor deletes them. */
const SYSTEM_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);
/** Declared for the checks (e.g. kube-dns) but owned by the cluster, not by the demo. */
const demoWorkload = (w: Workload): boolean => w.namespace !== "kube-system";

export const DEMO_IMAGES = {
    busybox: "busybox:1.37",
    http: "nginx:1.29-alpine",
} as const;

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };

const MANAGED = { "app.kubernetes.io/part-of": "microseg-demo" };

/** nginx answering exactly the HTTP endpoints a workload declares (method and path), 404/405 otherwise. */
export function nginxConfig(w: Workload): string {
    const lines = ["server {", "  listen 80;", "  default_type text/plain;"];
    for (const s of w.serves) {
        for (const h of s.http ?? []) {
            const method = h.method.toUpperCase();
            lines.push(`  location = ${h.path} {`, `    limit_except ${method} { deny all; }`, `    return 200 "${w.name}: ${method} ${h.path}\\n";`, "  }");
        }
    }
    lines.push(`  location / { return ${w.serves.some((s) => (s.http ?? []).length > 0) ? 404 : 200} "${w.name}\\n"; }`, "}");
    return `${lines.join("\n")}\n`;
}

function httpPorts(w: Workload): number[] {
    return w.serves.filter((s) => s.protocol === "TCP").map((s) => Number(s.port));
}

/** Namespace, ConfigMap, Deployment and Service objects of the demo, in apply order. */
export function demoManifests(workloads: Workloads): Manifest[] {
    const out: Manifest[] = [];
    const wanted = workloads.workloads.filter(demoWorkload);
    const namespaces = new Set(wanted.map((w) => w.namespace));
    for (const ns of workloads.namespaces) {
        if (!namespaces.has(ns.name) || SYSTEM_NAMESPACES.has(ns.name)) continue;
        const labels = Object.fromEntries(Object.entries(ns.labels).filter(([k]) => k !== "kubernetes.io/metadata.name"));
        out.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name, labels: { ...MANAGED, ...labels } } });
    }
    for (const w of wanted) {
        const ports = httpPorts(w);
        const metadata = { name: w.name, namespace: w.namespace, labels: { ...MANAGED, ...w.labels } };
        const container = ports.length === 0
            ? { name: w.name, image: DEMO_IMAGES.busybox, command: ["sleep", "infinity"] }
            : {
                  name: w.name,
                  image: DEMO_IMAGES.http,
                  ports: ports.map((p) => ({ containerPort: p, protocol: "TCP" })),
                  volumeMounts: [{ name: "config", mountPath: "/etc/nginx/conf.d" }],
                  // TCP, not HTTP: nginxConfig answers 404 on "/" when the workload declares HTTP endpoints, so an
                  // httpGet of "/" kept test-app NotReady for ever (seen on the datapath lab's real kubelet probes).
                  readinessProbe: { tcpSocket: { port: ports[0] }, periodSeconds: 5 },
              };
        if (ports.length > 0) {
            out.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { ...metadata, name: `${w.name}-nginx` }, data: { "default.conf": nginxConfig(w) } });
        }
        out.push({
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata,
            spec: {
                replicas: 1,
                selector: { matchLabels: w.labels },
                template: {
                    metadata: { labels: { ...MANAGED, ...w.labels } },
                    spec: {
                        containers: [container],
                        ...(ports.length > 0 ? { volumes: [{ name: "config", configMap: { name: `${w.name}-nginx` } }] } : {}),
                    },
                },
            },
        });
        if (ports.length > 0) {
            out.push({
                apiVersion: "v1",
                kind: "Service",
                metadata,
                spec: { selector: w.labels, ports: ports.map((p) => ({ name: `tcp-${p}`, port: p, targetPort: p, protocol: "TCP" })) },
            });
        }
    }
    return out;
}

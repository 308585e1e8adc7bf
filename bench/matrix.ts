// The verdict matrix on synthetic workloads and policies: `node --import tsx bench/matrix.ts WORKLOADS POLICIES [--json]`.
// Prints one line of figures: endpoints, cells, build and matrix time, the json render time and size, peak heap/RSS
// sampled in-process. Deterministic (seeded); figures only, never pass/fail. bench/matrix.sh runs the sizes.
import { renderJson } from "../lib/policy/matrix-render";
import { buildVerdictEngine } from "../lib/policy/verdicts";
import { PolicyManifest } from "../lib/policy/model/schema";
import { Workloads } from "../lib/policy/model/workloads-schema";

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function synthetic(nWorkloads: number, nPolicies: number, seed = 7): { workloads: Workloads; policies: PolicyManifest[] } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const nsCount = Math.max(2, Math.round(nWorkloads / 50));
  const namespaces = Array.from({ length: nsCount }, (_, i) => `ns${i}`);
  const apps = Math.max(4, Math.round(nWorkloads / 4));
  const tiers = ["web", "api", "db", "cache"] as const;
  const tierPorts: Record<string, number[]> = { web: [80, 443], api: [8080], db: [5432], cache: [6379] };
  const workloads = Workloads.parse({
    namespaces: namespaces.map((n, i) => ({ name: n, labels: { "kubernetes.io/metadata.name": n, team: `t${i % 5}`, env: i % 3 === 0 ? "prod" : "dev" } })),
    workloads: Array.from({ length: nWorkloads }, (_, i) => {
      const tier = tiers[i % tiers.length]!;
      return { name: `w${i}`, namespace: namespaces[i % nsCount], labels: { app: `app${i % apps}`, tier }, serves: tierPorts[tier]!.map((p) => ({ port: p, protocol: "TCP" })) };
    }),
  });
  const tcp = (p: number) => ({ port: String(p), protocol: "TCP" as const });
  const policies = Array.from({ length: nPolicies }, (_, i) => {
    const ns = pick(namespaces);
    const kind = r();
    const name = `p${i}`;
    const meta = { name, namespace: ns };
    let doc: unknown;
    if (kind < 0.5) {
      // App ingress: from a tier (same namespace) or from another namespace, on the app's ports, some through HTTP rules.
      const tier = pick(tiers);
      const port = pick(tierPorts[tier]!);
      const from = r() < 0.5 ? { matchLabels: { tier: pick(tiers) } } : { matchLabels: { "k8s:io.kubernetes.pod.namespace": pick(namespaces), tier: pick(tiers) } };
      const rules = r() < 0.3 ? { http: [{ method: "GET", path: "/api/.*" }, { method: "POST", path: "/submit" }] } : undefined;
      doc = { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: meta, spec: { endpointSelector: { matchLabels: r() < 0.5 ? { app: `app${Math.floor(r() * apps)}` } : { tier } }, ingress: [{ fromEndpoints: [from], toPorts: [{ ports: [tcp(port)], ...(rules ? { rules } : {}) }] }] } };
    } else if (kind < 0.7) {
      // Egress: DNS plus a tier, or world on 443.
      doc = { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: meta, spec: { endpointSelector: { matchLabels: { tier: pick(tiers) } }, egress: [
        { toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns" } }], toPorts: [{ ports: [{ port: "53", protocol: "UDP" }], rules: { dns: [{ matchPattern: "*" }] } }] },
        r() < 0.5 ? { toEndpoints: [{ matchLabels: { tier: pick(tiers) } }] } : { toEntities: ["world"], toPorts: [{ ports: [tcp(443)] }] },
      ] } };
    } else if (kind < 0.85) {
      // Deny: a namespace may not reach another one.
      doc = { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: meta, spec: { endpointSelector: {}, egress: [{ toEntities: ["all"] }], egressDeny: [{ toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": pick(namespaces) } }] }] } };
    } else {
      // Clusterwide: namespace labels, world ingress to web.
      doc = r() < 0.5
        ? { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name }, spec: { endpointSelector: { matchLabels: { tier: "db" } }, ingress: [{ fromEndpoints: [{ matchLabels: { "io.cilium.k8s.namespace.labels.env": pick(["prod", "dev"]) } }], toPorts: [{ ports: [tcp(5432)] }] }] } }
        : { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name }, spec: { endpointSelector: { matchLabels: { tier: "web" } }, ingress: [{ fromEntities: ["world"], toPorts: [{ ports: [tcp(443)] }] }], ingressDeny: [{ fromCIDR: ["192.0.2.0/24"] }] } };
    }
    return PolicyManifest.parse(doc);
  });
  return { workloads, policies };
}

function main(): void {
  const [w, p] = process.argv.slice(2).map(Number);
  if (!w || !p) {
    process.stderr.write("usage: bench/matrix.ts WORKLOADS POLICIES [--json]\n");
    process.exit(2);
  }
  let peakHeap = 0;
  let peakRss = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  const timer = setInterval(sample, 5);
  const { workloads, policies } = synthetic(w, p);
  const t0 = performance.now();
  const engine = buildVerdictEngine(policies, workloads);
  const t1 = performance.now();
  const m = engine.matrix();
  const t2 = performance.now();
  sample();
  const cells = Array.from(m.cells).filter((c) => c >= 0).length;
  let jsonNote = "";
  if (process.argv.includes("--json")) {
    const t3 = performance.now();
    try {
      const json = renderJson(m);
      jsonNote = `, json ${(performance.now() - t3).toFixed(0)} ms (${(json.length / 1048576).toFixed(0)} MB)`;
    } catch (e) {
      jsonNote = `, json failed after ${(performance.now() - t3).toFixed(0)} ms: ${e instanceof Error ? e.message : String(e)}`;
    }
    sample();
  }
  clearInterval(timer);
  const mb = (b: number) => (b / 1048576).toFixed(0);
  const counts = m.outcomes.map(() => 0);
  for (const c of m.cells) if (c >= 0) counts[c]!++;
  process.stdout.write(
    `${w} workloads x ${p} policies: ${m.sources.length} sources x ${m.columns.length} columns = ${cells} flows, ${m.outcomes.length} distinct outcomes; ` +
      `build ${(t1 - t0).toFixed(0)} ms, matrix ${(t2 - t1).toFixed(0)} ms` +
      jsonNote +
      `; peak heap ${mb(peakHeap)} MB, peak rss ${mb(peakRss)} MB\n`,
  );
}

if (require.main === module) main();

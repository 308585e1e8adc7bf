// lab/cilium-crds.ts against the lab's real kube-apiserver: the release's two policy CRD manifests (lab/versions.env's
// Cilium) registered as cilium-operator registers them, and the apiserver's verdict on each policy below (a server-side
// dry run with strict field validation, as kubectl and server-side apply validate) is the verdict of the unit tests'
// ajv check (test/unit/crd-ajv.ts) on the same document: the offline check is the real schema's.
// Leaves the CRDs as it found them. Needs a running lab (lab/up.sh). Run: node --import tsx --test test/lab/cilium-crds.test.ts
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ciliumCrdManifests, ciliumCrdNames, ciliumCrdsPresent, registerCiliumCrds, unregisterCiliumCrds } from "../../lab/cilium-crds";
import { ciliumShare } from "../../lab/cilium-share";
import { crdAccepts } from "../unit/crd-ajv";
import { kubectl } from "./harness";

const cnp = (spec: unknown) => ({ apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: "crd-check", namespace: "default" }, spec });
const sel = { matchLabels: { app: "test-app" } };
const ingress = (rule: unknown) => cnp({ endpointSelector: sel, ingress: [rule] });

/** Documents on both sides of the 1.18 -> 1.20 schema changes, and a few plain ones. */
const DOCS: Record<string, unknown> = {
    "the walk-through's L7 policy": ingress({ fromEndpoints: [{ matchLabels: { app: "busybox" } }], toPorts: [{ ports: [{ port: "80", protocol: "TCP" }], rules: { http: [{ method: "GET", path: "/api" }] } }] }),
    "a clusterwide host policy": { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "crd-check" }, spec: { nodeSelector: {}, ingress: [{ fromEntities: ["cluster"] }] } },
    "specs instead of spec": { ...cnp(undefined), spec: undefined, specs: [{ endpointSelector: sel, ingress: [{}] }] },
    "neither spec nor specs (CEL rule)": { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: "crd-check", namespace: "default" } },
    "Kafka rules (removed in 1.20)": ingress({ toPorts: [{ ports: [{ port: "9092", protocol: "TCP" }], rules: { kafka: [{ topic: "t" }] } }] }),
    "l7proto rules (removed in 1.20)": ingress({ toPorts: [{ ports: [{ port: "6379", protocol: "TCP" }], rules: { l7proto: "r2d2" } }] }),
    "fromRequires with a selector (removed in 1.19)": ingress({ fromEndpoints: [{}], fromRequires: [{ matchLabels: { env: "prod" } }] }),
    "an empty fromRequires": ingress({ fromEndpoints: [{}], fromRequires: [] }),
    "an extended protocol (new in 1.20)": ingress({ toPorts: [{ ports: [{ port: "0", protocol: "GRE" }] }] }),
    "a port entry without port (allowed by the 1.20 CRD)": ingress({ toPorts: [{ ports: [{ protocol: "TCP" }] }] }),
    "the cluster-mesh entity (new in 1.20)": ingress({ fromEntities: ["cluster-mesh"] }),
    "an unknown field": ingress({ fromEndpoint: [{}] }),
    "a bad entity": ingress({ fromEntities: ["everything"] }),
    "a bare address as CIDR": ingress({ fromCIDR: ["10.0.0.1"] }),
};

describe("the release's policy CRDs in the lab's kube-apiserver", { timeout: 5 * 60_000 }, () => {
    let present = false;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-crds-"));
    before(async () => {
        present = await ciliumCrdsPresent();
        await registerCiliumCrds();
    });
    after(async () => {
        fs.rmSync(dir, { recursive: true, force: true });
        if (!present) await unregisterCiliumCrds();
    });

    it(`registered as released (Cilium ${ciliumShare().version}): Established, and the apiserver serves the schema of the manifest`, () => {
        const manifests = ciliumCrdManifests() as { metadata: { name: string }; spec: { versions: { schema: unknown }[] } }[];
        for (const m of manifests) {
            const r = kubectl("get", "crd", m.metadata.name, "-o", "json");
            assert.equal(r.status, 0, r.stderr);
            const live = JSON.parse(r.stdout) as { spec: { versions: { name: string; schema: unknown }[] }; status: { conditions: { type: string; status: string }[] } };
            assert.equal(live.status.conditions.find((c) => c.type === "Established")?.status, "True", `${m.metadata.name} Established`);
            assert.deepEqual(live.spec.versions.map((v) => v.name), ["v2"]);
            assert.deepEqual(live.spec.versions[0]!.schema, m.spec.versions[0]!.schema, `${m.metadata.name}: the schema the apiserver serves is the release's`);
        }
        assert.deepEqual(manifests.map((m) => m.metadata.name), [...ciliumCrdNames]);
    });

    it("the apiserver's verdict on every document is crd-ajv's (both verdicts occur)", () => {
        const verdicts: string[] = [];
        for (const [name, doc] of Object.entries(DOCS)) {
            const file = path.join(dir, `${verdicts.length}.json`);
            fs.writeFileSync(file, JSON.stringify(doc));
            const r = kubectl("create", "--dry-run=server", "--validate=strict", "-o", "name", "-f", file);
            const apiserver = r.status === 0;
            verdicts.push(`${name}: ${apiserver ? "accepted" : "refused"}`);
            assert.equal(crdAccepts(doc as { kind?: unknown }), apiserver, `${name}: the apiserver ${apiserver ? "accepts" : `refuses (${r.stderr.trim()})`}, crd-ajv does not agree`);
            if (name.includes("CEL rule")) assert.match(r.stderr, /spec or specs must be provided/);
        }
        const refused = verdicts.filter((v) => v.endsWith("refused")).length;
        assert.ok(refused >= 5 && refused <= verdicts.length - 5, verdicts.join("\n"));
    });
});

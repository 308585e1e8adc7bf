// lab/cilium-share.ts (where the pinned release's chart and CRDs are) and lab/cilium-crds.ts's manifests: the files
// lab/setup.sh built, one version with lab/versions.env; before setup, a clear error saying to run it.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { ciliumShare, pinnedCiliumVersion } from "../../lab/cilium-share";
import { ciliumCrdManifests, ciliumCrdNames } from "../../lab/cilium-crds";
import { crdOpenApiSchema } from "./crd-ajv";

const REPO = path.resolve(__dirname, "..", "..");
const temps: string[] = [];
after(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A project root with lab/versions.env pinning `pin`, and a share dir under `shareAt` holding a chart of `chartVersion`. */
function fakeRoot(pin: string, share?: { at: string; chartVersion: string; crds?: boolean }): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-share-"));
    temps.push(root);
    fs.mkdirSync(path.join(root, "lab"));
    fs.writeFileSync(path.join(root, "lab", "versions.env"), `# pins\nCILIUM_VERSION=${pin}\nCILIUM_CLANG_MAJOR=19\n`);
    if (share) {
        const dir = path.join(root, share.at, "share", "cilium");
        fs.mkdirSync(path.join(dir, "chart", "cilium"), { recursive: true });
        fs.writeFileSync(path.join(dir, "chart", "cilium", "Chart.yaml"), `name: cilium\nversion: ${share.chartVersion}\n`);
        fs.writeFileSync(path.join(dir, "chart", "cilium", "values.schema.json"), "{}");
        if (share.crds ?? true) {
            fs.mkdirSync(path.join(dir, "crds"));
            for (const f of ["ciliumnetworkpolicies.yaml", "ciliumclusterwidenetworkpolicies.yaml"]) fs.writeFileSync(path.join(dir, "crds", f), "");
        }
    }
    return root;
}

describe("ciliumShare", () => {
    it("this checkout: the chart lab/setup.sh built is the version lab/versions.env pins, with its schema and the policy CRDs", () => {
        const s = ciliumShare();
        const pin = /^CILIUM_VERSION=v(\S+)$/m.exec(fs.readFileSync(path.join(REPO, "lab", "versions.env"), "utf8"))![1];
        assert.equal(s.version, pin);
        const chart = parseYaml(fs.readFileSync(path.join(s.chartDir, "Chart.yaml"), "utf8")) as { version: string; appVersion: string };
        assert.deepEqual([chart.version, chart.appVersion], [pin, pin]);
        assert.ok(fs.existsSync(path.join(s.chartDir, "values.schema.json")));
        assert.deepEqual(fs.readdirSync(s.crdDir).filter((f) => /networkpolicies\.yaml$/.test(f)).sort(), ["ciliumclusterwidenetworkpolicies.yaml", "ciliumnetworkpolicies.yaml"]);
    });
    it("before lab/setup.sh: an error naming the missing file and the fix", () => {
        const root = fakeRoot("v1.20.2");
        assert.equal(pinnedCiliumVersion(root), "1.20.2");
        assert.throws(() => ciliumShare({ root, env: {} }), {
            message: `the released Cilium 1.20.2 chart and CRDs (lab/versions.env CILIUM_VERSION) are not built: ${root}/.lab/share/cilium/chart/cilium/Chart.yaml is missing. lab/build-cilium.sh copies them from github.com/cilium/cilium@v1.20.2: run bash lab/setup.sh`,
        });
    });
    it("a chart of another version (versions.env bumped, setup not re-run): refused, never used instead", () => {
        const root = fakeRoot("v1.20.2", { at: ".lab", chartVersion: "1.19.0-dev" });
        assert.throws(() => ciliumShare({ root, env: {} }), { message: new RegExp(`${root}/\\.lab/share/cilium/chart/cilium/Chart\\.yaml is version "1\\.19\\.0-dev"\\. .*run bash lab/setup\\.sh$`) });
    });
    it("CRDs missing beside the chart: refused, naming them", () => {
        const root = fakeRoot("v1.20.2", { at: ".lab", chartVersion: "1.20.2", crds: false });
        assert.throws(() => ciliumShare({ root, env: {} }), { message: /lacks crds\/ciliumnetworkpolicies\.yaml, crds\/ciliumclusterwidenetworkpolicies\.yaml\. / });
    });
    it("built into another LAB_DIR (LAB_DIR=... lab/setup.sh): found there", () => {
        const root = fakeRoot("v1.20.2", { at: "elsewhere", chartVersion: "1.20.2" });
        assert.equal(ciliumShare({ root, env: { LAB_DIR: "elsewhere" } }).dir, path.join(root, "elsewhere", "share", "cilium"));
        assert.throws(() => ciliumShare({ root, env: {} }), /is missing/);
    });
});

describe("ciliumCrdManifests (lab/cilium-crds.ts)", () => {
    it("the release's two policy CRDs, exactly as in the files (not rebuilt from a schema)", () => {
        const { crdDir } = ciliumShare();
        const manifests = ciliumCrdManifests();
        assert.deepEqual(manifests.map((m) => (m["metadata"] as { name: string }).name), [...ciliumCrdNames]);
        assert.deepEqual(manifests, ["ciliumnetworkpolicies.yaml", "ciliumclusterwidenetworkpolicies.yaml"].map((f) => parseYaml(fs.readFileSync(path.join(crdDir, f), "utf8"))));
        const [cnp, ccnp] = manifests as { spec: { scope: string; versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: unknown } }[] } }[];
        assert.deepEqual([cnp!.spec.scope, ccnp!.spec.scope], ["Namespaced", "Cluster"]);
        assert.deepEqual(cnp!.spec.versions.map((v) => [v.name, v.served, v.storage]), [["v2", true, true]]);
        // The schema the unit tests validate against is the one registered in the lab.
        assert.deepEqual(crdOpenApiSchema("CiliumNetworkPolicy"), cnp!.spec.versions[0]!.schema.openAPIV3Schema);
        assert.deepEqual(crdOpenApiSchema("CiliumClusterwideNetworkPolicy"), ccnp!.spec.versions[0]!.schema.openAPIV3Schema);
    });
    it("a file that is not that CRD is refused, naming it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-crds-"));
        temps.push(dir);
        fs.writeFileSync(path.join(dir, "ciliumnetworkpolicies.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n");
        assert.throws(() => ciliumCrdManifests(dir), { message: `${dir}/ciliumnetworkpolicies.yaml: not the ciliumnetworkpolicies.cilium.io CustomResourceDefinition` });
    });
});

// lib/policy/expectations.ts and policies/expectations.ts: the walk-through's flows hold on the typed policies; a broken
// expectation names the flow, the expected and actual verdicts and the policy responsible; `microseg check` runs
// them with the stack's enforcement mode, and `microseg matrix` prints the matrix.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { checkExpectations, formatBroken } from "../../lib/policy/expectations";
import { policies } from "../fixtures/policies";
import { Expectation } from "../../lib/policy/model/expectation";
import { expectations } from "../fixtures/policies/expectations";
import { cnp } from "../../lib/policy/model/helpers";
import { workloads } from "../fixtures/policies/workloads";
import { microsegBothWays } from "./cli-bin";
import { committedStackProject, fixtureProject } from "../fixtures/cli-project";

const ROOT = path.resolve(__dirname, "../..");
// Through the installed bin, as users run it: `npx --no-install microseg` and a `microseg` symlink on PATH, same answer;
// by default in a project holding the committed Pulumi.yaml and Pulumi.dev.yaml and the tests' own policies/.
let shared: string | undefined;
const run = (args: string[], cwd = (shared ??= committedStackProject("dev"))) => microsegBothWays(args, cwd);

describe("policies/expectations.ts on the typed policies", () => {
  it("every expectation holds with policyEnforcementMode default", () => {
    const broken = checkExpectations(expectations, policies, workloads).filter((r) => !r.ok);
    assert.deepEqual(broken.map((r) => r.message), []);
  });
  it("covers the walk-through: GET /api allowed, DELETE /delete denied, frontend → backend allowed, test → backend denied", () => {
    const flows = expectations.map((e) => `${e.from} → ${e.to} ${e.http?.method ?? ""} ${e.expect}`);
    for (const f of ["default/busybox → default/test-app GET allowed", "default/busybox → default/test-app DELETE denied", "frontend/busybox → backend/backend-app  allowed", "test/busybox → backend/backend-app  denied"]) {
      assert.ok(flows.includes(f), f);
    }
  });
  it("reports what the L7 filter decides for a request", () => {
    const [get, , del] = checkExpectations(expectations.slice(0, 3), policies, workloads);
    assert.equal(get!.message, "default/busybox → default/test-app TCP/80 HTTP GET /api: allowed as expected: allowed-l7 (default/http-filtering GET /api, default/http-filtering POST /submit)");
    assert.equal(del!.actual, "denied-l7");
  });
});

describe("broken expectations name the flow, the verdicts and the policy", () => {
  const e = (x: Parameters<typeof Expectation.parse>[0]) => Expectation.parse(x);
  it("a default deny", () => {
    const [r] = checkExpectations([e({ from: "test/busybox", to: "backend/backend-app", port: 80, expect: "allowed" })], policies, workloads);
    assert.equal(r!.ok, false);
    assert.equal(r!.message, "test/busybox → backend/backend-app TCP/80: expected allowed, got denied-default (default deny at ingress of backend/backend-app from backend/namespace-isolation)");
  });
  it("a deny rule added by a new policy breaks an allow, and formatBroken says so", () => {
    const deny = cnp("no-egress-to-backend", "frontend", { endpointSelector: {}, egressDeny: [{ toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "backend" } }] }] });
    const results = checkExpectations(expectations, [...policies, deny], workloads);
    assert.equal(formatBroken(results, "default"), [
      `expectations (policyEnforcementMode default): 1 of ${expectations.length} broken:`,
      "  - frontend/busybox → backend/backend-app TCP/80: expected allowed, got denied-rule (deny rule at egress of frontend/busybox from frontend/no-egress-to-backend). Expected because: walk-through: namespace isolation admits the frontend namespace",
    ].join("\n"));
  });
  it("an L7 request the rules do not match", () => {
    const [r] = checkExpectations([e({ from: "default/busybox", to: "default/test-app", port: 80, expect: "allowed", http: { method: "PUT", path: "/api" } })], policies, workloads);
    assert.equal(r!.message, "default/busybox → default/test-app TCP/80 HTTP PUT /api: expected allowed, got denied-l7 (PUT /api matches none of the L7 rules: default/http-filtering GET /api, default/http-filtering POST /submit)");
  });
  it("an undeclared endpoint", () => {
    const [r] = checkExpectations([e({ from: "shop/web", to: "default/test-app", port: 80, expect: "denied" })], policies, workloads);
    assert.equal(r!.message, 'shop/web → default/test-app TCP/80: cannot be evaluated: unknown endpoint "shop/web": declare the workload in the workloads (namespace/name), or use an entity (world, host, remote-node, kube-apiserver, health, init, unmanaged)');
  });
  it("enforcement never breaks every denied expectation", () => {
    const denied = expectations.filter((x) => x.expect === "denied").length;
    assert.equal(checkExpectations(expectations, policies, workloads, { enforcement: "never" }).filter((r) => !r.ok).length, denied);
  });
  it("formatBroken is undefined when all hold", () => {
    assert.equal(formatBroken(checkExpectations(expectations, policies, workloads), "default"), undefined);
  });
});

describe("microseg check runs the expectations with the stack's enforcement mode", () => {
  it("a default-mode stack passes (Pulumi.dev.yaml)", () => {
    assert.deepEqual(run(["check", "--stack", "dev", "--no-file-checks"]), {
      code: 0,
      stdout: "ok: Pulumi.dev.yaml (dev, kubeadm)\n",
      // check says what it could not run offline: the dev stack's chart comes from a repository.
      stderr: "note: cilium.chart: the chart comes from https://helm.cilium.io, so it was not rendered here and cilium.valuesOverrides was not checked against its values.schema.json; preview renders it. Set cilium.chart.path to a local copy of the 1.20.2 chart to check both offline.\n",
    });
  });
  it("an always-mode stack keeps every expectation, thanks to the clients' egress policies and allow-kube-dns", () => {
    const dir = fixtureProject();
    fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8").replace("policyEnforcementMode: default", "policyEnforcementMode: always"));
    const r = run(["check", "--stack", "t", "--no-file-checks"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "ok: Pulumi.t.yaml (dev, kubeadm)\n");
  });
  it("without the egress policies, always mode breaks the walk-through's allows, and the message says why", () => {
    const withoutEgress = policies.filter((p) => p.metadata.name !== "busybox-egress");
    const text = formatBroken(checkExpectations(expectations, withoutEgress, workloads, { enforcement: "always" }), "always") ?? "";
    assert.match(text, /^expectations \(policyEnforcementMode always\): 5 of 16 broken:\n/);
    assert.ok(text.includes("  - frontend/busybox → backend/backend-app TCP/80: expected allowed, got denied-default (default deny at egress of frontend/busybox: policyEnforcementMode always, no policy allows it). Expected because: walk-through: namespace isolation admits the frontend namespace"), text);
  });
});

describe("microseg matrix", () => {
  it("uses the project's typed policies and workloads by default", () => {
    // Compared with the project's own policies as `render` prints them, so the user's policies/ may say anything.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-matrix-"));
    const rendered = run(["render", "--stack", "dev", "--only", "policies", "--no-file-checks"]);
    assert.equal(rendered.code, 0, rendered.stderr);
    fs.writeFileSync(path.join(dir, "p.yaml"), rendered.stdout);
    const r = run(["matrix"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r, run(["matrix", "--policies", path.join(dir, "p.yaml")]));
  });
  it("prints the matrix as a table by default", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-matrix-"));
    fs.writeFileSync(path.join(dir, "p.yaml"), policies.map((p) => YAML.stringify(p)).join("---\n"));
    fs.writeFileSync(path.join(dir, "w.yaml"), YAML.stringify(workloads));
    const r = run(["matrix", "--policies", path.join(dir, "p.yaml"), "--workloads", path.join(dir, "w.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^microseg matrix: 13 sources x 25 destination ports, policyEnforcementMode default\n/);
    assert.match(r.stdout, /\n {2}frontend\/busybox → backend\/backend-app TCP\/80: allowed \(allowed at egress of frontend\/busybox by frontend\/busybox-egress; allowed at ingress of backend\/backend-app by backend\/namespace-isolation\)\n/);
  });
  it("reads raw policy YAML and a workloads file with externals; --enforcement and --format json", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-matrix-"));
    fs.writeFileSync(path.join(dir, "p.yaml"), `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web-out
  namespace: shop
spec:
  endpointSelector:
    matchLabels:
      app: web
  egress:
  - toCIDR:
    - 203.0.113.0/24
    toPorts:
    - ports:
      - port: "443"
        protocol: TCP
`);
    fs.writeFileSync(path.join(dir, "w.yaml"), `namespaces:
- name: shop
  labels: { kubernetes.io/metadata.name: shop }
workloads:
- { name: web, namespace: shop, labels: { app: web }, serves: [{ port: 80 }] }
externals:
- { name: payments, address: 203.0.113.5 }
- { name: elsewhere, address: 198.51.100.1 }
`);
    const r = run(["matrix", "--policies", path.join(dir, "p.yaml"), "--workloads", path.join(dir, "w.yaml"), "--format", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const flows = (JSON.parse(r.stdout) as { flows: { from: string; to: string; port: string; verdict: string; policies: string[] }[] }).flows;
    const f = (to: string) => flows.find((x) => x.from === "shop/web" && x.to === to && x.port === "443")!;
    assert.deepEqual([f("external:payments").verdict, f("external:payments").policies], ["allowed", ["shop/web-out"]]);
    assert.deepEqual([f("external:elsewhere").verdict, f("external:elsewhere").policies], ["denied-default", ["shop/web-out"]]);
    const never = run(["matrix", "--policies", path.join(dir, "p.yaml"), "--workloads", path.join(dir, "w.yaml"), "--format", "json", "--enforcement", "never"]);
    assert.ok((JSON.parse(never.stdout) as { flows: { verdict: string }[] }).flows.every((x) => x.verdict === "allowed"));
  });
  it("refuses invalid workloads and invalid policies, naming the problem", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-matrix-"));
    fs.writeFileSync(path.join(dir, "w.yaml"), "namespaces: []\nworkloads:\n- { name: web, namespace: shop, labels: {} }\n");
    assert.deepEqual(run(["matrix", "--workloads", path.join(dir, "w.yaml")]), {
      code: 1,
      stdout: "",
      stderr: `error: ${path.join(dir, "w.yaml")}: invalid workloads (1 problem):\n  - workloads.0.namespace: workload "web" is in undeclared namespace "shop"\n`,
    });
    fs.writeFileSync(path.join(dir, "p.yaml"), "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: x\n  namespace: default\nspec:\n  endpointSelector: {}\n  ingress:\n  - fromEntities: [everyone]\n");
    const r = run(["matrix", "--policies", path.join(dir, "p.yaml")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: matrix: the policies do not load:\nerror .*p\.yaml#0 default\/x spec\.ingress\[0\]\.fromEntities\[0\] \[schema\]\n/);
  });
  it("refuses an unknown format (usage error)", () => {
    const r = run(["matrix", "--format", "pdf"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /option '--format <format>' argument 'pdf' is invalid\. Allowed choices are table, json, html\./);
  });
});

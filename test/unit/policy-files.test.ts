/**
 * lib/policy/policy-files.ts against temporary files: multi-document YAML, nested directories, JSON,
 * a YAML syntax error, a missing path; every finding names file, document, policy and field.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { checkPolicyFiles, formatFindings, loadPolicyFiles } from "../../lib/policy/policy-files";

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-files-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const multiDoc = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-test-app, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: test-app}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: busybox}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-all, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: test-app}}
  ingress: []
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: test-app}
spec: {}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: numeric, namespace: default}
spec:
  endpointSelector: {}
  ingress:
  - toPorts: [{ports: [{port: 8080, protocol: TCP}]}]
`;
const broken = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: broken
spec: {}
`;
const json = JSON.stringify({ apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name: "world-in" }, spec: { endpointSelector: {}, ingress: [{ fromEntities: ["worlds"] }] } });

test("loads every document of every policy file, recursively, in order, skipping other kinds and files", () => {
  const dir = tree({ "a.yaml": multiDoc, "sub/c.json": json, "sub/notes.txt": "kind: CiliumNetworkPolicy" });
  const loaded = loadPolicyFiles([dir]);
  assert.deepEqual(loaded.sources, [
    { file: path.join(dir, "a.yaml"), document: 0 },
    { file: path.join(dir, "a.yaml"), document: 1 },
    { file: path.join(dir, "a.yaml"), document: 3 },
    { file: path.join(dir, "sub/c.json"), document: 0 },
  ]);
  assert.deepEqual((loaded.manifests as { metadata: { name: string } }[]).map((m) => m.metadata.name), ["allow-test-app", "deny-all", "numeric", "world-in"]);
});

test("findings name file, document, policy and field", () => {
  const dir = tree({ "a.yaml": multiDoc, "sub/b.yml": broken, "sub/c.json": json });
  const rows = checkPolicyFiles([dir, path.join(dir, "missing.yaml")]).map((f) => [path.relative(dir, f.source!.file), f.source!.document, f.severity, f.id, f.namespace ?? "", f.policy, f.path, f.message]);
  assert.deepEqual(rows, [
    ["missing.yaml", 0, "error", "file-unreadable", "", "<file>", "<document>", `cannot read ${JSON.stringify(path.join(dir, "missing.yaml"))}: ENOENT`],
    ["a.yaml", 3, "warning", "port-number", "default", "numeric", "spec.ingress[0].toPorts[0].ports[0].port", "port 8080 is a YAML number; the CRD requires a string, so kubectl apply refuses this document"],
    ["sub/b.yml", 0, "error", "yaml-syntax", "", "<file>", "<document>", "YAML syntax error at line 4, column 1: Flow map in block collection must be sufficiently indented and end with a }"],
    ["sub/c.json", 0, "error", "schema", "", "world-in", "spec.ingress[0].fromEntities[0]", 'Invalid option: expected one of "all"|"world"|"cluster"|"host"|"init"|"ingress"|"unmanaged"|"remote-node"|"health"|"none"|"kube-apiserver", got "worlds"'],
    ["a.yaml", 1, "error", "empty-rule-list", "default", "deny-all", "spec.ingress", "ingress is an empty list: the policy does not apply at ingress and denies nothing"],
  ]);
});

test("a duplicate across files names where the first one is", () => {
  const doc = `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: default}\nspec: {endpointSelector: {}, ingress: [{}]}\n`;
  const dir = tree({ "one.yaml": doc, "two.yml": `---\n${doc}` });
  const fs_ = checkPolicyFiles([dir]);
  assert.deepEqual(fs_.map((f) => [f.id, path.relative(dir, f.source!.file), f.source!.document, f.message]), [
    ["duplicate-name", "two.yml", 0, `CiliumNetworkPolicy default/p is defined twice (first in ${path.join(dir, "one.yaml")} document 0); the second silently replaces the first`],
  ]);
});

test("a clean file gives no findings; the formatter says so", () => {
  const dir = tree({ "ok.yaml": multiDoc.split("---")[0]! });
  const fs_ = checkPolicyFiles([path.join(dir, "ok.yaml")]);
  assert.deepEqual(fs_, []);
  assert.equal(formatFindings(fs_), "0 errors, 0 warnings");
});

test("formatFindings prints one block per finding and the counts", () => {
  const dir = tree({ "a.yaml": multiDoc });
  const out = formatFindings(checkPolicyFiles([dir])).split(dir + path.sep).join("");
  assert.equal(
    out,
    [
      "warning a.yaml#3 default/numeric spec.ingress[0].toPorts[0].ports[0].port [port-number]",
      "  port 8080 is a YAML number; the CRD requires a string, so kubectl apply refuses this document",
      '  fix: quote it: port: "8080" (microseg renders it as a string)',
      "error a.yaml#1 default/deny-all spec.ingress [empty-rule-list]",
      "  ingress is an empty list: the policy does not apply at ingress and denies nothing",
      "  fix: to deny all ingress write ingress: [{}] (defaultDeny({ ingress: true })); otherwise remove ingress",
      "1 error, 1 warning",
    ].join("\n"),
  );
});

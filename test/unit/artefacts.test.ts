// lib/stack/artefacts.ts: registry lookup and the YAML printed by `microseg render` (secrets redacted).
import assert from "node:assert/strict";
import { FIXTURE_POLICIES } from "../fixtures/stack-policies";
import { describe, it } from "node:test";
import { parseConfig, Secret, type StackConfig } from "../../config";
import { ARTEFACT_KINDS, artefactsToYaml, renderArtefacts, type ArtefactKind } from "../../lib/stack/artefacts";

const cfg: StackConfig = parseConfig(
  {
    environment: "lab",
    cluster: { mode: "existing", kubeconfig: "apiVersion: v1\nclusters: []\n", controlPlaneEndpoint: "127.0.0.1:6443" },
    cilium: { version: "1.18.2" },
  },
  { checkFiles: false },
);

const kinds: ArtefactKind[] = [
  { kind: "a", description: "A", render: (c) => [{ kind: "a", name: "one", content: { env: c.environment, token: Secret.of("tok-123456") } }] },
  { kind: "b", description: "B", render: () => [{ kind: "b", name: "two", content: { note: "kubeconfig is apiVersion: v1\nclusters: []\n" } }] },
];

describe("artefacts", () => {
  it("kind names are unique", () => {
    const names = ARTEFACT_KINDS.map((k) => k.kind);
    assert.equal(new Set(names).size, names.length);
  });

  it("renders all kinds in order, or only one", () => {
    assert.deepEqual(renderArtefacts(cfg, FIXTURE_POLICIES, undefined, kinds).map((a) => a.name), ["one", "two"]);
    assert.deepEqual(renderArtefacts(cfg, FIXTURE_POLICIES, "b", kinds).map((a) => a.name), ["two"]);
    assert.throws(() => renderArtefacts(cfg, FIXTURE_POLICIES, "c", kinds), { message: 'unknown artefact kind "c"; registered kinds: a, b' });
  });

  it("prints multi-document YAML with a comment per document and no secret", () => {
    assert.equal(
      artefactsToYaml(renderArtefacts(cfg, FIXTURE_POLICIES, undefined, kinds), cfg),
      "# a: one\nenv: lab\ntoken: \"[secret]\"\n---\n# b: two\nnote: kubeconfig is [secret]\n",
    );
  });
});

// The registry of everything a stack sends (kubeadm configs, Cilium values, policy manifests, ...), rendered by
// pure functions so `microseg render` can print them without touching anything. Each renderer adds itself to
// ARTEFACT_KINDS below; `--only` offers exactly those kinds. Secret material stays a `Secret` in `content`
// and is printed as "[secret]".
import { Document, isScalar, visit } from "yaml";
import type { StackConfig } from "../../config";
import { buildCiliumValues } from "../cilium/cilium-values";
import { demoManifests } from "./demo-manifests";
import { renderKubeadmConfigs } from "../cluster/kubeadm-config";
import { REDACTED, Secret } from "../base/secret";
import { ciliumValuesArgs, type StackPolicies } from "./stack-plan";

/** One object the stack sends. */
export interface Artefact {
  /** The registered kind that produced it, e.g. "cilium-values". */
  readonly kind: string;
  /** Names it within its kind, e.g. "kubeadm-init" or "default/allow-test-app". */
  readonly name: string;
  /** The object as sent, with secrets as `Secret` values. */
  readonly content: unknown;
}

export interface ArtefactKind {
  /** Kebab-case kind, unique in ARTEFACT_KINDS. */
  readonly kind: string;
  /** One line for `microseg render --help`. */
  readonly description: string;
  /** Pure: same config and policies, same artefacts. */
  readonly render: (cfg: StackConfig, project: StackPolicies) => readonly Artefact[];
}

/** Every registered kind, in the order the graph sends them. Add an entry per renderer. */
export const ARTEFACT_KINDS: readonly ArtefactKind[] = [
  {
    kind: "kubeadm",
    description: "the kubeadm config of each control-plane node (kubeadm-init <node> / kubeadm-join <node>), join secrets redacted",
    render: (cfg) =>
      renderKubeadmConfigs(cfg)
        .filter((r) => r.role === "control-plane")
        .map((r) => ({ kind: "kubeadm", name: `${r.step} ${r.node}`, content: r.documents })),
  },
  {
    kind: "cilium-values",
    description: "the Helm values of the Cilium release",
    render: (cfg, project) => [{ kind: "cilium-values", name: "kube-system/cilium", content: buildCiliumValues(ciliumValuesArgs(cfg, project)) }],
  },
  {
    kind: "demo",
    description: "the walk-through's demo workloads (only with policies.demo: true)",
    render: (cfg, project) =>
      cfg.policies.demo
        ? demoManifests(project.workloads).map((m) => ({ kind: "demo", name: `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ""}${m.metadata.name}`, content: m }))
        : [],
  },
  {
    kind: "policies",
    description: "the CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy manifests",
    render: (_cfg, project) =>
      project.policies.map((m) => ({
        kind: "policies",
        name: `${m.kind} ${"namespace" in m.metadata && m.metadata.namespace ? `${m.metadata.namespace}/` : ""}${m.metadata.name}`,
        content: m,
      })),
  },
];

/** Renders every kind (or only `only`), in registry order. Throws on an unknown kind. */
export function renderArtefacts(cfg: StackConfig, project: StackPolicies, only?: string, kinds: readonly ArtefactKind[] = ARTEFACT_KINDS): Artefact[] {
  if (only !== undefined && !kinds.some((k) => k.kind === only)) {
    throw new Error(`unknown artefact kind "${only}"; registered kinds: ${kinds.map((k) => k.kind).join(", ") || "(none yet)"}`);
  }
  return kinds.filter((k) => only === undefined || k.kind === only).flatMap((k) => [...k.render(cfg, project)]);
}

/** Known secret values held anywhere in a value (to scrub them from output as a second line of defence). */
function knownSecrets(value: unknown, out: Set<string> = new Set(), seen: Set<unknown> = new Set()): Set<string> {
  if (value instanceof Secret) {
    if (value.known && value.reveal().length >= 4) out.add(value.reveal());
  } else if (typeof value === "object" && value !== null && !seen.has(value)) {
    seen.add(value);
    for (const v of Object.values(value)) knownSecrets(v, out, seen);
  }
  return out;
}

/**
 * Multi-document YAML, one document per artefact with a `# <kind>: <name>` comment. Secrets print as
 * "[secret]"; any known secret of `cfg` that a renderer spliced into a string is scrubbed too.
 */
export function artefactsToYaml(artefacts: readonly Artefact[], cfg?: StackConfig): string {
  const secrets = [...knownSecrets(cfg), ...knownSecrets(artefacts.map((a) => a.content))];
  const scrub = (s: string) => secrets.reduce((acc, secret) => acc.split(secret).join(REDACTED), s);
  const docs = artefacts.map((a) => {
    const doc = new Document(a.content, (_key: unknown, v: unknown) => (v instanceof Secret ? REDACTED : v));
    visit(doc, {
      Scalar(_key, node) {
        if (isScalar(node) && typeof node.value === "string") node.value = scrub(node.value);
      },
    });
    return `# ${`${a.kind}: ${a.name}`.replace(/\s+/g, " ")}\n${doc.toString()}`;
  });
  return docs.join("---\n");
}

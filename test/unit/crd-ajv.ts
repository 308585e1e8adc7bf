/**
 * Test helper: the Cilium policy CRDs' schemas compiled with ajv, taken from the released CRD manifests that
 * lab/versions.env pins (lab/cilium-share.ts: `<share>/crds/<plural>.yaml`, copied unmodified from the Go module by
 * lab/build-cilium.sh): `spec.versions[name=v2].schema.openAPIV3Schema`, as the kube-apiserver reads it.
 *
 * The schemas are OpenAPI v3 as Kubernetes reads it. ajv runs in strict mode with:
 * - unknown fields refused, as the apiserver refuses them under strict field validation (kubectl's default, and
 *   server-side apply): `additionalProperties: false` beside every `properties` of a `type: object` node that does
 *   not say `x-kubernetes-preserve-unknown-fields` (without strict validation the apiserver would prune them instead);
 * - the `x-kubernetes-*` extensions declared as keywords: `x-kubernetes-list-type: set` / `map`
 *   enforce what the API server enforces (unique items / unique map keys), `x-kubernetes-int-or-string`
 *   checks int-or-string, the rest (`atomic`, `x-kubernetes-map-type`) are annotations;
 * - `x-kubernetes-validations` (CEL): each rule the CRDs hold is evaluated by a JavaScript equivalent from the table
 *   below, written by hand because there is one short rule; a rule missing from the table fails the compile, so a
 *   new rule in a newer CRD is never skipped silently (the lab tests check the same rules on the real apiserver);
 * - the formats the API server knows: `cidr` (checked with ipaddr.js), `int32`/`int64` (range), and
 *   `date-time`; `idn-hostname` is unknown to the API server, which ignores it, so it accepts anything;
 * - `strictTypes: false`, because the schemas put `pattern` beside an int-or-string `anyOf`;
 * - patterns are Go RE2 syntax: the one-letter Unicode class `\PC` becomes JavaScript's `\P{C}`.
 */
import fs from "node:fs";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import ipaddr from "ipaddr.js";
import { parse as parseYaml } from "yaml";
import { ciliumShare } from "../../lab/cilium-share";

export type PolicyKind = "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy";
const CRD_FILES: Readonly<Record<PolicyKind, string>> = {
  CiliumNetworkPolicy: "ciliumnetworkpolicies.yaml",
  CiliumClusterwideNetworkPolicy: "ciliumclusterwidenetworkpolicies.yaml",
};

/** The served v2 `openAPIV3Schema` of a policy CRD manifest in `crdDir` (default: the pinned release's). */
export function crdOpenApiSchema(kind: PolicyKind, crdDir = ciliumShare().crdDir): Record<string, unknown> {
  const file = path.join(crdDir, CRD_FILES[kind]);
  const crd = parseYaml(fs.readFileSync(file, "utf8")) as {
    kind?: string;
    spec?: { names?: { kind?: string }; versions?: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Record<string, unknown> } }[] };
  };
  if (crd.kind !== "CustomResourceDefinition" || crd.spec?.names?.kind !== kind) throw new Error(`${file}: not the ${kind} CustomResourceDefinition`);
  const v2 = crd.spec.versions?.find((v) => v.name === "v2" && v.served);
  if (!v2?.schema?.openAPIV3Schema) throw new Error(`${file}: no served v2 version with an openAPIV3Schema`);
  return v2.schema.openAPIV3Schema;
}

/** Unknown fields refused where the apiserver refuses them (strict field validation): see the header. */
export function strictFields(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictFields);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) out[k] = k === "enum" || k === "default" || k === "example" ? v : strictFields(v);
  // Only typed nodes: the `properties` inside anyOf/oneOf branches (no `type`, as structural schemas require) name
  // fields a branch requires, not the fields an object may have.
  if (out["type"] === "object" && "properties" in out && !("additionalProperties" in out) && out["x-kubernetes-preserve-unknown-fields"] !== true) out["additionalProperties"] = false;
  return out;
}

/** CEL rules of the CRDs (`x-kubernetes-validations[].rule`) and what each means, in JavaScript. */
const CEL_RULES: Readonly<Record<string, (self: unknown) => boolean>> = {
  // Root of both policy CRDs since 1.20: a policy has a spec, a specs list, or both (CEL has() is key presence).
  "has(self.spec) || has(self.specs)": (self) => typeof self === "object" && self !== null && ("spec" in self || "specs" in self),
};

function makeAjv(): Ajv {
  const re2ToJs = (pattern: string) => pattern.replace(/\\([pP])([A-Z])/g, "\\$1{$2}");
  const regExp = Object.assign((pattern: string, flags: string) => new RegExp(re2ToJs(pattern), flags), { code: "new RegExp" });
  const ajv = new Ajv({ strict: true, strictTypes: false, allErrors: true, code: { regExp } });
  ajv.addKeyword({
    keyword: "x-kubernetes-list-type",
    schemaType: "string",
    validate(listType: string, data: unknown, parentSchema?: { "x-kubernetes-list-map-keys"?: string[] }) {
      if (!Array.isArray(data)) return true;
      const keyOf =
        listType === "set"
          ? (item: unknown) => JSON.stringify(item)
          : listType === "map"
            ? (item: unknown) => JSON.stringify((parentSchema?.["x-kubernetes-list-map-keys"] ?? []).map((k) => (item as Record<string, unknown>)[k]))
            : undefined;
      if (!keyOf) return true;
      return new Set(data.map(keyOf)).size === data.length;
    },
  });
  ajv.addKeyword({ keyword: "x-kubernetes-list-map-keys", schemaType: "array" });
  ajv.addKeyword({ keyword: "x-kubernetes-map-type", schemaType: "string" });
  ajv.addKeyword({
    keyword: "x-kubernetes-int-or-string",
    schemaType: "boolean",
    validate: (on: boolean, data: unknown) => !on || typeof data === "string" || Number.isInteger(data),
  });
  ajv.addKeyword({
    keyword: "x-kubernetes-validations",
    schemaType: "array",
    compile(rules: { rule: string; message?: string }[]) {
      const checks = rules.map((r) => {
        const check = CEL_RULES[r.rule];
        if (!check) throw new Error(`crd-ajv: the CRD has a CEL rule with no JavaScript equivalent in CEL_RULES: ${JSON.stringify(r.rule)} (${r.message ?? "no message"}); add it`);
        return check;
      });
      return (data: unknown) => checks.every((c) => c(data));
    },
  });
  ajv.addFormat("cidr", { type: "string", validate: (s: string) => ipaddr.isValidCIDR(s) });
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat("date-time", { type: "string", validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addFormat("idn-hostname", { type: "string", validate: () => true });
  return ajv;
}

const ajv = makeAjv();
const cache = new Map<PolicyKind, ValidateFunction>();

export function crdValidator(kind: PolicyKind): ValidateFunction {
  let v = cache.get(kind);
  if (!v) {
    v = ajv.compile(strictFields(crdOpenApiSchema(kind)) as object);
    cache.set(kind, v);
  }
  return v;
}

/** Does the CRD schema accept this document? */
export function crdAccepts(doc: { kind?: unknown }): boolean {
  const kind = doc.kind === "CiliumClusterwideNetworkPolicy" ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy";
  return crdValidator(kind)(doc) as boolean;
}

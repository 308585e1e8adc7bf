/**
 * Test helper: the reference CRD JSON Schemas compiled with ajv, read from ../shared/reference/cilium
 * (never copied into the repo; CILIUM_REFERENCE_DIR overrides the location).
 *
 * The schemas are OpenAPI v3 as Kubernetes reads it. ajv runs in strict mode with:
 * - the `x-kubernetes-*` extensions declared as keywords: `x-kubernetes-list-type: set` / `map`
 *   enforce what the API server enforces (unique items / unique map keys), `x-kubernetes-int-or-string`
 *   checks int-or-string, the rest (`atomic`, `x-kubernetes-map-type`) are annotations;
 * - the formats the API server knows: `cidr` (checked with ipaddr.js), `int32`/`int64` (range), and
 *   `date-time`; `idn-hostname` is unknown to the API server, which ignores it, so it accepts anything;
 * - `strictTypes: false`, because the schemas put `pattern` beside an int-or-string `anyOf`;
 * - patterns are Go RE2 syntax: the one-letter Unicode class `\PC` becomes JavaScript's `\P{C}`.
 */
import fs from "node:fs";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import ipaddr from "ipaddr.js";

export const referenceDir = process.env.CILIUM_REFERENCE_DIR ?? path.resolve(__dirname, "../../../shared/reference/cilium");

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
  ajv.addFormat("cidr", { type: "string", validate: (s: string) => ipaddr.isValidCIDR(s) });
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat("date-time", { type: "string", validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addFormat("idn-hostname", { type: "string", validate: () => true });
  return ajv;
}

const ajv = makeAjv();
const cache = new Map<string, ValidateFunction>();

export function crdValidator(kind: "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy"): ValidateFunction {
  let v = cache.get(kind);
  if (!v) {
    const file = kind === "CiliumNetworkPolicy" ? "ciliumnetworkpolicy_v2.json" : "ciliumclusterwidenetworkpolicy_v2.json";
    v = ajv.compile(JSON.parse(fs.readFileSync(path.join(referenceDir, "crd-schemas", file), "utf8")));
    cache.set(kind, v);
  }
  return v;
}

/** Does the CRD schema accept this document? */
export function crdAccepts(doc: { kind?: unknown }): boolean {
  const kind = doc.kind === "CiliumClusterwideNetworkPolicy" ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy";
  return crdValidator(kind)(doc) as boolean;
}

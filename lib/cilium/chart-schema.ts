// Checks Helm values against a chart's own `values.schema.json` and reads its `Chart.yaml`.
// Pure (no @pulumi/*): the chart directory is a parameter, read from disk at run time, never vendored here.
//
// The Cilium chart declares `"$schema": "http://json-schema.org/draft-07/schema#"`, so the validator is Ajv's
// default (draft-07) class. The chart's schema is generated from `values.yaml` and has no
// `additionalProperties: false` anywhere: Helm itself accepts any unknown key (e.g. `enable-hubble`) silently.
// Unknown keys are therefore checked here, by walking the schema's `properties`, with a "did you mean" hint.
import * as fs from "fs";
import * as path from "path";
import Ajv, { type ErrorObject } from "ajv";
import * as YAML from "yaml";
import { closest, formatPath, quote } from "../base/text";

/** `Chart.yaml` fields this project uses. */
export interface ChartMetadata {
    readonly name: string;
    readonly version: string;
    readonly appVersion?: string;
    /** The chart's `kubeVersion` constraint, e.g. `">= 1.21.0-0"`. */
    readonly kubeVersion?: string;
}

/** Options of {@link validateChartValues}. */
export interface ValidateOptions {
    /**
     * Prefix of every setting name in the messages.
     * @default "cilium.valuesOverrides"
     */
    readonly settingPrefix?: string;
    /**
     * Report keys the schema does not know (the schema itself lets them through, and so does Helm).
     * @default true
     */
    readonly rejectUnknownKeys?: boolean;
}

/** Reads `<chartDir>/Chart.yaml`. Throws when it is missing or has no name/version. */
export function readChartMetadata(chartDir: string): ChartMetadata {
    const file = path.join(chartDir, "Chart.yaml");
    const doc: unknown = YAML.parse(fs.readFileSync(file, "utf8"));
    if (!isObject(doc) || typeof doc["name"] !== "string" || typeof doc["version"] !== "string") {
        throw new Error(`${file}: not a Helm chart (no name or version).`);
    }
    return {
        name: doc["name"],
        version: doc["version"],
        ...(typeof doc["appVersion"] === "string" ? { appVersion: doc["appVersion"] } : {}),
        ...(typeof doc["kubeVersion"] === "string" ? { kubeVersion: doc["kubeVersion"] } : {}),
    };
}

/** A compiled checker for one chart directory (compiling the 300 kB schema takes ~100 ms: do it once). */
export interface ChartValuesValidator {
    readonly chartDir: string;
    readonly metadata: ChartMetadata;
    /** The draft named by the schema's `$schema`. */
    readonly draft: string;
    /** Every problem found, each `<setting>: <what> (<quoted value>). <fix>.`; empty when the values are valid. */
    validate(values: unknown, options?: ValidateOptions): string[];
}

const cache = new Map<string, ChartValuesValidator>();

/** Loads and compiles `<chartDir>/values.schema.json` (cached per directory). */
export function loadChartValidator(chartDir: string): ChartValuesValidator {
    const dir = path.resolve(chartDir);
    const hit = cache.get(dir);
    if (hit) return hit;
    const schemaFile = path.join(dir, "values.schema.json");
    const schema: unknown = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
    if (!isObject(schema)) throw new Error(`${schemaFile}: not a JSON Schema object.`);
    const draft = typeof schema["$schema"] === "string" ? schema["$schema"] : "";
    if (draft !== "" && !/json-schema\.org\/draft-07\/schema#?$/.test(draft)) {
        // Helm 3 validates with a draft-04/06/07 library; a newer draft would need Ajv's 2019/2020 class.
        throw new Error(`${schemaFile}: declares ${JSON.stringify(draft)}; only draft-07 is configured.`);
    }
    // strict: false because Helm's validator ignores unknown keywords and so must we (the chart's schema is
    // generated); allErrors so that one run lists every problem.
    const ajv = new Ajv({ allErrors: true, strict: false });
    const check = ajv.compile(schema);
    const knownCommented = commentedKeys(path.join(dir, "values.yaml"));
    const validator: ChartValuesValidator = {
        chartDir: dir,
        metadata: readChartMetadata(dir),
        draft,
        validate(values, options = {}) {
            const prefix = options.settingPrefix ?? "cilium.valuesOverrides";
            // Helm deletes a key whose value is null before validating, so nulls are not type errors.
            const pruned = dropNulls(values);
            const problems: string[] = [];
            if (!check(pruned)) problems.push(...ajvProblems(check.errors ?? [], pruned, prefix));
            if (options.rejectUnknownKeys ?? true) {
                problems.push(...unknownKeyProblems(schema, pruned, [], prefix, knownCommented));
            }
            return problems;
        },
    };
    cache.set(dir, validator);
    return validator;
}

/** Convenience: {@link loadChartValidator} then `validate`. */
export function validateChartValues(chartDir: string, values: unknown, options?: ValidateOptions): string[] {
    return loadChartValidator(chartDir).validate(values, options);
}

// ---------------------------------------------------------------------------------------------------------
// ajv errors → messages

type Seg = string | number;

function ajvProblems(errors: ErrorObject[], values: unknown, prefix: string): string[] {
    // An anyOf/oneOf failure comes with one error per branch; keep the most useful error per instance path:
    // the type error of the property itself, else the first error.
    const byPath = new Map<string, ErrorObject[]>();
    for (const e of errors) {
        const list = byPath.get(e.instancePath) ?? [];
        list.push(e);
        byPath.set(e.instancePath, list);
    }
    const out: string[] = [];
    for (const [instancePath, errs] of byPath) {
        const segs = pointerSegments(instancePath);
        const value = getAt(values, segs);
        const setting = `${prefix}.${formatPath(segs)}`;
        const direct = errs.filter((e) => !/\/(anyOf|oneOf)\//.test(e.schemaPath));
        const typeErr = direct.find((e) => e.keyword === "type");
        const branchy = direct.find((e) => e.keyword === "anyOf" || e.keyword === "oneOf");
        if (typeErr) out.push(describeAjvError(typeErr, setting, value));
        else if (branchy) out.push(describeBranches(errs, setting, value));
        else out.push(describeAjvError(direct[0] ?? errs[0]!, setting, value));
    }
    return out;
}

function describeAjvError(e: ErrorObject, setting: string, value: unknown): string {
    const shown = quoteValue(value);
    switch (e.keyword) {
        case "type": {
            const expected = ([] as string[]).concat((e.params as { type: string | string[] }).type);
            return `${setting}: wrong type, the chart expects ${expected.join(" or ")}, got ${jsonType(value)} (${shown}). ${typeFix(expected, value)}.`;
        }
        case "enum": {
            const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
            return `${setting}: not one of the chart's allowed values (${shown}). Use one of ${allowed.map((v) => quoteValue(v)).join(", ")}.`;
        }
        case "minimum":
        case "maximum": {
            const p = e.params as { comparison: string; limit: number };
            return `${setting}: out of range, must be ${p.comparison} ${p.limit} (${shown}). Choose a value ${p.comparison} ${p.limit}.`;
        }
        default:
            return `${setting}: rejected by the chart's values.schema.json: ${e.message ?? e.keyword} (${shown}). Fix the value to match the schema.`;
    }
}

/** anyOf/oneOf: list what each branch accepts (types and enums), e.g. `null or one of "info", "debug"`. */
function describeBranches(errs: ErrorObject[], setting: string, value: unknown): string {
    const types: string[] = [];
    const enums: string[] = [];
    for (const e of errs) {
        if (!/\/(anyOf|oneOf)\/\d+\/(type|enum)$/.test(e.schemaPath)) continue;
        if (e.keyword === "type") types.push(...([] as string[]).concat((e.params as { type: string | string[] }).type));
        if (e.keyword === "enum") {
            enums.push(`one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => quoteValue(v)).join(", ")}`);
        }
    }
    const expected = [...new Set([...types, ...enums])].join(" or ");
    const fix = enums.length > 0 ? `Use ${expected}` : typeFix([...new Set(types)], value);
    return `${setting}: not accepted by the chart, it expects ${expected} (${quoteValue(value)}). ${fix}.`;
}

function typeFix(expected: string[], value: unknown): string {
    if (typeof value === "string") {
        if ((expected.includes("integer") || expected.includes("number")) && /^-?\d+(\.\d+)?$/.test(value)) {
            return `Write it as a number (${value}), not a string`;
        }
        if (expected.includes("boolean") && (value === "true" || value === "false")) {
            return `Write it as a boolean (${value}), not a string`;
        }
    }
    return `Give a value of type ${expected.join(" or ")}`;
}

// ---------------------------------------------------------------------------------------------------------
// unknown keys

// Kubernetes objects passed through verbatim (affinity, resources, ...): the chart's schema only lists the
// keys of their defaults, so any key must be allowed below them.
const PASSTHROUGH = new Set([
    "affinity", "nodeSelector", "tolerations", "resources", "securityContext", "podSecurityContext",
    "annotations", "podAnnotations", "labels", "podLabels", "commonLabels", "updateStrategy", "extraEnv",
    "extraVolumes", "extraVolumeMounts", "topologySpreadConstraints", "extraArgs", "extraConfig",
    "extraHostPathMounts", "extraInitContainers", "extraContainers", "certManagerIssuerRef", "podDisruptionBudget",
    "serviceAnnotations", "serviceLabels", "nonIdempotentAnnotations",
]);

// Keys that belong elsewhere: agent flags / ConfigMap keys used as chart values (as in older guides).
const MISPLACED: Readonly<Record<string, string>> = {
    "enable-hubble": "hubble.enabled",
    "kube-proxy-replacement": "kubeProxyReplacement",
    "enable-policy": "policyEnforcementMode",
    "enable-l7-proxy": "l7Proxy",
    "cluster-pool-ipv4-cidr": "ipam.operator.clusterPoolIPv4PodCIDRList",
    "k8s-service-host": "k8sServiceHost",
    "k8s-service-port": "k8sServicePort",
};

function unknownKeyProblems(
    schema: Record<string, unknown>, value: unknown, at: Seg[], prefix: string, commented: Set<string>,
): string[] {
    if (!isObject(value)) {
        if (Array.isArray(value) && isObject(schema["items"])) {
            return value.flatMap((v, i) =>
                unknownKeyProblems(schema["items"] as Record<string, unknown>, v, [...at, i], prefix, commented));
        }
        return [];
    }
    const props = schema["properties"];
    if (!isObject(props)) return []; // free-form object: anything goes
    const out: string[] = [];
    for (const [key, child] of Object.entries(value)) {
        const childSchema = props[key];
        if (isObject(childSchema)) {
            if (!PASSTHROUGH.has(key)) out.push(...unknownKeyProblems(childSchema, child, [...at, key], prefix, commented));
            continue;
        }
        if (commented.has(key)) continue; // documented (commented out) in values.yaml, e.g. hubble.relay.servicePort
        const setting = `${prefix}.${formatPath([...at, key])}`;
        const misplaced = at.length === 0 ? MISPLACED[key] : undefined;
        if (misplaced !== undefined) {
            out.push(`${setting}: not a value of the chart, it is an agent flag (${quoteValue(child)}). Set ${prefix}.${misplaced} instead.`);
            continue;
        }
        const guess = closest(key, Object.keys(props), CHART_KEY);
        const where = at.length === 0 ? "at the top level" : `under ${formatPath(at)}`;
        out.push(guess
            ? `${setting}: unknown key ${where} (${quoteValue(child)}). Did you mean ${JSON.stringify(guess)}?`
            : `${setting}: unknown key ${where} (${quoteValue(child)}). Remove it; see the chart's values.yaml for the keys it takes.`);
    }
    return out;
}

/** Keys that appear commented out (`# key:`) in values.yaml: documented options the schema omits. */
function commentedKeys(valuesFile: string): Set<string> {
    const keys = new Set<string>();
    if (!fs.existsSync(valuesFile)) return keys;
    for (const line of fs.readFileSync(valuesFile, "utf8").split("\n")) {
        const m = /^\s*#\s*([A-Za-z][A-Za-z0-9_]*):(\s|$)/.exec(line);
        if (m) keys.add(m[1]!);
    }
    return keys;
}

// ---------------------------------------------------------------------------------------------------------
// helpers (exported for the values builder and the Helm error mapper)

export function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Chart keys are long camelCase words: distance 2 is a typo, a prefix is not (lib/base/suggest.ts). */
const CHART_KEY = { floor: 2, prefixes: false } as const;

/** A chart value in a message (lib/base/text.ts): JSON cut at 60 characters, unset shown as `unset`. */
export function quoteValue(v: unknown): string {
    return quote(v, { max: 60, unset: "unset" });
}

function jsonType(v: unknown): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "array";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v;
}

function pointerSegments(pointer: string): Seg[] {
    if (pointer === "") return [];
    return pointer.slice(1).split("/").map((s) => {
        const k = s.replace(/~1/g, "/").replace(/~0/g, "~");
        return /^\d+$/.test(k) ? Number(k) : k;
    });
}

function getAt(v: unknown, segs: readonly Seg[]): unknown {
    let cur: unknown = v;
    for (const s of segs) {
        if (typeof s === "number" ? !Array.isArray(cur) : !isObject(cur)) return undefined;
        cur = (cur as Record<string | number, unknown>)[s];
    }
    return cur;
}

function dropNulls(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(dropNulls);
    if (!isObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
    return out;
}

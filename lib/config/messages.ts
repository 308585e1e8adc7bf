// How config problems are worded: `<setting>: <what is wrong> (<value>). <how to fix>.`, and small schema helpers.
import { z } from "zod";
import { closest, formatPath, quote } from "../base/text";
import { Secret, secretKind } from "../base/secret";

export type Ctx = z.core.$RefinementCtx<unknown>;
export type Key = string | number;

export function sentence(text: string): string {
  return /[.?!]$/.test(text) ? text : `${text}.`;
}

/**
 * "<what> (<value>). <fix>." — the value part is left out when there is no value to show, or when `what` already
 * shows the same redaction (a path built from a pasted key is redacted like the key).
 */
export function msg(what: string, value: unknown, fix: string, secret = false): string {
  const quoted = value === undefined ? "" : quote(value, { secret });
  const shown = quoted === "" || (quoted.startsWith("[") && what.includes(quoted)) ? "" : ` (${quoted})`;
  return `${what}${shown}. ${sentence(fix)}`;
}

export function add(ctx: Ctx, where: Key[], what: string, value: unknown, fix: string, secret = false): void {
  ctx.addIssue({ code: "custom", path: where, message: msg(what, value, fix, secret) });
}

/**
 * Exactly one of two sibling settings: both set is a conflict named at `second`, neither set is `missing` at
 * their object. The fixes say which to keep or give.
 */
export function exactlyOneOf(ctx: Ctx, r: Record<string, unknown>, first: string, second: string, fix: { both: string; missing: string; neither: string }): void {
  if (r[first] !== undefined && r[second] !== undefined) {
    add(ctx, [second], `conflicts with ${first}; they are mutually exclusive`, undefined, fix.both);
  } else if (r[first] === undefined && r[second] === undefined) {
    add(ctx, [], fix.missing, undefined, fix.neither);
  }
}

/** A setting's path as the messages name it; the empty path is the config itself ("microseg"). */
export function settingPath(p: ReadonlyArray<PropertyKey>): string {
  return formatPath(p, { empty: "microseg" });
}

export function oneOf(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

/** A strict object whose unknown keys come back as "did you mean" fixes (the message is JSON: [[key, fix], ...]). */
export function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      return JSON.stringify(
        iss.keys.map((k) => {
          const near = secretKind(k) ? undefined : closest(k, known);
          return [k, near ? `Did you mean "${near}"?` : `Known settings here: ${known.join(", ")}.`];
        }),
      );
    },
  });
}

export const always = { when: () => true };

export function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Secret)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** The way out of every SSH authentication problem. */
export const AUTH_FIX = "Give exactly one of privateKeyPath, privateKey (a secret) or agent: true";

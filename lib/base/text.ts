// How messages show user input: a value quoted, a setting's or a field's path. One place, so every message
// redacts the same way (lib/base/secret.ts): nothing that looks like key material, a kubeconfig or a token is shown.
import { containsSecretLooking, REDACTED, redactionNote, Secret, shownOrRedacted } from "./secret";

export { closest } from "./suggest";

export interface QuoteOptions {
  /** The value is a secret: shown as the redaction mark only. @default false */
  readonly secret?: boolean;
  /** The longest text shown; longer is cut and ends in "...". @default 80 */
  readonly max?: number;
  /** What an unset (undefined) value shows as. @default "undefined" */
  readonly unset?: string;
}

/** The value as it appears in a message: JSON, shortened; secrets and secret-looking values never shown. */
export function quote(value: unknown, opts: QuoteOptions = {}): string {
  if (opts.secret || value instanceof Secret) return REDACTED;
  const kind = containsSecretLooking(value);
  if (kind) return redactionNote(kind);
  if (value === undefined && opts.unset !== undefined) return opts.unset;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  const max = opts.max ?? 80;
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export interface PathOptions {
  /** Show a key that looks like a secret as its redaction note (a key is user input too). @default true */
  readonly redact?: boolean;
  /** What the empty path shows as. @default "" */
  readonly empty?: string;
}

/** A path as people read it: `["hubble", "relay", "ports", 0]` → `hubble.relay.ports[0]`. */
export function formatPath(path: readonly PropertyKey[], opts: PathOptions = {}): string {
  let out = "";
  for (const raw of path) {
    if (typeof raw === "number") {
      out += `[${raw}]`;
      continue;
    }
    const k = typeof raw === "string" && (opts.redact ?? true) ? shownOrRedacted(raw) : String(raw);
    out += out === "" ? k : `.${k}`;
  }
  return out === "" ? (opts.empty ?? "") : out;
}

// A secret string that cannot leak by accident: printing, string interpolation, JSON and util.inspect all
// show "[secret]". Pure (no Pulumi import); index.ts wraps `reveal()` into `pulumi.secret` at the edge.

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

export const REDACTED = "[secret]";

export class Secret {
  readonly #value: string | undefined;

  private constructor(value: string | undefined) {
    this.#value = value;
  }

  /** A secret whose content is known (read from Pulumi config at run time, or from a test). */
  static of(value: string): Secret {
    return new Secret(value);
  }

  /**
   * A secret known to be present but whose content is unknown here: a stack file's `secure: v1:…`
   * ciphertext read without the stack's secrets provider. Checks that need the content skip it.
   */
  static encrypted(): Secret {
    return new Secret(undefined);
  }

  /** False for an encrypted secret whose content is not available. */
  get known(): boolean {
    return this.#value !== undefined;
  }

  /** The content. Throws for an encrypted secret: only the Pulumi engine can decrypt it. */
  reveal(): string {
    if (this.#value === undefined) {
      throw new Error("this secret is stack-file ciphertext; its content is only available inside `pulumi up`/`preview`");
    }
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [INSPECT](): string {
    return REDACTED;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Recognising secret-looking text, for messages: a value pasted into the wrong setting (a private key in
// privateKeyPath, a kubeconfig in kubeconfigPath, a token in a user name) must never be echoed back. Every place
// that quotes a user's value in a message asks `secretKind` first. Hand-written patterns (no library covers
// "looks like a credential" for these formats); a false positive only hides a value, never leaks one.

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----/;
/** base64 of "openssh-key-v1", the first bytes of an OpenSSH private key body. */
const OPENSSH_BODY = /b3BlbnNzaC1rZXktdjE/;
const KUBECONFIG_KEYS = /(?:^|[\s{,])(?:client-key-data|client-certificate-data|certificate-authority-data|current-context|clusters|contexts|users)\s*:/g;
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
/** A kubeadm bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) as a whole word. */
const BOOTSTRAP_TOKEN = /(?:^|[^A-Za-z0-9.])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9.])/;
/** Well-known token shapes: GitHub, GitLab, Slack, AWS access keys, "Bearer ...". */
const KNOWN_TOKENS = /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b|\bBearer\s+\S{8,}/;
/** "password: x", "token=x", "secret: x" ... */
const CREDENTIAL_PAIR = /\b(?:password|passwd|token|secret|api[-_]?key|private[-_]?key)\s*[:=]\s*\S/i;
/** A public SSH key line ("ssh-ed25519 AAAA... comment"): public, so quotable. */
const PUBLIC_KEY_LINE = /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+@openssh\.com) AAAA[A-Za-z0-9+/]+={0,2}(?: [^\n]*)?$/;

/**
 * What a text looks like when it looks like secret material, as a short noun phrase ("a private key",
 * "a kubeconfig", "a token", "a certificate", "key material"); undefined when it looks like none.
 */
export function secretKind(text: string): string | undefined {
  if (PUBLIC_KEY_LINE.test(text.trim())) return undefined;
  const pem = PEM.exec(text);
  if (pem) return /PRIVATE KEY/.test(pem[1]!) ? "a private key" : /CERTIFICATE/.test(pem[1]!) ? "a certificate" : "key material";
  if (OPENSSH_BODY.test(text)) return "a private key";
  if ((text.match(KUBECONFIG_KEYS) ?? []).length >= 2 || /client-key-data\s*:/.test(text)) return "a kubeconfig";
  if (JWT.test(text) || BOOTSTRAP_TOKEN.test(text) || KNOWN_TOKENS.test(text)) return "a token";
  if (CREDENTIAL_PAIR.test(text)) return "a credential";
  // Long runs of base64 or hex (key blobs, tokens, passphrases). Mixed case and digits for base64, so that
  // paths and DNS names (lower case, few digits) stay visible.
  for (const run of text.match(/[A-Za-z0-9+/=_-]{32,}/g) ?? []) {
    if (/^[0-9a-f]{32,}$/i.test(run) || (/[a-z]/.test(run) && /[A-Z]/.test(run) && /[0-9]/.test(run) && !/\/\//.test(run) && upperShare(run) > 0.15)) {
      return "key material";
    }
  }
  return undefined;
}

function upperShare(run: string): number {
  return (run.match(/[A-Z]/g) ?? []).length / run.length;
}

/** How a secret-looking value is shown instead of itself, like REDACTED: "[looks like a private key; not shown]". */
export function redactionNote(kind: string): string {
  return `[looks like ${kind}; not shown]`;
}

/** `text` itself, or its redaction note when it looks like secret material. */
export function shownOrRedacted(text: string): string {
  const kind = secretKind(text);
  return kind ? redactionNote(kind) : text;
}

/** True when any string inside `value` (searched through objects and arrays) looks like secret material. */
export function containsSecretLooking(value: unknown, depth = 0): string | undefined {
  if (typeof value === "string") return secretKind(value);
  if (value instanceof Secret || depth > 20 || typeof value !== "object" || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const kind = secretKind(k) ?? containsSecretLooking(v, depth + 1);
    if (kind) return kind;
  }
  return undefined;
}

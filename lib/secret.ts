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

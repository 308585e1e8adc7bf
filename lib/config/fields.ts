// The field schemas the stack config is built of: CIDRs, ports, addresses, versions, labels, SSH users and keys.
import semver from "semver";
import { z } from "zod";
import { formatHostPort, isDnsLabel, isHostAddress, parseCidr, parseHostPort, parsePortRange } from "../base/net";
import { Secret } from "../base/secret";
import { DEFAULT_API_SERVER_PORT } from "./constants";
import { type Ctx, add, msg, rec } from "./messages";

/**
 * A secret string: a plain string (Pulumi config at run time), a `Secret`, or a stack file's
 * `{ secure: "v1:…" }` ciphertext (present but opaque).
 */
export const SecretString = z.unknown().transform((v, ctx): Secret => {
  if (v instanceof Secret) return v;
  if (typeof v === "string" && v.length > 0) return Secret.of(v);
  const r = rec(v);
  if (r && Object.keys(r).length === 1 && typeof r.secure === "string") return Secret.encrypted();
  ctx.addIssue({
    code: "custom",
    message: msg("must be a non-empty secret string", v, "Set it with `pulumi config set --secret --path`", true),
  });
  return z.NEVER;
});

function checkCidr(value: string, ctx: Ctx): void {
  const r = parseCidr(value);
  if (!r.ok) add(ctx, [], r.problem, value, r.fix);
}
export const CidrString = z.string().superRefine(checkCidr);

export const PortRangeString = z.string().superRefine((value, ctx) => {
  if (!parsePortRange(value)) {
    add(ctx, [], "not a port range", value, 'Write "from-to" with 1 <= from <= to <= 65535, e.g. "30000-32767"');
  }
});

export const Port = z.number().int().min(1).max(65535);

export const HostAddress = z.string().superRefine((value, ctx) => {
  if (!isHostAddress(value)) add(ctx, [], "not an IP address or DNS name", value, 'Write e.g. "10.0.0.10" or "cp-0.example.com"');
});

export function checkEndpoint(value: string, ctx: Ctx, needPort: boolean): void {
  const r = parseHostPort(value);
  if (!r.ok) return add(ctx, [], r.problem, value, r.fix);
  if (needPort && r.value.port === undefined) {
    add(ctx, [], "the port is missing", value, `Write host:port as the API server is reached, e.g. "${formatHostPort(r.value.host, DEFAULT_API_SERVER_PORT)}"`);
  }
}

/** A full "major.minor.patch" version whose minor is in `supported`. */
export function versionString(product: string, supported: readonly string[], example: string, allowPrerelease: boolean) {
  return z.string().superRefine((value, ctx) => {
    if (/^v\d/.test(value) && semver.valid(value.slice(1)) === value.slice(1)) {
      return add(ctx, [], "the version has a leading \"v\"", value, `Did you mean "${value.slice(1)}"?`);
    }
    if (/^\d+\.\d+$/.test(value)) {
      return add(ctx, [], "not a full version", value, `Pin major.minor.patch, e.g. "${value}.0"`);
    }
    if (semver.valid(value) !== value) {
      return add(ctx, [], "not a version", value, `Pin major.minor.patch, e.g. "${example}"`);
    }
    if (!allowPrerelease && semver.prerelease(value)) {
      return add(ctx, [], `${product} pre-releases are not supported`, value, `Use a released version, e.g. "${semver.major(value)}.${semver.minor(value)}.0"`);
    }
    const minor = `${semver.major(value)}.${semver.minor(value)}`;
    if (!supported.includes(minor)) {
      add(ctx, [], `${product} ${minor} is not supported`, value, `Use a supported minor: ${supported.join(", ")}`);
    }
  });
}

const QUALIFIED_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;

/** Kubernetes label/taint key: optional DNS-subdomain prefix and "/", then a qualified name. */
function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length > 253 || !prefix.split(".").every(isDnsLabel))) return false;
  return QUALIFIED_NAME.test(name);
}

export const LabelKey = z.string().superRefine((value, ctx) => {
  if (!isLabelKey(value)) add(ctx, [], "not a valid label key", value, 'Use [prefix/]name with letters, digits, "-", "_", ".", e.g. "node.example.com/zone"');
});
export const LabelValue = z.string().superRefine((value, ctx) => {
  if (!LABEL_VALUE.test(value)) add(ctx, [], "not a valid label value", value, 'Use at most 63 letters, digits, "-", "_", ".", starting and ending with a letter or digit');
});

/**
 * An SSH login name: letters, digits, ".", "_", "-", "@" (directory users), an optional trailing "$", at most 32
 * characters (utmp's limit), not starting with "-" or "." (ssh would read "-..." as an option). Spaces, quotes and shell
 * metacharacters cannot be a login on Ubuntu and would reach the remote shell.
 */
const SSH_USER = /^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,30}[A-Za-z0-9._@$-]?$/;
export const SshUser = z.string().superRefine((value, ctx) => {
  if (SSH_USER.test(value)) return;
  const why = value === "" ? "empty" : /^-/.test(value) ? "starts with \"-\" (ssh would take it for an option)" : value.length > 32 ? "longer than 32 characters" : /\s/.test(value) ? "contains white space" : "contains characters a login name cannot have";
  add(ctx, [], `not a valid SSH user: ${why}`, value, 'Use the login name on the hosts: letters, digits, ".", "_", "-", e.g. "ubuntu"');
});

const HOST_KEY_TYPES = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"];

/** Checks "type base64 [comment]" and that the key blob itself says the same type. */
export const HostKey = z.string().superRefine((value, ctx) => {
  const fix = 'Paste the host\'s public key line, e.g. from `ssh-keyscan -t ed25519 HOST`: "ssh-ed25519 AAAA..."';
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(value.trim());
  if (!m || !HOST_KEY_TYPES.includes(m[1]!)) return add(ctx, [], "not an SSH public host key", value, fix);
  const blob = Buffer.from(m[2]!, "base64");
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len < 0 || blob.length < 4 + len || blob.subarray(4, 4 + len).toString("latin1") !== m[1]) {
    add(ctx, [], `the key data is not a ${m[1]} key`, value, fix);
  }
});

/**
 * Zod schemas for the field grammars shared by vipcontrol.yaml, viphealth.yaml, the state file and the
 * API bodies. Each one is strict: anything that could end up in the BIRD include file, a Redis key or
 * an `ip` argument must match a narrow grammar, never be escaped after the fact.
 */
import { z } from 'zod';
import { BIRD_RESERVED_NAMES } from './bird-keywords.js';
import { canonicalCommunity, canonicalLargeCommunity } from './community.js';
import { parseDuration } from './duration.js';
import { canonicalPrefix } from './prefix.js';
import { MAX_REASON_LENGTH, MAX_U32, NODE_NAME_RE, NODE_NAME_RULE, freeTextProblem } from './vocabulary.js';

/** A 32-bit unsigned BGP attribute value (MED, local-pref, penalty). */
export const u32Schema = z.number().int().min(0).max(MAX_U32);

/** Runs a throwing parser inside zod, turning its exception text into the issue message. */
function via<T>(parse: (s: string) => T, describe: (err: unknown) => string) {
  return z.string().transform((s, ctx) => {
    try {
      return parse(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: describe(err), input: s });
      return z.NEVER;
    }
  });
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A prefix, canonicalised. */
export const prefixSchema = via((s) => canonicalPrefix(s), messageOf);

/** A duration string ("30s") → milliseconds. */
export const durationSchema = via(parseDuration, messageOf);

/** A duration string that must be > 0. */
export const positiveDurationSchema = durationSchema.refine((ms) => ms > 0, { message: 'must be longer than 0' });

/** A standard community, canonical text. */
export const communitySchema = via(canonicalCommunity, messageOf);

/** A large community, canonical text. */
export const largeCommunitySchema = via(canonicalLargeCommunity, messageOf);

/** Free text of at most `max` code points, by the vocabulary's one rule (vocabulary.ts). */
export function freeTextSchema(max: number) {
  return z.string().superRefine((s, ctx) => {
    const problem = freeTextProblem(s, max);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: s });
  });
}

/** Free text from an operator ("reason"). Stored, logged and shown; never rendered into BIRD config. */
export const reasonSchema = freeTextSchema(MAX_REASON_LENGTH);

/** A health check's name: viphealth.yaml, health reports, fleet records. */
export const checkNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
  message: 'must be a check name: 1-64 of letters, digits, _ . - starting with a letter or digit',
});

/** A node name (vocabulary.ts). */
export const nodeNameSchema = z.string().regex(NODE_NAME_RE, { message: NODE_NAME_RULE });

/**
 * A BIRD symbol usable as a protocol name (BIRD's lexer allows more; we allow what is certainly a plain
 * symbol), and not one of the common BIRD keywords, which BIRD would not parse as a name.
 */
export const birdNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, {
    message: 'must be a BIRD name: a letter or _ then up to 31 letters, digits or _',
  })
  .refine((s) => !BIRD_RESERVED_NAMES.has(s), {
    message: 'must not be a BIRD keyword (BIRD cannot parse it as a protocol name)',
  });

/** A Linux interface name: 1..15 characters (IFNAMSIZ), no '/', ':', '@', whitespace; not "." or "..". */
export const interfaceNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,15}$/, { message: 'must be a Linux interface name: 1-15 of A-Z a-z 0-9 _ . -' })
  .refine((s) => s !== '.' && s !== '..', { message: 'must not be "." or ".."' });

/** An absolute filesystem path with no control characters, quotes or backslashes. */
export const absolutePathSchema = z
  .string()
  .max(4096)
  .superRefine((s, ctx) => {
    if (!s.startsWith('/')) ctx.addIssue({ code: 'custom', message: 'must be an absolute path', input: s });
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u001f\u007f"'`\\]/.test(s)) {
      ctx.addIssue({ code: 'custom', message: 'must not contain control characters, quotes or backslashes', input: s });
    }
  });

/** An epoch-milliseconds timestamp within JavaScript's Date range. */
export const epochMsSchema = z.number().int().min(0).max(8.64e15);

// host:port, [v6]:port; the host is a name or address, never anything with spaces or slashes.
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/;

/** `host:port` or `[ipv6]:port` (port 1-65535) → `{host, port}`: check targets, listen addresses. */
export const hostPortSchema = z.string().transform((s, ctx) => {
  const m = HOST_PORT.exec(s);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'must be host:port or [ipv6]:port with port 1-65535', input: s });
    return z.NEVER;
  }
  return { host: (m[1] ?? m[2])!, port };
});

/**
 * `metrics:` in both daemons' configs: where `/metrics` is served. Absent = no listener (the
 * default); docs suggest a loopback address, since the endpoint has no authentication.
 */
export const metricsSchema = z.strictObject({ listen: hostPortSchema });

/**
 * The validation vocabulary: one parser per kind of value that crosses a boundary (API, state file,
 * Redis, CLI, config). Each returns a branded type, so parsed values cannot be confused with raw
 * input, and what one boundary accepts every other boundary accepts (issue 7: four different
 * "printable text" rules let the API accept actors the state file then refused as corrupt).
 *
 * The zod schemas in schemas.ts and fleet-model.ts are built on these functions, never beside them.
 */
import { canonicalPrefix } from './prefix.js';

declare const brand: unique symbol;
/** `T` that went through the parser named by `B`. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A BGP MED (or any 32-bit unsigned attribute: local preference, penalty). */
export type Med = Brand<number, 'Med'>;
/** A canonical prefix ("198.51.100.10/32", "2001:db8::10/128"). */
export type Prefix = Brand<string, 'Prefix'>;
/** Free text (reasons, actor names, check details): Unicode, without characters that hide or forge text. */
export type FreeText = Brand<string, 'FreeText'>;
/** Who asked, as `X-Vipcontrol-Actor` / the state file's `by` / the fleet command's `by` carry it. */
export type ActorName = FreeText;
/** A node name, usable inside a Redis key. */
export type NodeName = Brand<string, 'NodeName'>;

/** Largest value of BGP's 32-bit attributes (MED, local preference, large-community parts). Declared once. */
export const MAX_U32 = 4294967295;

/** Max length, in code points, of a reason. */
export const MAX_REASON_LENGTH = 200;
/** Max length, in code points, of an actor name. */
export const MAX_ACTOR_LENGTH = 200;

/** A value refused by the vocabulary; `field` names what was parsed. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field} ${message}`, options);
    this.field = field;
  }
}

/** Why `value` is not a MED, or undefined when it is. */
export function medProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_U32) {
    return `must be an integer 0..${MAX_U32}, got ${JSON.stringify(value) ?? String(value)}`;
  }
  return undefined;
}

/** @throws ValidationError */
export function parseMed(value: unknown, field = 'med'): Med {
  const problem = medProblem(value);
  if (problem) throw new ValidationError(field, problem);
  return value as Med;
}

/** A MED written in decimal, as on a command line: digits only (no sign, exponent, fraction). @throws ValidationError */
export function parseMedText(text: string, field = 'med'): Med {
  if (!/^\d{1,10}$/.test(text)) throw new ValidationError(field, `must be an integer 0..${MAX_U32}, got ${JSON.stringify(text)}`);
  return parseMed(Number(text), field);
}

/**
 * Characters free text never holds: C0 and C1 controls and DEL (they end log lines and drive
 * terminals), line and paragraph separators U+2028/2029 (line breaks to JSON readers and editors),
 * bidi embeddings/overrides U+202A–202E and isolates U+2066–2069 (text that displays as something
 * else), and lone surrogates (not text at all). Every other character is accepted: real names in any
 * script, including the joiners (U+200C/200D) some scripts need.
 */
// eslint-disable-next-line no-control-regex
const REFUSED_IN_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
const REFUSED_IN_TEXT_ALL = new RegExp(REFUSED_IN_TEXT.source, 'gu');

/** Why `text` is not acceptable free text of at most `max` code points, or undefined when it is. */
export function freeTextProblem(text: unknown, max: number): string | undefined {
  if (typeof text !== 'string') return 'must be text';
  const bad = REFUSED_IN_TEXT.exec(text);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `must not contain control, bidi-override or line-separator characters (found U+${code})`;
  }
  if (text.length > max && countCodePoints(text) > max) return `must be at most ${max} characters`;
  return undefined;
}

/** @throws ValidationError */
export function parseFreeText(text: unknown, field: string, max = MAX_REASON_LENGTH): FreeText {
  const problem = freeTextProblem(text, max);
  if (problem) throw new ValidationError(field, problem);
  return text as FreeText;
}

/** An actor name ("alice@host", "Jürgen@host", "渡辺@host"); empty is not a name. @throws ValidationError */
export function parseActorName(text: unknown, field = 'actor'): ActorName {
  if (text === '') throw new ValidationError(field, 'must not be empty');
  return parseFreeText(text, field, MAX_ACTOR_LENGTH);
}

/**
 * Makes free text out of text from elsewhere (an error message, a check's stderr): refused
 * characters become spaces and the text is cut at `max` code points. For text we report, not accept.
 */
export function toFreeText(text: string, max: number): FreeText {
  const clean = text.replace(REFUSED_IN_TEXT_ALL, ' ');
  return (clean.length > max ? [...clean].slice(0, max).join('') : clean) as FreeText;
}

/** A prefix in any accepted spelling → its canonical form. @throws PrefixError (from canonicalPrefix) */
export function parsePrefix(text: string): Prefix {
  return canonicalPrefix(text).prefix as Prefix;
}

/** Remote command ids (fleet): the same rule in Redis data and in the state file's applied marks. */
export const COMMAND_ID_RE = /^[A-Za-z0-9-]{8,64}$/;

/** Node names: host-like, usable inside a Redis key. */
export const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;
export const NODE_NAME_RULE = 'must be a host-like name: letters, digits, _ . - (max 253), starting with a letter or digit';

/** @throws ValidationError */
export function parseNodeName(text: unknown, field = 'node'): NodeName {
  if (typeof text !== 'string' || !NODE_NAME_RE.test(text)) throw new ValidationError(field, `${NODE_NAME_RULE}, got ${JSON.stringify(text)}`);
  return text as NodeName;
}

/**
 * HTTP header values travel as bytes; Node hands them over as latin1 strings. Text in our headers
 * (the actor) is UTF-8: vipctl encodes with `encodeHeaderText`, the daemon decodes with
 * `decodeHeaderText`, which refuses bytes that are not UTF-8 rather than guessing.
 */
export function encodeHeaderText(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** @throws ValidationError when the bytes are not UTF-8 */
export function decodeHeaderText(latin1: string, field: string): string {
  // Pure ASCII (the usual case) is the same in both encodings.
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(latin1)) return latin1;
  try {
    return utf8.decode(Buffer.from(latin1, 'latin1'));
  } catch (cause) {
    throw new ValidationError(field, 'is not valid UTF-8', { cause });
  }
}

function countCodePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

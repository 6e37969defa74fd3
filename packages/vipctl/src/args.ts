/**
 * Local validation of command-line arguments, with core's own parsers so vipctl and the daemon agree
 * on every rule; a malformed argument never reaches the socket.
 */
import { InvalidArgumentError } from 'commander';
import { MAX_U32, ValidationError, parseDrainBody, parseDuration, parseMedText, parsePrefix, parseReasonBody, parseSetMedBody } from '@vipcontrol/core';
import { UsageError } from './errors.js';

/** commander argParser: a VIP prefix, returned canonical ("2001:DB8::10/128" -> "2001:db8::10/128"). */
export function prefixArg(text: string): string {
  try {
    return parsePrefix(text);
  } catch (cause) {
    throw new InvalidArgumentError(messageOf(cause));
  }
}

/** commander argParser: a MED, a decimal integer 0..4294967295 (no sign, exponent or fraction). */
export function medArg(text: string): number {
  try {
    return parseMedText(text);
  } catch (cause) {
    if (!(cause instanceof ValidationError)) throw cause;
    throw new InvalidArgumentError(`MED must be an integer from 0 to ${MAX_U32}`);
  }
}

/** commander argParser: a duration such as "30m", "1h30m"; kept as text, the API takes it as given. */
export function durationArg(text: string): string {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (cause) {
    throw new InvalidArgumentError(messageOf(cause));
  }
  if (ms <= 0) throw new InvalidArgumentError('duration must be positive');
  return text;
}

/** Body of `PUT /v1/vips/{prefix}/med`, checked by core's parser (reason grammar, MED range). */
export function setMedBody(med: number, opts: { ttl?: string; reason?: string }): { med: number; ttl?: string; reason?: string } {
  const body = { med, ...(opts.ttl === undefined ? {} : { ttl: opts.ttl }), ...(opts.reason === undefined ? {} : { reason: opts.reason }) };
  check(() => parseSetMedBody(body));
  return body;
}

/** Body of `POST /v1/vips/{prefix}/withdraw`. */
export function reasonBody(opts: { reason?: string; force?: boolean }): { reason?: string; force?: boolean } {
  const body = { ...(opts.reason === undefined ? {} : { reason: opts.reason }), ...(opts.force ? { force: true } : {}) };
  check(() => parseReasonBody(body));
  return body;
}

/** Body of `POST /v1/drain`. */
export function drainBody(opts: { withdraw?: boolean; reason?: string; force?: boolean }): { withdraw: boolean; reason?: string; force?: boolean } {
  const body = { withdraw: opts.withdraw === true, ...(opts.reason === undefined ? {} : { reason: opts.reason }), ...(opts.force ? { force: true } : {}) };
  check(() => parseDrainBody(body));
  return body;
}

/** The API path of one VIP; the prefix's "/" (and IPv6 ":") are percent-encoded. */
export function vipPath(prefix: string, action: 'med' | 'withdraw' | 'announce'): string {
  return `/v1/vips/${encodeURIComponent(prefix)}/${action}`;
}

function check(parse: () => unknown): void {
  try {
    parse();
  } catch (cause) {
    throw new UsageError(messageOf(cause), { cause });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] ?? String(err) : String(err);
}

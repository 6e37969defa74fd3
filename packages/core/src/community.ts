/**
 * BGP communities as text: standard "a:b" (RFC 1997, 16-bit halves) and large "a:b:c" (RFC 8092,
 * 32-bit parts). Canonical text is plain decimal without leading zeros, the form BIRD prints.
 */

import { MAX_U32 } from './vocabulary.js';

/** A string that is not a valid (large) community. */
export class CommunityError extends Error {
  override readonly name = 'CommunityError';
  readonly input: string;
  constructor(input: string, reason: string) {
    super(`invalid community ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

const STANDARD = /^(\d{1,5}):(\d{1,5})$/;
const LARGE = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/;

/** Parses a standard community "65000:100" into its two 0..65535 parts. @throws CommunityError */
export function parseCommunity(text: string): [number, number] {
  const m = typeof text === 'string' ? STANDARD.exec(text) : null;
  if (!m) throw new CommunityError(String(text), 'expected "a:b" with a and b in 0..65535');
  const parts = [Number(m[1]), Number(m[2])] as [number, number];
  if (parts.some((p) => p > 0xffff)) throw new CommunityError(text, 'each part must be 0..65535');
  return parts;
}

/** Parses a large community "65000:1:2" into its three 0..4294967295 parts. @throws CommunityError */
export function parseLargeCommunity(text: string): [number, number, number] {
  const m = typeof text === 'string' ? LARGE.exec(text) : null;
  if (!m) throw new CommunityError(String(text), 'expected "a:b:c" with each part in 0..4294967295');
  const parts = [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
  if (parts.some((p) => p > MAX_U32)) throw new CommunityError(text, 'each part must be 0..4294967295');
  return parts;
}

/** Canonical text of a standard community ("065000:0100" → "65000:100"). @throws CommunityError */
export function canonicalCommunity(text: string): string {
  return parseCommunity(text).join(':');
}

/** Canonical text of a large community. @throws CommunityError */
export function canonicalLargeCommunity(text: string): string {
  return parseLargeCommunity(text).join(':');
}

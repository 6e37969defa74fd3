/**
 * Canonical IP prefixes. Every prefix in vipcontrol (config, state file, API, Redis, rendered BIRD
 * config) goes through here, so "2001:DB8::0010/128" and "2001:db8::10/128" are one VIP, and nothing
 * that is not a plain prefix can reach the BIRD include file.
 */
import ipaddr from 'ipaddr.js';
import type { AddressFamily } from './types.js';

/** A string that is not a valid prefix (or has host bits set). */
export class PrefixError extends Error {
  override readonly name = 'PrefixError';
  readonly input: string;
  constructor(input: string, reason: string) {
    super(`invalid prefix ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

// Dotted quad, decimal, no leading zeros: ipaddr.js also accepts "127.1" and "0x7f.0.0.1",
// which are legal for inet_aton but not something an operator means in a config file.
const V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
// Hex groups, '::' and an optional trailing dotted quad; no zone index ("%eth0"), no brackets.
const V6 = /^[0-9A-Fa-f:.]{2,45}$/;
const LEN = /^(?:0|[1-9]\d{0,2})$/;

/** A parsed prefix: canonical text, family and its sort key (see prefixSortKey). */
interface PrefixInfo {
  readonly result: { readonly prefix: string; readonly family: AddressFamily };
  readonly key: string;
}

// Every apply re-validates (render) and compares (read-back) every VIP prefix, thousands of times the
// same few strings: memoising valid parses turns that into map lookups. Bounded, since API and BIRD
// text can bring arbitrary new strings; only valid prefixes are stored.
const MEMO_LIMIT = 262_144;
const memo = new Map<string, PrefixInfo>();

/**
 * Parses and canonicalises an IPv4 or IPv6 prefix.
 *
 * - "a.b.c.d/len" (len 0..32) and IPv6 "x::y/len" (len 0..128);
 * - a bare address means a host route: /32 for IPv4, /128 for IPv6 (VIPs are host routes);
 * - host bits must be zero ("192.0.2.1/24" is rejected, not silently truncated);
 * - output is lower-case RFC 5952 compressed IPv6 with an explicit length.
 *
 * @throws PrefixError
 */
export function canonicalPrefix(text: string): { readonly prefix: string; readonly family: AddressFamily } {
  // The memoised result is frozen, so it is handed out as is: no allocation on the hot path.
  return prefixInfo(text).result;
}

function prefixInfo(text: string): PrefixInfo {
  const hit = typeof text === 'string' ? memo.get(text) : undefined;
  if (hit !== undefined) return hit;
  const info = parsePrefix(text);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(text, info);
  return info;
}

function parsePrefix(text: string): PrefixInfo {
  if (typeof text !== 'string') throw new PrefixError(String(text), 'not a string');
  if (text.length > 64) throw new PrefixError(text.slice(0, 64), 'too long');
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (V4.test(addrText)) {
    addr = ipaddr.IPv4.parse(addrText);
  } else if (V6.test(addrText) && addrText.includes(':') && ipaddr.IPv6.isValid(addrText)) {
    addr = ipaddr.IPv6.parse(addrText);
  } else {
    throw new PrefixError(text, 'not an IPv4 or IPv6 address');
  }
  const family: AddressFamily = addr.kind() === 'ipv4' ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (lenText !== undefined) {
    if (!LEN.test(lenText) || Number(lenText) > max) throw new PrefixError(text, `length must be 0..${max}`);
    len = Number(lenText);
  }
  const bytes = addr.toByteArray();
  for (let bit = len; bit < max; bit++) {
    if ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) throw new PrefixError(text, `host bits set beyond /${len}`);
  }
  const canonical = family === 4 ? addr.toString() : (addr as ipaddr.IPv6).toRFC5952String();
  // The key makes plain string order the display order: family, address bytes, zero-padded length.
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return {
    result: Object.freeze({ prefix: `${canonical.toLowerCase()}/${len}`, family }),
    key: `${family}${hex}/${String(len).padStart(3, '0')}`,
  };
}

/** True when `text` is a prefix already in canonical form. */
export function isCanonicalPrefix(text: string): boolean {
  try {
    return canonicalPrefix(text).prefix === text;
  } catch {
    // Invalid input is simply "not canonical"; the caller asked a yes/no question.
    return false;
  }
}

/**
 * A string key whose plain string order is the display order of prefixes: IPv4 before IPv6, then by
 * address bytes, then by length — the order of `vipctl status`, the rendered file and every list.
 * @throws PrefixError when `prefix` is not a valid prefix
 */
export function prefixSortKey(prefix: string): string {
  return prefixInfo(prefix).key;
}

/** Comparator over canonical prefixes in prefixSortKey order. */
export function comparePrefixes(a: string, b: string): number {
  const ka = prefixSortKey(a);
  const kb = prefixSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Sorts items by a prefix-valued field (stable, returns a new array), computing each key once. */
export function sortByPrefix<T>(items: readonly T[], prefixOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: prefixSortKey(prefixOf(item)) }));
  // Most callers pass lists that are already in order (computeEffective's output): skip the sort.
  let sorted = true;
  for (let i = 1; i < keyed.length && sorted; i++) sorted = keyed[i - 1]!.key <= keyed[i]!.key;
  if (!sorted) keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((d) => d.item);
}

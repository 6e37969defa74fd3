/**
 * Desired vs observed: what BIRD reports for our static protocols compared with what we rendered.
 * An apply is confirmed only when this returns [] (then `configure confirm`, else `configure undo`).
 */
import { canonicalCommunity, canonicalLargeCommunity } from './community.js';
import { canonicalPrefix, sortByPrefix } from './prefix.js';
import type { EffectiveVip, ObservedRoute } from './types.js';

/** One difference between desired and observed state. `want`/`got` are absent for missing/unexpected. */
export interface Mismatch {
  readonly prefix: string;
  readonly kind: 'missing' | 'unexpected' | 'med' | 'communities' | 'large-communities' | 'local-pref';
  readonly want?: number | readonly string[];
  readonly got?: number | readonly string[];
}

/**
 * Lists every mismatch: announced VIPs missing or with different attributes, and observed routes
 * that should not be there. Prefixes and communities are compared in canonical form (BIRD prints
 * e.g. IPv4-mapped IPv6 differently from us) and communities order-insensitively.
 * Output: desired order (IPv4 first, by address), then unexpected routes in the same order.
 */
export function compareObserved(
  desired: readonly EffectiveVip[],
  observed: readonly ObservedRoute[] | ReadonlyMap<string, ObservedRoute>,
): Mismatch[] {
  const byPrefix = Array.isArray(observed) ? indexObserved(observed) : (observed as ReadonlyMap<string, ObservedRoute>);

  const out: Mismatch[] = [];
  const wanted = new Set<string>();
  for (const vip of sortByPrefix(desired, (v) => v.prefix)) {
    if (!vip.announced) continue;
    wanted.add(vip.prefix);
    diffRoute(vip, byPrefix.get(vip.prefix), out);
  }
  const unexpected = [...byPrefix.keys()].filter((p) => !wanted.has(p));
  for (const prefix of sortByPrefixSafe(unexpected)) out.push({ prefix, kind: 'unexpected' });
  return out;
}

/**
 * Routes by canonical prefix (what compareObserved and vipInSync look them up by); BIRD text that
 * does not parse is kept raw, so it shows as unexpected and never equals a VIP. Last one wins.
 */
export function indexObserved(observed: readonly ObservedRoute[]): Map<string, ObservedRoute> {
  const byPrefix = new Map<string, ObservedRoute>();
  for (const route of observed) byPrefix.set(canonicalOrRaw(route.prefix), route);
  return byPrefix;
}

/**
 * One VIP against what BIRD has for its prefix (`seen`, already looked up by canonical prefix):
 * true when an announced VIP's route is there with exactly its attributes, or a withdrawn VIP has
 * none. Same rules as compareObserved, for status views that join thousands of VIPs in one pass.
 */
export function vipInSync(vip: EffectiveVip, seen: ObservedRoute | undefined): boolean {
  if (!vip.announced) return seen === undefined;
  const out: Mismatch[] = [];
  diffRoute(vip, seen, out);
  return out.length === 0;
}

/** Appends the differences of one announced VIP's route (`got` undefined = missing). */
function diffRoute(vip: EffectiveVip, got: ObservedRoute | undefined, out: Mismatch[]): void {
  if (got === undefined) {
    out.push({ prefix: vip.prefix, kind: 'missing' });
    return;
  }
  if (got.med !== vip.med) out.push({ prefix: vip.prefix, kind: 'med', want: vip.med, ...(got.med !== undefined ? { got: got.med } : {}) });
  diffSet(vip.prefix, 'communities', vip.communities, got.communities, canonicalCommunity, out);
  diffSet(vip.prefix, 'large-communities', vip.largeCommunities, got.largeCommunities, canonicalLargeCommunity, out);
  if (got.localPref !== vip.localPref) {
    out.push({
      prefix: vip.prefix,
      kind: 'local-pref',
      ...(vip.localPref !== undefined ? { want: vip.localPref } : {}),
      ...(got.localPref !== undefined ? { got: got.localPref } : {}),
    });
  }
}

function diffSet(
  prefix: string,
  kind: 'communities' | 'large-communities',
  want: readonly string[],
  got: readonly string[],
  canonical: (s: string) => string,
  out: Mismatch[],
): void {
  // Fast path for the common case: BIRD lists them exactly as rendered.
  if (want.length === got.length && want.every((c, i) => c === got[i])) return;
  const w = [...new Set(want.map((c) => canonicalOr(c, canonical)))].sort();
  const g = [...new Set(got.map((c) => canonicalOr(c, canonical)))].sort();
  if (w.length !== g.length || w.some((c, i) => c !== g[i])) out.push({ prefix, kind, want: w, got: g });
}

function canonicalOr(text: string, canonical: (s: string) => string): string {
  try {
    return canonical(text);
  } catch {
    // Something BIRD printed that we cannot parse can never equal a desired value: keep it as is so
    // the mismatch shows the raw text.
    return text;
  }
}

function canonicalOrRaw(prefix: string): string {
  return canonicalOr(prefix, (p) => canonicalPrefix(p).prefix);
}

/** Sorts prefixes, leaving unparseable ones (raw BIRD output) at the end in text order. */
function sortByPrefixSafe(prefixes: readonly string[]): string[] {
  const good = prefixes.filter((p) => canonicalOrRaw(p) === p && p.includes('/'));
  const bad = prefixes.filter((p) => !good.includes(p)).sort();
  return [...sortByPrefix(good, (p) => p), ...bad];
}

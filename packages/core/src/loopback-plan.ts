/**
 * Which VIP addresses to add to / remove from the loopback interface. Pure: the daemon reads the
 * interface (`ip -j addr show dev lo`), calls this, and runs `ip addr add/del` for the result —
 * removals only after the route is withdrawn in BIRD.
 */
import { canonicalPrefix, sortByPrefix } from './prefix.js';
import type { EffectiveVip } from './types.js';

/** Options of planLoopback. */
export interface LoopbackPlanOptions {
  /** Remove a VIP's address while it is withdrawn; otherwise every configured VIP keeps its address. */
  readonly removeOnWithdraw: boolean;
  /** Addresses vipcontrol itself added (canonical prefixes). Nothing else is ever removed. */
  readonly managed: ReadonlySet<string>;
}

/**
 * Plans loopback changes.
 *
 * - wanted = announced VIPs, or every configured VIP when `removeOnWithdraw` is false;
 * - add = wanted − present;
 * - remove = (present ∩ managed) − wanted: only addresses vipcontrol added, e.g. a VIP removed from
 *   the config or withdrawn with removeOnWithdraw. An operator's own address is never touched, even
 *   when it equals a VIP's.
 *
 * `present` entries that are not canonical prefixes (e.g. "127.0.0.1/8", host bits set) cannot be
 * VIPs and are ignored. Both lists are sorted (IPv4 first).
 */
export function planLoopback(
  desired: readonly EffectiveVip[],
  present: readonly string[],
  opts: LoopbackPlanOptions,
): { add: string[]; remove: string[] } {
  const have = new Set<string>();
  for (const p of present) {
    const c = tryCanonical(p);
    if (c !== undefined) have.add(c);
  }
  const wanted = loopbackWanted(desired, opts.removeOnWithdraw);
  const add = [...wanted].filter((p) => !have.has(p));
  const remove = [...have].filter((p) => opts.managed.has(p) && !wanted.has(p));
  return { add: sortByPrefix(add, (p) => p), remove: sortByPrefix(remove, (p) => p) };
}

/** The addresses the loopback should carry: announced VIPs, or every configured VIP unless `removeOnWithdraw`. */
export function loopbackWanted(desired: readonly EffectiveVip[], removeOnWithdraw: boolean): Set<string> {
  const wanted = new Set<string>();
  for (const v of desired) if (v.announced || !removeOnWithdraw) wanted.add(v.prefix);
  return wanted;
}

function tryCanonical(text: string): string | undefined {
  try {
    return canonicalPrefix(text).prefix;
  } catch {
    // Not a prefix we could have added (see the function comment).
    return undefined;
  }
}

/**
 * The effective (desired) state of every configured VIP, exactly as DESIGN.md defines it:
 *
 *   announced = configured && !operator-withdrawn && !(failing check with withdraw) && !(drained with withdraw)
 *               && health known (a fresh node: viphealth's first report, and each gating check's first verdict)
 *   med       = (override while not expired ?? configured) + Σ failing-check penalties + drain penalty + lease
 *
 * Every term of the sum and every withdraw reason is listed, so `vipctl status` can answer "why is
 * this MED 1100?" without re-deriving anything.
 */
import { canonicalPrefix, sortByPrefix } from './prefix.js';
import { MAX_U32 } from './vocabulary.js';
import type { CheckVerdict, EffectiveVip, HealthView, MedTerm, RuntimeState, VipConfig, VipcontrolConfig, WithdrawReason } from './types.js';

// Configs are frozen and reused for many applies: sort each VIP list once, not on every computation.
const sortedVips = new WeakMap<
  readonly VipConfig[],
  { readonly vips: readonly VipConfig[]; readonly plain: readonly EffectiveVip[]; readonly at: ReadonlyMap<string, number> }
>();

/** Everything computeEffective looks at. */
export interface EffectiveInputs {
  readonly config: VipcontrolConfig;
  readonly runtime: RuntimeState;
  readonly health: HealthView;
  /** Epoch ms; overrides with `expiresAt <= now` and maintenance drains with `until <= now` no longer count. */
  readonly now: number;
  /**
   * Issue 4: prefixes whose non-forced withdraw is refused by the fleet's minAnnouncers guard. For
   * those, health/lease/non-forced operator/non-forced drain reasons add `config.guardPenalty` once
   * instead of withdrawing; forced operator withdraws and forced drains still withdraw.
   */
  readonly guarded?: ReadonlySet<string>;
}

interface Reason {
  readonly reason: WithdrawReason;
  readonly forced: boolean;
}

/** Computes the effective state of every configured VIP, sorted IPv4 first, then by address. Pure. */
export function computeEffective(inputs: EffectiveInputs): EffectiveVip[] {
  const { config, runtime, health, now } = inputs;
  const checksByVip = indexChecks(health.checks);
  const drain = runtime.drain !== undefined && (runtime.drain.until === undefined || runtime.drain.until > now) ? runtime.drain : undefined;
  const lease = health.leaseExpired ? config.health.leasePolicy : { action: 'hold' as const };
  const pending = new Set(health.pending);

  let sorted = sortedVips.get(config.vips);
  if (sorted === undefined) {
    const vips = sortByPrefix(config.vips, (v) => v.prefix);
    sorted = { vips, plain: Object.freeze(vips.map(plainVip)), at: new Map(vips.map((v, i) => [v.prefix, i])) };
    sortedVips.set(config.vips, sorted);
  }
  const { vips, plain, at } = sorted;
  if (drain === undefined && health.awaitingFirstReport !== true) {
    // Only VIPs named by an override, a withdraw or a check can differ from their plain state: start
    // from the cached plain list and recompute those alone (10,000 VIPs, a handful of overrides).
    const out = plain.slice();
    for (const prefix of [...Object.keys(runtime.overrides), ...Object.keys(runtime.withdrawn), ...checksByVip.keys()]) {
      const i = at.get(prefix);
      if (i !== undefined) out[i] = effectiveOf(vips[i]!);
    }
    return out;
  }
  return vips.map(effectiveOf);

  function effectiveOf(vip: VipConfig): EffectiveVip {
    const override = runtime.overrides[vip.prefix];
    const overridden = override !== undefined && (override.expiresAt === undefined || override.expiresAt > now);
    const withdrawn = runtime.withdrawn[vip.prefix];
    const checks = checksByVip.get(vip.prefix) ?? [];
    // Nothing but the config applies to most VIPs most of the time: reuse one frozen result per VIP.
    if (!overridden && withdrawn === undefined && checks.length === 0 && drain === undefined && health.awaitingFirstReport !== true) return plainVip(vip);

    const terms: MedTerm[] = [];
    const reasons: Reason[] = [];

    if (overridden) {
      terms.push({
        kind: 'override',
        med: override.med,
        ...(override.expiresAt !== undefined ? { expiresAt: override.expiresAt } : {}),
        ...(override.reason !== undefined ? { reason: override.reason } : {}),
      });
    } else {
      terms.push({ kind: 'configured', med: vip.med });
    }

    if (withdrawn !== undefined) {
      reasons.push({
        reason: { kind: 'operator', ...(withdrawn.reason !== undefined ? { reason: withdrawn.reason } : {}) },
        forced: withdrawn.force === true,
      });
    }

    // A fresh node announces a VIP once, with its final attributes: not before viphealth said which
    // checks gate it, nor before each of those reached its first verdict (a penalty check too). The
    // minAnnouncers guard does not turn these into its penalty: they withhold a first announcement,
    // they take no path away from the fabric (and the slot they take says so to the other nodes).
    if (health.awaitingFirstReport === true) reasons.push({ reason: { kind: 'awaiting-health' }, forced: true });
    for (const check of checks) {
      if (pending.has(check.name)) {
        reasons.push({ reason: { kind: 'health', check: check.name }, forced: true });
        continue;
      }
      // 'disabled' applies the check's configured effect: an operator disables a check to hold the VIP
      // in its failing state (e.g. during repair), not to silently make it healthy.
      if (check.status !== 'down' && check.status !== 'disabled') continue;
      if ('withdraw' in check.effect) reasons.push({ reason: { kind: 'health', check: check.name }, forced: false });
      else terms.push({ kind: 'health', check: check.name, penalty: check.effect.penalty });
    }

    if (drain !== undefined) {
      if (drain.withdraw) reasons.push({ reason: { kind: 'drain' }, forced: drain.force === true });
      else terms.push({ kind: 'drain', penalty: config.drainPenalty });
    }
    const communities = drain !== undefined && vip.gracefulShutdown === true ? gracefulShutdownCommunities(vip) : vip.communities;

    // The lease only concerns VIPs that viphealth gates: a VIP no check mentions has no health to lose.
    if (checks.length > 0) {
      if (lease.action === 'penalty') terms.push({ kind: 'lease', penalty: lease.penalty });
      else if (lease.action === 'withdraw') reasons.push({ reason: { kind: 'lease' }, forced: false });
    }

    let withdrawReasons = reasons;
    if (inputs.guarded?.has(vip.prefix) === true) {
      const refused = reasons.filter((r) => !r.forced);
      if (refused.length > 0) {
        terms.push({ kind: 'min-announcers', penalty: config.guardPenalty, refused: refused.map((r) => r.reason) });
        withdrawReasons = reasons.filter((r) => r.forced);
      }
    }

    const sum = terms.reduce((acc, t) => acc + ('med' in t ? t.med : t.penalty), 0);
    return {
      prefix: vip.prefix,
      family: vip.family,
      announced: withdrawReasons.length === 0,
      med: Math.min(sum, MAX_U32),
      terms,
      withdrawReasons: withdrawReasons.map((r) => r.reason),
      communities,
      largeCommunities: vip.largeCommunities,
      ...(vip.localPref !== undefined ? { localPref: vip.localPref } : {}),
    };
  }
}

/** RFC 8326 GRACEFUL_SHUTDOWN, well-known community: receivers lower the path's local-pref (to 0). */
export const GRACEFUL_SHUTDOWN_COMMUNITY = '65535:0';

const drainedCommunities = new WeakMap<VipConfig, readonly string[]>();

/** The VIP's communities plus GRACEFUL_SHUTDOWN; one frozen array per VipConfig (the renderer memoises by reference). */
function gracefulShutdownCommunities(vip: VipConfig): readonly string[] {
  let hit = drainedCommunities.get(vip);
  if (hit === undefined) {
    hit = Object.freeze(vip.communities.includes(GRACEFUL_SHUTDOWN_COMMUNITY) ? [...vip.communities] : [...vip.communities, GRACEFUL_SHUTDOWN_COMMUNITY]);
    drainedCommunities.set(vip, hit);
  }
  return hit;
}

const plainVips = new WeakMap<VipConfig, EffectiveVip>();

/** The effective state of a VIP only its config shapes (announced, configured MED); frozen, cached per VipConfig. */
function plainVip(vip: VipConfig): EffectiveVip {
  let hit = plainVips.get(vip);
  if (hit === undefined) {
    hit = Object.freeze({
      prefix: vip.prefix,
      family: vip.family,
      announced: true,
      med: Math.min(vip.med, MAX_U32),
      terms: Object.freeze([Object.freeze({ kind: 'configured' as const, med: vip.med })]),
      withdrawReasons: Object.freeze([]),
      communities: vip.communities,
      largeCommunities: vip.largeCommunities,
      ...(vip.localPref !== undefined ? { localPref: vip.localPref } : {}),
    });
    plainVips.set(vip, hit);
  }
  return hit;
}

/** Maps canonical prefix → checks gating it, in report order. Unparseable VIP names in a report gate nothing. */
function indexChecks(checks: readonly CheckVerdict[]): Map<string, CheckVerdict[]> {
  const index = new Map<string, CheckVerdict[]>();
  for (const check of checks) {
    const seen = new Set<string>();
    for (const text of check.vips) {
      let prefix: string;
      try {
        prefix = canonicalPrefix(text).prefix;
      } catch {
        // viphealth validates its own config; a bad entry here cannot match a configured VIP anyway.
        continue;
      }
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      const list = index.get(prefix);
      if (list) list.push(check);
      else index.set(prefix, [check]);
    }
  }
  return index;
}

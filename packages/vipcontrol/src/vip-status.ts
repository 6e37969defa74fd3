/**
 * The status projection: one VIP's effective state joined with its override, BIRD's table and what
 * the fabric protocols export. "In sync" means the fabric gets exactly the effective state: a VIP
 * BIRD has but does not export (a direct route on lo winning, a filter rejecting it, a session
 * down) is not in sync, whatever the table says.
 */
import { canonicalCommunity, canonicalLargeCommunity, vipInSync, type EffectiveVip, type ObservedRoute, type RuntimeState } from '@vipcontrol/core';
import type { FabricExport } from './announcer.js';
import type { ExportedRoute, VipStatus } from './daemon-types.js';

/** VIP statuses in one pass over `desired`. `exports` undefined: no fabric protocol known, the table is all there is. */
export function statusOf(
  desired: readonly EffectiveVip[],
  runtime: RuntimeState,
  table: ReadonlyMap<string, ObservedRoute> | undefined,
  exports: ReadonlyMap<string, FabricExport> | undefined,
): VipStatus[] {
  const out: VipStatus[] = [];
  for (const vip of desired) {
    const override = runtime.overrides[vip.prefix];
    const seen = table?.get(vip.prefix);
    const fabric = exports?.get(vip.prefix);
    const exported = table === undefined ? undefined : exportedRoute(seen, exports === undefined ? undefined : (fabric ?? null));
    out.push({
      ...vip,
      inSync: inSyncOf(vip, table, exports),
      ...(override ? { override } : {}),
      ...(exported ? { exported } : {}),
    });
  }
  return out;
}

/** Whether the fabric gets exactly `vip`'s effective state (the `inSync` of its status), without building the status. */
export function inSyncOf(
  vip: EffectiveVip,
  table: ReadonlyMap<string, ObservedRoute> | undefined,
  exports: ReadonlyMap<string, FabricExport> | undefined,
): boolean {
  if (table === undefined || !vipInSync(vip, table.get(vip.prefix))) return false;
  if (exports === undefined) return true;
  const fabric = exports.get(vip.prefix);
  return fabric !== undefined && fabricInSync(vip, fabric);
}

/** `fabric`: undefined = no fabric protocol known (table only); null = not read back for this VIP yet. */
function exportedRoute(seen: ObservedRoute | undefined, fabric: FabricExport | null | undefined): ExportedRoute {
  if (fabric === undefined) {
    return {
      ...(seen ? { present: true, med: seen.med, communities: seen.communities, largeCommunities: seen.largeCommunities } : { present: false, communities: [], largeCommunities: [] }),
      verifiedAt: 'table',
      inTable: seen !== undefined,
      to: [],
      missing: [],
    };
  }
  const route = fabric?.route;
  return {
    ...(route ? { present: true, med: route.med, communities: route.communities, largeCommunities: route.largeCommunities } : { present: false, communities: [], largeCommunities: [] }),
    verifiedAt: 'fabric',
    inTable: seen !== undefined,
    to: fabric?.to ?? [],
    missing: fabric?.missing ?? [],
    ...(fabric === null ? { reason: 'not read back since the last full check' } : fabric.reason ? { reason: fabric.reason } : {}),
    ...(fabric?.medUnverified ? { medUnverified: fabric.medUnverified } : {}),
  };
}

/** Exported to every fabric protocol of its family with the desired MED and at least its communities (filters may add). */
function fabricInSync(vip: EffectiveVip, fabric: FabricExport): boolean {
  if (!vip.announced) return fabric.to.length === 0;
  const route = fabric.route;
  if (fabric.missing.length > 0 || route === undefined || route.med !== vip.med) return false;
  const has = new Set(route.communities.map(orRaw(canonicalCommunity)));
  const hasLarge = new Set(route.largeCommunities.map(orRaw(canonicalLargeCommunity)));
  return vip.communities.every((c) => has.has(canonicalCommunity(c))) && vip.largeCommunities.every((c) => hasLarge.has(canonicalLargeCommunity(c)));
}

/** BIRD's spelling of what a filter added may not parse: kept raw, it simply matches nothing desired. */
function orRaw(canonical: (text: string) => string): (text: string) => string {
  return (text) => {
    try {
      return canonical(text);
    } catch {
      return text;
    }
  };
}

import { vipSetParts, type VipSetPart } from '@vipcontrol/core';

/** One check of a stand-in viphealth's report, with its VIPs listed (as a test writes it). */
export interface ReportedCheck {
  readonly name: string;
  readonly status: 'up' | 'down' | 'disabled' | 'unknown';
  readonly vips: readonly string[];
  readonly effect: { readonly penalty: number } | { readonly withdraw: true };
  readonly since: number;
}

/**
 * The body of `POST /v1/health/report` (format 2) a stand-in viphealth sends: each check names its VIP
 * list by digest, and every list goes along in full, so one request is enough for a fresh vipcontrol.
 */
export function healthReportBody(instance: string, startedAt: number, checks: readonly ReportedCheck[]): object {
  const parts = new Map<string, VipSetPart[]>();
  const named = checks.map(({ vips, ...check }) => {
    const own = vipSetParts(vips);
    parts.set(own[0]!.set, own);
    return { ...check, vipSet: own[0]!.set };
  });
  return { version: 2, instance, startedAt, checks: named, vipSetParts: [...parts.values()].flat() };
}

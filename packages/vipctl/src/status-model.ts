/**
 * The parts of the daemon's `GET /v1/status` answer that vipctl renders. Typed from core's shared
 * model; everything the daemon may omit is optional so an older or newer daemon still prints.
 */
import type { CheckVerdict, EffectiveVip, MedOverride, RuntimeState } from '@vipcontrol/core';

/** What BIRD really exports for one VIP, as read back by the daemon. */
export interface ExportedRoute {
  readonly present: boolean;
  readonly med?: number;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  /** 'fabric': checked against what the fabric BGP protocols export; 'table': BIRD's table only (no fabric protocol known). */
  readonly verifiedAt?: 'fabric' | 'table';
  readonly inTable?: boolean;
  readonly to?: readonly string[];
  readonly missing?: readonly string[];
  /** Why it is not exported (or exported otherwise than desired). */
  readonly reason?: string;
  /** Exported over eBGP: whether the MED survives depends on the export filter, which BIRD cannot show. */
  readonly medUnverified?: string;
}

/** One VIP in the status: its effective state plus override and BIRD's view. */
export type VipStatus = EffectiveVip & {
  readonly override?: MedOverride;
  readonly exported?: ExportedRoute;
  readonly inSync: boolean;
};

export interface LastApply {
  readonly id: number;
  readonly at: number;
  readonly durationMs: number;
  readonly ok: boolean;
  /** False when BIRD already matched and no `configure` was sent. */
  readonly configured?: boolean;
  readonly error?: string;
  /** Human summaries, e.g. "198.51.100.10/32 med 100→250". */
  readonly changed?: readonly string[];
}

/** `maintenance` in the status (vipcontrol's maintenance.ts): the windows, the next and the active one. */
export interface MaintenanceStatus {
  readonly windows: readonly { readonly index: number; readonly cron: string; readonly durationMs: number; readonly action: string; readonly next?: number; readonly error?: string }[];
  readonly active?: { readonly index: number; readonly action: string; readonly startedAt: number; readonly until: number; readonly caughtUp: boolean; readonly yieldedToOperator: boolean };
  readonly next?: { readonly index: number; readonly at: number; readonly skipped: boolean };
}

/** `GET /v1/status`. */
export interface DaemonStatus {
  readonly node: string;
  readonly version?: string;
  readonly startedAt?: number;
  /** The running config; `error` is the last refused reload (the old config stays in force). */
  readonly config?: { readonly file: string; readonly loadedAt: number; readonly error?: string; readonly errorAt?: number };
  readonly bird: {
    readonly connected: boolean;
    readonly socket?: string;
    readonly lastApply?: LastApply;
    /** Unresolved apply error; the change stays desired and is retried at `retryAt`. */
    readonly error?: string;
    readonly retryAt?: number;
    /** BIRD's pending `configure timeout`: vipcontrol's own, or someone else's (changes held until holdUntil). */
    readonly pendingConfigure?: { readonly owner: 'vipcontrol' | 'other'; readonly undoInSec: number; readonly seenAt: number; readonly holdUntil?: number };
    /** The fabric BGP protocols whose exports are verified. */
    readonly fabric?: readonly { readonly name: string; readonly family?: 4 | 6; readonly session?: 'internal' | 'external'; readonly state: string }[];
  };
  readonly loopback?: { readonly interface: string; readonly manage: boolean; readonly error?: string };
  readonly drain?: RuntimeState['drain'];
  /** VIPs whose withdraw the fleet's minAnnouncers guard turned into a MED penalty. */
  readonly guarded?: readonly string[];
  /** Present when maintenance windows are configured. */
  readonly maintenance?: MaintenanceStatus | { readonly error: string };
  readonly health?: {
    readonly leaseExpired: boolean;
    readonly lastReportAt?: number;
    readonly instance?: string;
    readonly checks: readonly CheckVerdict[];
  };
  readonly vips: readonly VipStatus[];
}

/** `{ ok: true, vips }`, the answer to every mutation. */
export interface OperationResult {
  readonly ok: true;
  readonly vips?: readonly VipStatus[];
  readonly applyId?: number;
}

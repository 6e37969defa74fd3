/**
 * The local API's contract: what the daemon answers (`GET /v1/status`, every mutation) and what
 * vipctl reads, declared once. The daemon builds these values; vipctl only reads them, and must still
 * print what an older or newer daemon sends (fields added later are optional).
 *
 * To extend the status, add the field here (optional when older daemons lack it); the daemon's
 * builders (vipcontrol controller.ts / reconciler.ts) then must fill it and vipctl can show it.
 */
import type { Actor, CheckVerdict, EffectiveVip, MedOverride, RuntimeState } from './types.js';
import { decodeHeaderText, encodeHeaderText, parseActorName, type ActorName } from './vocabulary.js';

/** What BIRD really exports for one VIP (from the daemon's last read-back). */
export interface ExportedRoute {
  /** Exported to the fabric (verifiedAt 'fabric'), or in BIRD's table when no fabric protocol is known ('table'). */
  readonly present: boolean;
  /** As sent: after the export filter of the first protocol in `to`. */
  readonly med?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  /** 'fabric': checked with `show route export P` for the fabric protocols; 'table': no fabric protocol known, BIRD's table only. */
  readonly verifiedAt?: 'fabric' | 'table';
  /** vipcontrol's static protocol has the route in BIRD's table. */
  readonly inTable?: boolean;
  /** Fabric protocols that export it. */
  readonly to?: readonly string[];
  /** Fabric protocols of its family that do not. */
  readonly missing?: readonly string[];
  /** Why it is not exported (or exported otherwise than desired), in words. */
  readonly reason?: string;
  /** Exported over eBGP: whether the MED survives depends on the export filter, which BIRD's CLI cannot show. */
  readonly medUnverified?: string;
}

/** A BGP protocol towards the fabric, as BIRD last described it (`bird.fabric` in status). */
export interface FabricProtocol {
  readonly name: string;
  /** Undefined when BIRD has no such protocol (a `bird.fabricProtocols` typo): it counts for both families. */
  readonly family?: 4 | 6;
  /** iBGP or eBGP, once BIRD says (the session was up at least once). */
  readonly session?: 'internal' | 'external';
  /** BGP state, e.g. "Established"; "not in BIRD" for a configured name BIRD does not have. */
  readonly state: string;
}

/** A `configure timeout` BIRD will undo unless confirmed (`bird.pendingConfigure` in status). */
export interface PendingConfigure {
  /** vipcontrol's own apply (or a crashed predecessor's), or someone else's (an operator's: changes held). */
  readonly owner: 'vipcontrol' | 'other';
  /** Seconds left on BIRD's undo timer when last asked. */
  readonly undoInSec: number;
  /** First seen (epoch ms). */
  readonly seenAt: number;
  /** `other` only: when vipcontrol stops holding its changes and applies over it (epoch ms). */
  readonly holdUntil?: number;
}

/** One VIP in status and operation results: its effective state plus override and BIRD's view. */
export type VipStatus = EffectiveVip & {
  readonly override?: MedOverride;
  /** Absent until BIRD has been read back once. */
  readonly exported?: ExportedRoute;
  /** BIRD's table has exactly the effective state AND every fabric protocol of its family exports it so. */
  readonly inSync: boolean;
};

/** Whether retrying an apply can help (transient: BIRD down, timeout) or not (permanent: config refused). */
export type ApplyErrorKind = 'transient' | 'permanent';

/** `bird.lastApply` in the status. */
export interface LastApplyStatus {
  readonly id: number;
  readonly at: number;
  readonly durationMs: number;
  readonly ok: boolean;
  /** False when BIRD already matched and no `configure` was sent. */
  readonly configured: boolean;
  readonly error?: string;
  readonly errorKind?: ApplyErrorKind;
  /** Human summaries: "198.51.100.10/32 med 100→250", "2001:db8::10/128 withdrawn". */
  readonly changed: readonly string[];
}

/** What happened to a state file that could not be parsed at start-up (moved aside). */
export interface CorruptStateInfo {
  readonly at: number;
  readonly movedTo: string;
  readonly error: string;
}

/** `state` in the status: the state file and whether it can be written. */
export interface StateFileStatus {
  readonly file: string;
  readonly lastWriteAt?: number;
  /** The last write failed (full disk, permissions): changes are refused, expiries still apply. */
  readonly error?: string;
  /** Epoch ms of the next attempt to persist an expiry that could not be written. */
  readonly retryAt?: number;
  readonly corrupt?: CorruptStateInfo;
}

/** `health` in the status: viphealth's lease and the verdicts in force. */
export interface HealthStatus {
  readonly leaseExpired: boolean;
  readonly leaseMs: number;
  readonly lastReportAt?: number;
  readonly instance?: string;
  readonly startedAt?: number;
  /** Checks whose verdict is held over from before because the reporter says `unknown`. */
  readonly held: readonly string[];
  /** Checks that never had a verdict on a fresh node: shown down, the VIPs they gate withheld until their first one. */
  readonly pending?: readonly string[];
  /**
   * A fresh node (no snapshot, nothing announced) waiting for viphealth's first report: nothing is
   * announced until it arrives or until `until` (start-up + `health.firstReportWait`).
   */
  readonly awaitingFirstReport?: { readonly until: number };
  /**
   * Checks added (or renamed) on a node that already had verdicts: no effect until their own first
   * verdict, so a fleet-wide config rollout moves nothing (viphealth's `startup: down` opts out).
   */
  readonly awaitingVerdict?: readonly string[];
  /** Health reports refused since start-up (malformed, old format, bad VIP list). */
  readonly reportsRefused: number;
  readonly lastRefusal?: { readonly at: number; readonly status: number; readonly error: string };
  /** Set from start-up until viphealth's first report: the verdicts come from the snapshot file. */
  readonly restored?: { readonly file: string; readonly savedAt: number };
  readonly checks: readonly CheckVerdict[];
}

/** One configured maintenance window in the status. */
export interface MaintenanceWindowStatus {
  readonly index: number;
  readonly cron: string;
  readonly durationMs: number;
  readonly action: 'drain' | 'withdraw';
  readonly timezone?: string;
  /** Next start (epoch ms), absent when the expression could not be scheduled. */
  readonly next?: number;
  /** The operator asked to skip this window's next run. */
  readonly skipNext: boolean;
  /** Sent by older daemons for a window node-cron could not schedule (now refused with the config). */
  readonly error?: string;
}

/** The maintenance window in force. */
export interface ActiveMaintenanceWindow {
  readonly index: number;
  readonly cron: string;
  readonly action: 'drain' | 'withdraw';
  readonly startedAt: number;
  readonly until: number;
  /** Entered at start-up for the remaining time of a window that began while the daemon was down. */
  readonly caughtUp: boolean;
  /** An operator drain was already in place: the window left it alone. */
  readonly yieldedToOperator: boolean;
}

/** `maintenance` in the status (vipcontrol's maintenance.ts): the windows, the next and the active one. */
export interface MaintenanceStatus {
  readonly windows: readonly MaintenanceWindowStatus[];
  readonly active?: ActiveMaintenanceWindow;
  /** The earliest next start over all windows. */
  readonly next?: { readonly index: number; readonly at: number; readonly skipped: boolean };
  readonly lastSkipped?: { readonly index: number; readonly at: number };
  readonly lastEnded?: { readonly index: number; readonly at: number; readonly early: boolean };
}

/** `GET /v1/status`. */
export interface DaemonStatus {
  readonly node: string;
  readonly version: string;
  readonly pid: number;
  readonly startedAt: number;
  /** The running config; `error` is the last refused reload (the old config stays in force). */
  readonly config: { readonly file: string; readonly loadedAt: number; readonly error?: string; readonly errorAt?: number };
  readonly state: StateFileStatus;
  readonly bird: {
    readonly connected: boolean;
    /** The version of the BIRD the daemon talks to (from its banner), e.g. "3.3.2"; absent until first connected. */
    readonly version?: string;
    readonly socket: string;
    readonly includeFile: string;
    readonly lastApply?: LastApplyStatus;
    /** Last good apply (may be older than lastApply when that failed). */
    readonly lastSuccessAt?: number;
    /** Error of the last apply, while unresolved; says the change stays desired and is retried. */
    readonly error?: string;
    readonly retryAt?: number;
    readonly applies: number;
    /** Seconds of `configure timeout N` (BIRD's undo timer for an unconfirmed apply). */
    readonly configureTimeoutSec?: number;
    /** BIRD's pending `configure timeout` when last asked. */
    readonly pendingConfigure?: PendingConfigure;
    /** The fabric protocols whose exports are verified; [] = none found (status then checks BIRD's table only). */
    readonly fabric?: readonly FabricProtocol[];
  };
  readonly loopback: { readonly interface: string; readonly manage: boolean; readonly error?: string };
  readonly drain?: RuntimeState['drain'];
  /** VIPs whose withdraw the fleet's minAnnouncers guard turned into a MED penalty. */
  readonly guarded: readonly string[];
  readonly health: HealthStatus;
  /** Present when maintenance windows are configured. */
  readonly maintenance?: MaintenanceStatus | { readonly error: string };
  /** Present in fleet mode (vipcontrol's fleet-agent.ts). */
  readonly fleet?: unknown;
  readonly vips: readonly VipStatus[];
}

/** The answer to every successful mutation. */
export interface OperationResult {
  readonly ok: true;
  readonly vips: readonly VipStatus[];
  readonly applyId?: number;
}

/** The answer to every refused or failed request (4xx, 5xx). */
export interface ErrorAnswer {
  readonly error: string;
  /** The change was saved and stays desired; only applying it in BIRD failed, and the daemon retries. */
  readonly saved?: true;
  /** 409 to `POST /v1/health/report`: the VIP lists (by digest) vipcontrol does not hold; send them. */
  readonly missingVipSets?: readonly string[];
}

/** The header naming who asks (`user@host`); its value is UTF-8 (see encodeActorHeader). */
export const ACTOR_HEADER = 'x-vipcontrol-actor';

/** The header value for `name` (vipctl): UTF-8 bytes, as Node sends header strings byte per char. */
export function encodeActorHeader(name: string): string {
  return encodeHeaderText(name);
}

/**
 * The actor of a request from its header (daemon): absent or empty → the API itself; otherwise the
 * same rule as the state file's `by` (so whatever is accepted here can be saved and read back).
 * @throws ValidationError (not UTF-8, control characters, too long)
 */
export function parseActorHeader(raw: string | readonly string[] | undefined): Actor {
  const value = typeof raw === 'string' ? raw : raw?.[0];
  if (value === undefined || value === '') return { source: 'api' };
  const user: ActorName = parseActorName(decodeHeaderText(value, 'X-Vipcontrol-Actor'), 'X-Vipcontrol-Actor');
  return { source: 'api', user };
}

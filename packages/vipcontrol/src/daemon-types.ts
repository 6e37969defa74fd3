/** The shapes the daemon shows to the outside: status, operation results, events. */
import type { Actor, EffectiveVip, MedOverride, RuntimeState } from '@vipcontrol/core';
import type { HealthRegistryStatus } from './health-registry.js';
import type { StateStoreStatus } from './state-store.js';
import type { ApplyErrorKind, FabricProtocol, PendingConfigure } from './announcer.js';

/** What BIRD really exports for one VIP (from the last read-back). */
export interface ExportedRoute {
  /** Exported to the fabric (verifiedAt 'fabric'), or in BIRD's table when no fabric protocol is known ('table'). */
  readonly present: boolean;
  /** As sent: after the fabric protocol's export filter (first protocol in `to`). */
  readonly med?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  /** 'fabric': checked with `show route export P` for the fabric protocols; 'table': no fabric protocol known, BIRD's table only. */
  readonly verifiedAt: 'fabric' | 'table';
  /** Our static protocol has the route in BIRD's table. */
  readonly inTable: boolean;
  /** Fabric protocols that export it. */
  readonly to: readonly string[];
  /** Fabric protocols of its family that do not. */
  readonly missing: readonly string[];
  /** Why it is not exported (or exported otherwise than desired). */
  readonly reason?: string;
  /** Exported over eBGP: whether the MED survives depends on the export filter, which BIRD's CLI cannot show. */
  readonly medUnverified?: string;
}

/** One VIP in status and operation results. */
export type VipStatus = EffectiveVip & {
  readonly override?: MedOverride;
  /** Absent until BIRD has been read back once. */
  readonly exported?: ExportedRoute;
  /** BIRD's table has exactly the effective state AND every fabric protocol exports it so. */
  readonly inSync: boolean;
};

/** Operations and events that change (or re-verify) what should be in BIRD. */
export type ChangeOp =
  | 'set-med'
  | 'reset-med'
  | 'withdraw'
  | 'announce'
  | 'drain'
  | 'undrain'
  | 'reload'
  | 'health'
  | 'expire'
  | 'guard'
  | 'startup'
  | 'verify'
  | 'bird-reconnect'
  | 'retry';

/** Why an apply happened; also the payload of the 'changed' event (audit trail). */
export interface ChangeRecord {
  readonly at: number;
  readonly op: ChangeOp;
  readonly actor: Actor;
  readonly prefix?: string;
  readonly reason?: string;
  /** Op-specific values, e.g. `{ med, ttlMs }`. Never rendered into BIRD config. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** How one VIP moved in an apply. */
export interface VipChange {
  readonly prefix: string;
  readonly from?: { readonly announced: boolean; readonly med: number };
  readonly to: { readonly announced: boolean; readonly med: number };
}

/** The result of one apply run (the 'applied' event). */
export interface ApplyOutcome {
  readonly id: number;
  readonly at: number;
  readonly durationMs: number;
  readonly ok: boolean;
  /** False when the no-op check found BIRD already right and no `configure` was sent. */
  readonly configured: boolean;
  readonly error?: string;
  readonly errorKind?: ApplyErrorKind;
  readonly changes: readonly VipChange[];
  readonly causes: readonly ChangeRecord[];
  readonly vips: readonly VipStatus[];
}

/** `lastApply` in status: the outcome's summary, its changes as text. */
export type LastApplyStatus = Pick<ApplyOutcome, 'id' | 'at' | 'durationMs' | 'ok' | 'configured' | 'error' | 'errorKind'> & {
  /** Human summaries: "198.51.100.10/32 med 100→250", "2001:db8::10/128 withdrawn". */
  readonly changed: readonly string[];
};

/** GET /v1/status. */
export interface DaemonStatus {
  readonly node: string;
  readonly version: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly config: { readonly file: string; readonly loadedAt: number; readonly error?: string; readonly errorAt?: number };
  readonly state: StateStoreStatus;
  readonly bird: {
    readonly connected: boolean;
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
    readonly configureTimeoutSec: number;
    /** BIRD's pending `configure timeout` when last asked: vipcontrol's own (being confirmed) or someone else's (changes held). */
    readonly pendingConfigure?: PendingConfigure;
    /** The fabric protocols whose exports are verified; [] = none known (status then checks BIRD's table only). */
    readonly fabric?: readonly FabricProtocol[];
  };
  readonly loopback: { readonly interface: string; readonly manage: boolean; readonly error?: string };
  readonly drain?: RuntimeState['drain'];
  readonly guarded: readonly string[];
  readonly health: HealthRegistryStatus;
  readonly maintenance?: unknown;
  readonly fleet?: unknown;
  readonly vips: readonly VipStatus[];
}

/** The answer to every successful mutation. */
export interface OperationResult {
  readonly ok: true;
  readonly vips: readonly VipStatus[];
  readonly applyId?: number;
}

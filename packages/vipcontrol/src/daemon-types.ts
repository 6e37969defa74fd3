/** The shapes the daemon shows to the outside: status, operation results, events. */
import type { Actor, EffectiveVip, MedOverride, RuntimeState } from '@vipcontrol/core';
import type { HealthRegistryStatus } from './health-registry.js';
import type { StateStoreStatus } from './state-store.js';
import type { ApplyErrorKind } from './bird-applier.js';

/** What BIRD really exports for one VIP (from the last read-back). */
export interface ExportedRoute {
  readonly present: boolean;
  readonly med?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
}

/** One VIP in status and operation results. */
export type VipStatus = EffectiveVip & {
  readonly override?: MedOverride;
  /** Absent until BIRD has been read back once. */
  readonly exported?: ExportedRoute;
  /** BIRD exports exactly the effective state. */
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

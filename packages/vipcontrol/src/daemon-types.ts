/**
 * The daemon's internal events (changes, apply outcomes). What it shows to the outside (status,
 * operation results) is the API contract in core (api-contract.ts), re-exported here.
 */
import type { Actor, DaemonStatus, LastApplyStatus, VipStatus } from '@vipcontrol/core';

export type { DaemonStatus, ExportedRoute, LastApplyStatus, OperationResult, VipStatus } from '@vipcontrol/core';

/** Controller.summary: what a node record and the fleet guard read of DaemonStatus, `vips` limited to those asked for. */
export interface StatusSummary extends Pick<DaemonStatus, 'version' | 'drain' | 'guarded' | 'vips'> {
  readonly bird: Pick<DaemonStatus['bird'], 'connected' | 'lastApply'>;
  /** The maintenance scheduler's status (or its error), as in DaemonStatus. */
  readonly maintenance?: unknown;
}

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

/** The result of one apply run (the 'applied' event); status shows it as `bird.lastApply`. */
export interface ApplyOutcome extends Omit<LastApplyStatus, 'changed'> {
  readonly changes: readonly VipChange[];
  readonly causes: readonly ChangeRecord[];
  readonly vips: readonly VipStatus[];
}

/**
 * How far the write of a runtime state has got, for the apply that renders it: `staged` once the
 * file system took the data (a full disk refuses it before), `durable` once it is on disk. Each
 * rejects if the write failed by then.
 */
export interface StateWrite {
  readonly staged: Promise<void>;
  readonly durable: Promise<void>;
}

/**
 * What the soak expects of each node: the runtime state built from the operations the daemon
 * accepted, nothing else. Pure, so the bookkeeping is unit-tested on its own.
 *
 * - An operation that answered success, or an error that says the change is saved and stays desired,
 *   is accepted: it is in the model.
 * - Any other error must have changed nothing: it is not in the model.
 * - An operation whose outcome the soak cannot know (vipcontrol SIGKILLed, or Redis killed, while it
 *   ran) forks the model: both "it happened" and "it did not" are candidates until a check sees which.
 * - A TTL is known to expire somewhere in [request sent + ttl, answer received + ttl]; while a check
 *   reads inside that window the VIP is "in flux" and the check polls again.
 */
import type { SoakNode, SoakOp } from './schedule.js';

export interface ModelOverride {
  readonly med: number;
  /** Earliest and latest moment (epoch ms) the override can expire; absent = no TTL. */
  readonly expires?: { readonly from: number; readonly to: number };
}

/** One candidate runtime state of a node. */
export interface NodeModel {
  readonly overrides: Readonly<Record<string, ModelOverride>>;
  readonly withdrawn: readonly string[];
  readonly drain?: { readonly withdraw: boolean };
}

export const EMPTY_MODEL: NodeModel = { overrides: {}, withdrawn: [] };

/** What one VIP's status must show, derived from a model at a moment. */
export interface ExpectedVip {
  readonly override?: number;
  readonly withdrawn: boolean;
  readonly announced: boolean;
  /** Effective MED (meaningful when announced). */
  readonly med: number;
}

/** Applies an accepted operation. `sentAt`/`answeredAt` bound when the daemon took it (TTL windows). */
export function applyOp(model: NodeModel, op: SoakOp, sentAt: number, answeredAt: number): NodeModel {
  switch (op.kind) {
    case 'set-med': {
      const override: ModelOverride = op.ttlMs === undefined
        ? { med: op.med }
        : { med: op.med, expires: { from: sentAt + op.ttlMs, to: answeredAt + op.ttlMs } };
      return { ...model, overrides: sortedRecord({ ...model.overrides, [op.prefix]: override }) };
    }
    case 'reset-med': {
      const { [op.prefix]: _gone, ...overrides } = model.overrides;
      return { ...model, overrides };
    }
    case 'withdraw':
      return { ...model, withdrawn: [...new Set([...model.withdrawn, op.prefix])].sort() };
    case 'announce':
      return { ...model, withdrawn: model.withdrawn.filter((p) => p !== op.prefix) };
    case 'drain':
      return { ...model, drain: { withdraw: op.withdraw } };
    case 'undrain': {
      const { drain: _gone, ...rest } = model;
      return rest;
    }
  }
}

/** Drops overrides certainly expired before `now` (so candidates that differ only by them merge). */
export function dropExpired(model: NodeModel, now: number): NodeModel {
  const overrides = Object.fromEntries(Object.entries(model.overrides).filter(([, o]) => o.expires === undefined || o.expires.to >= now));
  return { ...model, overrides };
}

/**
 * The expected state of `prefix` for a read taken within [readFrom, readTo], or 'flux' when an
 * override's expiry window overlaps the read (± `slackMs`): then either answer may be right.
 */
export function expectedVip(
  model: NodeModel,
  prefix: string,
  configuredMed: number,
  drainPenalty: number,
  read: { from: number; to: number },
  slackMs = 100,
): ExpectedVip | 'flux' {
  const o = model.overrides[prefix];
  let override: number | undefined;
  if (o !== undefined) {
    if (o.expires === undefined || o.expires.from > read.to + slackMs) override = o.med;
    else if (o.expires.to >= read.from - slackMs) return 'flux';
  }
  const withdrawn = model.withdrawn.includes(prefix);
  const announced = !withdrawn && !(model.drain?.withdraw ?? false);
  const med = (override ?? configuredMed) + (model.drain && !model.drain.withdraw ? drainPenalty : 0);
  return { ...(override === undefined ? {} : { override }), withdrawn, announced, med };
}

/** The set of candidate models of one node (usually one). */
export class NodeExpectation {
  readonly node: SoakNode;
  #candidates: NodeModel[] = [EMPTY_MODEL];

  constructor(node: SoakNode) {
    this.node = node;
  }

  get candidates(): readonly NodeModel[] {
    return this.#candidates;
  }

  /** An accepted operation. */
  accept(op: SoakOp, sentAt: number, answeredAt: number): void {
    this.#candidates = dedupe(this.#candidates.map((m) => applyOp(m, op, sentAt, answeredAt)));
  }

  /** An operation that may or may not have happened. */
  fork(op: SoakOp, sentAt: number, answeredAt: number): void {
    this.#candidates = dedupe([...this.#candidates, ...this.#candidates.map((m) => applyOp(m, op, sentAt, answeredAt))]);
  }

  /** Keeps the candidates a check found consistent with the daemon (never none). */
  narrow(consistent: readonly NodeModel[], now: number): void {
    if (consistent.length > 0) this.#candidates = dedupe(consistent.map((m) => dropExpired(m, now)));
  }

  /** After a violation: continue from what the daemon shows, so one fault is not reported forever. */
  resync(model: NodeModel): void {
    this.#candidates = [model];
  }
}

/** Same keys, sorted: candidates that differ only by insertion order compare (and dedupe) equal. */
function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function dedupe(models: NodeModel[]): NodeModel[] {
  const seen = new Map<string, NodeModel>();
  for (const m of models) seen.set(JSON.stringify(m), m);
  return [...seen.values()];
}

/**
 * What vipcontrol knows about viphealth: the last verdict of every check, and the liveness lease.
 *
 * Two rules keep a viphealth deploy invisible on the wire:
 * - a check reported as `unknown` (a fresh viphealth, or a check just changed by a reload) keeps the
 *   verdict it had before, until the new process reaches its own. On a fresh node a check with no
 *   verdict ever is `pending` (shown `down`): the VIPs it gates are withheld, whatever its effect,
 *   until its first verdict — DESIGN.md's startup rule, a service is not announced before it passed
 *   `rise` checks (viphealth's `startup: up` opts out by reporting `up`). A check new on a running
 *   node gates nothing until its own verdict (`awaitingVerdict`);
 * - 'change' is emitted only when something the effective state depends on changes (a status, a
 *   check's VIPs or effect, the set of checks, the lease) — never for a mere heartbeat.
 *
 * The lease: once a report has ever been received, `leaseMs` without one marks the view
 * `leaseExpired` (vipcontrol then applies the configured lease policy through computeEffective);
 * the next report restores it.
 *
 * A fresh node (no snapshot, nothing of ours announced in BIRD yet) does not know which VIPs
 * viphealth gates until its first report: `awaitingFirstReport` withholds every VIP until that report
 * or `firstReportWaitMs` after start-up, so nothing is announced first and moved or withdrawn a moment
 * later. Pending checks then withhold the VIPs they gate until their first verdict (computeEffective).
 *
 * Across a vipcontrol restart (a code deploy) the view survives in a snapshot file (health-snapshot.ts):
 * `restore()` loads it as held verdicts — the same rule as a viphealth restart — until viphealth's
 * first report; the lease counts afresh from start-up (viphealth may be restarting too), except that
 * a lease already expired stays expired until a report arrives.
 */
import { EventEmitter } from 'node:events';
import {
  HealthReportError,
  parseHealthReport,
  parseHealthReportBody,
  vipSetDigest,
  type CheckVerdict,
  type HealthReport,
  type HealthReportBody,
  type HealthReportReply,
  type HealthStatus,
  type HealthView,
} from '@vipcontrol/core';
import { OperationError } from './errors.js';
import type { HealthSnapshot, HealthSnapshotStore } from './health-snapshot.js';
import { VipSetStore } from './health-vip-sets.js';

/** A refused report is logged at error level at most this often while the reason stays the same. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** The part of a pino logger the registry uses. */
export interface HealthRegistryLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HealthRegistryOptions {
  readonly leaseMs: number;
  readonly logger: HealthRegistryLogger;
  readonly now?: () => number;
  /** How long a fresh node waits for viphealth's first report (0: not at all). */
  readonly firstReportWaitMs?: number;
  /** Where the view is kept across restarts; none: start empty (tests). */
  readonly snapshot?: HealthSnapshotStore;
}

export class HealthRegistry extends EventEmitter {
  readonly #leaseMs: number;
  readonly #logger: HealthRegistryLogger;
  readonly #now: () => number;
  #checks: readonly CheckVerdict[] = [];
  #held: readonly string[] = [];
  #pending: readonly string[] = [];
  #awaiting: readonly string[] = [];
  readonly #vipSets = new VipSetStore();
  #refused = 0;
  #lastRefusal: HealthStatus['lastRefusal'];
  #refusalLoggedAt = -Infinity;
  #instance: string | undefined;
  #startedAt: number | undefined;
  #lastReportAt: number | undefined;
  /** The lease runs from here: the last report, or start-up after a restore. */
  #leaseFrom: number | undefined;
  #restored: HealthStatus['restored'];
  readonly #snapshot: HealthSnapshotStore | undefined;
  /** What the snapshot on disk reflects (view key + pending), so only real changes are written. */
  #savedKey = '';
  /** The lease state last announced (logged and emitted), so each edge is reported once. */
  #expiredAnnounced = false;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  readonly #firstReportWaitMs: number;
  /** Set while a fresh node waits for viphealth's first report: when the wait ends without one. */
  #awaitingUntil: number | undefined;
  #awaitTimer: NodeJS.Timeout | undefined;

  constructor(opts: HealthRegistryOptions) {
    super();
    if (!(opts.leaseMs > 0)) throw new RangeError(`leaseMs must be > 0, got ${opts.leaseMs}`);
    this.#leaseMs = opts.leaseMs;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#snapshot = opts.snapshot;
    this.#firstReportWaitMs = opts.firstReportWaitMs ?? 0;
  }

  /**
   * Loads the snapshot (if any) as held verdicts, before the first apply. An absent or corrupt file
   * is logged by the store and the registry starts empty; then, when `nothingAnnounced` (BIRD has no
   * route of ours: a fresh node), it waits for viphealth's first report (see the module comment).
   */
  async restore(nothingAnnounced = false): Promise<void> {
    const saved = await this.#snapshot?.load();
    // A report accepted while the file was read is newer than the file. (A refused one only started the lease.)
    if (this.#lastReportAt !== undefined) return;
    if (saved === undefined) {
      if (nothingAnnounced && this.#firstReportWaitMs > 0) {
        this.#awaitingUntil = this.#now() + this.#firstReportWaitMs;
        this.#logger.info(
          { event: 'healthAwaitingFirstReport', until: this.#awaitingUntil, waitMs: this.#firstReportWaitMs },
          `fresh node: nothing is announced until viphealth's first report (at most ${this.#firstReportWaitMs} ms)`,
        );
        this.#scheduleAwait();
      }
      return;
    }
    const now = this.#now();
    for (const c of saved.checks) this.#vipSets.remember(c.vips);
    this.#checks = saved.checks;
    this.#pending = saved.pending;
    this.#held = saved.checks.map((c) => c.name).filter((n) => !saved.pending.includes(n));
    this.#instance = saved.instance;
    this.#startedAt = saved.startedAt;
    this.#restored = { file: this.#snapshot!.file, savedAt: saved.savedAt };
    // An expired lease stays expired (its policy is what is on the wire now); a live one starts afresh.
    this.#leaseFrom = saved.leaseExpired ? now - this.#leaseMs : now;
    this.#expiredAnnounced = saved.leaseExpired;
    this.#savedKey = this.#saveKey();
    this.#logger.info(
      { event: 'healthRestored', file: this.#restored.file, savedAt: saved.savedAt, held: this.#held, pending: this.#pending, leaseExpired: saved.leaseExpired },
      `holding ${saved.checks.length} health verdicts from before the restart until viphealth reports`,
    );
    this.#schedule();
  }

  /**
   * Takes the body of `POST /v1/health/report` (format 2: VIP lists by digest). OperationError 400
   * when malformed (counted and logged: a refused report is a check that cannot act), 409 with
   * `missingVipSets` when a check names a VIP list not held yet (viphealth sends it and retries).
   */
  receive(body: unknown): { changed: boolean; reply: HealthReportReply } {
    let wire: HealthReportBody;
    try {
      wire = parseHealthReportBody(body);
      if (wire.vipSetParts) this.#vipSets.add(wire.vipSetParts);
    } catch (err) {
      const refusal = err instanceof HealthReportError ? new OperationError(400, err.message, { cause: err }) : err;
      if (refusal instanceof OperationError) this.#refuse(refusal.status, refusal.message);
      throw refusal;
    }
    const missing = [...new Set(wire.checks.filter((c) => this.#vipSets.get(c.vipSet) === undefined).map((c) => c.vipSet))];
    if (missing.length > 0) {
      this.#startLease();
      throw new OperationError(409, `health report names ${missing.length} VIP lists vipcontrol does not hold; send them`, { details: { missingVipSets: missing } });
    }
    const checks = wire.checks.map(({ vipSet, ...c }) => ({ ...c, vips: this.#vipSets.get(vipSet)! }));
    const damping: Record<string, CheckVerdict['damping']> = {};
    const previous = new Map(this.#checks.map((c) => [c.name, c]));
    for (const c of wire.checks) {
      const prev = previous.get(c.name);
      if (c.status === 'unknown' && c.damping === undefined && prev?.damping !== undefined) damping[c.name] = prev.damping;
    }
    const { changed } = this.#accept({ instance: wire.instance, startedAt: wire.startedAt, checks });
    this.#vipSets.retain(new Set(wire.checks.map((c) => c.vipSet)));
    return { changed, reply: { ok: true, ...(Object.keys(damping).length > 0 && { damping }) } };
  }

  /**
   * A report that could not be used. Counted, shown in status, logged at error level (again when
   * the reason changes or a minute later); the lease runs from the first one, so reports that never
   * get through cannot leave VIPs ungated without the lease policy taking over.
   */
  #refuse(status: number, error: string): void {
    const now = this.#now();
    this.#refused += 1;
    const same = this.#lastRefusal?.error === error;
    this.#lastRefusal = { at: now, status, error };
    if (!same || now - this.#refusalLoggedAt >= REFUSAL_LOG_INTERVAL_MS) {
      this.#refusalLoggedAt = now;
      this.#logger.error({ event: 'healthReportRefused', status, error, refused: this.#refused }, `health report refused (${status}): ${error}`);
    }
    this.#startLease();
  }

  /** Takes one report with its VIP lists resolved (tests, and `receive`). Validates it (OperationError 400). */
  ingest(report: HealthReport): { changed: boolean } {
    let valid: HealthReport;
    try {
      valid = parseHealthReport(report);
    } catch (err) {
      if (err instanceof HealthReportError) throw new OperationError(400, err.message, { cause: err });
      throw err;
    }
    return this.#accept(valid);
  }

  /**
   * Merges `unknown` checks with their previous verdicts, renews the lease. Emits 'change' and
   * returns `changed: true` when the view changed.
   */
  #accept(valid: HealthReport): { changed: boolean } {
    const now = this.#now();
    const before = healthViewKey(this.view(now));
    if (this.#instance !== undefined && valid.instance !== this.#instance) {
      this.#logger.info(
        { event: 'viphealthRestarted', old: this.#instance, new: valid.instance, startedAt: valid.startedAt },
        'viphealth restarted: holding previous verdicts until its checks reach their own',
      );
    }
    const previous = new Map(this.#checks.map((c) => [c.name, c]));
    // A node that never had a verdict is fresh: its unproven services are not announced.
    const fresh = this.#instance === undefined;
    const held: string[] = [];
    const pending: string[] = [];
    const awaiting: string[] = [];
    this.#checks = valid.checks.map((c) => {
      if (c.status !== 'unknown') return c;
      const prev = previous.get(c.name);
      if (this.#pending.includes(c.name) || (prev === undefined && fresh)) {
        pending.push(c.name);
        return { ...c, status: 'down' };
      }
      if (prev === undefined || this.#awaiting.includes(c.name)) {
        awaiting.push(c.name);
        return c; // `unknown` gates nothing (computeEffective): the new check waits for its own verdict
      }
      held.push(c.name);
      // The new process's evidence is shown, but the old verdict (and its damping) stays in force.
      return { ...c, status: prev.status, since: prev.since, ...(c.damping === undefined && prev.damping !== undefined && { damping: prev.damping }) };
    });
    this.#held = held;
    this.#pending = pending;
    this.#awaiting = awaiting;
    this.#instance = valid.instance;
    this.#startedAt = valid.startedAt;
    this.#lastReportAt = now;
    this.#leaseFrom = now;
    this.#restored = undefined;
    this.#endAwait();
    if (this.#expiredAnnounced) {
      this.#expiredAnnounced = false;
      this.#logger.warn({ event: 'healthLeaseRestored', instance: valid.instance }, 'viphealth reports again: health lease restored');
    }
    this.#schedule();
    const view = this.view(now);
    const changed = healthViewKey(view) !== before;
    if (changed) this.emit('change', view);
    this.#save();
    return { changed };
  }

  /** The verdicts computeEffective uses. `leaseExpired` is judged at `now`. */
  view(now: number = this.#now()): HealthView {
    return {
      checks: this.#checks,
      leaseExpired: this.#isExpired(now),
      ...(this.#pending.length > 0 && { pending: this.#pending }),
      ...(this.#awaitingUntil !== undefined && { awaitingFirstReport: true }),
    };
  }

  status(): HealthStatus {
    const now = this.#now();
    return {
      leaseExpired: this.#isExpired(now),
      leaseMs: this.#leaseMs,
      ...(this.#lastReportAt !== undefined && { lastReportAt: this.#lastReportAt }),
      ...(this.#instance !== undefined && { instance: this.#instance }),
      ...(this.#startedAt !== undefined && { startedAt: this.#startedAt }),
      held: this.#held,
      pending: this.#pending,
      ...(this.#awaitingUntil !== undefined && { awaitingFirstReport: { until: this.#awaitingUntil } }),
      awaitingVerdict: this.#awaiting,
      reportsRefused: this.#refused,
      ...(this.#lastRefusal !== undefined && { lastRefusal: this.#lastRefusal }),
      ...(this.#restored !== undefined && { restored: this.#restored }),
      checks: this.#checks,
    };
  }

  /** Starts watching the lease (a no-op until the first report). */
  start(): void {
    this.#running = true;
    this.#schedule();
    this.#scheduleAwait();
  }

  /** Stops the lease timer and waits for the snapshot to be on disk. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#awaitTimer);
    this.#awaitTimer = undefined;
    await this.#snapshot?.flush();
  }

  /** Starts the lease clock if no report ever started it. */
  #startLease(): void {
    if (this.#leaseFrom !== undefined) return;
    this.#leaseFrom = this.#now();
    this.#schedule();
  }

  #isExpired(now: number): boolean {
    return this.#leaseFrom !== undefined && now - this.#leaseFrom >= this.#leaseMs;
  }

  /** Writes the snapshot when what a restart would restore has changed. */
  #save(): void {
    const key = this.#saveKey();
    if (this.#snapshot === undefined || key === this.#savedKey) return;
    this.#savedKey = key;
    this.#snapshot.save(() => this.#toSnapshot());
  }

  #saveKey(): string {
    return JSON.stringify([healthViewKey(this.view()), this.#pending, this.#checks.map((c) => c.damping)]);
  }

  #toSnapshot(): HealthSnapshot {
    const now = this.#now();
    return {
      version: 1,
      savedAt: now,
      instance: this.#instance!,
      startedAt: this.#startedAt!,
      leaseExpired: this.#isExpired(now),
      pending: this.#pending,
      checks: this.#checks,
    };
  }

  /** One timer, re-armed on every report, fires exactly when the lease would run out. */
  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#running || this.#leaseFrom === undefined || this.#expiredAnnounced) return;
    const delay = Math.max(0, this.#leaseFrom + this.#leaseMs - this.#now());
    this.#timer = setTimeout(() => this.#onLeaseTimer(), delay);
  }

  #scheduleAwait(): void {
    clearTimeout(this.#awaitTimer);
    this.#awaitTimer = undefined;
    if (!this.#running || this.#awaitingUntil === undefined) return;
    this.#awaitTimer = setTimeout(() => {
      this.#awaitTimer = undefined;
      this.#logger.warn(
        { event: 'healthFirstReportMissing', waitMs: this.#firstReportWaitMs },
        `no report from viphealth within ${this.#firstReportWaitMs} ms of start-up: announcing without health verdicts (health.firstReportWait)`,
      );
      this.#endAwait();
      this.emit('change', this.view());
    }, Math.max(0, this.#awaitingUntil - this.#now()));
  }

  #endAwait(): void {
    clearTimeout(this.#awaitTimer);
    this.#awaitTimer = undefined;
    this.#awaitingUntil = undefined;
  }

  #onLeaseTimer(): void {
    this.#timer = undefined;
    const now = this.#now();
    if (!this.#isExpired(now)) {
      this.#schedule();
      return;
    }
    this.#expiredAnnounced = true;
    this.#logger.error(
      { event: 'healthLeaseExpired', lastReportAt: this.#lastReportAt, leaseMs: this.#leaseMs, instance: this.#instance },
      `no report from viphealth for ${now - this.#leaseFrom!} ms: health lease expired, applying the lease policy`,
    );
    this.emit('change', this.view(now));
    this.#save();
  }
}

/** Digest per VIP list object: a heartbeat re-uses the same lists, so keying 10,000 VIPs costs a lookup. */
const vipListKeys = new WeakMap<readonly string[], string>();
function vipListKey(vips: readonly string[]): string {
  let key = vipListKeys.get(vips);
  if (key === undefined) vipListKeys.set(vips, (key = vipSetDigest(vips)));
  return key;
}

/** What of a health view the effective state depends on (lastResult, since and latencies are evidence only). */
export function healthViewKey(view: HealthView): string {
  return JSON.stringify([
    view.leaseExpired,
    view.awaitingFirstReport === true,
    view.pending ?? [],
    view.checks.map((c) => [c.name, c.status, vipListKey(c.vips), c.effect]),
  ]);
}

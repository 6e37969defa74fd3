/**
 * The reconcile loop: decides what is desired — computeEffective(config, runtime, health, now,
 * guarded) → render — and hands it to the Announcer (announcer.ts: include file, configure, read-back,
 * confirm) with the loopback steps around it (loopback-sync.ts); the status projection is
 * vip-status.ts. All through ONE coalescing queue, so exactly one apply runs at a time and bursts
 * are squashed.
 *
 * Triggers: operator/health/fleet changes (via the Controller), a periodic re-verify (BIRD's state
 * may drift: someone ran `birdc configure`, BIRD restarted), BIRD's 'reconnect' (BIRD restarted
 * under us: re-verify and re-apply — the daemon never exits because BIRD went away), and retries
 * with backoff after a failed apply.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  computeEffective,
  exponentialBackoff,
  renderBirdIncludeParts,
  vipInSync,
  type EffectiveVip,
  type HealthView,
  type ObservedRoute,
  type RuntimeState,
  type VipcontrolConfig,
} from '@vipcontrol/core';
import { BURST_QUIET_MS, CoalescingQueue } from './apply-queue.js';
import { ApplyError, StateNotWrittenError, type Announcer, type ApplyScope, type FabricExport } from './announcer.js';
import { configuredPrefixes } from './config-index.js';
import { inSyncOf, statusOf } from './vip-status.js';
import type { LoopbackManager } from './loopback.js';
import { LoopbackSync, type LoopbackStep } from './loopback-sync.js';
import type { ApplyOutcome, ChangeOp, ChangeRecord, LastApplyStatus, StateWrite, VipChange, VipStatus } from './daemon-types.js';

export interface ReconcilerOptions {
  config: VipcontrolConfig;
  runtime: () => RuntimeState;
  /**
   * The write of the state `runtime()` returned (as of the call); taken beside `desired`, it holds
   * that apply's `configure` and `configure confirm`. Absent: always written.
   */
  stateWrite?: () => StateWrite;
  health: (now: number) => HealthView;
  announcer: Pick<Announcer, 'apply' | 'watch' | 'takeBirdChanges'>;
  /** Absent when `loopback.manage` is false. */
  loopback?: LoopbackManager;
  logger: Logger;
  /** Periodic re-verify; 0 disables (tests). Default 30 s. */
  verifyIntervalMs?: number;
  /** How often BIRD is looked at for changes made outside vipcontrol (Announcer.watch); 0 disables. Default 2 s. */
  birdWatchMs?: number;
  /** Backoff after a failed apply: min(max, min * 2^(failures-1)). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Longest an apply waits for a burst still being read off the API socket (see holdWhile). Default 200 ms. */
  burstHoldMs?: number;
  now?: () => number;
}

const SYSTEM = { source: 'system' } as const;
/** Changes listed one by one in status and logs; the rest are counted. */
const MAX_LISTED = 100;
/**
 * Causes after which nothing is taken for granted: the include file is re-read from disk, every
 * route is read back and the loopback is listed. Operator, health and fleet changes instead read
 * back only the prefixes they change and touch the loopback only when its address set changes.
 */
const FULL_CHECK: ReadonlySet<ChangeOp> = new Set<ChangeOp>(['startup', 'verify', 'bird-reconnect', 'retry', 'reload']);

/** Owns "what should BIRD export" and the single writer that makes it so. */
export class Reconciler extends EventEmitter {
  readonly #o: ReconcilerOptions;
  readonly #log: Logger;
  readonly #queue: CoalescingQueue<ChangeRecord, ApplyOutcome>;
  readonly #now: () => number;
  #config: VipcontrolConfig;
  /** BIRD settings are fixed at start-up (the announcer and client were built from them). */
  readonly #bird: VipcontrolConfig['bird'];
  #guarded: ReadonlySet<string> = new Set();
  readonly #loopback: LoopbackSync;
  /** BIRD's routes in our protocols at the last read-back, by canonical prefix. */
  #exported: Map<string, ObservedRoute> | undefined;
  /** What the fabric protocols export, at the last read-back; undefined while none is known. */
  #exports: Map<string, FabricExport> | undefined;
  #lastApply: LastApplyStatus | undefined;
  #lastSuccessAt: number | undefined;
  /** The desired state the last successful apply made BIRD export (scoped applies diff against it). */
  #applied: { config: VipcontrolConfig; desired: readonly EffectiveVip[] } | undefined;
  #applyId = 0;
  #verifyTimer: NodeJS.Timeout | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  /** A look at BIRD is in flight (a stopped BIRD must not pile them up). */
  #watching = false;
  /** The quick re-verify while out of sync (#recheckWhileOutOfSync): its timer and last delay. */
  #recheck: { delayMs: number; timer?: NodeJS.Timeout } = { delayMs: 0 };
  #intakeBusy: () => boolean = () => false;
  /** Per outcome: its VIP statuses for a subset of prefixes, computed only when asked for. */
  readonly #outcomeViews = new WeakMap<ApplyOutcome, (only?: ReadonlySet<string>) => VipStatus[]>();

  constructor(opts: ReconcilerOptions) {
    super();
    this.#o = opts;
    this.#log = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#config = opts.config;
    this.#bird = opts.config.bird;
    this.#loopback = new LoopbackSync(opts.loopback, opts.logger);
    this.#loopback.manage(opts.config.vips.map((v) => v.prefix));
    const min = opts.retryMinMs ?? 500;
    const max = opts.retryMaxMs ?? 30_000;
    this.#queue = new CoalescingQueue<ChangeRecord, ApplyOutcome>({
      run: (causes) => this.#run(causes),
      // An ApplyError may know better (hold for an operator's pending configure, no retry at all).
      retryDelayMs: (failures, error) =>
        error instanceof ApplyError && error.retryAfterMs !== undefined
          ? (error.retryAfterMs ?? undefined)
          : exponentialBackoff({ attempt: failures, minMs: min, maxMs: max }),
      retryCause: { at: 0, op: 'retry', actor: SYSTEM },
      // A health-driven failover never waits for a burst of operator requests.
      hold: { busy: () => this.#intakeBusy(), maxMs: opts.burstHoldMs ?? 200, quietMs: BURST_QUIET_MS, urgent: (c) => c.op === 'health' },
    });
  }

  /**
   * `busy()`: requests are still being read (API) or persisted on their way to `request`. An apply
   * about to start then waits for them (bounded by burstHoldMs), so a burst is one apply rather
   * than several, each competing with the reading of the rest for the one thread.
   */
  holdWhile(busy: () => boolean): void {
    this.#intakeBusy = busy;
  }

  get config(): VipcontrolConfig {
    return this.#config;
  }

  /** The BIRD settings in force (a reload cannot change them). */
  get bird(): VipcontrolConfig['bird'] {
    return this.#bird;
  }

  /** Swaps the config (valid reload); the caller requests the apply. */
  setConfig(config: VipcontrolConfig): void {
    this.#config = config;
    this.#loopback.manage(config.vips.map((v) => v.prefix));
  }

  get guarded(): ReadonlySet<string> {
    return this.#guarded;
  }

  setGuarded(prefixes: ReadonlySet<string>): void {
    this.#guarded = new Set(prefixes);
  }

  get lastApply(): LastApplyStatus | undefined {
    return this.#lastApply;
  }

  get lastSuccessAt(): number | undefined {
    return this.#lastSuccessAt;
  }

  get loopbackError(): string | undefined {
    return this.#loopback.error;
  }

  /** Applies started so far (coalescing shows as applies << requests). */
  get applies(): number {
    return this.#queue.runs;
  }

  /** When the automatic retry after a failure fires, if pending. */
  get retryAt(): number | undefined {
    return this.#queue.nextRetryAt;
  }

  /** The effective state right now. */
  desired(now = this.#now()): EffectiveVip[] {
    return computeEffective({
      config: this.#config,
      runtime: this.#o.runtime(),
      health: this.#o.health(now),
      now,
      guarded: this.#guarded,
    });
  }

  /** Effective state joined with overrides and BIRD's last read-back. */
  vipStatus(desired: readonly EffectiveVip[] = this.desired()): VipStatus[] {
    return statusOf(desired, this.#o.runtime(), this.#exported, this.#exports);
  }

  /** The statuses of `prefixes` as of `outcome` (same values as `outcome.vips`, without building all of them). */
  outcomeVips(outcome: ApplyOutcome, prefixes: readonly string[]): VipStatus[] {
    const view = this.#outcomeViews.get(outcome);
    return view ? view(new Set(prefixes)) : outcome.vips.filter((v) => prefixes.includes(v.prefix));
  }

  /** Asks for an apply that includes `cause`; resolves with its outcome, rejects with ApplyError. */
  request(cause: ChangeRecord): Promise<ApplyOutcome> {
    return this.#queue.request(cause);
  }

  /** Arms the periodic re-verify and the watch on BIRD. */
  start(): void {
    const every = this.#o.verifyIntervalMs ?? 30_000;
    if (every > 0) {
      this.#verifyTimer = setInterval(() => {
        this.request({ at: this.#now(), op: 'verify', actor: SYSTEM }).catch(() => undefined); // recorded by #run
      }, every);
      this.#verifyTimer.unref();
    }
    const watch = this.#o.birdWatchMs ?? 2_000;
    if (watch > 0) {
      this.#watchTimer = setInterval(() => void this.#watchBird(), watch);
      this.#watchTimer.unref();
    }
  }

  /** Stops timers and waits for an apply in flight; never withdraws anything. */
  async stop(): Promise<void> {
    if (this.#verifyTimer) clearInterval(this.#verifyTimer);
    if (this.#watchTimer) clearInterval(this.#watchTimer);
    clearTimeout(this.#recheck.timer);
    await this.#queue.stop();
  }

  /**
   * While a full check finds a VIP out of sync — typically a fabric session still coming up after a
   * BIRD restart, so nothing is exported yet — checks again soon (1 s, doubling up to the verify
   * interval) instead of at the next periodic verify: status follows the fabric within seconds. A
   * check that finds BIRD's table right sends nothing to BIRD, so this never causes an UPDATE.
   */
  #recheckWhileOutOfSync(outOfSync: boolean): void {
    clearTimeout(this.#recheck.timer);
    const every = this.#o.verifyIntervalMs ?? 30_000;
    if (!outOfSync || every <= 0) {
      this.#recheck = { delayMs: 0 };
      return;
    }
    const delayMs = Math.min(Math.max(1000, this.#recheck.delayMs * 2), every);
    const timer = setTimeout(() => {
      this.request({ at: this.#now(), op: 'verify', actor: SYSTEM }).catch(() => undefined); // recorded by #run
    }, delayMs);
    timer.unref();
    this.#recheck = { delayMs, timer };
  }

  /** Between applies: has someone changed BIRD? Then verify at once (see Announcer.watch). */
  async #watchBird(): Promise<void> {
    if (this.#watching || !this.#queue.idle) return; // an apply looks at BIRD itself
    this.#watching = true;
    let changes: string[] = [];
    try {
      changes = await this.#o.announcer.watch();
    } catch (error) {
      // BIRD down or stopped: the connection's own events and the applies report that.
      this.#log.debug({ event: 'birdWatchFailed', err: error }, 'cannot look at BIRD');
    } finally {
      this.#watching = false;
    }
    if (changes.length > 0) this.#birdChanged(changes, true);
  }

  /** BIRD changed without us: status must follow it now (`verify`), not at the next periodic verify. Emits 'birdChanged'. */
  #birdChanged(changes: readonly string[], verify: boolean): void {
    this.emit('birdChanged', changes);
    this.#log.info({ event: 'birdChangedOutside', changes }, `BIRD changed outside vipcontrol: ${changes.join('; ')}${verify ? '; reading back what it exports' : ''}`);
    if (verify) this.request({ at: this.#now(), op: 'verify', actor: SYSTEM, detail: { birdChanges: changes } }).catch(() => undefined); // recorded by #run
  }

  async #run(causes: ChangeRecord[]): Promise<ApplyOutcome> {
    const id = ++this.#applyId;
    const started = performance.now();
    const at = this.#now();
    const before = this.#exported;
    const full = before === undefined || this.#lastApply?.ok !== true || causes.some((c) => FULL_CHECK.has(c.op));
    let desired: EffectiveVip[] = [];
    let loopback: LoopbackStep | undefined;
    try {
      desired = this.desired(at);
      // Same tick as `desired`: the write of the state it came from may still be in flight.
      const written = this.#o.stateWrite?.();
      const rendered = renderBirdIncludeParts(desired, { protocol4: this.#bird.protocol4, protocol6: this.#bird.protocol6 });
      const differing = this.#differing(desired);
      loopback = await this.#loopback.before(desired, {
        full,
        removeOnWithdraw: this.#config.loopback.removeOnWithdraw,
        ...(differing ? { announcementsUnchanged: differing.at.every((i) => desired[i]!.announced === differing.last[i]!.announced) } : {}),
      });
      const scope: ApplyScope | undefined =
        full || before === undefined ? undefined : { ...changedPrefixes(before, desired, differing), known: before, knownExports: this.#exports };
      // A scoped apply updates `before` in place (see ApplyScope.known): keep what it said of the
      // changed prefixes for the change log. That is all the log needs: a route of a VIP no longer
      // configured is in `changed` too (changedPrefixes lists it; with `differing` the config is the
      // one the last apply verified, so there is none).
      const was = scope ? entriesOf(before!, scope.changed) : before;
      this.#applied = undefined;
      const result = await this.#o.announcer.apply(rendered, desired, scope, written);
      // Seen right before this apply's configure: a scoped read-back cannot tell what they did to the rest.
      const birdChanges = this.#o.announcer.takeBirdChanges();
      if (birdChanges.length > 0) this.#birdChanged(birdChanges, scope !== undefined);
      this.#exported = result.observed;
      this.#exports = result.exports;
      this.#applied = { config: this.#config, desired };
      // Route first, address after: the fabric stops sending before the address disappears.
      const step = loopback;
      loopback = undefined;
      await this.#loopback.after(step);
      const changes = result.configured
        ? diff(was, differing && scope ? differing.at.map((i) => desired[i]!) : desired, configuredPrefixes(this.#config), scope && new Set(scope.changed))
        : [];
      const outcome = this.#finish({ id, at, started, ok: true, configured: result.configured, changes, causes, desired });
      if (full) this.#recheckWhileOutOfSync(desired.some((v) => !inSyncOf(v, this.#exported, this.#exports)));
      return outcome;
    } catch (error) {
      await this.#loopback.failed(loopback);
      // The state `desired` came from never reached the disk (full): nothing was sent, the callers
      // are refused by the controller. Apply the state in force instead: not a failed apply.
      if (error instanceof StateNotWrittenError) return this.#run(causes);
      const applyError =
        error instanceof ApplyError
          ? error
          : new ApplyError(`apply failed: ${(error as Error).message}`, { kind: 'permanent', phase: 'write', restored: true, cause: error });
      this.#finish({ id, at, started, ok: false, configured: false, changes: [], causes, desired, error: applyError });
      throw applyError;
    }
  }

  #finish(r: {
    id: number;
    at: number;
    started: number;
    ok: boolean;
    configured: boolean;
    changes: VipChange[];
    causes: ChangeRecord[];
    desired: EffectiveVip[];
    error?: ApplyError;
  }): ApplyOutcome {
    const durationMs = Math.round((performance.now() - r.started) * 1000) / 1000;
    // A first apply at 10,000 VIPs changes them all: status and logs carry a bounded summary.
    const changed = r.changes.slice(0, MAX_LISTED).map(describeChange);
    if (r.changes.length > MAX_LISTED) changed.push(`… and ${r.changes.length - MAX_LISTED} more`);
    this.#lastApply = {
      id: r.id,
      at: r.at,
      durationMs,
      ok: r.ok,
      configured: r.configured,
      changed,
      ...(r.error ? { error: r.error.message, errorKind: r.error.kind } : {}),
    };
    if (r.ok) this.#lastSuccessAt = r.at;
    // Statuses are built on demand: a burst's 1,000 callers each want one VIP, not all 10,000.
    // (`exported` is updated in place by later scoped applies: a late reader sees newer routes.)
    const runtime = this.#o.runtime();
    const exported = this.#exported;
    const exports = this.#exports;
    let positions: Map<string, number> | undefined;
    let scans = 0;
    const view = (only?: ReadonlySet<string>): VipStatus[] => {
      if (!only) return statusOf(r.desired, runtime, exported, exports);
      // One caller wants one VIP: a scan is cheaper than an index, until many callers share the outcome.
      if (positions === undefined && (scans += 1) <= 4) return statusOf(r.desired.filter((v) => only.has(v.prefix)), runtime, exported, exports);
      positions ??= new Map(r.desired.map((v, i) => [v.prefix, i]));
      const at = [...only].map((p) => positions!.get(p)).filter((i) => i !== undefined);
      return statusOf(at.sort((a, b) => a - b).map((i) => r.desired[i]!), runtime, exported, exports);
    };
    let vips: VipStatus[] | undefined;
    const outcome: ApplyOutcome = {
      id: r.id,
      at: r.at,
      durationMs,
      ok: r.ok,
      configured: r.configured,
      changes: r.changes,
      causes: r.causes,
      get vips(): VipStatus[] {
        vips ??= view();
        return vips;
      },
      ...(r.error ? { error: r.error.message, errorKind: r.error.kind } : {}),
    };
    this.#outcomeViews.set(outcome, view);
    this.#logApply(outcome, changed);
    this.emit('applied', outcome);
    return outcome;
  }

  #logApply(o: ApplyOutcome, changed: string[]): void {
    // A burst of 1,000 set-meds is one apply: log a sample of the causes, not all of them.
    const why = o.causes.slice(0, 10).map((c) => ({ op: c.op, actor: c.actor, prefix: c.prefix, reason: c.reason }));
    const fields = {
      event: o.ok ? 'applied' : 'applyFailed',
      applyId: o.id,
      durationMs: o.durationMs,
      ...(o.ok ? { configureSkipped: !o.configured } : {}),
      changes: o.changes.slice(0, MAX_LISTED),
      changeCount: o.changes.length,
      causes: why,
      causeCount: o.causes.length,
      ...(o.error ? { error: o.error, errorKind: o.errorKind } : {}),
    };
    if (!o.ok) this.#log.error(fields, `apply failed: ${o.error}; the change stays desired and is retried`);
    else if (o.configured || o.causes.some((c) => c.op !== 'verify')) {
      this.#log.info(fields, o.configured ? `applied: ${changed.join(', ') || 'no VIP change'}` : 'BIRD already in sync; configure skipped');
    } else this.#log.debug(fields, 'periodic verify: in sync');
  }

  /**
   * Indices of `desired` whose effective state is not the very same object as at the last successful
   * apply under the same config (computeEffective reuses one frozen object per untouched VIP), or
   * undefined when the two cannot be lined up. At 10,000 VIPs this is a pointer walk, and it spares
   * the apply 10,000 route comparisons and loopback set rebuilds.
   */
  #differing(desired: readonly EffectiveVip[]): Differing | undefined {
    const last = this.#applied;
    if (last === undefined || last.config !== this.#config || last.desired.length !== desired.length) return undefined;
    const at: number[] = [];
    for (let i = 0; i < desired.length; i++) {
      if (desired[i] === last.desired[i]) continue;
      if (desired[i]!.prefix !== last.desired[i]!.prefix) return undefined;
      at.push(i);
    }
    return { last: last.desired, at };
  }
}

/** Where this apply's desired state is not the same objects as the last successful apply's. */
interface Differing {
  readonly last: readonly EffectiveVip[];
  /** Indices into both lists. */
  readonly at: readonly number[];
}

/**
 * Prefixes whose route BIRD must change: desired differs from the last read-back, or a route to
 * remove; and the desired VIPs among them. With `differing` (see Reconciler#differing) only those
 * VIPs can, and only they are compared.
 */
function changedPrefixes(
  known: ReadonlyMap<string, ObservedRoute>,
  desired: readonly EffectiveVip[],
  differing?: Differing,
): { changed: string[]; desired: EffectiveVip[] } {
  const vips: EffectiveVip[] = [];
  const changed: string[] = [];
  if (differing) {
    for (const i of differing.at) {
      const vip = desired[i]!;
      if (!vipInSync(vip, known.get(vip.prefix))) vips.push(vip);
    }
    return { changed: vips.map((v) => v.prefix), desired: vips };
  }
  const configured = new Set<string>();
  for (const vip of desired) {
    configured.add(vip.prefix);
    if (vipInSync(vip, known.get(vip.prefix))) continue;
    changed.push(vip.prefix);
    vips.push(vip);
  }
  for (const prefix of known.keys()) if (!configured.has(prefix)) changed.push(prefix);
  return { changed, desired: vips };
}

/** The entries of `map` for `keys` (those it has). */
function entriesOf<V>(map: ReadonlyMap<string, V>, keys: readonly string[]): Map<string, V> {
  const out = new Map<string, V>();
  for (const key of keys) {
    const value = map.get(key);
    if (value !== undefined) out.set(key, value);
  }
  return out;
}

/**
 * VIPs whose announcement or MED differs from what BIRD exported before the apply, among `desired`
 * (every VIP, or those that may have changed) and `only`, if given.
 */
function diff(
  before: ReadonlyMap<string, ObservedRoute> | undefined,
  desired: readonly EffectiveVip[],
  configured: ReadonlySet<string>,
  only?: ReadonlySet<string>,
): VipChange[] {
  const changes: VipChange[] = [];
  for (const vip of desired) {
    if (only && !only.has(vip.prefix)) continue;
    const to = { announced: vip.announced, med: vip.med };
    if (!before) {
      changes.push({ prefix: vip.prefix, to });
      continue;
    }
    const seen = before.get(vip.prefix);
    const from = seen ? { announced: true, med: seen.med ?? 0 } : { announced: false, med: vip.med };
    if (from.announced !== to.announced || (to.announced && from.med !== to.med)) changes.push({ prefix: vip.prefix, from, to });
  }
  // Routes of VIPs a reload removed from the config disappear too.
  for (const [prefix, seen] of before ?? []) {
    if (!configured.has(prefix)) changes.push({ prefix, from: { announced: true, med: seen.med ?? 0 }, to: { announced: false, med: seen.med ?? 0 } });
  }
  return changes;
}

function describeChange(c: VipChange): string {
  if (!c.to.announced) return `${c.prefix} withdrawn`;
  if (!c.from || !c.from.announced) return `${c.prefix} announced med ${c.to.med}`;
  return `${c.prefix} med ${c.from.med}→${c.to.med}`;
}

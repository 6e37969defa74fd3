/**
 * Scheduled maintenance windows (issue 4): `maintenance: [{ cron, duration, action, timezone }]`.
 * node-cron parses and fires the cron expressions; a firing window drains the node (action `drain`:
 * MED penalty; `withdraw`: withdraw) through the Controller with `source: 'maintenance'` and
 * `untilMs`, and undrains it when the window ends.
 *
 * Rules (docs/fleet.md, "Maintenance windows"):
 * - An operator drain is never replaced nor ended by a window: the window is recorded as active, but
 *   the operator's drain stays exactly as it is.
 * - A window missed because the daemon was down is entered at start-up for its remaining time when
 *   start-up falls inside it (the most recent cron match within `duration` before now); a window
 *   that already ended is not replayed.
 * - `skipNext()` skips the next window to fire (of all windows); `endActive()` ends the active one early.
 *   Both are persisted in the state file before they answer (issue 10): a restart neither re-enters an
 *   ended window nor forgets a skip.
 * - Daylight saving (docs/fleet.md): node-cron does not fire a window whose start falls in the hour a
 *   spring-forward skips, and the catch-up takes the later of the two starts of a repeated hour; both
 *   are logged (`maintenanceDst`).
 * - Overlapping windows extend the active one to the later end.
 * The API routes POST /v1/maintenance/skip and /v1/maintenance/end (vipctl maintenance skip|end) are
 * added to the API server's routes here, for as long as the scheduler runs.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type {
  ActiveMaintenanceWindow,
  MaintenanceMarks,
  MaintenanceStatus,
  MaintenanceWindowConfig,
  MaintenanceWindowStatus,
  NodeRecord,
  VipcontrolConfig,
} from '@vipcontrol/core';
import { noBody, type ApiRoutes } from './api-routes.js';
import type { Controller } from './controller.js';
import { OperationError } from './errors.js';
import type { Logger } from './logger.js';

export type { ActiveMaintenanceWindow, MaintenanceStatus, MaintenanceWindowStatus } from '@vipcontrol/core';

export interface Maintenance {
  stop(): void;
  status(): MaintenanceStatus;
  /** Skips the next window to start (persisted before it resolves). */
  skipNext(): Promise<void>;
  /** Ends the active window now. Rejects with OperationError 409 when none is active. */
  endActive(): Promise<void>;
}

interface Slot {
  readonly index: number;
  readonly cfg: MaintenanceWindowConfig;
  task?: ScheduledTask;
  skipNext: boolean;
}

const ACTOR = { source: 'maintenance' as const };

/** Schedules the configured windows and returns the handle the daemon and the API use. */
/** Where the operator's skip / end decisions are kept across restarts (the daemon: the state file). */
export interface MaintenanceMarkStore {
  load(): MaintenanceMarks | undefined;
  save(marks: MaintenanceMarks): Promise<void>;
}

export function startMaintenance(opts: {
  config: VipcontrolConfig;
  controller: Controller;
  logger: Logger;
  /** The API server's routes: skip/end are added for as long as the scheduler runs. */
  routes: ApiRoutes;
  now?: () => number;
  marks?: MaintenanceMarkStore;
}): Maintenance {
  const { controller } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.logger; // the daemon passes a child with component: 'maintenance'
  let active: ActiveMaintenanceWindow | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  let lastSkipped: MaintenanceStatus['lastSkipped'];
  let lastEnded: MaintenanceStatus['lastEnded'];
  let stopped = false;
  let marks: MaintenanceMarks = opts.marks?.load() ?? {};
  const saveMarks = async (next: MaintenanceMarks) => {
    await opts.marks?.save(next);
    marks = next;
  };
  // Window transitions run one after another: a start racing an end must not interleave Controller calls.
  let chain: Promise<void> = Promise.resolve();
  const serial = (what: string, fn: () => Promise<void>) => {
    chain = chain.then(fn).catch((err: Error) => log.error({ event: 'maintenanceError', what, err: err.message }, `maintenance ${what} failed`));
    return chain;
  };

  const slots: Slot[] = opts.config.maintenance.map((cfg, index) => {
    // The config parser validated cfg.cron with node-cron itself (core), so schedule() accepts it.
    // One object for the cron callback and for skipNext(): a copy would miss the operator's skip flag.
    const slot: Slot = { index, cfg, skipNext: false };
    slot.task = cron.schedule(cfg.cron, (ctx) => void serial('start', () => begin(slot, ctx.date.getTime(), false)), {
      name: `vipcontrol-maintenance-${index}`,
      ...(cfg.timezone ? { timezone: cfg.timezone } : {}),
      noOverlap: false,
    });
    return slot;
  });

  async function begin(slot: Slot, at: number, caughtUp: boolean): Promise<void> {
    if (stopped) return;
    const { cfg, index } = slot;
    if (slot.skipNext) {
      slot.skipNext = false;
      lastSkipped = { index, at };
      log.info({ event: 'maintenanceSkipped', index, cron: cfg.cron }, 'maintenance window skipped by operator');
      return;
    }
    const until = at + cfg.durationMs;
    if (until <= now()) return;
    if (active) {
      if (until <= active.until) return;
      log.info({ event: 'maintenanceExtended', index, until }, 'overlapping maintenance window extends the active one');
      active = { ...active, until };
      if (!active.yieldedToOperator) await drain(cfg, until);
      armEnd();
      return;
    }
    const operator = controller.status().drain;
    const yielded = operator !== undefined && operator.source !== 'maintenance';
    active = { index, cron: cfg.cron, action: cfg.action, startedAt: at, until, caughtUp, yieldedToOperator: yielded };
    log.info({ event: 'maintenanceStarted', index, cron: cfg.cron, action: cfg.action, until, caughtUp, yieldedToOperator: yielded },
      yielded ? 'maintenance window started; the node is already drained by an operator, left as is' : `maintenance window started: ${cfg.action}`);
    if (!yielded) await drain(cfg, until);
    armEnd();
  }

  async function drain(cfg: MaintenanceWindowConfig, until: number): Promise<void> {
    await controller.drain({ withdraw: cfg.action === 'withdraw', reason: `maintenance window (${cfg.cron})`, source: 'maintenance', untilMs: until }, ACTOR);
  }

  function armEnd(): void {
    clearTimeout(endTimer);
    if (!active) return;
    // setTimeout caps at ~24.8 days; windows are far shorter, and a longer one is re-armed on restart.
    endTimer = setTimeout(() => void serial('end', () => finish(false)), Math.min(Math.max(0, active.until - now()), 2 ** 31 - 1));
    endTimer.unref();
  }

  async function finish(early: boolean): Promise<void> {
    if (!active) return;
    const ended = active;
    // Persisted first: a restart inside this window must not enter it again.
    if (early) await saveMarks({ ...marks, ended: { index: ended.index, startedAt: ended.startedAt } });
    active = undefined;
    clearTimeout(endTimer);
    lastEnded = { index: ended.index, at: now(), early };
    log.info({ event: 'maintenanceEnded', index: ended.index, early }, early ? 'maintenance window ended early by operator' : 'maintenance window ended');
    // Only our own drain is ours to end (an operator may have drained meanwhile).
    if (controller.status().drain?.source === 'maintenance') await controller.undrain(ACTOR);
  }

  // Start-up: re-enter a window that is in progress (the daemon was down when it fired), unless the
  // operator ended or skipped exactly that run; restore a skip of the next run.
  for (const slot of slots) {
    if (!slot.task) continue;
    const skipped = marks.skipped?.index === slot.index ? marks.skipped.at : undefined;
    if (skipped !== undefined && slot.task.getNextRun()?.getTime() === skipped) {
      slot.skipNext = true;
      log.info({ event: 'maintenanceSkipRestored', index: slot.index, at: skipped }, 'the operator\'s skip of the next maintenance window is kept across the restart');
    }
    const start = lastStartWithin(slot.task, now(), slot.cfg.durationMs, slot.cfg.cron);
    if (start === undefined) continue;
    if ((marks.ended?.index === slot.index && marks.ended.startedAt === start) || skipped === start) {
      const why = skipped === start ? 'skipped' : 'ended early';
      log.info({ event: 'maintenanceCatchUpDeclined', index: slot.index, start, why }, `maintenance window in progress was ${why} by the operator before the restart: not entered again`);
      if (skipped === start) lastSkipped = { index: slot.index, at: start };
      continue;
    }
    const repeated = dstShift(slot.cfg.timezone, start);
    if (repeated !== 0) {
      log.warn({ event: 'maintenanceDst', index: slot.index, start, timezone: slot.cfg.timezone, shiftMs: repeated },
        'catch-up start is within an hour of a daylight-saving change: a repeated hour matches twice; the later match is used');
    }
    void serial('catch-up', () => begin(slot, start, true));
  }

  const handle: Maintenance = {
    stop() {
      stopped = true;
      clearTimeout(endTimer);
      for (const s of slots) void s.task?.destroy();
      for (const remove of routes) remove();
    },
    status() {
      const windows = slots.map((s): MaintenanceWindowStatus => {
        const next = s.task?.getNextRun()?.getTime();
        return {
          index: s.index, cron: s.cfg.cron, durationMs: s.cfg.durationMs, action: s.cfg.action,
          ...(s.cfg.timezone ? { timezone: s.cfg.timezone } : {}),
          ...(next !== undefined ? { next } : {}),
          skipNext: s.skipNext,
        };
      });
      const first = nextWindow(slots);
      return {
        windows,
        ...(active ? { active } : {}),
        ...(first ? { next: { index: first.slot.index, at: first.at, skipped: first.slot.skipNext } } : {}),
        ...(lastSkipped ? { lastSkipped } : {}),
        ...(lastEnded ? { lastEnded } : {}),
      };
    },
    async skipNext() {
      const first = nextWindow(slots);
      if (!first) throw new OperationError(409, 'no maintenance window is scheduled');
      await saveMarks({ ...marks, skipped: { index: first.slot.index, at: first.at } });
      first.slot.skipNext = true;
      log.info({ event: 'maintenanceSkipRequested', index: first.slot.index, at: first.at }, 'next maintenance window will be skipped');
    },
    async endActive() {
      if (!active) throw new OperationError(409, 'no maintenance window is active');
      await serial('end', () => finish(true));
    },
  };
  const routes = [
    opts.routes.add('POST', '/v1/maintenance/skip', async ({ body }) => {
      noBody(body);
      await handle.skipNext();
      return { ok: true, maintenance: handle.status() };
    }),
    opts.routes.add('POST', '/v1/maintenance/end', async ({ body }) => {
      noBody(body);
      await handle.endActive();
      return { ok: true, maintenance: handle.status() };
    }),
  ];
  return handle;
}

/**
 * The fleet record's `maintenance` from the `maintenance` part of GET /v1/status (a MaintenanceStatus,
 * or `{ error }` when the scheduler could not start): the active window's end, the next start.
 * Undefined when there is neither.
 */
export function maintenanceSummary(status: unknown): NonNullable<NodeRecord['maintenance']> | undefined {
  if (typeof status !== 'object' || status === null || !('windows' in status)) return undefined;
  const { active, next } = status as MaintenanceStatus;
  if (!active && !next) return undefined;
  return {
    ...(active ? { activeUntil: active.until, activeAction: active.action } : {}),
    ...(next ? { next: next.at, ...(next.skipped ? { nextSkipped: true } : {}) } : {}),
  };
}

/**
 * The change of `timezone`'s UTC offset within an hour either side of `at` (ms; 0 when none): a
 * daylight-saving change near a window start. Uses Intl only (no time-zone tables of our own).
 */
export function dstShift(timezone: string | undefined, at: number): number {
  if (!timezone) return 0;
  const offset = (t: number) => {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(new Date(t));
    const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(t / 1000) * 1000;
  };
  return offset(at + 3_600_000) - offset(at - 3_600_000);
}

function nextWindow(slots: readonly Slot[]): { slot: Slot; at: number } | undefined {
  let best: { slot: Slot; at: number } | undefined;
  for (const slot of slots) {
    const at = slot.task?.getNextRun()?.getTime();
    if (at !== undefined && (!best || at < best.at)) best = { slot, at };
  }
  return best;
}

/**
 * The latest time in (now - duration, now] the task's expression matches, if any: the start of a
 * window that should be active now. Asks node-cron's own matcher (no cron parsing here), stepping by
 * minute unless the expression has a seconds field other than "0".
 */
export function lastStartWithin(task: Pick<ScheduledTask, 'match'>, now: number, durationMs: number, expression: string): number | undefined {
  const fields = expression.trim().split(/\s+/);
  const step = fields.length === 6 && fields[0] !== '0' ? 1000 : 60_000;
  const top = Math.floor(now / step) * step;
  for (let t = top; t > now - durationMs; t -= step) {
    if (task.match(new Date(t))) return t;
  }
  return undefined;
}

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@vipcontrol/testlab';
import cron from 'node-cron';
import { dstShift, lastStartWithin, maintenanceSummary, startMaintenance, type Maintenance } from '../src/maintenance.js';
import { ApiRoutes } from '../src/api-routes.js';
import type { MaintenanceMarks } from '@vipcontrol/core';
import { createLogger } from '../src/logger.js';
import { OperationError } from '../src/errors.js';
import { FakeController, testConfig } from './fleet-fake-controller.js';

const running: Maintenance[] = [];
after(() => running.forEach((m) => m.stop()));

const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });

/** A mark store as the daemon's state file keeps it: survives a "restart" (a new startMaintenance). */
function markStore() {
  let kept: MaintenanceMarks | undefined;
  return { load: () => kept, save: async (m: MaintenanceMarks) => void (kept = JSON.parse(JSON.stringify(m)) as MaintenanceMarks) };
}

function start(windows: string, now?: () => number, marks?: ReturnType<typeof markStore>) {
  const ctl = new FakeController(testConfig('n1', `maintenance:\n${windows}`));
  const m = startMaintenance({ config: ctl.config, controller: ctl, logger: quiet, routes: new ApiRoutes(), ...(now ? { now } : {}), ...(marks ? { marks } : {}) });
  running.push(m);
  return { ctl, m };
}

/** A 6-field expression that fires once, `ahead` seconds from now (and then a minute later). */
function inSeconds(ahead: number): string {
  return `${(new Date().getSeconds() + ahead) % 60} * * * * *`;
}

test('a window fires: drains through the Controller with source maintenance, then undrains at its end', async () => {
  const { ctl, m } = start(`  - { cron: "${inSeconds(2)}", duration: 1500ms, action: withdraw }\n`);
  assert.ok(m.status().next && m.status().next!.at - Date.now() <= 3000);
  const drained = await waitFor(() => ctl.calls.find((c) => c.op === 'drain'), { timeoutMs: 5000, message: 'window start' });
  const req = drained.args[0] as { withdraw: boolean; source: string; untilMs: number };
  assert.deepEqual([req.withdraw, req.source, drained.actor], [true, 'maintenance', { source: 'maintenance' }]);
  assert.equal(m.status().active?.action, 'withdraw');
  // The fleet record's summary (vipctl fleet status): the active window's end and the next start.
  assert.deepEqual(maintenanceSummary(m.status()), { activeUntil: req.untilMs, activeAction: 'withdraw', next: m.status().next!.at });
  assert.deepEqual([maintenanceSummary(undefined), maintenanceSummary({ error: 'x' })], [undefined, undefined]);
  assert.ok(ctl.status().vips.every((v) => !v.announced));
  await waitFor(() => ctl.ops().includes('undrain'), { timeoutMs: 4000, message: 'window end' });
  assert.equal(m.status().active, undefined);
  assert.equal(m.status().lastEnded?.early, false);
  assert.ok(ctl.status().vips.every((v) => v.announced));
});

test('skip next, end early, and an operator drain left alone', async () => {
  // Both start in the future: the skip must reach the cron-fired run, not only a start-up catch-up.
  const { ctl, m } = start(`  - { cron: "${inSeconds(1)}", duration: 10s, action: drain }\n  - { cron: "${inSeconds(2)}", duration: 10s, action: drain }\n`);
  await m.skipNext();
  assert.deepEqual([m.status().next?.index, m.status().next?.skipped], [0, true]);
  await waitFor(() => m.status().lastSkipped, { timeoutMs: 3000, message: 'skipped run' });
  await waitFor(() => m.status().active, { timeoutMs: 3000, message: 'next run starts' });
  assert.deepEqual([m.status().lastSkipped?.index, m.status().active?.index], [0, 1]);
  assert.equal(ctl.ops().filter((o) => o === 'drain').length, 1);
  await m.endActive();
  assert.equal(m.status().lastEnded?.early, true);
  assert.equal(ctl.ops().at(-1), 'undrain');
  m.stop();
  await assert.rejects(m.endActive(), (e: Error) => e instanceof OperationError && e.status === 409);

  // An operator drain is in place when the window starts: neither replaced nor ended by it.
  const op = start(`  - { cron: "${inSeconds(1)}", duration: 1s, action: withdraw }\n`);
  await op.ctl.drain({ withdraw: false, reason: 'by hand' }, { source: 'api', user: 'alice' });
  await waitFor(() => op.m.status().active, { timeoutMs: 4000, message: 'window' });
  assert.equal(op.m.status().active?.yieldedToOperator, true);
  await waitFor(() => op.m.status().lastEnded, { timeoutMs: 4000, message: 'window end' });
  assert.deepEqual(op.ctl.ops(), ['drain']);
  assert.equal(op.ctl.status().drain?.source, 'operator');
});

test('start-up inside a window that began while the daemon was down enters it for the remaining time', async () => {
  // Tuesday 2024-01-02 03:10 UTC; the window opens Tuesdays at 03:00 for 30 minutes.
  const tuesday0310 = Date.UTC(2024, 0, 2, 3, 10, 0);
  const inside = start('  - { cron: "0 3 * * 2", duration: 30m, action: drain, timezone: UTC }\n', () => tuesday0310);
  const drained = await waitFor(() => inside.ctl.calls.find((c) => c.op === 'drain'), { message: 'caught up' });
  assert.equal((drained.args[0] as { untilMs: number }).untilMs, Date.UTC(2024, 0, 2, 3, 30, 0));
  assert.equal(inside.m.status().active?.caughtUp, true);
  // Same window in Europe/Berlin (UTC+1 in January): 03:00 Berlin = 02:00 UTC, so 03:10 UTC is past its end.
  const berlin = start('  - { cron: "0 3 * * 2", duration: 30m, action: drain, timezone: Europe/Berlin }\n', () => tuesday0310);
  // 40 minutes after the start: the window is over, nothing is replayed.
  const late = start('  - { cron: "0 3 * * 2", duration: 30m, action: drain, timezone: UTC }\n', () => tuesday0310 + 30 * 60_000);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual([berlin.ctl.ops(), late.ctl.ops(), late.m.status().active], [[], [], undefined]);
});

test('lastStartWithin asks node-cron for the match (no cron parsing of our own)', () => {
  const task = cron.createTask('30 */2 * * * *', () => undefined, { timezone: 'UTC' });
  const t = Date.UTC(2024, 0, 1, 10, 5, 10);
  assert.equal(lastStartWithin(task, t, 120_000, '30 */2 * * * *'), Date.UTC(2024, 0, 1, 10, 4, 30));
  assert.equal(lastStartWithin(task, t, 30_000, '30 */2 * * * *'), undefined);
  void task.destroy();
});

test('end and skip survive a restart: the catch-up does not re-enter an ended or skipped window', async () => {
  const tuesday0310 = Date.UTC(2024, 0, 2, 3, 10, 0);
  const window = '  - { cron: "0 3 * * 2", duration: 30m, action: withdraw, timezone: UTC }\n';
  const marks = markStore();
  const first = start(window, () => tuesday0310, marks);
  await waitFor(() => first.m.status().active, { message: 'caught up' });
  await first.m.endActive();
  first.m.stop();
  // Restarted five minutes later, still inside the window: stays ended.
  const second = start(window, () => tuesday0310 + 5 * 60_000, marks);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual([second.ctl.ops(), second.m.status().active], [[], undefined]);
  second.m.stop();
  // Without the marks (the old behaviour) the restart would withdraw again:
  const forgetful = start(window, () => tuesday0310 + 5 * 60_000);
  await waitFor(() => forgetful.ctl.ops().includes('drain'), { message: 'control: catch-up without marks' });

  // A skip of the next run is restored after a restart, and a skipped run in progress is not entered.
  const skipMarks = markStore();
  const s1 = start('  - { cron: "0 3 * * 2", duration: 30m, action: withdraw, timezone: UTC }\n', () => Date.UTC(2024, 0, 2, 2, 0, 0), skipMarks);
  const next = s1.m.status().next!.at;
  await s1.m.skipNext();
  s1.m.stop();
  // (node-cron computes the next run from the real clock, so the restored skip is checked through the catch-up.)
  const s3 = start('  - { cron: "0 3 * * 2", duration: 30m, action: withdraw, timezone: UTC }\n', () => next + 60_000, skipMarks);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual([s3.ctl.ops(), s3.m.status().lastSkipped?.at], [[], next]);
});

test('dstShift finds a daylight-saving change near a window start', () => {
  // Europe/Berlin: 2024-03-31 02:00 → 03:00 (spring forward, 01:00 UTC), 2024-10-27 03:00 → 02:00 (01:00 UTC).
  assert.equal(dstShift('Europe/Berlin', Date.UTC(2024, 2, 31, 1, 0)), 3_600_000);
  assert.equal(dstShift('Europe/Berlin', Date.UTC(2024, 9, 27, 1, 0)), -3_600_000);
  assert.equal(dstShift('Europe/Berlin', Date.UTC(2024, 0, 2, 3, 0)), 0);
  assert.equal(dstShift(undefined, Date.UTC(2024, 2, 31, 1, 0)), 0);
});

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@vipcontrol/testlab';
import cron from 'node-cron';
import { lastStartWithin, maintenanceSummary, startMaintenance, type Maintenance } from '../src/maintenance.js';
import { ApiRoutes } from '../src/api-routes.js';
import { createLogger } from '../src/logger.js';
import { OperationError } from '../src/errors.js';
import { FakeController, testConfig } from './fleet-fake-controller.js';

const running: Maintenance[] = [];
after(() => running.forEach((m) => m.stop()));

const quiet = createLogger({ level: 'silent', destination: { write: () => undefined } });

function start(windows: string, now?: () => number) {
  const ctl = new FakeController(testConfig('n1', `maintenance:\n${windows}`));
  const m = startMaintenance({ config: ctl.config, controller: ctl, logger: quiet, routes: new ApiRoutes(), ...(now ? { now } : {}) });
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
  m.skipNext();
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


// Maintenance windows against a real daemon: a lab node's vipcontrol gets windows with a seconds field
// (by a config reload, so their times are known to the second), the router's RIB is the truth, and the
// real vipctl binary shows, skips and ends them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { daemonStatus, Lab, deepMerge, vipcontrolDefaults, waitFor, type DaemonProcess, type LabHost } from '@vipcontrol/testlab';
import type { MaintenanceStatus } from '../src/maintenance.js';

const V4 = '198.51.100.10/32';
const VIPCTL = fileURLToPath(new URL('../../../vipctl/bin/vipctl.js', import.meta.url));
const DRAIN = 100_000;
const CONFIG = { vips: [{ prefix: V4, med: 100 }], drainPenalty: DRAIN };

let lab: Lab;
let node: LabHost;
let daemon: DaemonProcess;

before(async () => {
  lab = await Lab.create({ nodes: 1, bfd: false });
  node = lab.nodes[0]!;
  daemon = await lab.startVipcontrol(node, CONFIG);
  await waitMed(100, 'announced');
});
after(() => lab?.destroy());

async function vipctl(...args: string[]): Promise<{ exitCode?: number; stdout: string; stderr: string }> {
  return execa('node', [VIPCTL, '--socket', daemon.apiSocket, ...args], { reject: false });
}

async function maintenance(): Promise<MaintenanceStatus> {
  return (await daemonStatus(daemon.apiSocket)).maintenance as MaintenanceStatus;
}

/** The router's MED for V4 from the node; undefined = withdrawn. */
async function routerMed(): Promise<number | undefined> {
  return (await lab.routerRoutes(V4)).find((r) => r.nextHop === node.addr4)?.med;
}

function waitMed(med: number | undefined, message: string): Promise<unknown> {
  return waitFor(async () => (await routerMed()) === med, { timeoutMs: 10_000, intervalMs: 50, message });
}

/** A 6-field cron expression firing at the second `at` falls in (once a minute: the test is shorter). */
function atSecond(at: number): string {
  return `${new Date(at).getSeconds()} * * * * *`;
}

test('windows drain and end at the router; vipctl status shows them; skip and end work', async () => {
  // Three windows, seconds apart: w0 drains and ends by itself, w1 is skipped, w2 withdraws and is ended
  // early. Each fires once a minute; durations stay well below that, or start-up would catch a window up.
  const t = Date.now() + 3000;
  const windows = [
    { cron: atSecond(t), duration: '2s', action: 'drain' },
    { cron: atSecond(t + 5000), duration: '2s', action: 'drain' },
    { cron: atSecond(t + 7000), duration: '20s', action: 'withdraw' },
  ];
  await writeFile(daemon.configPath, JSON.stringify(deepMerge(vipcontrolDefaults(node), { ...CONFIG, maintenance: windows })));
  const reload = await vipctl('reload');
  assert.equal(reload.exitCode, 0, reload.stderr);

  const shown = await vipctl('status');
  assert.match(shown.stdout, /^maint: +next drain \S+ \(in \d+s\) \(window 0 "\d+ \* \* \* \* \*"\)$/m);

  // w0: the router sees the drain MED during the window and the normal MED after it.
  await waitMed(100 + DRAIN, 'w0 drains');
  await waitMed(100, 'w0 ends by itself');
  assert.equal((await maintenance()).lastEnded?.early, false);

  // w1 is skipped: nothing reaches the router while it would have run.
  const before = await lab.sessionStats(node);
  const skip = await vipctl('--json', 'maintenance', 'skip');
  assert.equal(skip.exitCode, 0, skip.stderr);
  assert.deepEqual((JSON.parse(skip.stdout) as { maintenance: MaintenanceStatus }).maintenance.next, { index: 1, at: Math.floor((t + 5000) / 1000) * 1000, skipped: true });
  await waitFor(async () => (await maintenance()).lastSkipped?.index === 1, { timeoutMs: 8000, message: 'w1 skipped' });
  assert.equal((await maintenance()).active, undefined);
  assert.equal((await lab.sessionStats(node)).importUpdates, before.importUpdates, 'a skipped window sends nothing');

  // w2 withdraws; the operator ends it early.
  await waitMed(undefined, 'w2 withdraws');
  const active = await vipctl('status');
  assert.match(active.stdout, /^maint: +ACTIVE withdraw \(window 2 .*until \S+ \(in \d+s\)/m);
  const end = await vipctl('maintenance', 'end');
  assert.equal(end.exitCode, 0, end.stderr);
  assert.match(end.stdout, /maintenance window ended/);
  await waitMed(100, 'w2 ended early');
  const m = await maintenance();
  assert.deepEqual([m.active, m.lastEnded?.index, m.lastEnded?.early], [undefined, 2, true]);
  const again = await vipctl('maintenance', 'end');
  assert.equal(again.exitCode, 1);
  assert.match(again.stderr, /no maintenance window is active/);
});

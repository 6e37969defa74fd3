/**
 * A vipcontrol restart (a code deploy) changes nothing on the wire even while a check is failing:
 * vipcontrol keeps its health verdicts in a snapshot file and holds them from start-up until
 * viphealth's first report. Real router + node (BIRD, vipcontrol, viphealth) in network namespaces;
 * the router's counters and session `since` are the proof — any UPDATE or withdraw, even one undone
 * a moment later, moves them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthStatus } from '@vipcontrol/core';
import { daemonStatus, waitFor, type DaemonProcess, type Lab, type LabHost, type SessionStats } from '@vipcontrol/testlab';
import type { Service } from '@vipcontrol/testlab';
import { startServiceLab, waitVerdicts } from './service-lab.js';

const VIP = '198.51.100.30/32';
const VIPW = '198.51.100.31/32';
const MED = 100;
const PENALTY = 1000;

describe('vipcontrol restart with a failing check', () => {
  let lab: Lab;
  let node: LabHost;
  let vipcontrol: DaemonProcess;
  let viphealth: DaemonProcess | undefined;
  let service: Service;
  let port: number;
  let pidfile: string;
  const vipcontrolConfig = {
    vips: [
      { prefix: VIP, med: MED },
      { prefix: VIPW, med: MED },
    ],
    // A lease firing would move the MED: the test would see it. The second test's viphealth is away
    // through a vipcontrol restart and its own start, which take seconds on a loaded machine: 60 s.
    health: { lease: '60s', leasePolicy: { penalty: 5000 } },
  };
  const viphealthConfig = () => ({
    heartbeat: '200ms',
    checks: [
      { name: 'svc-tcp', type: 'tcp', target: `127.0.0.1:${port}`, interval: '100ms', fastInterval: '50ms', timeout: '100ms', rise: 2, fall: 2, vips: [VIP], penalty: PENALTY },
      { name: 'svc-proc', type: 'process', pidfile, interval: '100ms', rise: 2, fall: 2, vips: [VIPW], withdraw: true },
    ],
  });
  const failing: Record<string, number | 'absent'> = { [VIP]: MED + PENALTY, [VIPW]: 'absent' };

  before(async () => {
    ({ lab, node, port, pidfile, service } = await startServiceLab());
    vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig);
    viphealth = await lab.startViphealth(node, viphealthConfig());
    // Each phase waits for viphealth's own verdicts first: the router alone would show 'failing' already
    // for the never-proven checks, and the verdicts would then move it during the test's restart.
    await waitVerdicts(vipcontrol.apiSocket, { 'svc-tcp': 'up', 'svc-proc': 'up' }, 'viphealth proved both checks');
    await waitRouter({ [VIP]: MED, [VIPW]: MED }, 'healthy announcements');
    await service.kill();
    await waitVerdicts(vipcontrol.apiSocket, { 'svc-tcp': 'down', 'svc-proc': 'down' }, 'viphealth failed both checks');
    await waitRouter(failing, 'penalty and withdraw at the router');
  });
  after(async () => {
    await service?.kill();
    await lab?.destroy();
  });

  const routerView = () => lab.routerBestMeds([VIP, VIPW]);
  const waitRouter = (want: Record<string, number | 'absent'>, message: string) => lab.waitForRouterMeds(want, { message });
  const health = async (): Promise<HealthStatus> => (await daemonStatus(vipcontrol.apiSocket)).health;
  const wire = (s: SessionStats) => ({ updates: s.importUpdates, withdraws: s.importWithdraws, since: s.since, state: s.state });

  /** SIGTERM and start again, as a deploy does; resolves once the API answers (the daemon is up). */
  async function restartVipcontrol(): Promise<void> {
    await vipcontrol.stop();
    vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig);
  }

  it('keeps the penalty and the withdraw, and the router sees no UPDATE', async () => {
    const before = wire(await lab.sessionStats(node));
    const restartedAt = Date.now();
    await restartVipcontrol();
    // vipcontrol has heard from the (still running) viphealth since its start: nothing held any more.
    await waitFor(async () => {
      const h = await health();
      return h.lastReportAt !== undefined && h.lastReportAt >= restartedAt && h.held.length === 0 && !h.restored;
    }, { message: 'vipcontrol took a report from viphealth after its restart' });
    assert.deepStrictEqual(await routerView(), failing, 'MED still includes the penalty; the VIP stays withdrawn');
    assert.deepStrictEqual(wire(await lab.sessionStats(node)), before, 'no UPDATE, no withdraw, no session reset');
    assert.ok(vipcontrol.logEntries().some((e) => e.event === 'healthRestored'), 'the restart restored the verdicts');
  });

  it('also with viphealth stopped during the restart, until the new viphealth reaches its own verdicts', async () => {
    const before = wire(await lab.sessionStats(node));
    await viphealth!.stop();
    viphealth = undefined;
    await restartVipcontrol();
    const held = await health();
    assert.deepStrictEqual(
      [[...held.held].sort(), held.restored !== undefined, held.leaseExpired, held.checks.map((c) => `${c.name}=${c.status}`).sort()],
      [['svc-proc', 'svc-tcp'], true, false, ['svc-proc=down', 'svc-tcp=down']],
      'the snapshot is shown as held verdicts',
    );
    // The first apply after start-up has run (or been skipped as identical) before we look at the router.
    await waitFor(async () => {
      return (await daemonStatus(vipcontrol.apiSocket)).bird.lastApply?.ok === true;
    }, { message: 'first apply after the restart' });
    assert.deepStrictEqual(await routerView(), failing, 'held verdicts are on the wire, not the configured MED');
    assert.deepStrictEqual(wire(await lab.sessionStats(node)), before, 'nothing sent while viphealth is away');

    viphealth = await lab.startViphealth(node, viphealthConfig());
    const instance = await waitFor(() => viphealth!.logEntries().find((e) => e.event === 'started')?.instance);
    await waitFor(async () => {
      const h = await health();
      return h.instance === instance && h.held.length === 0 && h.checks.every((c) => c.status === 'down');
    }, { message: 'the new viphealth reached its own (failing) verdicts' });
    assert.deepStrictEqual(await routerView(), failing);
    assert.deepStrictEqual(wire(await lab.sessionStats(node)), before, 'no UPDATE, no withdraw, no session reset');
  });
});

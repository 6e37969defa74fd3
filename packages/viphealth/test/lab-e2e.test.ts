/**
 * End to end in network namespaces: router + one node running BIRD, vipcontrol and viphealth. The
 * router's RIB is the truth: a killed service shows up there as a higher MED or a withdraw, recovers
 * after `rise`, the lease policy fires when viphealth is SIGKILLed, and a viphealth restart changes
 * nothing on the wire.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { daemonStatus, waitFor, type DaemonProcess, type Lab, type LabHost } from '@vipcontrol/testlab';
import { startService, type Service } from '@vipcontrol/testlab';
import { startServiceLab, waitVerdicts } from './service-lab.js';

const VIP4 = '198.51.100.10/32';
const VIP6 = '2001:db8::10/128';
const VIPW = '198.51.100.20/32';
const LEASE_PENALTY = 5000;
/** The lease the last test watches run out. */
const SHORT_LEASE_MS = 1500;

describe('viphealth end to end', () => {
  let lab: Lab;
  let node: LabHost;
  let vipcontrol: DaemonProcess;
  /** The viphealth started last. */
  let viphealth: DaemonProcess;
  let service: Service;
  let port: number;
  let pidfile: string;
  const vipcontrolConfig = (lease: string) => ({
    vips: [
      { prefix: VIP4, med: 100 },
      { prefix: VIP6, med: 100 },
      { prefix: VIPW, med: 100 },
    ],
    health: { lease, leasePolicy: { penalty: LEASE_PENALTY } },
  });
  const viphealthConfig = () => ({
    heartbeat: '200ms',
    checks: [
      {
        name: 'svc-tcp', type: 'tcp', target: `127.0.0.1:${port}`,
        interval: '100ms', fastInterval: '50ms', timeout: '100ms', rise: 3, fall: 2,
        vips: [VIP4, VIP6], penalty: 1000,
      },
      { name: 'svc-proc', type: 'process', pidfile, interval: '100ms', rise: 2, fall: 1, vips: [VIPW], withdraw: true },
    ],
  });

  before(async () => {
    ({ lab, node, port, pidfile, service } = await startServiceLab());
    // A viphealth restart leaves the wire alone only if it fits in the lease (docs/health.md), and one
    // can take seconds on a loaded machine: until the last test, a lease no restart outlasts.
    vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig('60s'));
  });
  after(async () => {
    await service?.kill();
    await lab?.destroy();
  });

  const waitRouter = (want: Record<string, number | 'absent'>, message: string) => lab.waitForRouterMeds(want, { message });
  const healthy = { [VIP4]: 100, [VIP6]: 100, [VIPW]: 100 };
  // Each phase waits for viphealth's verdicts before the router: see waitVerdicts.
  const verdicts = (status: 'up' | 'down', message: string) =>
    waitVerdicts(vipcontrol.apiSocket, { 'svc-tcp': status, 'svc-proc': status }, message);

  it('shifts the MED or withdraws when the service dies, and recovers after rise', async () => {
    viphealth = await lab.startViphealth(node, viphealthConfig());
    await verdicts('up', 'viphealth proved both checks');
    await waitRouter(healthy, 'healthy announcements at the router');

    await service.kill();
    await verdicts('down', 'viphealth failed both checks');
    await waitRouter({ [VIP4]: 1100, [VIP6]: 1100, [VIPW]: 'absent' }, 'penalty and withdraw at the router');

    service = await startService(node, port, pidfile);
    await verdicts('up', 'both checks up again after rise');
    await waitRouter(healthy, 'recovery at the router after rise');
  });

  it('a viphealth restart changes nothing on the wire', async () => {
    const before = await lab.sessionStats(node);
    await viphealth.stop();
    viphealth = await lab.startViphealth(node, viphealthConfig());
    const instance = await waitFor(() => viphealth.logEntries().find((e) => e.event === 'started')?.instance);
    // The new instance reaches its own verdicts (every check up) before we compare counters.
    await waitFor(
      async () => {
        const { health } = await daemonStatus(vipcontrol.apiSocket);
        return health.instance === instance && health.held.length === 0 && health.checks.every((c) => c.status === 'up');
      },
      { message: 'new viphealth instance reached its verdicts' },
    );
    const entries = viphealth.logEntries().filter((e) => e.event === 'checkTransition');
    assert.ok(entries.length >= 2, 'the new instance went through unknown -> up itself');
    const afterStats = await lab.sessionStats(node);
    assert.deepStrictEqual(
      [afterStats.importUpdates, afterStats.importWithdraws, afterStats.since],
      [before.importUpdates, before.importWithdraws, before.since],
      'no update, no withdraw, no session reset at the router',
    );
    await waitRouter(healthy, 'still healthy');
  });

  it('applies the lease policy when viphealth is SIGKILLed, and resumes when it returns', async () => {
    // The lease is read at start-up only: restart vipcontrol with a short one (the snapshot keeps the verdicts).
    const restartedAt = Date.now();
    await vipcontrol.stop();
    vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig(`${SHORT_LEASE_MS}ms`));
    await waitFor(async () => {
      const { health } = await daemonStatus(vipcontrol.apiSocket);
      return (health.lastReportAt ?? 0) >= restartedAt;
    }, { message: 'vipcontrol took a report from viphealth after its restart' });
    const logged = vipcontrol.logEntries().length;
    await viphealth.kill('SIGKILL');
    const leased = LEASE_PENALTY + 100;
    await waitRouter({ [VIP4]: leased, [VIP6]: leased, [VIPW]: leased }, 'lease penalty at the router');
    const expired = vipcontrol.logEntries().slice(logged).find((e) => e.event === 'healthLeaseExpired');
    assert.ok(expired?.level === 'error', 'logged loudly');
    // Judged on vipcontrol's own clock, so a slow machine cannot make it pass or fail.
    assert.ok(Date.parse(String(expired.time)) - Number(expired.lastReportAt) >= SHORT_LEASE_MS, 'not before the lease ran out');
    viphealth = await lab.startViphealth(node, viphealthConfig());
    await waitRouter(healthy, 'normal operation after viphealth returns');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { daemonStatus, Lab, type LabHost } from '../src/index.js';

const V4 = '198.51.100.10/32';
const V6 = '2001:db8::10/128';

describe('Lab.startVipcontrol / startViphealth', () => {
  let lab: Lab;
  let n1: LabHost;
  before(async () => {
    lab = await Lab.create({ nodes: 1, bfd: false });
    n1 = lab.nodes[0]!;
  });
  after(() => lab?.destroy());

  it('starts vipcontrol in the node namespace with the lab defaults merged under the test config', async () => {
    const d = await lab.startVipcontrol(n1, { vips: [{ prefix: V4, med: 150, communities: ['65000:150'] }, { prefix: V6, med: 150 }] });
    assert.equal((await daemonStatus(d.apiSocket)).node, 'n1');
    const routes = await lab.waitForRouterRoutes(V4, (r) => r.length === 1);
    assert.equal(routes[0]?.med, 150);
    assert.deepEqual(routes[0]?.communities, ['65000:150']);
    await lab.waitForRouterRoutes(V6, (r) => r[0]?.med === 150);
    assert.ok(d.logEntries().length > 0, 'JSON log lines are captured');
    // The VIP went onto the node namespace's loopback, not the host's.
    const lo = await n1.exec('ip', ['-o', 'addr', 'show', 'dev', 'lo']);
    assert.match(lo.stdout, /198\.51\.100\.10\/32/);

    await d.kill('SIGKILL');
    assert.equal(await d.exited, null, 'killed by a signal');
  });

  it('restarting vipcontrol keeps the session and sends no update; viphealth reports to it', async () => {
    const before = await lab.sessionStats(n1);
    const d = await lab.startVipcontrol(n1, { vips: [{ prefix: V4, med: 150, communities: ['65000:150'] }, { prefix: V6, med: 150 }] });
    // startup: up — a fresh check otherwise counts as down until `rise` passes, and its penalty would
    // (by design) send updates: this test is about the daemons' restarts, not about a check's start-up.
    const h = await lab.startViphealth(n1, {
      checks: [{ name: 'bird', type: 'bird-protocol', protocols: ['fabric4'], interval: '200ms', startup: 'up', vips: [V4], penalty: 1000 }],
    });
    assert.equal(typeof (await daemonStatus(d.apiSocket)).health.lastReportAt, 'number');
    const afterStats = await lab.sessionStats(n1);
    assert.equal(afterStats.since, before.since);
    assert.equal(afterStats.importUpdates, before.importUpdates);
    await h.stop();
    await d.stop();
    assert.equal(await d.exited, 0);
  });
});

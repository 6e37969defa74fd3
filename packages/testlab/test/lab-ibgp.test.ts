import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { bestPath, Lab, routerProtocolNames, waitFor } from '../src/index.js';
import { announce } from './support.js';

const V4 = '198.51.100.10/32';
const V6 = '2001:db8::10/128';

describe('Lab, iBGP route reflector with BFD', () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ nodes: 2, mode: 'ibgp', bfd: true });
  });
  after(() => lab?.destroy());

  it('brings every IPv4 and IPv6 session to Established, with BFD Up', async () => {
    for (const node of lab.nodes) {
      const stats = await lab.sessionStats(node);
      assert.equal(stats.v4.state, 'Established');
      assert.equal(stats.v6.state, 'Established');
      assert.equal(stats.state, 'Established');
      assert.match(stats.since, /^\d+\.\d{3}$/, 'timeformat protocol "%s.%3f" gives epoch seconds');
    }
    const bfd = await lab.bfdSessions();
    assert.deepEqual(bfd.map((s) => s.state).sort(), ['Up', 'Up', 'Up', 'Up']);
    assert.deepEqual(bfd.map((s) => s.address).sort(), ['10.0.0.11', '10.0.0.12', 'fd00:10::11', 'fd00:10::12'].sort());
  });

  it('carries a route from a node\'s include file to the router with its MED and communities', async () => {
    const [n1, n2] = lab.nodes as [typeof lab.nodes[0], typeof lab.nodes[0]];
    const before1 = await lab.sessionStats(n1);
    await announce(n1, [{ prefix: V4, med: 100, communities: [[65000, 100]] }], [{ prefix: V6, med: 100, communities: [[65000, 100]] }]);
    await announce(n2, [{ prefix: V4, med: 200 }], [{ prefix: V6, med: 200 }]);
    for (const prefix of [V4, V6]) {
      const routes = await lab.waitForRouterRoutes(prefix, (r) => r.length === 2);
      const best = bestPath(routes);
      assert.equal(best?.med, 100, `${prefix}: best path is node 1's (lower MED)`);
      assert.deepEqual(best?.communities, ['65000:100']);
      assert.equal(routes.find((r) => !r.primary)?.med, 200);
      assert.equal(best?.nextHop?.split(' ')[0], prefix === V4 ? n1.addr4 : n1.addr6);
    }
    const after1 = await lab.sessionStats(n1);
    assert.equal(after1.importUpdates - before1.importUpdates, 2, 'one UPDATE per family');
    assert.equal(after1.since, before1.since, 'no session reset');

    // Moving the MED moves the best path: exactly one more update per family, still no reset.
    await announce(n1, [{ prefix: V4, med: 300 }], [{ prefix: V6, med: 300 }]);
    for (const prefix of [V4, V6]) {
      await lab.waitForRouterRoutes(prefix, (r) => bestPath(r)?.med === 200, { message: `${prefix} best via n2` });
    }
    const moved = await lab.sessionStats(n1);
    assert.equal(moved.importUpdates - after1.importUpdates, 2);
    assert.equal(moved.since, before1.since);

    // Withdraw: the router's withdraw counter moves, the route is gone from node 1.
    await announce(n1, [], []);
    await lab.waitForRouterRoutes(V4, (r) => r.length === 1 && r[0]?.med === 200);
    await lab.waitForRouterRoutes(V6, (r) => r.length === 1 && r[0]?.med === 200);
    assert.equal((await lab.sessionStats(n1)).importWithdraws - moved.importWithdraws, 2);
  });

  it('a real session reset shows in sessionStats (BIRD\'s clock jitter is smoothed, a reset is not)', async () => {
    const n2 = lab.nodes[1]!;
    const [p4] = routerProtocolNames(n2.name);
    const before2 = await lab.sessionStats(n2);
    await lab.router.bird.client.command(`restart ${p4}`);
    const after2 = await waitFor(async () => {
      const s = await lab.sessionStats(n2);
      return s.state === 'Established' && s.since !== before2.since ? s : undefined;
    }, { timeoutMs: 15_000, message: `${p4} re-established after its restart` });
    assert.ok(Number(after2.since) > Number(before2.since), 'Since moved forward');
  });

  it('destroy leaves no namespace, interface, process or directory behind (and is idempotent)', async () => {
    const namespaces = [lab.router, ...lab.nodes].map((h) => h.netns);
    const pids = [lab.router, ...lab.nodes].map((h) => h.bird.pid);
    const dir = lab.dir;
    await Promise.all([lab.destroy(), lab.destroy()]);
    await lab.destroy();
    const netns = (await execa('ip', ['netns', 'list'])).stdout;
    for (const ns of namespaces) assert.ok(!netns.includes(ns), `${ns} still exists`);
    const links = (await execa('ip', ['-o', 'link'])).stdout;
    assert.ok(!links.includes(`vc${lab.id}`), 'no lab interface in the host namespace');
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    await assert.rejects(import('node:fs/promises').then((fs) => fs.stat(dir)), { code: 'ENOENT' });
  });
});

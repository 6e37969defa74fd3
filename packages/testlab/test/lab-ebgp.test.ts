import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bestPath, Lab } from '../src/index.js';
import { announce } from './support.js';

describe('Lab, eBGP (nodes in their own AS), BFD off', () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ nodes: 2, mode: 'ebgp', bfd: false });
  });
  after(() => lab?.destroy());

  it('puts each node in its own AS and skips BFD', async () => {
    assert.deepEqual(lab.nodes.map((n) => n.asn), [65001, 65002]);
    assert.equal(lab.router.asn, 65000);
    assert.deepEqual(await lab.bfdSessions(), []);
    for (const node of lab.nodes) assert.equal((await lab.sessionStats(node)).state, 'Established');
  });

  it('keeps the MED across eBGP (export filter re-sets it) and compares MEDs across neighbour ASes', async () => {
    const [n1, n2] = lab.nodes as [typeof lab.nodes[0], typeof lab.nodes[0]];
    await announce(n1, [{ prefix: '198.51.100.10/32', med: 100, communities: [[65000, 7]] }], [{ prefix: '2001:db8::10/128', med: 100 }]);
    await announce(n2, [{ prefix: '198.51.100.10/32', med: 200 }], [{ prefix: '2001:db8::10/128', med: 200 }]);
    for (const prefix of ['198.51.100.10/32', '2001:db8::10/128']) {
      const routes = await lab.waitForRouterRoutes(prefix, (r) => r.length === 2);
      assert.deepEqual(routes.map((r) => r.med).sort(), [100, 200], `${prefix}: MEDs reach the router`);
      const best = bestPath(routes);
      assert.equal(best?.med, 100);
      assert.deepEqual(best?.asPath, [65001]);
    }
    assert.deepEqual(bestPath(await lab.routerRoutes('198.51.100.10/32'))?.communities, ['65000:7']);
    await announce(n1, [{ prefix: '198.51.100.10/32', med: 300 }], [{ prefix: '2001:db8::10/128', med: 300 }]);
    for (const prefix of ['198.51.100.10/32', '2001:db8::10/128']) {
      const routes = await lab.waitForRouterRoutes(prefix, (r) => bestPath(r)?.med === 200);
      assert.deepEqual(bestPath(routes)?.asPath, [65002]);
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { healthcheckArgv, Lab } from '../src/index.js';

describe('Lab with an ExaBGP host (the viphealth benchmark baseline)', () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ nodes: 1, exabgpNodes: 1, bfd: true });
  });
  after(() => lab?.destroy());

  it('peers ExaBGP with the router over IPv4 and IPv6 without BFD, nodes keep BFD', async () => {
    const [x1] = lab.exabgpHosts;
    assert.ok(x1);
    assert.equal((await lab.sessionStats(x1)).state, 'Established');
    const bfd = await lab.bfdSessions();
    assert.deepEqual(bfd.map((s) => s.address).sort(), ['10.0.0.11', 'fd00:10::11']);
  });

  it('runs ExaBGP\'s healthcheck helper as an API process and the router sees its route and MED', async () => {
    const x1 = lab.exabgpHosts[0]!;
    await x1.start({
      processes: [{
        name: 'hc',
        run: await healthcheckArgv(['--no-syslog', '--no-ip-setup', '--cmd', 'true', '--interval', '1',
          '--rise', '1', '--ip', '198.51.100.20/32', '--up-metric', '150', '--next-hop', x1.addr4]),
      }],
    });
    const routes = await lab.waitForRouterRoutes('198.51.100.20/32', (r) => r.length === 1, {
      timeoutMs: 10_000, message: `healthcheck route; exabgp log:\n${x1.logs().slice(-20).join('\n')}`,
    });
    assert.equal(routes[0]?.med, 150);
    assert.equal((await lab.sessionStats(x1)).state, 'Established');
  });
});

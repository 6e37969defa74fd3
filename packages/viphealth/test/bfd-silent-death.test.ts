// Issue 10: a node that goes silent (every packet dropped, link up: no BGP Cease, no BFD Down packet)
// leaves the fabric through BFD, not the hold timer; viphealth's bird-protocol check can require the
// BFD session Up as well. Real BIRD in namespaces; the time it takes is in the benchmark
// (`bash scripts/bench.sh fleet`), not asserted here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, NODE_PROTOCOLS, routerProtocolNames, waitFor, type LabHost } from '@vipcontrol/testlab';
import { BirdProtocolProbe } from '../src/checks/bird-protocol-probe.js';

const V4 = '198.51.100.70/32';
let lab: Lab;

before(async () => {
  lab = await Lab.create({ nodes: 2, bfd: true });
  await Promise.all(lab.nodes.map((n) => lab.startVipcontrol(n, { vips: [{ prefix: V4, med: 100 }] })));
  await lab.waitForRouterRoutes(V4, (r) => r.length === 2, { message: 'both paths' });
});
after(async () => {
  await lab?.destroy();
});

test('silent node death: BFD takes the node\'s sessions down and its path leaves the router', async () => {
  const [n1, n2] = lab.nodes as [LabHost, LabHost];
  const probe = new BirdProtocolProbe({ socket: n2.bird.socketPath, protocols: [NODE_PROTOCOLS.v4, NODE_PROTOCOLS.v6], state: 'Established', minUp: 2, bfd: true });
  const healthy = await probe.run(1000);
  assert.equal(healthy.ok, true, healthy.detail);
  assert.match(healthy.detail, /fabric4=Established\/bfd Up/);
  await lab.silence(n1, true);
  try {
    await lab.waitForRouterRoutes(V4, (r) => r.length === 1 && r[0]!.from !== n1.addr4, { timeoutMs: 10_000, message: 'n1 path gone' });
    const [p4] = routerProtocolNames(n1.name);
    const info = (await lab.router.bird.client.showProtocols({ all: true, name: p4 }))[0]!;
    assert.notEqual(info.bgpState, 'Established');
    // The reason is BFD, not the hold timer (240 s here): BIRD says so in the protocol's last error.
    assert.match(JSON.stringify(info.details ?? {}), /BFD session down/i, JSON.stringify(info));
    // The silent node's own check, with bfd required, fails too (its side lost BFD as well).
    const n1probe = new BirdProtocolProbe({ socket: n1.bird.socketPath, protocols: [NODE_PROTOCOLS.v4], state: 'Established', minUp: 1, bfd: true });
    const r = await waitFor(async () => {
      const x = await n1probe.run(1000);
      return x.ok ? undefined : x;
    }, { message: 'n1 check fails' });
    assert.match(r.detail, /fabric4=\S+/);
    await n1probe.close();
  } finally {
    await lab.silence(n1, false);
    await probe.close();
  }
  await lab.waitForRouterRoutes(V4, (r) => r.length === 2, { timeoutMs: 30_000, message: 'n1 back' });
});

test('bird-protocol with bfd: a protocol without a BFD session does not count', async () => {
  const probe = new BirdProtocolProbe({ socket: lab.nodes[0]!.bird.socketPath, protocols: ['vipcontrol4'], state: 'up', minUp: 1, bfd: true });
  const r = await probe.run(1000);
  await probe.close();
  assert.deepEqual([r.ok, r.detail], [false, '0/1 up (need 1): vipcontrol4=up/bfd no-bfd']);
});

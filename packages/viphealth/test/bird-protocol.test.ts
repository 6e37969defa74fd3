/** The bird-protocol probe against a real BIRD whose BGP sessions are taken down from the router's side. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, NODE_PROTOCOLS, routerProtocolNames, waitFor, type LabHost } from '@vipcontrol/testlab';
import { BirdProtocolProbe } from '../src/checks/bird-protocol-probe.js';

describe('bird-protocol probe', () => {
  let lab: Lab;
  let node: LabHost;
  before(async () => {
    lab = await Lab.create({ nodes: 1, bfd: false });
    node = lab.nodes[0]!;
  });
  after(() => lab?.destroy());

  it('counts Established sessions against minUp, and sees a session taken down', async (t) => {
    const protocols = [NODE_PROTOCOLS.v4, NODE_PROTOCOLS.v6];
    const all = new BirdProtocolProbe({ socket: node.bird.socketPath, protocols, state: 'Established', minUp: 2 });
    const any = new BirdProtocolProbe({ socket: node.bird.socketPath, protocols, state: 'established', minUp: 1 });
    t.after(() => Promise.all([all.close(), any.close()]));
    const up = await all.run(1000);
    assert.equal(up.ok, true, up.detail);
    assert.match(up.detail, /^2\/2 Established \(need 2\)/);

    const [router4] = routerProtocolNames(node.name);
    await lab.router.bird.client.command(`disable ${router4}`);
    const down = await waitFor(async () => {
      const r = await all.run(1000);
      return r.ok ? undefined : r;
    }, { message: 'probe sees the IPv4 session down' });
    assert.match(down.detail, /^1\/2 Established \(need 2\): fabric4=\w+/);
    assert.equal((await any.run(1000)).ok, true, 'one of two is enough with minUp 1');

    await lab.router.bird.client.command(`enable ${router4}`);
    await waitFor(async () => (await all.run(1000)).ok, { timeoutMs: 20_000, message: 'session re-established' });
  });

  it('fails with a clear reason when BIRD is not there, and without hanging', async (t) => {
    const probe = new BirdProtocolProbe({ socket: `${node.dir}/no-such.ctl`, protocols: ['x'], state: 'up', minUp: 1 });
    t.after(() => probe.close());
    const r = await probe.run(200);
    assert.equal(r.ok, false);
    assert.match(r.detail, /not connected to BIRD at .*no-such\.ctl/);
    assert.ok(r.latencyMs < 1000);
  });

  it('fails for a protocol BIRD does not have', async (t) => {
    const probe = new BirdProtocolProbe({ socket: node.bird.socketPath, protocols: ['nosuch'], state: 'up', minUp: 1 });
    t.after(() => probe.close());
    const r = await probe.run(1000);
    assert.deepStrictEqual([r.ok, r.detail], [false, '0/1 up (need 1): nosuch=missing']);
  });
});

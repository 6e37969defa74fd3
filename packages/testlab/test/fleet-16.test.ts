// Issue 10: sixteen nodes in the lab, uniform mode. Every node announces the VIPs with the same MED
// (fleet mode over a real redis-server), the router installs all 16 paths into its kernel (ECMP,
// L4 hashing), synthetic flows spread over every node, a drain takes one node out of the spread, and
// `vipctl fleet status` stays readable. Real BIRD in 17 namespaces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FLEET_DRAIN_PENALTY, FLEET_MED, FLEET_VIPS, flowSpread, longTier, repoPath, startFleetLab, viaNode, waitFor, type FleetLab,
} from '../src/index.js';

const N = 16;
let fleet: FleetLab | undefined;
const VIPCTL = repoPath('packages/vipctl/bin/vipctl.js');

before(async () => {
  if (process.env.VIPCONTROL_TEST_QUICK === '1') return;
  fleet = await startFleetLab({ nodes: N, bfd: false, viphealth: false });
  await fleet.waitAllPaths(120_000);
});
after(async () => {
  await fleet?.destroy();
});

test('16 nodes, uniform mode: 16 equal paths in the router\'s kernel, flows on every node, a drain takes one out', { ...longTier('16-node fleet') }, async () => {
  const { lab } = fleet!;
  const address = FLEET_VIPS[0].split('/')[0]!;
  const route = (await lab.router.exec('ip', ['route', 'show', address])).stdout;
  assert.equal(route.match(/nexthop via/g)?.length, N, route);
  const spread = await flowSpread(lab.router, lab.nodes, address, 4096);
  assert.equal(spread.flows, 4096);
  assert.deepEqual([...spread.perNode.entries()].filter(([, k]) => k === 0), [], 'every node gets flows');

  const st = await lab.router.exec(process.execPath, [VIPCTL, 'fleet', '--redis', fleet!.redis.url, 'status']);
  assert.equal(st.exitCode, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`^198\\.51\\.100\\.10/32: ${N} announcing, best ${N} nodes \\(med ${FLEET_MED}\\)$`, 'm'));
  assert.match(st.stdout, new RegExp(`^ {2}MED ${FLEET_MED} +${N} +n1, n2, n3, … \\(13 more\\)$`, 'm'));
  assert.ok(st.stdout.split('\n').length < 40, st.stdout);

  const n1 = lab.nodes[0]!;
  const drained = await lab.router.exec(process.execPath, [VIPCTL, 'fleet', '--redis', fleet!.redis.url, 'drain', n1.name, '--reason', '16-node test']);
  assert.equal(drained.exitCode, 0, drained.stderr);
  await lab.waitForRouterRoutes(FLEET_VIPS[0], (r) => r.some((x) => viaNode(x.nextHop, n1) && x.med === FLEET_MED + FLEET_DRAIN_PENALTY), { message: 'n1 drained' });
  const after = await waitFor(async () => {
    const s = await flowSpread(lab.router, lab.nodes, address, 4096);
    return s.perNode.get(n1.name) === 0 ? s : undefined;
  }, { message: 'kernel route without n1' });
  assert.deepEqual([...after.perNode.entries()].filter(([node, k]) => node !== n1.name && k === 0), [], 'the other 15 share the flows');
  const outlier = await lab.router.exec(process.execPath, [VIPCTL, 'fleet', '--redis', fleet!.redis.url, 'status']);
  assert.match(outlier.stdout, new RegExp(`^ {2}MED ${FLEET_MED + FLEET_DRAIN_PENALTY} +1 +outlier: n1 \\(configured 100 \\+ drain \\+${FLEET_DRAIN_PENALTY}\\)$`, 'm'));
  assert.equal((await lab.router.exec(process.execPath, [VIPCTL, 'fleet', '--redis', fleet!.redis.url, 'undrain', n1.name])).exitCode, 0);
});

// End to end on an eBGP fabric: BIRD keeps a MED on eBGP only if the export filter sets it, so this
// proves the rendered routes plus docs/bird.md's export filter carry the MED to the router.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonProcess, Lab, LabHost } from '@vipcontrol/testlab';
import { V4, V6, routeAt, sha256, startE2eLab, statusJson, vipctlOk, waitGone, waitMed } from './e2e-helpers.js';

let lab: Lab;
let node: LabHost;
let daemon: DaemonProcess;
let birdConfHash: string;

before(async () => {
  // The first test waits for the routes itself: that the MED reaches the router on eBGP is what it proves.
  ({ lab, node, daemon, birdConfHash } = await startE2eLab({ mode: 'ebgp', waitAnnounced: false }));
});

after(async () => {
  await lab?.destroy();
});

test('eBGP: configured MED and communities are seen at the router (IPv4 and IPv6)', async () => {
  const r4 = await waitMed(lab, V4, 100);
  assert.deepEqual(r4.communities, ['65000:100']);
  assert.deepEqual(r4.largeCommunities, ['65000:1:2']);
  assert.deepEqual(r4.asPath, [node.asn]);
  const r6 = await waitMed(lab, V6, 100);
  assert.deepEqual(r6.communities, ['65000:600']);
  assert.deepEqual(r6.largeCommunities, ['65000:6:6']);
});

test('vipctl status names the BIRD version the daemon talks to', async () => {
  assert.match(await vipctlOk(daemon.apiSocket, 'status'), new RegExp(`^bird: +connected to BIRD ${lab.birdVersion.replaceAll('.', '\\.')} \\(`, 'm'));
  assert.equal((await statusJson(daemon.apiSocket)).bird.version, lab.birdVersion);
});

test('eBGP: set-med, withdraw and announce are seen at the router', async () => {
  const before = await lab.sessionStats(node);
  await vipctlOk(daemon.apiSocket, 'set-med', V4, '4000');
  await waitMed(lab, V4, 4000);
  await vipctlOk(daemon.apiSocket, 'set-med', V6, '4242');
  await waitMed(lab, V6, 4242);
  await vipctlOk(daemon.apiSocket, 'withdraw', V4);
  await waitGone(lab, V4);
  assert.equal((await routeAt(lab, V6))?.med, 4242);
  await vipctlOk(daemon.apiSocket, 'announce', V4);
  await waitMed(lab, V4, 4000);
  await vipctlOk(daemon.apiSocket, 'reset-med', V4);
  await vipctlOk(daemon.apiSocket, 'reset-med', V6);
  await waitMed(lab, V4, 100);
  await waitMed(lab, V6, 100);
  const after = await lab.sessionStats(node);
  assert.equal(after.since, before.since, 'session reset');
  assert.equal(after.state, 'Established');
});

test('eBGP: status shows the MED as exported and says plainly that BIRD cannot show whether eBGP keeps it', async () => {
  const status = JSON.parse(await vipctlOk(daemon.apiSocket, 'status', '--json')) as {
    bird: { fabric: { name: string; session?: string }[] };
    vips: { prefix: string; inSync: boolean; exported: { med?: number; to: string[]; medUnverified?: string } }[];
  };
  assert.deepEqual(status.bird.fabric.map((f) => [f.name, f.session]), [['fabric4', 'external'], ['fabric6', 'external']]);
  const v4 = status.vips.find((v) => v.prefix === V4)!;
  assert.deepEqual(v4.exported.to, ['fabric4']);
  assert.equal(v4.exported.med, 100);
  assert.match(v4.exported.medUnverified ?? '', /^eBGP \(fabric4\): BIRD sends the MED only if the export filter sets it/);
  assert.match(await vipctlOk(daemon.apiSocket, 'status'), /^ {4}MED unverified: eBGP \(fabric4\)/m);
});

test("eBGP: the operator's bird.conf is never touched", async () => {
  assert.equal(await sha256(node.bird.configPath), birdConfHash);
});

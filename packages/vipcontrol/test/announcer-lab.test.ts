// The announcer in the lab (real BIRD on a node and a fabric router, in network namespaces): a crash
// between `configure timeout` and `configure confirm`, and a route BIRD has but does not export.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonStatus, Lab, unixHttpRequest, waitFor, type DaemonProcess, type LabHost } from '@vipcontrol/testlab';
import type { DaemonStatus, VipStatus } from '../src/daemon-types.js';
import { birdSocketProxy, type BirdSocketProxy } from './bird-socket-proxy.js';

const V4 = '198.51.100.10/32';
const V4B = '198.51.100.11/32';
/** Long enough for a restarted daemon to come up (on a loaded machine) before BIRD's undo; short enough for the test. */
const CONFIGURE_TIMEOUT_S = 10;

const status = (d: DaemonProcess): Promise<DaemonStatus> => daemonStatus(d.apiSocket);

const vip = (s: DaemonStatus, prefix: string): VipStatus => s.vips.find((v) => v.prefix === prefix)!;

describe('announcer in the lab', async () => {
  let lab: Lab;
  let node: LabHost;
  let proxy: BirdSocketProxy;
  const config = () => ({
    bird: { socket: proxy.path, configureTimeout: `${CONFIGURE_TIMEOUT_S}s` },
    vips: [{ prefix: V4, med: 100 }, { prefix: V4B, med: 100 }],
  });
  before(async () => {
    lab = await Lab.create({ nodes: 1, bfd: false });
    node = lab.nodes[0]!;
    proxy = await birdSocketProxy(node.dir, node.bird.socketPath);
  });
  after(async () => {
    await proxy?.close();
    await lab?.destroy();
  });

  it('a crash between `configure timeout` and `configure confirm`: the restarted daemon confirms; router and status agree after the undo timer', async () => {
    let d = await lab.startVipcontrol(node, config());
    await lab.waitForRouterRoutes(V4, (rs) => rs.some((r) => r.med === 100), { message: 'router has the VIP at MED 100' });

    // Stop the apply after `configure timeout`: its read-back never reaches BIRD.
    proxy.slow(/^show route/, 'hold');
    const setMed = unixHttpRequest(d.apiSocket, { method: 'PUT', path: `/v1/vips/${encodeURIComponent(V4)}/med`, body: { med: 250 }, timeoutMs: 30_000 });
    setMed.catch(() => undefined); // the daemon dies with the request open
    const undoIn = await waitFor(async () => (await node.bird.client.configureStatus()).undoInSec, { message: 'BIRD says the configuration is unconfirmed' });
    const undoAt = Date.now() + undoIn * 1000;
    await lab.waitForRouterRoutes(V4, (rs) => rs.some((r) => r.med === 250), { message: 'router got the unconfirmed MED 250' });
    await d.kill('SIGKILL');
    proxy.release();

    d = await lab.startVipcontrol(node, config());
    // Before BIRD's timer would fire, the new daemon has seen the pending configuration as its
    // predecessor's and configured + confirmed it again.
    await waitFor(async () => (await node.bird.client.configureStatus()).undoInSec === undefined || undefined, {
      message: 'the restarted daemon confirmed',
      timeoutMs: Math.max(0, undoAt - Date.now()),
    });
    assert.ok((d.logEntries()).some((l) => l.event === 'unconfirmedFromCrash'), 'logged the predecessor\'s unconfirmed apply');

    // Past the predecessor's undo time: nothing was reverted, router and status say the same.
    await sleep(Math.max(0, undoAt + 500 - Date.now()));
    const s = await status(d);
    assert.equal(s.bird.pendingConfigure, undefined);
    assert.equal(await lab.routerBestMed(V4), 250, 'the router holds MED 250');
    assert.equal(vip(s, V4).med, 250);
    assert.equal(vip(s, V4).exported?.med, 250);
    assert.equal(vip(s, V4).inSync, true);
    await d.stop();
  });

  it('a `protocol direct` route on lo that wins: status says not exported and why, never in sync; the router indeed lacks it', async () => {
    const d = await lab.startVipcontrol(node, config()); // manages lo: the VIP addresses are on it
    let s = await waitFor(async () => {
      const now = await status(d);
      return now.bird.lastApply?.ok ? now : undefined;
    }, { message: 'first apply done' });
    assert.deepEqual(s.bird.fabric?.map((f) => [f.name, f.family, f.session, f.state]), [['fabric4', 4, 'internal', 'Established'], ['fabric6', 6, 'internal', 'Established']]);
    assert.equal(vip(s, V4B).exported?.verifiedAt, 'fabric');
    assert.deepEqual(vip(s, V4B).exported?.to, ['fabric4']);
    assert.equal(vip(s, V4B).inSync, true);

    // A common bird.conf line: direct routes of lo, preference 240 over static's 200.
    const conf = await readFile(node.bird.configPath, 'utf8');
    await node.bird.writeConfig(`${conf}\nprotocol direct lodirect { ipv4; ipv6; interface "lo"; }\n`);
    try {
      assert.equal((await node.bird.client.configure()).status, 'reconfigured');
      await lab.waitForRouterRoutes(V4B, (rs) => rs.length === 0, { message: 'the router lost the VIP (BGP exports the direct route: rejected by the filter)' });
      await unixHttpRequest(d.apiSocket, { method: 'POST', path: '/v1/reload', body: {} }); // a full read-back
      s = await status(d);
      const v = vip(s, V4B);
      assert.equal(v.inSync, false, 'a VIP not exported is never in sync');
      assert.equal(v.exported?.present, false);
      assert.equal(v.exported?.inTable, true);
      assert.deepEqual(v.exported?.missing, ['fabric4']);
      assert.match(v.exported?.reason ?? '', /lodirect's route \(preference 240\) is BIRD's best path, not vipcontrol4's \(200\)/);
    } finally {
      await node.bird.writeConfig(conf);
      await node.bird.client.configure();
    }
    await lab.waitForRouterRoutes(V4B, (rs) => rs.length > 0, { message: 'router has the VIP again' });

    // An export filter mistake: fabric4 lets everything of vipcontrol4 through but this VIP.
    const filter = 'export where proto = "vipcontrol4";';
    assert.ok(conf.includes(filter));
    await node.bird.writeConfig(conf.replace(filter, `export where proto = "vipcontrol4" && net != ${V4B};`));
    try {
      assert.equal((await node.bird.client.configure()).status, 'reconfigured');
      await lab.waitForRouterRoutes(V4B, (rs) => rs.length === 0, { message: 'the router lost the VIP' });
      await unixHttpRequest(d.apiSocket, { method: 'POST', path: '/v1/reload', body: {} });
      s = await status(d);
      assert.equal(vip(s, V4B).inSync, false);
      assert.match(vip(s, V4B).exported?.reason ?? '', /^the export filter of fabric4 rejects it$/);
      assert.equal(vip(s, V4).inSync, true, 'the other VIP is exported as desired');
    } finally {
      await node.bird.writeConfig(conf);
      await node.bird.client.configure();
    }
    await d.stop();
  });
});

// The announcer in the lab (real BIRD on a node and a fabric router, in network namespaces): a crash
// between `configure timeout` and `configure confirm`, a route BIRD has but does not export, and an
// operator's `birdc` between applies (seen within seconds; a session they disabled stays down).
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

/** The look at BIRD runs every 2 s; a verify after it takes milliseconds. Generous for a loaded machine. */
const FOLLOWS_WITHIN_MS = 8_000;

/** The daemon's log is written asynchronously: waits for a line. */
const logged = (d: DaemonProcess, match: (l: Record<string, unknown>) => boolean, message: string): Promise<unknown> =>
  waitFor(() => d.logEntries().find(match), { message, timeoutMs: 5_000 });

/** Waits until status says what `ok` wants of `prefix`, without any request that would read BIRD back. */
const statusFollows = (d: DaemonProcess, prefix: string, ok: (v: VipStatus) => boolean, message: string): Promise<DaemonStatus> =>
  waitFor(async () => {
    const s = await status(d);
    return ok(vip(s, prefix)) ? s : undefined;
  }, { message, timeoutMs: FOLLOWS_WITHIN_MS, intervalMs: 100 });

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
      // No request: the daemon sees BIRD loaded another configuration and reads back by itself.
      s = await statusFollows(d, V4B, (v) => !v.inSync, 'status says not in sync without being asked to verify');
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
      s = await statusFollows(d, V4B, (v) => v.exported?.reason === 'the export filter of fabric4 rejects it', 'status names the filter without being asked to verify');
      assert.equal(vip(s, V4B).inSync, false);
      assert.equal(vip(s, V4).inSync, true, 'the other VIP is exported as desired');
    } finally {
      await node.bird.writeConfig(conf);
      await node.bird.client.configure();
    }
    await statusFollows(d, V4B, (v) => v.inSync, 'status follows the fixed filter by itself');
    const seen = await waitFor(() => {
      const found = d.logEntries().filter((l) => l.event === 'birdChangedOutside').map((l) => String((l.changes as string[])[0]));
      return found.length >= 2 ? found : undefined;
    }, { message: 'the operator configures logged' });
    assert.ok(seen.every((c) => /^BIRD loaded a configuration at .* that vipcontrol did not send/.test(c)), seen.join(' | '));
    await d.stop();
  });

  it("an operator's `birdc disable` of a fabric session: status follows within seconds, and vipcontrol's configure keeps it down", async () => {
    const d = await lab.startVipcontrol(node, config());
    const fabric4 = async (): Promise<string | undefined> => (await node.bird.client.showProtocols({ name: 'fabric4' }))[0]?.state;
    try {
      await statusFollows(d, V4, (v) => v.inSync, 'in sync at start');
      assert.equal(await fabric4(), 'up');
      assert.match((await node.bird.client.command('disable fabric4')).text, /fabric4: disabled/);
      await lab.waitForRouterRoutes(V4, (rs) => rs.length === 0, { message: 'the router lost the VIP with the session' });
      let s = await statusFollows(d, V4, (v) => !v.inSync, 'status says not in sync without being asked');
      assert.equal(vip(s, V4).exported?.present, false);
      assert.match(vip(s, V4).exported?.reason ?? '', /fabric4/, 'the reason names the session');

      // A change is a `configure`, which enables every protocol bird.conf does not disable: vipcontrol
      // disables the session again at once, before BGP's connect delay (5 s) lets it open.
      const answer = await unixHttpRequest(d.apiSocket, { method: 'PUT', path: `/v1/vips/${encodeURIComponent(V4)}/med`, body: { med: 260 } });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(await fabric4(), 'down', 'the session stays down');
      await logged(d, (l) => l.event === 'protocolKeptDown' && l.protocol === 'fabric4' && l.level === 'warn', 'protocolKeptDown logged at warn');
      await sleep(6_000); // past BGP's connect delay: had it been left enabled, it would be up by now
      assert.equal(await fabric4(), 'down', 'still down past the connect delay');
      assert.deepEqual(await lab.routerRoutes(V4), [], 'the router still has nothing from this node');
      s = await status(d);
      assert.equal(vip(s, V4).med, 260);
      assert.equal(vip(s, V4).inSync, false, 'still not in sync: the fabric gets nothing');

      assert.match((await node.bird.client.command('enable fabric4')).text, /fabric4: enabled/);
      await lab.waitForRouterRoutes(V4, (rs) => rs.some((r) => r.med === 260), { message: 'the router has MED 260 once the operator enabled the session', timeoutMs: 30_000 });
      await statusFollows(d, V4, (v) => v.inSync && v.exported?.med === 260, 'status follows the session up');
    } finally {
      await node.bird.client.command('enable fabric4');
      await d.stop();
    }
  });

  it("`birdc disable vipcontrol4`: status does not stay 'in sync' while the router lacks the VIP; vipcontrol enables its own protocol again and says so", async () => {
    const d = await lab.startVipcontrol(node, config());
    try {
      await statusFollows(d, V4B, (v) => v.inSync, 'in sync at start');
      const t0 = Date.now();
      assert.match((await node.bird.client.command('disable vipcontrol4')).text, /vipcontrol4: disabled/);
      await lab.waitForRouterRoutes(V4B, (rs) => rs.length === 0, { message: 'the router lost the VIP' });
      // The daemon sees it, reads back (BIRD's table lacks the routes) and configures: the protocol is
      // enabled again, the router has the VIP back, and status says so.
      await lab.waitForRouterRoutes(V4B, (rs) => rs.some((r) => r.med === 100), { message: 'the router has the VIP again', timeoutMs: FOLLOWS_WITHIN_MS });
      const back = Date.now() - t0;
      await statusFollows(d, V4B, (v) => v.inSync && v.exported?.present === true, 'in sync again');
      await logged(d, (l) => l.event === 'birdChangedOutside' && (l.changes as string[]).includes('vipcontrol4: up → down'), 'the change is logged');
      await logged(d, (l) => l.event === 'ownProtocolEnabled' && l.protocol === 'vipcontrol4' && l.level === 'warn', 'enabling it again is logged at warn');
      assert.ok(back < FOLLOWS_WITHIN_MS, `back at the router after ${back} ms`);
    } finally {
      await node.bird.client.command('enable vipcontrol4');
      await d.stop();
    }
  });
});

// The daemon as a process in a lab node (real BIRD router + node BIRD in network namespaces): what
// the fabric router sees, and that nothing more than the change itself ever reaches it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { daemonStatus, Lab, unixHttpRequest, waitFor, type DaemonProcess, type LabHost } from '@vipcontrol/testlab';
import { enc } from './single-bird.js';

// 100 IPv4 + 100 IPv6 VIPs: enough for "one of N" and the burst, small enough to stay fast.
const V4S = Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}/32`);
const V6S = Array.from({ length: 100 }, (_, i) => `2001:db8::${(i + 1).toString(16)}/128`);
const A4 = V4S[0]!;
const A6 = V6S[0]!;
const VIPS = [
  { prefix: A4, med: 100, communities: ['65000:100'], largeCommunities: ['65000:1:2'] },
  { prefix: A6, med: 110, communities: ['65000:600'] },
  ...V4S.slice(1).map((prefix) => ({ prefix, med: 100 })),
  ...V6S.slice(1).map((prefix) => ({ prefix, med: 100 })),
];

describe('vipcontrol in the lab (router sees exactly the changes)', async () => {
  let lab: Lab;
  let node: LabHost;
  let daemon: DaemonProcess;
  const config = { vips: VIPS, loopback: { interface: 'lo', manage: true, removeOnWithdraw: true } };

  before(async () => {
    lab = await Lab.create({ nodes: 1, bfd: false });
    node = lab.nodes[0]!;
    daemon = await lab.startVipcontrol(node, config);
  });
  after(() => lab.destroy());

  const call = (method: string, path: string, body?: unknown) =>
    unixHttpRequest(daemon.apiSocket, { method, path, body, headers: { 'x-vipcontrol-actor': 'test@lab' }, timeoutMs: 60_000 });
  const status = () => daemonStatus(daemon.apiSocket, { timeoutMs: 60_000 });
  const loopbackAddrs = async () => {
    const r = await node.exec('ip', ['-j', 'addr', 'show', 'dev', 'lo']);
    const links = JSON.parse(r.stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
    return new Set(links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)));
  };

  it('the router receives every VIP, IPv4 and IPv6, with MED and communities; addresses are on lo', async () => {
    const r4 = await lab.waitForRouterRoutes(A4, (rs) => rs.some((r) => r.med === 100), { message: 'router has A4' });
    assert.deepEqual(r4[0]!.communities, ['65000:100']);
    assert.deepEqual(r4[0]!.largeCommunities, ['65000:1:2']);
    const r6 = await lab.waitForRouterRoutes(A6, (rs) => rs.some((r) => r.med === 110), { message: 'router has A6' });
    assert.deepEqual(r6[0]!.communities, ['65000:600']);
    await waitFor(async () => (await lab.routerRoutes(V6S[99]!)).length === 1, { message: 'router has the last VIP' });
    // Every VIP's first announcement counted at the router (v4 and v6 arrive in separate UPDATEs), so the
    // next test's "before" reading is not taken while some are still in flight.
    await waitFor(async () => (await lab.sessionStats(node)).importUpdates >= VIPS.length, { message: 'router has imported all VIPs' });
    const addrs = await loopbackAddrs();
    assert.ok(addrs.has(A4) && addrs.has(A6) && addrs.has(V6S[99]!), 'VIP addresses on the node loopback');
  });

  it('one VIP of 200 changed → exactly one UPDATE at the router, no session reset', async () => {
    const before = await lab.sessionStats(node);
    const res = await call('PUT', `/v1/vips/${enc(V4S[50]!)}/med`, { med: 250, reason: 'shift' });
    assert.equal(res.status, 200, res.text);
    await waitFor(async () => (await lab.routerBestMed(V4S[50]!)) === 250, { message: 'router sees MED 250' });
    const afterStats = await lab.sessionStats(node);
    assert.equal(afterStats.importUpdates, before.importUpdates + 1);
    assert.equal(afterStats.importWithdraws, before.importWithdraws);
    assert.equal(afterStats.since, before.since);
    // IPv6 the same way.
    const res6 = await call('PUT', `/v1/vips/${enc(V6S[50]!)}/med`, { med: 260 });
    assert.equal(res6.status, 200, res6.text);
    await waitFor(async () => (await lab.routerBestMed(V6S[50]!)) === 260, { message: 'router sees IPv6 MED 260' });
    assert.equal((await lab.sessionStats(node)).importUpdates, before.importUpdates + 2);
  });

  it('withdraw: route gone at the router, then the address off lo; announce brings both back', async () => {
    const before = await lab.sessionStats(node);
    const w = await call('POST', `/v1/vips/${enc(A6)}/withdraw`, { reason: 'test' });
    assert.equal(w.status, 200, w.text);
    await waitFor(async () => (await lab.routerRoutes(A6)).length === 0, { message: 'router lost A6' });
    assert.equal((await loopbackAddrs()).has(A6), false, 'address removed (removeOnWithdraw)');
    assert.equal((await lab.sessionStats(node)).importWithdraws, before.importWithdraws + 1);
    const a = await call('POST', `/v1/vips/${enc(A6)}/announce`);
    assert.equal(a.status, 200, a.text);
    assert.equal((await loopbackAddrs()).has(A6), true);
    await waitFor(async () => (await lab.routerBestMed(A6)) === 110, { message: 'router has A6 again' });
  });

  it('1,000 concurrent set-med calls: all answered 200, at most 10 applies, router converged', async (t) => {
    const appliesBefore = (await status()).bird.applies;
    const since = (await lab.sessionStats(node)).since;
    const all = VIPS.map((v) => v.prefix);
    const calls = Array.from({ length: 1000 }, (_, i) => {
      const prefix = all[i % all.length]!;
      return call('PUT', `/v1/vips/${enc(prefix)}/med`, { med: 2000 + (i % all.length), reason: `burst ${i}` });
    });
    const answers = await Promise.all(calls);
    assert.deepEqual(answers.filter((a) => a.status !== 200).map((a) => a.text), []);
    const applies = (await status()).bird.applies - appliesBefore;
    t.diagnostic(`1,000 set-med calls → ${applies} applies`);
    assert.ok(applies <= 10, `expected ≤ 10 applies, got ${applies}`);
    for (const i of [0, 1, 99, 100, 150, 199]) {
      await waitFor(async () => (await lab.routerBestMed(all[i]!)) === 2000 + i, { message: `router has the burst MED of ${all[i]}` });
    }
    assert.ok((await status()).vips.every((v) => v.inSync));
    assert.equal((await lab.sessionStats(node)).since, since, 'no session reset');
  });

  it('daemon restarts (SIGTERM, then SIGKILL) and a reload send zero updates', async () => {
    const before = await lab.sessionStats(node);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await daemon.kill(signal);
      daemon = await lab.startVipcontrol(node, config);
      const s = await waitFor(async () => {
        const st = await status();
        return st.bird.lastApply ? st : undefined;
      }, { message: 'first apply after restart' });
      assert.equal(s.bird.lastApply!.ok, true);
      assert.equal(s.bird.lastApply!.configured, false, `no configure after ${signal}`);
      assert.equal(s.vips.find((v) => v.prefix === A4)!.med, 2000, 'overrides survived');
    }
    const r = await call('POST', '/v1/reload');
    assert.equal(r.status, 200, r.text);
    await daemon.kill('SIGHUP');
    await waitFor(() => daemon.logEntries().some((e) => e.event === 'configReloaded' && (e.actor as { user?: string }).user === 'SIGHUP'), {
      message: 'SIGHUP reloads',
    });
    await waitFor(() => daemon.logEntries().filter((e) => e.event === 'applied').length >= 2, { message: 'reload applied' });
    // The router's view after an apply round trip: unchanged counters and session.
    const afterStats = await lab.sessionStats(node);
    assert.equal(afterStats.importUpdates, before.importUpdates);
    assert.equal(afterStats.importWithdraws, before.importWithdraws);
    assert.equal(afterStats.since, before.since);
  });
});

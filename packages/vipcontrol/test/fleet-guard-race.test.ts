// Issue 10: the minAnnouncers guard holds when every node's service dies at the same instant.
//
// One lab of five nodes (real BIRD in namespaces, a real redis-server in the router's namespace), each
// running vipcontrol and viphealth with a tcp check on a stand-in service. Two VIPs cover both fleet
// sizes at once: VIP3 (IPv4) is configured on n1..n3 with minAnnouncers 2, VIP5 (IPv6) on all five
// with minAnnouncers 3. The daemons keep running across trials; only the stand-in services are killed
// and restored. The router is the judge: its per-session withdraw counters (IPv4 = VIP3, IPv6 = VIP5)
// count every withdraw a node sent, even one undone a moment later, and a sampler polls its paths.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  daemonStatus, Lab, longTier, startRedis, startTcpService, waitFor,
  type DaemonProcess, type LabHost, type RedisInstance, type TcpService,
} from '@vipcontrol/testlab';

const VIP3 = '198.51.100.30/32';
const VIP5 = '2001:db8::50/128';
const MIN3 = 2;
const MIN5 = 3;
const MED = 100;
const GUARD = 1_000_000;
const TRIALS = 20;
const PORT = 7300 + Math.floor(Math.random() * 500);

let lab: Lab;
let redis: RedisInstance;
const vipcontrol = new Map<string, DaemonProcess>();
const services = new Map<string, TcpService>();

const vipsOf = (i: number) => [{ prefix: VIP5, med: MED, minAnnouncers: MIN5 }, ...(i < 3 ? [{ prefix: VIP3, med: MED, minAnnouncers: MIN3 }] : [])];

async function startNode(node: LabHost, i: number): Promise<void> {
  vipcontrol.set(node.name, await lab.startVipcontrol(node, {
    vips: vipsOf(i),
    redis: { url: redis.url, heartbeat: '300ms', ttl: '2s' },
    guardPenalty: GUARD,
  }));
}

async function startService(node: LabHost): Promise<void> {
  services.set(node.name, await startTcpService({ netns: node.netns, port: PORT }));
}

/** Paths at the router per VIP: count and MEDs. */
async function paths(): Promise<{ v3: number[]; v5: number[] }> {
  const [r3, r5] = await Promise.all([lab.routerRoutes(VIP3), lab.routerRoutes(VIP5)]);
  return { v3: r3.map((r) => r.med ?? -1).sort(), v5: r5.map((r) => r.med ?? -1).sort() };
}

/** Withdraws the router accepted so far: IPv4 sessions carry only VIP3, IPv6 only VIP5. */
async function withdrawCounts(): Promise<{ v3: number; v5: number }> {
  const stats = await Promise.all(lab.nodes.map((n) => lab.sessionStats(n)));
  return { v3: stats.reduce((a, s) => a + s.v4.importWithdraws, 0), v5: stats.reduce((a, s) => a + s.v6.importWithdraws, 0) };
}

const all = (n: number, med: number) => Array.from({ length: n }, () => med);

function waitPaths(want: { v3: number[]; v5: number[] }, message: string): Promise<unknown> {
  return waitFor(async () => {
    const p = await paths();
    return JSON.stringify(p) === JSON.stringify(want) || undefined;
  }, { timeoutMs: 15_000, intervalMs: 20, message: `${message}: want ${JSON.stringify(want)}` });
}

/** Polls the router until stopped; keeps the fewest paths seen per VIP. */
function sampler(): { stop(): Promise<{ min3: number; min5: number; samples: number }> } {
  let running = true;
  let min3 = Infinity;
  let min5 = Infinity;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const p = await paths();
      min3 = Math.min(min3, p.v3.length);
      min5 = Math.min(min5, p.v5.length);
      samples++;
    }
  })();
  return { stop: async () => { running = false; await loop; return { min3, min5, samples }; } };
}

/** Every service back, every path at its configured MED, no slot left in Redis. */
async function restoreAll(): Promise<void> {
  await Promise.all(lab.nodes.filter((n) => !services.has(n.name)).map(startService));
  await waitPaths({ v3: all(3, MED), v5: all(5, MED) }, 'all paths back at the configured MED');
  await waitFor(async () => {
    const r = await lab.router.exec('redis-cli', ['-h', redis.host, '-p', String(redis.port), 'EVAL',
      "return #redis.call('KEYS', 'vipcontrol:slots:*')", '0']);
    return r.stdout.trim() === '0' || undefined;
  }, { message: 'every slot given back' }).catch(async (err: Error) => {
    // Say who holds what, and why, for the post-mortem.
    const st = await Promise.all(lab.nodes.map(async (n) => [n.name, await daemonStatus(vipcontrol.get(n.name)!.apiSocket)] as const));
    const view = st.map(([n, s2]) => {
      return `${n}: guard ${JSON.stringify((s2.fleet as { guard: unknown }).guard)} vips ${JSON.stringify(s2.vips.map((v) => [v.prefix, v.announced, v.inSync, v.med]))}`;
    });
    throw new Error(`${err.message}\n${view.join('\n')}`);
  });
  await guardsReady();
}

async function killServices(nodes: readonly LabHost[], gapMs = 0): Promise<void> {
  const victims = nodes.map((n) => [n.name, services.get(n.name)!] as const);
  for (const [name] of victims) services.delete(name);
  if (gapMs === 0) {
    await Promise.all(victims.map(([, s]) => s.kill('SIGKILL')));
    return;
  }
  for (const [, s] of victims) {
    await s.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

/** One failure trial: kill, wait for the guarded end state, judge by the router's counters and samples. */
async function trial(gapMs: number): Promise<{ min3: number; min5: number; withdrawn3: number; withdrawn5: number; samples: number }> {
  const before = await withdrawCounts();
  const s = sampler();
  await killServices(lab.nodes, gapMs);
  // End state: on each VIP exactly (nodes − minAnnouncers) withdrew, the rest carry the guard penalty.
  await waitPaths({ v3: all(MIN3, MED + GUARD), v5: all(MIN5, MED + GUARD) }, 'guarded end state');
  const seen = await s.stop();
  const afterCounts = await withdrawCounts();
  return { ...seen, withdrawn3: afterCounts.v3 - before.v3, withdrawn5: afterCounts.v5 - before.v5 };
}

before(async () => {
  lab = await Lab.create({ nodes: 5, bfd: false });
  redis = await startRedis({ netns: lab.router.netns, bind: lab.router.addr4 });
  await Promise.all(lab.nodes.map(startService));
  await Promise.all(lab.nodes.map((n, i) => startNode(n, i)));
  await Promise.all(lab.nodes.map((n, i) => lab.startViphealth(n, {
    heartbeat: '200ms',
    checks: [{
      name: 'svc', type: 'tcp', target: `127.0.0.1:${PORT}`, interval: '100ms', fastInterval: '50ms', timeout: '100ms',
      rise: 1, fall: 1, vips: vipsOf(i).map((v) => v.prefix), withdraw: true,
    }],
  })));
  await waitPaths({ v3: all(3, MED), v5: all(5, MED) }, 'initial announcements');
  await restoreAll();
});

/**
 * Until its first complete guard round a daemon has no guard, and while settling it grants no slot
 * (docs/fleet.md, start-up and fail-static): wait for all, so a trial measures the steady state.
 */
function guardsReady(): Promise<unknown> {
  return waitFor(async () => {
    const st = await Promise.all(lab.nodes.map((n) => daemonStatus(vipcontrol.get(n.name)!.apiSocket)));
    return st.every((j) => {
      const f = j.fleet as { settled?: boolean; guard?: { computedAt?: number; detail?: Record<string, { slot: string }> } } | undefined;
      // Quiet: settled, a guard round done, no slot held, every check up (viphealth's new checks start
      // down until they pass once: the start-up episodes must be over before a trial counts withdraws).
      return f?.settled === true && f.guard?.computedAt !== undefined && Object.values(f.guard.detail ?? {}).every((d) => d.slot !== 'holding')
        && (j.health?.checks ?? []).length > 0 && (j.health?.checks ?? []).every((c) => c.status === 'up');
    }) || undefined;
  }, { timeoutMs: 20_000, message: 'every daemon settled, quiet, and past a guard round' });
}

after(async () => {
  await Promise.allSettled([...services.values()].map((s) => s.stop()));
  await redis?.stop();
  await lab?.destroy();
});

test(`every service killed at the same instant, ${TRIALS} trials: never fewer than minAnnouncers at the router (N=3 and N=5)`, { ...longTier('guard race trials') }, async () => {
  const results = [];
  for (let i = 0; i < TRIALS; i++) {
    results.push(await trial(0));
    await restoreAll();
  }
  const bad = results.filter((r) => r.min3 < MIN3 || r.min5 < MIN5 || r.withdrawn3 > 3 - MIN3 || r.withdrawn5 > 5 - MIN5);
  console.log(`# guard trials: ${JSON.stringify(results.map((r) => [r.min3, r.min5, r.withdrawn3, r.withdrawn5, r.samples]))}`);
  assert.deepEqual(bad, [], 'trials where the router lost more than nodes − minAnnouncers paths');
  // Exactly nodes − minAnnouncers withdrew each time: the guard lets as many go as it may, no more.
  assert.ok(results.every((r) => r.withdrawn3 === 3 - MIN3 && r.withdrawn5 === 5 - MIN5));
});

test('staggered failures: the first ones withdraw, the later ones get the penalty', async () => {
  const r = await trial(250);
  assert.deepEqual([r.min3 >= MIN3, r.min5 >= MIN5, r.withdrawn3, r.withdrawn5], [true, true, 3 - MIN3, 5 - MIN5]);
  await restoreAll();
});

test('a daemon SIGKILLed while holding a slot: its lease expires, the rest of the fleet goes on', async () => {
  await trial(0);
  const held = await lab.router.exec('redis-cli', ['-h', redis.host, '-p', String(redis.port), 'ZRANGE', `vipcontrol:slots:${VIP5}`, '0', '-1']);
  const holders5 = held.stdout.trim().split('\n').filter(Boolean);
  const held3 = await lab.router.exec('redis-cli', ['-h', redis.host, '-p', String(redis.port), 'ZRANGE', `vipcontrol:slots:${VIP3}`, '0', '-1']);
  const candidates = holders5.filter((n) => !held3.stdout.split('\n').includes(n));
  const victim = candidates.find((n) => n === 'n4' || n === 'n5') ?? candidates[0]!;
  assert.ok(victim, `a VIP5 slot holder that holds no VIP3 slot among ${holders5.join(',')}`);
  const node = lab.nodes.find((n) => n.name === victim)!;
  await vipcontrol.get(victim)!.kill('SIGKILL');
  // Its BIRD keeps the VIP withdrawn; the lease (one TTL after its last renewal) runs out.
  await waitFor(async () => {
    const r = await lab.router.exec('redis-cli', ['-h', redis.host, '-p', String(redis.port), 'ZSCORE', `vipcontrol:slots:${VIP5}`, victim]);
    return r.stdout.trim() === '' || undefined;
  }, { timeoutMs: 10_000, message: 'the dead holder\'s slot expired' });
  // The live nodes recover; one of them fails again: with the dead node gone, 3 others still announce VIP5,
  // so it may withdraw VIP5 — the dead holder's expired slot blocks nothing.
  await Promise.all(lab.nodes.filter((n) => n.name !== victim && !services.has(n.name)).map(startService));
  // The dead daemon's BIRD keeps what it last applied: VIP5 withdrawn, and VIP3 (if it has it) at the penalty.
  const victimHasV3 = lab.nodes.indexOf(node) < 3;
  await waitPaths({ v3: victimHasV3 ? [...all(2, MED), MED + GUARD].sort() : all(3, MED), v5: all(4, MED) }, 'live nodes back');
  const other = lab.nodes.find((n) => n.name !== victim && !['n1', 'n2', 'n3'].includes(n.name)) ?? lab.nodes.find((n) => n.name !== victim)!;
  await killServices([other]);
  await waitFor(async () => ((await paths()).v5.length === 3) || undefined, { timeoutMs: 10_000, message: `${other.name} withdraws VIP5` });
  // Restart the killed daemon (its service runs again) and restore for any later test.
  await startService(node);
  await startNode(node, lab.nodes.indexOf(node));
  await restoreAll();
});

test('status names the slot and why a withdraw is refused', async () => {
  await trial(0);
  const refused = await Promise.all(lab.nodes.map(async (n) => {
    const fleet = (await daemonStatus(vipcontrol.get(n.name)!.apiSocket)).fleet as { guard: { detail: Record<string, { slot: string; refused?: string }> } };
    return fleet.guard.detail[VIP5]!;
  }));
  assert.equal(refused.filter((d) => d.slot === 'holding').length, 5 - MIN5);
  for (const d of refused.filter((x) => x.slot !== 'holding')) assert.match(d.refused ?? '', /announcer\(s\) elsewhere/);
  await restoreAll();
});

// Fleet mode end to end: two real vipcontrol daemons in the lab's namespaces, a real redis-server,
// the real vipctl binary, and the router's RIB as the truth.
//
// Redis runs in the router's namespace (on its lab address) because the daemons run inside the
// nodes' namespaces, where the host's 127.0.0.1 is not reachable. vipctl runs in the router's
// namespace for the same reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { daemonStatus, Lab, startRedis, waitFor, type DaemonProcess, type LabHost, type RedisInstance } from '@vipcontrol/testlab';

const V4 = '198.51.100.10/32';
const VIPCTL = fileURLToPath(new URL('../../../vipctl/bin/vipctl.js', import.meta.url));
const DRAIN = 100_000;
const GUARD = 1_000_000;

let lab: Lab;
let redis: RedisInstance;
const daemons = new Map<string, DaemonProcess>();

async function redisCli(...args: string[]): Promise<string> {
  const r = await lab.router.exec('redis-cli', ['-h', redis.host, '-p', String(redis.port), ...args]);
  return r.stdout;
}

async function vipctl(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return lab.router.exec('node', [VIPCTL, 'fleet', '--redis', redis.url, ...args]);
}

async function startNode(node: LabHost): Promise<DaemonProcess> {
  const d = await lab.startVipcontrol(node, {
    vips: [{ prefix: V4, med: 100, minAnnouncers: 1 }],
    redis: { url: redis.url, heartbeat: '300ms', ttl: '2s' },
    drainPenalty: DRAIN,
    guardPenalty: GUARD,
  });
  daemons.set(node.name, d);
  return d;
}

async function fleetStatus(node: LabHost): Promise<{ connected: boolean; settled: boolean; guard: { prefixes: string[] } }> {
  return (await daemonStatus(daemons.get(node.name)!.apiSocket)).fleet as { connected: boolean; settled: boolean; guard: { prefixes: string[] } };
}

/** The router's path for V4 from `node` (announced = present). */
async function pathFrom(node: LabHost): Promise<{ med?: number } | undefined> {
  return (await lab.routerRoutes(V4)).find((r) => r.nextHop === node.addr4);
}

function waitPath(node: LabHost, med: number | undefined, message: string): Promise<unknown> {
  return waitFor(async () => {
    const p = await pathFrom(node);
    return med === undefined ? p === undefined : p?.med === med;
  }, { timeoutMs: 15_000, message });
}

before(async () => {
  lab = await Lab.create({ nodes: 2 });
  redis = await startRedis({ netns: lab.router.netns, bind: lab.router.addr4 });
  await Promise.all(lab.nodes.map(startNode));
  await Promise.all(lab.nodes.map((n) => waitPath(n, 100, `${n.name} announces`)));
});

after(async () => {
  await redis?.stop();
  await lab?.destroy();
});

test('fleet status shows every node; a remote drain is seen at the router', async () => {
  const n1 = lab.nodes[0]!;
  const st = await waitFor(async () => {
    const r = await vipctl('status', '--json');
    const m = JSON.parse(r.stdout || '{}') as { nodes?: { node: string; state: string }[] };
    return m.nodes?.filter((n) => n.state === 'ok').length === 2 ? m : undefined;
  }, { message: 'both nodes in fleet status' });
  assert.deepEqual(st.nodes?.map((n) => n.node), ['n1', 'n2']);

  const drain = await vipctl('drain', n1.name, '--reason', 'e2e');
  assert.equal(drain.exitCode, 0, drain.stderr);
  assert.match(drain.stdout, /^n1: applied/);
  // The ack comes after BIRD confirmed: the router sees it promptly.
  await waitPath(n1, 100 + DRAIN, 'drained MED at the router');
  assert.equal((await vipctl('undrain', n1.name)).exitCode, 0);
  await waitPath(n1, 100, 'undrained');
  const hist = await vipctl('history', n1.name);
  assert.match(hist.stdout, /fleet:.*drain.*\[cmd /);
});

test('Redis killed and restarted: no change at the router; nodes re-register', async () => {
  const before = await Promise.all(lab.nodes.map((n) => lab.sessionStats(n)));
  await redis.kill();
  await waitFor(async () => !(await fleetStatus(lab.nodes[0]!)).connected, { message: 'daemon sees Redis gone' });
  await redis.restart(); // empty: nothing is persisted
  await waitFor(async () => (await Promise.all(lab.nodes.map(fleetStatus))).every((f) => f.connected && f.settled), { message: 'reconnected and settled', timeoutMs: 20_000 });
  await waitFor(async () => (await redisCli('ZCARD', 'vipcontrol:nodes')).trim() === '2', { message: 're-registered' });
  const afterStats = await Promise.all(lab.nodes.map((n) => lab.sessionStats(n)));
  assert.deepEqual(afterStats.map((s) => [s.state, s.since, s.importUpdates, s.importWithdraws]), before.map((s) => [s.state, s.since, s.importUpdates, s.importWithdraws]));
  for (const n of lab.nodes) assert.equal((await pathFrom(n))?.med, 100);
});

test('malformed and hostile desired data: logged error, no change at the router', async () => {
  const n1 = lab.nodes[0]!;
  const before = await lab.sessionStats(n1);
  const hostile = JSON.stringify({ v: 1, id: 'hostile0-e2e1', seq: 1, node: 'n1', op: 'set-med', prefix: V4, body: { med: 5, evil: '"; }; protocol x {' }, by: 'x', at: Date.now() });
  await redisCli('HSET', 'vipcontrol:desired:n1', `med:${V4}`, hostile, 'drain', '{{{');
  await redisCli('PUBLISH', 'vipcontrol:db0:notify:n1', 'x');
  await waitFor(() => daemons.get('n1')!.logs().some((l) => l.includes('fleetDataRejected')), { message: 'logged rejection' });
  const ack = await waitFor(async () => (await redisCli('LINDEX', 'vipcontrol:ack:hostile0-e2e1', '0')).trim() || undefined, { message: 'rejection ack' });
  assert.match(ack, /"outcome":"rejected".*evil/);
  const afterStats = await lab.sessionStats(n1);
  assert.deepEqual([afterStats.importUpdates, (await pathFrom(n1))?.med], [before.importUpdates, 100]);
  await redisCli('DEL', 'vipcontrol:desired:n1');
});

test('a node whose daemon was stopped applies the latest override when it is back', async () => {
  const n2 = lab.nodes[1]!;
  await daemons.get(n2.name)!.stop();
  const first = await vipctl('--timeout', '300ms', 'set-med', n2.name, V4, '300');
  assert.equal(first.exitCode, 1);
  assert.match(first.stderr, /timeout: node n2 did not acknowledge/);
  assert.equal((await vipctl('--timeout', '300ms', 'set-med', n2.name, V4, '400')).exitCode, 1);
  assert.equal((await pathFrom(n2))?.med, 100, 'a stopped daemon changes nothing on the wire');
  await startNode(n2);
  await waitPath(n2, 400, 'latest override applied after restart');
  assert.equal((await vipctl('reset-med', n2.name, V4)).exitCode, 0);
  await waitPath(n2, 100, 'reset');
});

test('a remote command runs at most once across a restart, even when Redis lost its mark and ack', async () => {
  const n2 = lab.nodes[1]!;
  const sent = await vipctl('drain', n2.name, '--reason', 'once');
  assert.equal(sent.exitCode, 0, sent.stderr);
  await waitPath(n2, 100 + DRAIN, 'remote drain');
  // The operator undrains locally; then Redis loses the node's applied mark and the ack (failover,
  // restart without persistence), and the daemon restarts.
  const local = await execa('node', [VIPCTL, '--socket', daemons.get(n2.name)!.apiSocket, 'undrain'], { reject: false });
  assert.equal(local.exitCode, 0, String(local.stderr));
  await waitPath(n2, 100, 'undrained locally');
  await redisCli('DEL', `vipcontrol:applied:${n2.name}`);
  await daemons.get(n2.name)!.stop();
  await startNode(n2);
  // The restarted daemon answers the command again from its state file, and does not drain again.
  await waitFor(async () => (await redisCli('HGET', `vipcontrol:applied:${n2.name}`, 'drain')).includes('"id"') || undefined, { message: 'mark written again' });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await pathFrom(n2))?.med, 100, 'not re-drained');
  assert.ok(daemons.get(n2.name)!.logEntries().some((l) => l.event === 'fleetCommandReacked'));
});

test('minAnnouncers: a withdraw that would leave no announcer becomes the guard penalty unless forced', async () => {
  const [n1, n2] = lab.nodes as [LabHost, LabHost];
  // n2 leaves: allowed, n1 still announces.
  assert.equal((await vipctl('drain', n2.name, '--withdraw')).exitCode, 0);
  await waitPath(n2, undefined, 'n2 withdrawn');
  await waitFor(async () => (await fleetStatus(n1)).guard.prefixes.includes(V4), { message: 'n1 guarded' });
  // An operator withdraw on n1 now would leave none: it becomes a MED penalty.
  const local = await execa('node', [VIPCTL, '--socket', daemons.get(n1.name)!.apiSocket, 'withdraw', V4], { reject: false });
  assert.equal(local.exitCode, 0, String(local.stderr));
  await waitPath(n1, 100 + GUARD, 'guard penalty instead of withdraw');
  const forced = await execa('node', [VIPCTL, '--socket', daemons.get(n1.name)!.apiSocket, 'withdraw', V4, '--force'], { reject: false });
  assert.equal(forced.exitCode, 0, String(forced.stderr));
  await waitPath(n1, undefined, 'forced withdraw goes through');
  const hist = await vipctl('history', n1.name, V4);
  assert.match(hist.stdout, /guard/);
  // Restore for any later test.
  await execa('node', [VIPCTL, '--socket', daemons.get(n1.name)!.apiSocket, 'announce', V4]);
  assert.equal((await vipctl('undrain', n2.name)).exitCode, 0);
  await Promise.all(lab.nodes.map((n) => waitPath(n, 100, `${n.name} back`)));
});

// Issue 12, the Redis trust boundary with a real daemon: real BIRD, a real redis-server, the real API
// socket. What a Redis writer (or a bug on the way) puts into a node's desired hash must neither wipe
// the node's local state at its next start nor stall it; the Redis password never shows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { healthReportBody, startRedis, waitFor, type RedisInstance } from '@vipcontrol/testlab';
import { FleetStore } from '@vipcontrol/fleet';
import { parseRuntimeState, type CommandAck } from '@vipcontrol/core';
import { singleBird, V4, V4B, VIPS, enc, type SingleBird } from './single-bird.js';

// A password with "@" in it: the URL parser splits user info at the LAST "@".
const PASSWORD = 'fleet@secret@tail';
let f: SingleBird;
let redis: RedisInstance;
let store: FleetStore;
let url: string;
let node: string;
let seq = 1000;

before(async () => {
  f = await singleBird('trust');
  redis = await startRedis({ password: PASSWORD });
  url = `redis://:${PASSWORD}@${redis.host}:${redis.port}/0`;
  await f.writeConfig(VIPS, { redis: { url, keyPrefix: 'trust:', heartbeat: '200ms', ttl: '2s' } });
  node = 'trust';
  store = await FleetStore.open({ url: redis.url, keyPrefix: 'trust:', heartbeatMs: 200, ttlMs: 2000 });
  await f.startDaemon();
  await waitFor(async () => (await store.nodeInfo(node)).record?.ok, { message: 'node registered' });
});

after(async () => {
  await store?.close();
  await f?.cleanup();
  await redis?.stop();
});

/** Plants a desired entry as a Redis writer would (no sender-side validation), wakes the node, waits for the ack. */
async function plant(entry: { op: string; prefix?: string; body: object; by: string; at: number }): Promise<CommandAck> {
  const full = { v: 1, id: randomUUID(), seq: ++seq, node, ...entry };
  const field = entry.prefix ? `med:${entry.prefix}` : 'drain';
  await store.redis.hset(store.keys.desired(node), field, JSON.stringify(full));
  await store.redis.publish(store.keys.notify(node), 'x');
  return store.waitAck({ ...full, op: entry.op as 'set-med', v: 1 } as Parameters<FleetStore['waitAck']>[0], 10_000);
}

async function status(): Promise<{ state: { corrupt?: unknown }; drain?: unknown; fleet: { endpoint: string }; vips: { prefix: string; announced: boolean; med: number }[] }> {
  const res = await f.api('GET', '/v1/status');
  assert.equal(res.status, 200);
  return res.json as never;
}

test('item 1: remote commands the state file would refuse are rejected, and the local withdraw survives a restart', async () => {
  const local = await f.api('POST', `/v1/vips/${enc(V4B)}/withdraw`, { reason: 'local operator' });
  assert.equal(local.status, 200);

  const now = Date.now();
  const hostile = [
    { op: 'set-med', prefix: V4, body: { med: 300 }, by: 'mallory\u2028x', at: now },
    { op: 'drain', body: { withdraw: false }, by: 'mallory\u2029x', at: now },
    // The TTL counts from `at`: ten years ahead plus a 3,650-day TTL lies past the state file's date limit.
    { op: 'set-med', prefix: V4, body: { med: 300, ttl: '3650d' }, by: 'mallory', at: 8.64e15 - 1000 },
    { op: 'set-med', prefix: V4, body: { med: 300 }, by: 'mallory', at: now + 3_600_000 },
  ];
  for (const h of hostile) {
    const ack = await plant(h);
    assert.deepEqual([ack.outcome, ack.ok, ack.status], ['rejected', false, 400], JSON.stringify({ h, ack }));
  }
  // A valid command still runs.
  const good = await plant({ op: 'set-med', prefix: V4, body: { med: 250 }, by: 'alice', at: Date.now() });
  assert.equal(good.outcome, 'applied');

  // What is on disk passes the loader's own checks, and a restart keeps the local operator's withdraw.
  parseRuntimeState(JSON.parse(await readFile(f.stateFile, 'utf8')));
  await f.stopDaemon();
  await f.startDaemon();
  const st = await status();
  assert.equal(st.state.corrupt, undefined);
  assert.equal(st.drain, undefined);
  assert.deepEqual(st.vips.filter((v) => v.prefix === V4 || v.prefix === V4B).map((v) => [v.prefix, v.announced, v.med]), [[V4, true, 250], [V4B, false, 100]]);
  assert.equal((await f.birdRoutes()).has(V4B), false);
  const restored = await f.api('POST', `/v1/vips/${enc(V4B)}/announce`);
  assert.equal(restored.status, 200);
});

test('item 2: 40 × 4 MB junk fields and a 100,000-level body are skipped; commands, status and health withdraws still work', async () => {
  const key = store.keys.desired(node);
  const junk = 'x'.repeat(4 * 1024 * 1024);
  for (let i = 0; i < 40; i++) await store.redis.hset(key, `junk${i}`, junk);
  const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
  await store.redis.hset(key, `med:${V4B}`, `{"v":1,"id":"deep0000-0001","seq":1,"node":"${node}","op":"set-med","prefix":"${V4B}","body":${deep},"by":"m","at":${Date.now()}}`);
  await store.redis.publish(store.keys.notify(node), 'x');

  const good = await plant({ op: 'set-med', prefix: V4, body: { med: 260 }, by: 'alice', at: Date.now() });
  assert.equal(good.outcome, 'applied');
  await status();

  // A health-driven withdraw goes through while the junk sits there (its latency: scripts/bench.sh trust).
  const check = { name: 'web', vips: [V4], effect: { withdraw: true }, since: Date.now() } as const;
  const report = healthReportBody('trust-test', Date.now(), [{ ...check, status: 'down' }]);
  assert.equal((await f.api('POST', '/v1/health/report', report)).status, 200);
  assert.equal((await f.birdRoutes()).has(V4), false);
  const up = healthReportBody('trust-test', Date.now(), [{ ...check, status: 'up', since: Date.now() }]);
  assert.equal((await f.api('POST', '/v1/health/report', up)).status, 200);

  // Several heartbeats later: each junk value was reported once, not once per heartbeat.
  await new Promise((r) => setTimeout(r, 1000));
  const rejected = f.logs.filter((l) => l['event'] === 'fleetDataRejected').map((l) => String(l['field']));
  assert.equal(rejected.filter((x) => x.startsWith('junk')).length, 40, rejected.join(','));
  assert.equal(rejected.filter((x) => x === `med:${V4B}`).length, 1);
  await store.redis.del(key);
});

test('item 6: a password with "@" shows neither in /v1/status nor in the fleetStarted / fleetConnected log lines', async () => {
  const st = await status();
  assert.equal(st.fleet.endpoint, `redis://:***@${redis.host}:${redis.port}/0`);
  const lines = f.logs.filter((l) => l['event'] === 'fleetStarted' || l['event'] === 'fleetConnected');
  assert.ok(lines.length >= 2);
  for (const piece of ['secret', '@tail', 'fleet%40', 'fleet@']) {
    assert.ok(!JSON.stringify(st).includes(piece), `status shows ${piece}`);
    assert.ok(!JSON.stringify(f.logs).includes(piece), `log shows ${piece}`);
  }
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, waitFor, type RedisInstance } from '@vipcontrol/testlab';
import type { DesiredEntry, NodeRecord, RedisConfig } from '@vipcontrol/core';
import { FleetNodeClient, FleetStore, FleetTimeoutError, type FleetNodeHandlers, type InvalidDesired } from '../src/index.js';
import { P4, P6, nodeRecord, recordingLogger, redisConfig } from './helpers.js';

let redis: RedisInstance;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
});

/** A node client with recording handlers (what the daemon's agent would do, minus BIRD). */
function startNode(cfg: RedisConfig, node: string, opts: { guard?: boolean; outcome?: 'applied' | 'failed'; commandLog?: FleetNodeHandlers['commandLog'] } = {}) {
  const executed: DesiredEntry[] = [];
  const rejected: InvalidDesired[] = [];
  const views: { at: number }[] = [];
  const logger = recordingLogger();
  const handlers: FleetNodeHandlers = {
    snapshot: (): NodeRecord => nodeRecord(node),
    execute: async (entry) => {
      executed.push(entry);
      if (opts.outcome === 'failed') return { outcome: 'failed', ok: false, status: 503, error: 'cannot persist runtime state (ENOSPC)', vips: [] };
      return { outcome: 'applied', ok: true, status: 200, vips: [{ prefix: P4, announced: true, med: Number(entry.body.med ?? 100) }] };
    },
    ...(opts.commandLog ? { commandLog: opts.commandLog } : {}),
    rejected: (bad) => void rejected.push(bad),
    ...(opts.guard ? { guardTick: () => void views.push({ at: Date.now() }), guardSlots: () => [{ prefix: P4, holding: false, member: true }] } : {}),
  };
  const client = new FleetNodeClient({ config: cfg, node, logger, handlers });
  client.start();
  let stopped = false;
  const stop = async () => {
    if (!stopped) await client.stop();
    stopped = true;
  };
  cleanups.push(stop);
  return { client, executed, rejected, views, logger, stop };
}

async function caller(cfg: RedisConfig): Promise<FleetStore> {
  const s = await FleetStore.open(cfg);
  cleanups.push(() => s.close());
  return s;
}

test('remote command: the node executes it once and the caller gets the ack', async () => {
  const cfg = redisConfig(redis.url);
  const n1 = startNode(cfg, 'n1');
  const s = await caller(cfg);
  await waitFor(async () => (await s.nodeInfo('n1')).record?.ok, { message: 'n1 registered' });
  const entry = await s.sendCommand({ node: 'n1', op: 'set-med', prefix: P4, body: { med: 250 }, by: 'alice@h' });
  const ack = await s.waitAck(entry, 3000);
  assert.equal(ack.outcome, 'applied');
  assert.deepEqual(ack.vips, [{ prefix: P4, announced: true, med: 250 }]);
  // Heartbeats re-read the desired hash: the entry must not run again.
  await new Promise((r) => setTimeout(r, 3 * cfg.heartbeatMs));
  assert.deepEqual(n1.executed.map((e) => e.id), [entry.id]);
});

test('a command that failed (its caller read the failure) is not run again after a restart, though the state file holds an older mark', async () => {
  const cfg = redisConfig(redis.url);
  const s = await caller(cfg);
  // The first drain was applied and persisted: the node's state file marks it.
  const n1 = startNode(cfg, 'n9');
  await waitFor(async () => (await s.nodeInfo('n9')).record?.ok, { message: 'n9 registered' });
  const first = await s.sendCommand({ node: 'n9', op: 'drain', body: {}, by: 'alice@h' });
  assert.equal((await s.waitAck(first, 3000)).outcome, 'applied');
  await n1.stop();
  const stateFile = { applied: { drain: { id: first.id, seq: first.seq } }, recent: [first.id] };
  // The next one fails on a full disk: only Redis marks it (with the failure ack the caller reads).
  const n2 = startNode(cfg, 'n9', { outcome: 'failed', commandLog: () => stateFile });
  const second = await s.sendCommand({ node: 'n9', op: 'undrain', body: {}, by: 'alice@h' });
  assert.equal((await s.waitAck(second, 3000)).outcome, 'failed');
  await n2.stop();
  // Restarted with the disk free: the failed command must not run behind its caller's back.
  const n3 = startNode(cfg, 'n9', { commandLog: () => stateFile });
  await waitFor(async () => (await s.nodeInfo('n9')).record?.ok, { message: 'n9 registered again' });
  await new Promise((r) => setTimeout(r, 3 * cfg.heartbeatMs));
  assert.deepEqual(n3.executed.map((e) => e.id), []);
});

test('a node that was away applies only the latest desired override per target when it comes back', async () => {
  const cfg = redisConfig(redis.url);
  const s = await caller(cfg);
  const first = startNode(cfg, 'n2');
  const e0 = await s.sendCommand({ node: 'n2', op: 'set-med', prefix: P4, body: { med: 200 }, by: 'a' });
  await s.waitAck(e0, 3000);
  await first.stop(); // the daemon is stopped
  const e1 = await s.sendCommand({ node: 'n2', op: 'set-med', prefix: P4, body: { med: 300 }, by: 'a' });
  await assert.rejects(s.waitAck(e1, 200), FleetTimeoutError);
  const e2 = await s.sendCommand({ node: 'n2', op: 'set-med', prefix: P4, body: { med: 400 }, by: 'b' });
  const e3 = await s.sendCommand({ node: 'n2', op: 'drain', body: { withdraw: false }, by: 'c' });
  const second = startNode(cfg, 'n2'); // a new process: nothing in memory, only Redis
  const ack = await s.waitAck(e3, 3000);
  assert.equal(ack.outcome, 'applied');
  await waitFor(() => second.executed.length >= 2);
  assert.deepEqual(second.executed.map((e) => [e.op, e.body.med]), [['set-med', 400], ['drain', undefined]]);
  assert.deepEqual(second.executed.map((e) => e.id), [e2.id, e3.id]);
});

test('Redis killed and restarted: nothing executed, the node re-registers, audit buffered, no withdraw slot until settled', async () => {
  const cfg = redisConfig(redis.url);
  const n = startNode(cfg, 'n3', { guard: true });
  const s = await caller(cfg);
  await waitFor(() => n.views.length > 0, { message: 'first guard tick' });
  await redis.kill();
  await waitFor(() => !n.client.status().connected, { message: 'client notices' });
  n.client.audit({ v: 1, at: Date.now(), node: 'n3', actor: { source: 'api' }, action: 'set-med', prefix: P6, ok: true });
  assert.equal(n.client.status().outbox, 1);
  await assert.rejects(n.client.acquireWithdrawSlot(P4, 0, false), /Redis unreachable/);
  await redis.restart(); // empty: nothing persisted
  const back = await waitFor(() => (n.client.status().connected ? Date.now() : false), { message: 'reconnected' });
  await waitFor(async () => (await s.nodeInfo('n3').catch(() => undefined))?.record?.ok, { message: 'n3 re-registered' });
  await waitFor(async () => (await s.readAudit({ count: 10 }).catch(() => undefined))?.entries.length === 1, { message: 'buffered audit written' });
  // A slot is granted only once the fleet had 1.5 heartbeats to re-register.
  const granted = await waitFor(async () => {
    try {
      return (await n.client.acquireWithdrawSlot(P4, 0, false)).granted ? Date.now() : undefined;
    } catch (err) {
      assert.match((err as Error).message, /settling/);
      return undefined;
    }
  }, { intervalMs: 10, message: 'slot after settling' });
  assert.ok(granted - back >= cfg.heartbeatMs * 1.5 - 50, `slot ${granted - back} ms after reconnect: must wait for the fleet to re-register`);
  assert.equal(await s.redis.zscore(s.keys.members(P4), 'n3'), null, 'a holder is no announcer');
  assert.deepEqual(n.executed, []);
  assert.equal(n.logger.events('error').length, 0);
  assert.ok(n.logger.events('warn').includes('fleetDisconnected'));
});

test('FLUSHALL under a running node: detected, re-registered, view held', async () => {
  const cfg = redisConfig(redis.url);
  const n = startNode(cfg, 'n4', { guard: true });
  const s = await caller(cfg);
  await waitFor(async () => (await s.nodeInfo('n4')).record?.ok);
  await s.redis.flushall();
  await waitFor(() => n.client.status().reRegistrations === 1, { message: 're-registration' });
  assert.equal(n.client.status().settled, false);
  await waitFor(async () => (await s.nodeInfo('n4')).record?.ok);
  assert.ok(n.logger.events('warn').includes('fleetReRegistered'));
  assert.deepEqual(n.executed, []);
});

test('hostile desired entries and events: logged once, rejected (with an ack where possible), never executed', async () => {
  const cfg = redisConfig(redis.url);
  const s = await caller(cfg);
  const n = startNode(cfg, 'n5');
  await waitFor(async () => (await s.nodeInfo('n5')).record?.ok);
  const base = { v: 1, id: 'hostile0-0001', seq: 999, node: 'n5', op: 'set-med', prefix: P4, by: 'mallory', at: Date.now() };
  await s.redis.hset(s.keys.desired('n5'),
    `med:${P4}`, JSON.stringify({ ...base, body: { med: 2 ** 40 }, prefix: '198.51.100.10/32\nprotocol' }),
    'drain', '\u0000\u0001garbage');
  await s.redis.publish(s.keys.notify('n5'), 'wake');
  await s.redis.publish(s.keys.events, '{"v":1,"type":"state","node":"../../etc"}');
  const ackKey = s.keys.ack('hostile0-0001');
  const raw = await waitFor(async () => (await s.redis.lindex(ackKey, 0)) ?? undefined, { message: 'rejection ack' });
  assert.match(raw, /"outcome":"rejected"/);
  await new Promise((r) => setTimeout(r, 3 * cfg.heartbeatMs));
  assert.deepEqual(n.executed, []);
  assert.equal(n.rejected.length, 2, 'each bad value reported once, not on every heartbeat');
  assert.equal(n.logger.events('error').filter((e) => e === 'fleetDataRejected').length, 2);
  assert.ok(n.logger.events('warn').includes('fleetDataRejected'), 'bad event logged');
});

test('keys of the wrong type (audit, desired): each fleet step fails on its own, heartbeats go on, stop still works', async () => {
  const cfg = redisConfig(redis.url);
  const s = await caller(cfg);
  await s.redis.set(s.keys.audit, 'x');
  await s.redis.set(s.keys.desired('n6'), 'not a hash');
  const n = startNode(cfg, 'n6');
  n.client.audit({ v: 1, at: Date.now(), node: 'n6', actor: { source: 'api' }, action: 'set-med', prefix: P4, ok: true });
  await waitFor(() => n.client.status().failing?.outbox && n.client.status().failing?.reconcile, { message: 'both steps failing' });
  // Heartbeats still move on: the node stays fresh.
  const hb1 = Number(await s.redis.zscore(s.keys.nodes, 'n6'));
  await waitFor(async () => Number(await s.redis.zscore(s.keys.nodes, 'n6')) > hb1 || undefined, { message: 'heartbeat moves on' });
  // Logged at error once per episode, not per heartbeat.
  await new Promise((r) => setTimeout(r, 4 * cfg.heartbeatMs));
  assert.equal(n.logger.events('error').filter((e) => e === 'fleetStepFailed').length, 2);
  assert.match(n.client.status().failing!.outbox!.error, /WRONGTYPE/);
  // Fixed: the steps recover, the buffered audit entry is written.
  await s.redis.del(s.keys.audit, s.keys.desired('n6'));
  await waitFor(() => n.client.status().failing === undefined, { message: 'recovered' });
  assert.equal((await s.readAudit({ count: 5 })).entries.length, 1);
  assert.ok(n.logger.events('info').includes('fleetStepRecovered'));
  await s.redis.set(s.keys.audit, 'x');
  n.client.audit({ v: 1, at: Date.now(), node: 'n6', actor: { source: 'api' }, action: 'set-med', prefix: P4, ok: true });
  await n.stop(); // must not throw
});

test('heartbeatAt is stamped with Redis\'s clock, not the node\'s (a node 60 s fast is not fresh for a minute)', async () => {
  const cfg = redisConfig(redis.url);
  const s = await caller(cfg);
  const fast = () => Date.now() + 60_000;
  const client = new FleetNodeClient({ config: cfg, node: 'n7', logger: recordingLogger(), clock: fast, handlers: {
    snapshot: () => nodeRecord('n7'), execute: async () => ({ outcome: 'applied', ok: true, vips: [] }), rejected: () => undefined,
  } });
  client.start();
  cleanups.push(() => client.stop());
  const rec = await waitFor(async () => {
    const r = (await s.nodeInfo('n7')).record;
    return r?.ok ? r.value : undefined;
  }, { message: 'n7 registered' });
  assert.ok(Math.abs(rec.heartbeatAt - (await s.now())) < 5_000, `heartbeatAt ${rec.heartbeatAt - (await s.now())} ms off Redis's clock`);
});

// Sentinel: the fleet view outlives a Redis primary. Two real redis-servers (primary + replica) and one
// real redis-sentinel (testlab's startSentinel); a running node client keeps publishing through a forced
// failover, and a remote command sent after it is acknowledged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, startSentinel, waitFor, type RedisInstance, type SentinelInstance } from '@vipcontrol/testlab';
import type { RedisConfig } from '@vipcontrol/core';
import { FleetNodeClient, FleetStore } from '../src/index.js';
import { P4, nodeRecord, recordingLogger } from './helpers.js';

let primary: RedisInstance;
let replica: RedisInstance;
let sentinel: SentinelInstance;
const cleanups: (() => Promise<void>)[] = [];

/** A plain connection to one server; disconnected in after(). */
function connect(port: number): Redis {
  const r = new Redis(port, '127.0.0.1');
  r.on('error', () => undefined); // torn down with the servers
  cleanups.push(async () => void r.disconnect());
  return r;
}

before(async () => {
  [primary, replica] = await Promise.all([startRedis(), startRedis()]);
  await connect(replica.port).replicaof('127.0.0.1', primary.port);
  sentinel = await startSentinel({ master: primary, name: 'vcfleet' });
  const s = connect(sentinel.port);
  await waitFor(async () => ((await s.call('SENTINEL', 'REPLICAS', 'vcfleet')) as unknown[]).length > 0,
    { timeoutMs: 15_000, message: 'sentinel sees the replica' });
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
  await Promise.all([sentinel?.stop(), primary?.stop(), replica?.stop()]);
});

test('a running node survives a Sentinel failover: re-registers on the new primary, commands still acked', async () => {
  const cfg: RedisConfig = { sentinels: [{ host: sentinel.host, port: sentinel.port }], name: 'vcfleet', keyPrefix: 'sent:', heartbeatMs: 200, ttlMs: 1000 };
  const logger = recordingLogger();
  const executed: string[] = [];
  const client = new FleetNodeClient({
    config: cfg, node: 'n1', logger,
    handlers: {
      snapshot: () => nodeRecord('n1'),
      execute: async (e) => {
        executed.push(e.id);
        return { outcome: 'applied', ok: true, status: 200, vips: [{ prefix: P4, announced: true, med: 5 }] };
      },
      rejected: () => undefined,
    },
  });
  client.start();
  cleanups.push(() => client.stop());
  const caller = await FleetStore.open(cfg);
  cleanups.push(() => caller.close());
  await waitFor(async () => (await caller.nodeInfo('n1')).record?.ok, { message: 'registered via sentinel' });

  const s = connect(sentinel.port);
  // Sentinel refuses (NOGOODSLAVE) until it has fresh INFO from the replica: retry until it accepts.
  await waitFor(async () => (await s.call('SENTINEL', 'FAILOVER', 'vcfleet')) === 'OK', { timeoutMs: 20_000, intervalMs: 250, message: 'failover accepted' });
  await waitFor(async () => {
    const [, port] = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'vcfleet')) as [string, string];
    return Number(port) === replica.port;
  }, { timeoutMs: 15_000, message: 'replica promoted' });

  // The node writes to the new primary: its heartbeat score there moves on.
  const promoted = connect(replica.port);
  const t0 = Date.now();
  await waitFor(async () => Number(await promoted.zscore('sent:nodes', 'n1')) > t0, { timeoutMs: 15_000, message: 'heartbeat on the new primary' });
  const caller2 = await FleetStore.open(cfg);
  cleanups.push(() => caller2.close());
  const entry = await caller2.sendCommand({ node: 'n1', op: 'set-med', prefix: P4, body: { med: 5 }, by: 'op' });
  assert.equal((await caller2.waitAck(entry, 5000)).outcome, 'applied');
  assert.deepEqual(executed, [entry.id]);
  assert.deepEqual(logger.events('error'), []);
});

test('failover mid-decision: a withdraw slot lost with the old primary is not handed to a second node', async () => {
  const cfg: RedisConfig = { sentinels: [{ host: sentinel.host, port: sentinel.port }], name: 'vcfleet', keyPrefix: 'slot:', heartbeatMs: 200, ttlMs: 1000 };
  // n1 will hold the slot (withdrawn); n2 wants to withdraw too; n3 announces. minAnnouncers 2.
  const holding = new Set<string>();
  const clients = new Map<string, FleetNodeClient>();
  for (const node of ['n1', 'n2', 'n3']) {
    const client = new FleetNodeClient({
      config: cfg, node, logger: recordingLogger(),
      handlers: {
        snapshot: () => nodeRecord(node),
        execute: async () => ({ outcome: 'applied', ok: true, status: 200, vips: [] }),
        rejected: () => undefined,
        guardTick: () => undefined,
        guardSlots: () => [{ prefix: P4, holding: holding.has(node), member: !holding.has(node) }],
      },
    });
    client.start();
    cleanups.push(() => client.stop());
    clients.set(node, client);
  }
  const s = connect(sentinel.port);
  const primaryPort = async () => Number(((await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'vcfleet')) as [string, string])[1]);
  const oldPort = await primaryPort();
  const acquire = (node: string) => clients.get(node)!.acquireWithdrawSlot(P4, 2, false);
  await waitFor(async () => {
    try {
      return (await acquire('n1')).granted || undefined;
    } catch {
      return undefined; // settling after connect
    }
  }, { timeoutMs: 10_000, message: 'n1 granted (n2 and n3 announce)' });
  holding.add('n1');

  await waitFor(async () => (await s.call('SENTINEL', 'FAILOVER', 'vcfleet')) === 'OK', { timeoutMs: 20_000, intervalMs: 250, message: 'failover accepted' });
  await waitFor(async () => (await primaryPort()) !== oldPort || undefined, { timeoutMs: 15_000, intervalMs: 20, message: 'replica promoted' });
  // Asynchronous replication lost n1's grant: on the new primary n1 is an announcer again, with no slot.
  const promoted = connect(await primaryPort());
  const [t] = await promoted.time();
  await promoted.multi().zrem('slot:slots:' + P4, 'n1').zadd('slot:members:' + P4, Number(t) * 1000, 'n1').exec();
  // n2 keeps asking through the failover: it must never be granted (n1 is withdrawn; only n3 announces).
  const outcomes: string[] = [];
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    try {
      outcomes.push((await acquire('n2')).granted ? 'granted' : 'denied');
    } catch (err) {
      outcomes.push(`unavailable: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(!outcomes.includes('granted'), outcomes.join('\n'));
  assert.ok(outcomes.some((o) => o.startsWith('unavailable')), 'refused while the fleet settles after the failover');
  assert.equal(outcomes.at(-1), 'denied');
  // n1's heartbeat renewed its slot on the new primary.
  assert.notEqual(await promoted.zscore('slot:slots:' + P4, 'n1'), null);
});

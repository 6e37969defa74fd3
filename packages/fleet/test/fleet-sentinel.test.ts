// Sentinel: the fleet view outlives a Redis primary. Two real redis-servers (primary + replica) and one
// real redis-sentinel (spawned here: testlab has no Sentinel helper yet); a running node client keeps
// publishing through a forced failover, and a remote command sent after it is acknowledged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, makeTempDir, startRedis, waitFor, type RedisInstance, type TempDir } from '@vipcontrol/testlab';
import type { RedisConfig } from '@vipcontrol/core';
import { FleetNodeClient, FleetStore } from '../src/index.js';
import { P4, nodeRecord, recordingLogger } from './helpers.js';

let primary: RedisInstance;
let replica: RedisInstance;
let dir: TempDir;
let sentinel: ChildProcess | undefined;
let sentinelPort: number;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  [primary, replica, dir] = await Promise.all([startRedis(), startRedis(), makeTempDir('vc-sentinel-')]);
  const admin = new Redis(replica.port, '127.0.0.1');
  await admin.replicaof('127.0.0.1', primary.port);
  await admin.quit();
  sentinelPort = await freePort();
  const conf = join(dir.path, 'sentinel.conf');
  await writeFile(conf, [
    `port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir.path}`,
    `sentinel monitor vcfleet 127.0.0.1 ${primary.port} 1`,
    'sentinel down-after-milliseconds vcfleet 1000', 'sentinel failover-timeout vcfleet 5000', '',
  ].join('\n'));
  sentinel = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
  await waitFor(async () => {
    const s = new Redis(sentinelPort, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
    s.on('error', () => undefined);
    try {
      await s.connect();
      const replicas = (await s.call('SENTINEL', 'REPLICAS', 'vcfleet')) as unknown[];
      return replicas.length > 0;
    } finally {
      s.disconnect();
    }
  }, { timeoutMs: 15_000, message: 'sentinel sees the replica' });
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
  sentinel?.kill('SIGKILL');
  await Promise.all([primary?.stop(), replica?.stop()]);
  await dir?.cleanup();
});

test('a running node survives a Sentinel failover: re-registers on the new primary, commands still acked', async () => {
  const cfg: RedisConfig = { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'vcfleet', keyPrefix: 'sent:', heartbeatMs: 200, ttlMs: 1000 };
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

  const s = new Redis(sentinelPort, '127.0.0.1');
  s.on('error', () => undefined); // torn down with the sentinel
  cleanups.push(async () => void s.disconnect());
  // Sentinel refuses (NOGOODSLAVE) until it has fresh INFO from the replica: retry until it accepts.
  await waitFor(async () => (await s.call('SENTINEL', 'FAILOVER', 'vcfleet')) === 'OK', { timeoutMs: 20_000, intervalMs: 250, message: 'failover accepted' });
  await waitFor(async () => {
    const [, port] = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'vcfleet')) as [string, string];
    return Number(port) === replica.port;
  }, { timeoutMs: 15_000, message: 'replica promoted' });

  // The node writes to the new primary: its heartbeat score there moves on.
  const promoted = new Redis(replica.port, '127.0.0.1');
  promoted.on('error', () => undefined);
  cleanups.push(async () => void promoted.disconnect());
  const t0 = Date.now();
  await waitFor(async () => Number(await promoted.zscore('sent:nodes', 'n1')) > t0, { timeoutMs: 15_000, message: 'heartbeat on the new primary' });
  const caller2 = await FleetStore.open(cfg);
  cleanups.push(() => caller2.close());
  const entry = await caller2.sendCommand({ node: 'n1', op: 'set-med', prefix: P4, body: { med: 5 }, by: 'op' });
  assert.equal((await caller2.waitAck(entry, 5000)).outcome, 'applied');
  assert.deepEqual(executed, [entry.id]);
  assert.deepEqual(logger.events('error'), []);
});

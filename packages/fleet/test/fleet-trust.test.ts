// Issue 12, Sentinel is not trusted with more than "which server is the primary": real redis-server
// and redis-sentinel, over TLS with a throwaway CA, and with passwords. The primary's certificate must
// carry the name from the URL (not whatever address Sentinel returned), and the Redis password is never
// sent to a Sentinel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { makeTempDir, makeTlsCerts, startRedis, startSentinel, waitFor, type SentinelInstance, type TempDir } from '@vipcontrol/testlab';
import { parseVipcontrolConfig, type RedisConfig } from '@vipcontrol/core';
import { FleetNodeClient, FleetStore } from '../src/index.js';
import { P4, nodeRecord, recordingLogger } from './helpers.js';

let dir: TempDir;
let certs: { ca: string; cert: string; key: string };
const stops: (() => Promise<unknown>)[] = [];

before(async () => {
  dir = await makeTempDir('vc-sentinel-trust-');
  certs = await makeTlsCerts(dir.path);
});
after(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await dir?.cleanup();
});

/** The `redis:` section as an operator writes it, through vipcontrol's own config parser. */
function configured(sentinel: SentinelInstance, extra: string): RedisConfig {
  const text = `node: n1\nredis: { sentinels: [{ host: "${sentinel.host}", port: ${sentinel.port} }], name: ${sentinel.name}, keyPrefix: "st:", heartbeat: 200ms, ttl: 1s, ${extra} }\n`;
  return parseVipcontrolConfig(text, 'vipcontrol.yaml').redis!;
}

async function open(cfg: RedisConfig, maxReconnects = 0): Promise<FleetStore> {
  const s = await FleetStore.open(cfg, { connectTimeoutMs: 1500, maxReconnects });
  stops.push(() => s.close());
  return s;
}

/** A direct connection to a plain (non-TLS) Sentinel, for its INFO. */
function direct(sentinel: SentinelInstance, password?: string): Redis {
  const r = new Redis({ host: sentinel.host, port: sentinel.port, password, lazyConnect: true });
  stops.push(async () => r.disconnect());
  return r;
}

test('Sentinel + TLS: the primary must carry the name from the URL (or tls.servername), whatever address Sentinel names', async () => {
  const tls = { certFile: certs.cert, keyFile: certs.key, caFile: certs.ca };
  const primary = await startRedis({ tls });
  stops.push(() => primary.stop());
  const sentinel = await startSentinel({ master: primary, name: 'vctls', tls });
  stops.push(() => sentinel.stop());

  // Sentinel names 127.0.0.1; the certificate lists 127.0.0.1 and localhost.
  const good = await open(configured(sentinel, `url: "rediss://localhost/0", tls: { ca: ${certs.ca} }`));
  await good.publishNode(nodeRecord('n1'), 1000);
  assert.equal((await good.nodeInfo('n1')).record?.ok, true);

  // The operator expects redis.fleet.example: a server without that name is refused, although the
  // address Sentinel returned is in its certificate.
  await assert.rejects(open(configured(sentinel, `url: "rediss://redis.fleet.example/0", tls: { ca: ${certs.ca} }`)), /redis\.fleet\.example|altnames|certificate/i);
  // An explicit tls.servername pins the name too.
  await assert.rejects(open(configured(sentinel, `url: "rediss://localhost/0", tls: { ca: ${certs.ca}, servername: redis.fleet.example }`)), /redis\.fleet\.example|altnames|certificate/i);
  const pinned = await open(configured(sentinel, `url: "rediss://redis.fleet.example/0", tls: { ca: ${certs.ca}, servername: localhost }`));
  assert.equal((await pinned.nodeInfo('n1')).record?.ok, true);

  // Without a CA of its own, Sentinel + TLS is a config error (the system CAs would accept any public name).
  assert.throws(() => configured(sentinel, 'url: "rediss://localhost/0"'), /redis\.tls\.ca: required with sentinels/);
});

test('the Redis password is never sent to a Sentinel; Sentinel has credentials of its own', async () => {
  const primary = await startRedis({ password: 'redis-pw' });
  stops.push(() => primary.stop());
  const sentinel = await startSentinel({ master: primary, name: 'vcpw', password: 'sentinel-pw' });
  stops.push(() => sentinel.stop());
  const admin = direct(sentinel, 'sentinel-pw');
  /** Failed AUTH attempts the Sentinel saw (its ACL LOG): a Redis password sent to it would be one. */
  const authFailures = async () => ((await admin.call('ACL', 'LOG')) as unknown[][]).filter((e) => e[3] === 'auth').length;

  // No Sentinel credentials configured: nothing is sent to it (it answers NOAUTH), least of all the Redis password.
  await assert.rejects(open(configured(sentinel, 'url: "redis://:redis-pw@ignored/0"')));
  assert.equal(await authFailures(), 0, 'the Redis password was sent to the Sentinel');

  // Sentinel's own password, from redis.sentinel.passwordFile.
  const file = join(dir.path, 'sentinel.pass');
  await writeFile(file, 'sentinel-pw\n', { mode: 0o600 });
  const s = await open(configured(sentinel, `url: "redis://:redis-pw@ignored/0", sentinel: { passwordFile: ${file} }`));
  await s.publishNode(nodeRecord('n1'), 1000);
  assert.equal((await s.nodeInfo('n1')).record?.ok, true);
  assert.equal(await authFailures(), 0);
});

test('only the configured Sentinels are used: one they announce is followed only with followAnnounced', async () => {
  const primary = await startRedis();
  stops.push(() => primary.stop());
  const listed = await startSentinel({ master: primary, name: 'vcann' });
  const announced = await startSentinel({ master: primary, name: 'vcann' });
  stops.push(() => announced.stop(), () => listed.stop());
  const admin = direct(listed);
  // Known and linked (ioredis skips Sentinels flagged "disconnected").
  await waitFor(async () => {
    const others = (await admin.call('SENTINEL', 'SENTINELS', 'vcann')) as string[][];
    return others.length === 1 && !/disconnected/.test(others[0]![others[0]!.indexOf('flags') + 1] ?? 'disconnected');
  }, { timeoutMs: 15_000, intervalMs: 200, message: 'the listed Sentinel learned the other one' });

  const [pinned, following] = await Promise.all([
    open(configured(listed, 'url: "redis://ignored/0"'), 20),
    open(configured(listed, 'url: "redis://ignored/0", sentinel: { followAnnounced: true }'), 20),
  ]);
  // The listed Sentinel goes away, then every client's connection to the primary drops.
  await listed.stop();
  const primaryAdmin = new Redis({ host: primary.host, port: primary.port });
  stops.push(async () => primaryAdmin.disconnect());
  await primaryAdmin.call('CLIENT', 'KILL', 'TYPE', 'normal');
  // Following the announced Sentinel finds the primary again; the pinned client has no Sentinel left.
  await waitFor(async () => (await following.now().catch(() => 0)) > 0, { timeoutMs: 10_000, intervalMs: 100, message: 'followAnnounced: reconnected through the announced Sentinel' });
  await new Promise((r) => setTimeout(r, 1000)); // a second more than the other needed
  await assert.rejects(pinned.now(), 'the pinned client found a Sentinel it was not given');
});

/**
 * The per-node ACL user of docs/fleet.md ("Hardened setup"), for node n1 and prefix "vipcontrol:".
 * Keep the two in step: this test is what shows the documented rule is enough, and no more.
 */
const NODE_ACL = [
  'on', '>n1-secret', 'resetkeys', 'resetchannels', '-@all',
  '+@connection', '+info', '+select', '+time', '+multi', '+exec', '+eval_ro', '+eval',
  '+zscore', '+zrange', '+zrem', '+zremrangebyscore',
  '+get', '+set', '+type', '+strlen', '+zadd', '+zcard', '+zrevrange', '+hlen', '+hkeys', '+hstrlen', '+hget', '+hset',
  '+rpush', '+pexpire', '+xadd', '+publish', '+subscribe',
  '~vipcontrol:node:n1', '~vipcontrol:applied:n1', '%R~vipcontrol:desired:n1', '%R~vipcontrol:node:*', '~vipcontrol:nodes',
  '%W~vipcontrol:ack:*', '%W~vipcontrol:audit', '~vipcontrol:slots:*', '~vipcontrol:members:*',
  '&vipcontrol:db0:events', '&vipcontrol:db0:notify:n1',
];

test('the hardened per-node ACL user of docs/fleet.md runs a node, and cannot touch another node\'s keys', async () => {
  const server = await startRedis({ password: 'admin-pw' });
  stops.push(() => server.stop());
  const admin = await open({ url: server.url, keyPrefix: 'vipcontrol:', heartbeatMs: 200, ttlMs: 1000 });
  await admin.redis.call('ACL', 'SETUSER', 'n1', ...NODE_ACL);
  const cfg: RedisConfig = { url: `redis://n1:n1-secret@${server.host}:${server.port}/0`, keyPrefix: 'vipcontrol:', heartbeatMs: 200, ttlMs: 1000 };
  const logger = recordingLogger();
  const client = new FleetNodeClient({
    config: cfg, node: 'n1', logger,
    handlers: {
      snapshot: () => nodeRecord('n1'),
      execute: async () => ({ outcome: 'applied', ok: true, status: 200, vips: [{ prefix: P4, announced: true, med: 5 }] }),
      rejected: () => undefined,
      guardTick: () => undefined,
      guardSlots: () => [{ prefix: P4, holding: false, member: true }],
    },
  });
  client.start();
  stops.push(() => client.stop());
  await waitFor(async () => (await admin.nodeInfo('n1')).record?.ok, { message: 'n1 registered with its own ACL user' });
  await admin.publishNode(nodeRecord('n2'), 1000);
  const entry = await admin.sendCommand({ node: 'n1', op: 'set-med', prefix: P4, body: { med: 5 }, by: 'op' });
  assert.equal((await admin.waitAck(entry, 5000)).outcome, 'applied');
  client.guardSoon();
  await waitFor(() => client.status().lastFleetViewAt !== undefined, { message: 'guard round run' });
  // The minAnnouncers guard's scripts run under the same user (withdraw slots, issue 10).
  await waitFor(async () => { try { return (await client.acquireWithdrawSlot(P4, 0, false)).granted || undefined; } catch { return undefined; } }, { message: 'slot granted' });
  await client.releaseWithdrawSlot(P4);
  assert.deepEqual(logger.events('warn').concat(logger.events('error')), []);

  // What n1 may not do: write another node's record, its own desired hash, or read another's desired hash.
  const n1 = new Redis({ host: server.host, port: server.port, username: 'n1', password: 'n1-secret' });
  stops.push(async () => n1.disconnect());
  await assert.rejects(n1.set('vipcontrol:node:n2', '{}'), /NOPERM/);
  await assert.rejects(n1.hset('vipcontrol:desired:n1', 'drain', '{}'), /NOPERM/);
  await assert.rejects(n1.hget('vipcontrol:desired:n2', 'drain'), /NOPERM/);
  await assert.rejects(n1.call('FLUSHALL'), /NOPERM/);
});

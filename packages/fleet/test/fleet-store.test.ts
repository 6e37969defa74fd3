import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisInstance } from '@vipcontrol/testlab';
import { FLEET_SCHEMA_VERSION, type CommandAck, type RedisConfig } from '@vipcontrol/core';
import { FleetStore, FleetTimeoutError, FleetError, FleetUnavailableError, redisOptions, redisTarget, FleetConfigError } from '../src/index.js';
import { P4, P6, nodeRecord, redisConfig } from './helpers.js';

let redis: RedisInstance;
const stores: FleetStore[] = [];
const open = async (url: string, over = {}) => {
  const s = await FleetStore.open(redisConfig(url, over));
  stores.push(s);
  return s;
};

before(async () => {
  redis = await startRedis({ password: 'sekret' });
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await redis?.stop();
});

test('redisOptions: URL credentials, db, TLS and Sentinel, from the URL parsed once', () => {
  const cfg = { keyPrefix: 'vc:', heartbeatMs: 1000, ttlMs: 5000 };
  const options = (over: Partial<RedisConfig>) => redisOptions(redisTarget({ ...cfg, ...over }));
  const plain = options({ url: 'redis://fleet:p%40ss@10.0.0.1:6380/2' });
  assert.deepEqual([plain.host, plain.port, plain.username, plain.password, plain.db, plain.tls], ['10.0.0.1', 6380, 'fleet', 'p@ss', 2, undefined]);
  // The store's channel names and the connection's SELECT take the same database number.
  assert.equal(redisTarget({ ...cfg, url: 'redis://10.0.0.1/7' }).db, 7);
  assert.equal(redisTarget({ ...cfg, sentinels: [{ host: 'h', port: 1 }], name: 'm' }).db, 0);
  // SNI only for names (RFC 6066: no IP literals); the certificate must carry the URL's host either way.
  const tls = options({ url: 'rediss://[2001:db8::1]' });
  assert.deepEqual([tls.host, tls.port, Object.keys(tls.tls ?? {})], ['2001:db8::1', 6379, ['checkServerIdentity']]);
  const named = options({ url: 'rediss://redis.example', tls: { insecure: true } }).tls;
  assert.deepEqual([named?.servername, named?.rejectUnauthorized], ['redis.example', false]);
  assert.throws(() => options({ url: 'rediss://h', tls: { ca: '/nonexistent/ca.pem', insecure: false } }), /^FleetConfigError: redis\.tls\.ca: cannot read \/nonexistent\/ca\.pem: ENOENT/);
  // Sentinel: the Redis password goes to Redis only, and only the configured Sentinels are used.
  const sentinel = options({ url: 'redis://:pw@ignored/1', sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' });
  assert.deepEqual([sentinel.name, sentinel.sentinels, sentinel.password, sentinel.sentinelPassword, sentinel.updateSentinels, sentinel.db, sentinel.host], ['mymaster', [{ host: '127.0.0.1', port: 26379 }], 'pw', undefined, false, 1, undefined]);
  assert.throws(() => options({ sentinels: [{ host: 'h', port: 1 }] }), FleetConfigError);
  // A URL core refuses (vipctl's --redis skips the config schema): a FleetConfigError, the password not shown.
  assert.throws(() => redisTarget({ ...cfg, url: 'http://x' }), /^FleetConfigError: redis\.url: must be a redis:\/\/ or rediss:\/\/ URL, got http:/);
  assert.throws(() => redisTarget({ ...cfg, url: 'redis://:secret@x/abc' }), (e: Error) => e instanceof FleetConfigError && /database must be a number/.test(e.message) && !e.message.includes('secret'));
});

test('open fails fast and clearly when Redis is not there or the password is wrong', async () => {
  await assert.rejects(FleetStore.open(redisConfig('redis://127.0.0.1:1/0'), { connectTimeoutMs: 300 }), FleetUnavailableError);
  await assert.rejects(open(`redis://:wrong@127.0.0.1:${redis.port}/0`), /WRONGPASS|invalid password|NOAUTH/i);
});

test('registered nodes make the matrix; planted garbage is reported, not thrown', async () => {
  const s = await open(redis.url);
  assert.deepEqual(await s.publishNode(nodeRecord('n1'), 1000), { existed: false });
  assert.deepEqual(await s.publishNode(nodeRecord('n1'), 1000), { existed: true });
  await s.publishNode(nodeRecord('n2', { vips: [{ prefix: P4, announced: true, med: 50, terms: [{ kind: 'configured', med: 50 }], withdrawReasons: [], minAnnouncers: 1, inSync: true }] }), 1000);
  // Hostile / corrupt entries: a bad zset member, a record that is not JSON, one that claims another node.
  await s.redis.zadd(s.keys.nodes, Date.now(), 'evil name\r\nFLUSHALL', Date.now(), 'n3', Date.now(), 'n4');
  await s.redis.set(s.keys.node('n3'), '{"v":1,');
  await s.redis.set(s.keys.node('n4'), JSON.stringify(nodeRecord('n1')));
  const m = await s.readMatrix(1000);
  assert.deepEqual(m.nodes.map((n) => [n.node, n.state]), [['n1', 'ok'], ['n2', 'ok'], ['n3', 'invalid'], ['n4', 'invalid']]);
  assert.equal(m.errors.length, 3);
  assert.match(m.errors.join('\n'), /not a node name/);
  assert.match(m.errors.join('\n'), /claims node "n1"/);
  assert.deepEqual(m.vips.find((v) => v.prefix === P4)?.best, ['n2']);
  assert.deepEqual(m.vips.find((v) => v.prefix === P6)?.best, ['n1']);
});

test('command round trip: desired entry, node-side finish, ack; timeout; superseded', async () => {
  const caller = await open(redis.url);
  const dup = caller.redis.duplicate();
  await dup.connect();
  const node = new FleetStore(dup, caller.keys.seq.replace(/seq$/, ''));
  stores.push(node);
  const entry = await caller.sendCommand({ node: 'n1', op: 'set-med', prefix: P4, body: { med: 250, reason: 'test' }, by: 'alice@host' });
  const { entries, invalid } = await node.readDesired('n1');
  assert.deepEqual(invalid, []);
  assert.deepEqual(entries.map((e) => [e.field, e.entry.id]), [[`med:${P4}`, entry.id]]);
  const ack: CommandAck = { v: FLEET_SCHEMA_VERSION, id: entry.id, seq: entry.seq, node: 'n1', outcome: 'applied', ok: true, status: 200, vips: [{ prefix: P4, announced: true, med: 250 }], at: Date.now() };
  await node.finishCommand('n1', `med:${P4}`, ack);
  assert.deepEqual(await caller.waitAck(entry, 1000), ack);
  assert.deepEqual(await node.readApplied('n1'), { [`med:${P4}`]: { id: entry.id, seq: entry.seq } });

  const lonely = await caller.sendCommand({ node: 'n1', op: 'drain', body: { withdraw: true }, by: 'bob' });
  await assert.rejects(caller.waitAck(lonely, 300), FleetTimeoutError);

  const first = await caller.sendCommand({ node: 'n1', op: 'reset-med', prefix: P4, body: {}, by: 'carol' });
  await caller.sendCommand({ node: 'n1', op: 'set-med', prefix: P4, body: { med: 7 }, by: 'dave' });
  await assert.rejects(caller.waitAck(first, 3000), (err: Error) => err instanceof FleetError && /superseded.*by dave/.test(err.message));
});

test('desired entries planted by a hostile writer are returned as invalid with what can be recovered', async () => {
  const s = await open(redis.url);
  const key = s.keys.desired('n9');
  const good = { v: 1, id: 'abcdef12-0001', seq: 5, node: 'n9', op: 'set-med', prefix: P4, body: { med: 1 }, by: 'x', at: Date.now() };
  await s.redis.hset(key,
    'drain', 'not json',
    `med:${P6}`, JSON.stringify({ ...good, prefix: P4 }), // stored under the wrong field
    `med:${P4}`, JSON.stringify({ ...good, node: 'n8' }), // addressed to another node
    'med:x', JSON.stringify({ ...good, id: 'abcdef12-0002', prefix: '1.2.3.4/32"; }; protocol' }));
  const { entries, invalid } = await s.readDesired('n9');
  assert.deepEqual(entries, []);
  assert.equal(invalid.length, 4);
  const byField = Object.fromEntries(invalid.map((i) => [i.field, i]));
  assert.match(byField.drain!.error, /not JSON/);
  assert.equal(byField.drain!.id, undefined);
  assert.match(byField[`med:${P6}`]!.error, /wrong field/);
  assert.match(byField[`med:${P4}`]!.error, /addressed to node "n8"/);
  assert.equal(byField['med:x']!.id, 'abcdef12-0002');
});

test('audit trail: capped stream, newest N, filters by node and prefix, oldest first', async () => {
  const s = await open(redis.url);
  for (let i = 0; i < 30; i++) {
    await s.appendAudit({ v: 1, at: 1000 + i, node: i % 2 ? 'n1' : 'n2', actor: { source: 'api', user: 'u' }, action: 'set-med', prefix: i % 3 ? P4 : P6, ok: true });
  }
  await s.redis.xadd(s.keys.audit, '*', 'node', 'n1', 'json', '{"evil":true}');
  const all = await s.readAudit({ count: 5 });
  assert.deepEqual(all.entries.map((e) => e.at), [1025, 1026, 1027, 1028, 1029]);
  assert.equal(all.invalid, 1);
  const n1p6 = await s.readAudit({ count: 100, node: 'n1', prefix: P6 });
  assert.deepEqual(n1p6.entries.map((e) => e.at), [1003, 1009, 1015, 1021, 1027]);
  // XADD MAXLEN ~ keeps the stream bounded.
  for (let i = 0; i < 300; i++) await s.appendAudit({ v: 1, at: i, node: 'n1', actor: { source: 'system' }, action: 'x', ok: true }, 50);
  assert.ok((await s.redis.xlen(s.keys.audit)) < 200);
});

// rediss:// for real: a throwaway CA and server certificate made with openssl, redis-server serving TLS
// only, an ACL user from the URL, and the config section parsed as vipcontrol parses it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir, makeTlsCerts, startRedis, waitFor, type RedisInstance, type TempDir } from '@vipcontrol/testlab';
import { parseVipcontrolConfig, type RedisConfig } from '@vipcontrol/core';
import { FleetNodeClient, FleetStore, FleetUnavailableError } from '../src/index.js';
import { nodeRecord, recordingLogger } from './helpers.js';

let dir: TempDir;
let redis: RedisInstance;
let ca: string;
const cleanups: (() => Promise<void>)[] = [];

/** The `redis:` section as an operator writes it, through vipcontrol's own config parser. */
function configured(url: string, tls: string): RedisConfig {
  const text = `node: n1\nredis: { url: "${url}", keyPrefix: "tls:", heartbeat: 200ms, ttl: 1s, tls: ${tls} }\n`;
  return parseVipcontrolConfig(text, 'vipcontrol.yaml').redis!;
}

before(async () => {
  dir = await makeTempDir('vc-fleet-tls-');
  const certs = await makeTlsCerts(dir.path);
  ca = certs.ca;
  redis = await startRedis({ tls: { certFile: certs.cert, keyFile: certs.key, caFile: certs.ca } });
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
  await dir?.cleanup();
});

async function open(cfg: RedisConfig): Promise<FleetStore> {
  const s = await FleetStore.open(cfg, { connectTimeoutMs: 1000 });
  cleanups.push(() => s.close());
  return s;
}

test('rediss:// with the CA from redis.tls.ca and an ACL user: a node registers and heartbeats', async () => {
  assert.match(redis.url, /^rediss:\/\/127\.0\.0\.1:\d+\/0$/);
  const admin = await open(configured(redis.url, `{ ca: ${ca} }`));
  await admin.redis.call('ACL', 'SETUSER', 'fleet', 'on', '>s3cret', '~*', '&*', '+@all');

  const cfg = configured(`rediss://fleet:s3cret@127.0.0.1:${redis.port}/0`, `{ ca: ${ca} }`);
  assert.deepEqual(cfg.tls, { ca, insecure: false });
  const client = new FleetNodeClient({
    config: cfg, node: 'n1', logger: recordingLogger(),
    handlers: { snapshot: () => nodeRecord('n1'), execute: () => Promise.reject(new Error('no commands here')), rejected: () => undefined },
  });
  client.start();
  cleanups.push(() => client.stop());
  const caller = await open(cfg);
  assert.equal(await caller.redis.call('ACL', 'WHOAMI'), 'fleet');
  const first = await waitFor(async () => {
    const r = (await caller.nodeInfo('n1')).record;
    return r?.ok ? r.value.heartbeatAt : undefined;
  }, { message: 'registered over TLS' });
  await waitFor(async () => {
    const r = (await caller.nodeInfo('n1')).record;
    return r?.ok && r.value.heartbeatAt > first;
  }, { message: 'heartbeat over TLS' });
  assert.equal(client.status().connected, true);
});

test('rediss:// without the CA, or plain redis:// to a TLS port: refused, clearly', async () => {
  const fast = { connectTimeoutMs: 1000 };
  await assert.rejects(FleetStore.open(configured(redis.url, '{ insecure: false }'), fast),
    (e: Error) => e instanceof FleetUnavailableError && /self[- ]signed|unable to verify|certificate/i.test(e.message));
  await assert.rejects(FleetStore.open({ ...configured(redis.url, '{}'), url: redis.url.replace('rediss:', 'redis:') }, fast),
    FleetUnavailableError);
  // insecure: the test Redis's certificate is accepted without the CA (never the default).
  const s = await open(configured(redis.url, '{ insecure: true }'));
  assert.equal(await s.redis.ping(), 'PONG');
});

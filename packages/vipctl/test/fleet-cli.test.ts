// `vipctl fleet …` in-process against a real redis-server; the node side is @vipcontrol/fleet's real
// node client with recording handlers (the daemon end to end is in vipcontrol's fleet-e2e test).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, startRedis, waitFor, type RedisInstance, type TempDir } from '@vipcontrol/testlab';
import { FleetNodeClient, FleetStore } from '@vipcontrol/fleet';
import type { DesiredEntry, NodeRecord } from '@vipcontrol/core';
import { run } from '../src/program.js';
import { resolveRedis } from '../src/commands/fleet.js';
import { ExitCode } from '../src/errors.js';

const P4 = '198.51.100.10/32';
let redis: RedisInstance;
let dir: TempDir;
const cleanups: (() => Promise<void>)[] = [];
const prefix = `cli${Date.now()}:`;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

before(async () => {
  [redis, dir] = await Promise.all([startRedis({ password: 'pw' }), makeTempDir('vipctl-fleet-')]);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
  await dir?.cleanup();
});

async function vipctl(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return vipctlEnv({}, ...argv);
}

async function vipctlEnv(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: { USER: 'tester', ...env } });
  return { code, stdout, stderr };
}

function record(node: string, med: number): NodeRecord {
  return {
    v: 1, node, version: '0.1.0', instance: 'i', startedAt: Date.now(), heartbeatAt: Date.now(), bird: { connected: true }, guarded: [],
    vips: [{ prefix: P4, announced: true, med, terms: [{ kind: 'configured', med }], withdrawReasons: [], minAnnouncers: 0, inSync: true }],
  };
}

/** A node that applies whatever it is sent (as the daemon would, minus BIRD). */
function fakeNode(node: string): DesiredEntry[] {
  const seen: DesiredEntry[] = [];
  const client = new FleetNodeClient({
    config: { url: redis.url, keyPrefix: prefix, heartbeatMs: 200, ttlMs: 1000 },
    node,
    logger: quiet,
    handlers: {
      snapshot: () => record(node, 100),
      execute: async (e) => {
        seen.push(e);
        return e.body.med === 666
          ? { outcome: 'failed', ok: false, status: 503, error: 'BIRD unreachable', vips: [] }
          : { outcome: 'applied', ok: true, status: 200, vips: [{ prefix: P4, announced: true, med: Number(e.body.med ?? 100) }] };
      },
      rejected: () => undefined,
    },
  });
  client.start();
  cleanups.push(() => client.stop());
  return seen;
}

test('Redis from --redis, else VIPCTL_REDIS_URL, else the local config', async () => {
  const file = join(dir.path, 'vipcontrol.yaml');
  await writeFile(file, `node: n1\nvips: [{ prefix: ${P4}, med: 100 }]\nredis: { url: "redis://cfg:6379/0", keyPrefix: "fromcfg:", ttl: 30s }\n`);
  assert.equal((await resolveRedis({ redis: 'redis://flag/0', config: file }, { VIPCTL_REDIS_URL: 'redis://env/0' })).url, 'redis://flag/0');
  assert.equal((await resolveRedis({ config: file }, { VIPCTL_REDIS_URL: 'redis://env/0' })).url, 'redis://env/0');
  const fromCfg = await resolveRedis({ config: file }, {});
  // A --redis URL is held to the config's rule (core parseRedisUrl), before any connection is tried.
  await assert.rejects(resolveRedis({ redis: 'redis://:pw@flag/abc', config: file }, {}), /^UsageError: --redis: database must be a number, got "abc"$/);
  assert.deepEqual([fromCfg.url, fromCfg.keyPrefix, fromCfg.ttlMs], ['redis://cfg:6379/0', 'fromcfg:', 30_000]);
  const noRedis = join(dir.path, 'plain.yaml');
  await writeFile(noRedis, `node: n1\nvips: [{ prefix: ${P4}, med: 100 }]\n`);
  const r = await vipctl('fleet', '--config', noRedis, 'status');
  assert.equal(r.code, ExitCode.usage);
  assert.match(r.stderr, /no Redis given: pass --redis URL, set VIPCTL_REDIS_URL, or configure redis: in/);
});

test('the password from --redis-password-file or VIPCTL_REDIS_PASSWORD: never on the command line', async () => {
  const bare = `redis://${redis.host}:${redis.port}/0`;
  const file = join(dir.path, 'redis.pass');
  await writeFile(file, 'pw\n', { mode: 0o600 });
  const withFile = await vipctl('fleet', '--redis', bare, '--redis-password-file', file, 'status', '--json');
  assert.equal(withFile.code, 0, withFile.stderr);
  const withEnv = await vipctlEnv({ VIPCTL_REDIS_PASSWORD: 'pw' }, 'fleet', '--redis', bare, 'status', '--json');
  assert.equal(withEnv.code, 0, withEnv.stderr);
  const without = await vipctl('fleet', '--redis', bare, 'status');
  assert.equal(without.code, ExitCode.unreachable, without.stderr);
  const missing = await vipctl('fleet', '--redis', bare, '--redis-password-file', join(dir.path, 'nope'), 'status');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /redis\.passwordFile: cannot read .*nope: ENOENT/);
});

test('fleet status, remote set-med with ack, node-side failure, timeout, unknown node, history', async () => {
  const base = ['fleet', '--redis', redis.url, '--key-prefix', prefix];
  const applied = fakeNode('n1');
  const store = await FleetStore.open({ url: redis.url, keyPrefix: prefix, heartbeatMs: 200, ttlMs: 1000 });
  cleanups.push(() => store.close());
  // n2: registered, but nobody reads its commands; in a maintenance window, its next one skipped.
  const maintenance = { activeUntil: Date.now() + 90_000, activeAction: 'withdraw' as const, next: Date.now() + 3_600_000, nextSkipped: true };
  await store.publishNode({ ...record('n2', 50), maintenance }, 1000);
  await store.appendAudit({ v: 1, at: Date.now(), node: 'n1', actor: { source: 'api', user: 'alice' }, action: 'set-med', prefix: P4, reason: 'test', ok: true });
  await waitFor(async () => (await store.nodeInfo('n1')).record, { timeoutMs: 5000, message: 'n1 to register in Redis' });

  const st = await vipctl(...base, 'status');
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /^NODE +STATE +HEARTBEAT +BIRD +DRAIN +MAINTENANCE +GUARDED +VERSION$/m);
  assert.match(st.stdout, /^n1 +ok +\S+( ago)? +up +- +- +- +0\.1\.0$/m);
  assert.match(st.stdout, /^n2 +ok .* ACTIVE withdraw, ends in 1m(29|30)s; next in \S+ \(skipped\) /m);
  assert.match(st.stdout, /198\.51\.100\.10\/32: 2 announcing, best n2 \(med 50\)/);
  const json = JSON.parse((await vipctl('--json', ...base, 'status')).stdout) as { nodes: { node: string; maintenance?: unknown }[] };
  assert.equal(json.nodes.length, 2);
  assert.deepEqual(json.nodes.find((n) => n.node === 'n2')?.maintenance, maintenance);

  const ok = await vipctl(...base, 'set-med', 'n1', P4, '250', '--reason', 'shift');
  assert.deepEqual([ok.code, ok.stdout], [0, `n1: applied\n  ${P4}  announced med 250\n`]);
  assert.equal(applied.at(-1)?.by.startsWith('tester@'), true);

  const failed = await vipctl(...base, 'set-med', 'n1', P4, '666');
  assert.equal(failed.code, ExitCode.failed);
  assert.match(failed.stdout, /n1: failed \(503\): BIRD unreachable/);

  const slow = await vipctl(...base, '--timeout', '300ms', 'drain', 'n2', '--withdraw');
  assert.equal(slow.code, ExitCode.failed);
  assert.match(slow.stderr, /^vipctl: timeout: node n2 did not acknowledge command [0-9a-f-]+ within 300 ms; it stays desired/);

  const unknown = await vipctl(...base, 'undrain', 'n9');
  assert.deepEqual([unknown.code, unknown.stderr], [ExitCode.failed, 'vipctl: node n9 is not registered in this fleet (see vipctl fleet status)\n']);
  assert.equal((await vipctl(...base, 'set-med', 'n1', P4, '100', '--reason', 'a\nb')).code, ExitCode.usage);

  const hist = await vipctl(...base, 'history', 'n1', P4);
  assert.equal(hist.code, 0);
  assert.match(hist.stdout, /n1 {2}api:alice {2}set-med {2}198\.51\.100\.10\/32 {2}ok {2}reason="test"/);
});

test('Redis unreachable or wrong password: exit 3 and one clear line', async () => {
  const r = await vipctl('fleet', '--redis', 'redis://127.0.0.1:1/0', 'status');
  assert.equal(r.code, ExitCode.unreachable);
  assert.match(r.stderr, /^vipctl: cannot connect to Redis: .*\(redis:\/\/127\.0\.0\.1:1\/0\)\n$/);
  const bad = await vipctl('fleet', '--redis', `redis://:nope@127.0.0.1:${redis.port}/0`, 'status');
  assert.equal(bad.code, ExitCode.unreachable);
  assert.match(bad.stderr, /WRONGPASS|invalid.*password/i);
  assert.doesNotMatch(bad.stderr, /nope/);
});

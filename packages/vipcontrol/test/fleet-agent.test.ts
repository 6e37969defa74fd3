import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, waitFor, type RedisInstance } from '@vipcontrol/testlab';
import { FleetStore } from '@vipcontrol/fleet';
import type { VipcontrolConfig } from '@vipcontrol/core';
import { startFleetAgent, type FleetAgent } from '../src/fleet-agent.js';
import { createLogger } from '../src/logger.js';
import { FakeController, P4, testConfig } from './fleet-fake-controller.js';

let redis: RedisInstance;
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await redis?.stop();
});

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { logger, lines, events: (level?: string) => lines.filter((l) => !level || l.level === level).map((l) => l.event) };
}

function fleetConfig(node: string, keyPrefix: string, minAnnouncers = 0): VipcontrolConfig {
  return testConfig(node, `redis: { url: "${redis.url}", keyPrefix: "${keyPrefix}", heartbeat: 200ms, ttl: 1s }\nguardPenalty: 5000\n`, minAnnouncers);
}

async function agent(config: VipcontrolConfig): Promise<{ ctl: FakeController; agent: FleetAgent; log: ReturnType<typeof capturingLogger> }> {
  const ctl = new FakeController(config);
  const log = capturingLogger();
  const a = await startFleetAgent({ config, controller: ctl, logger: log.logger });
  cleanups.push(() => a.stop());
  return { ctl, agent: a, log };
}

async function store(keyPrefix: string): Promise<FleetStore> {
  const s = await FleetStore.open({ url: redis.url, keyPrefix, heartbeatMs: 200, ttlMs: 1000 });
  cleanups.push(() => s.close());
  return s;
}

test('remote commands run through the Controller with the API validation; results acked and audited', async () => {
  const prefix = `fa${Date.now()}:`;
  const { ctl, agent: a } = await agent(fleetConfig('n1', prefix));
  const s = await store(prefix);
  await waitFor(async () => (await s.nodeInfo('n1')).record?.ok, { message: 'registered' });

  const good = await s.sendCommand({ node: 'n1', op: 'set-med', prefix: P4, body: { med: 250, reason: 'shift' }, by: 'alice@ops' });
  const ack = await s.waitAck(good, 3000);
  assert.deepEqual([ack.outcome, ack.status, ack.vips], ['applied', 200, [{ prefix: P4, announced: true, med: 250 }]]);
  assert.deepEqual(ctl.calls[0], { op: 'set-med', args: [P4, { med: 250, reason: 'shift' }], actor: { source: 'fleet', user: 'alice@ops' } });

  // Same validation as PUT /v1/vips/{prefix}/med: unknown keys, out-of-range MEDs, unknown VIPs.
  for (const [prefixArg, body, status] of [[P4, { med: 250, evil: 1 }, 400], [P4, { med: -1 }, 400], ['203.0.113.1/32', { med: 1 }, 404]] as const) {
    const e = await s.sendCommand({ node: 'n1', op: 'set-med', prefix: prefixArg, body, by: 'mallory' });
    const r = await s.waitAck(e, 3000);
    assert.deepEqual([r.outcome, r.ok, r.status], ['rejected', false, status], JSON.stringify(r));
  }
  // Drain, with the body the API takes.
  const d = await s.sendCommand({ node: 'n1', op: 'drain', body: { withdraw: false, reason: 'patching' }, by: 'bob' });
  assert.equal((await s.waitAck(d, 3000)).outcome, 'applied');
  assert.deepEqual(ctl.calls.at(-1)?.args, [{ withdraw: false, reason: 'patching', source: 'operator' }]);

  const history = await waitFor(async () => {
    const h = await s.readAudit({ count: 50, node: 'n1' });
    return h.entries.length >= 5 ? h.entries : undefined;
  }, { message: 'audit entries' });
  assert.deepEqual(history.map((h) => [h.action, h.ok]), [['set-med', true], ['remote-set-med', false], ['remote-set-med', false], ['remote-set-med', false], ['drain', true]]);
  assert.equal(history[0]!.command, good.id);
  assert.equal(history[0]!.actor.user, 'alice@ops');
  assert.equal(a.status().lastCommand?.op, 'drain');
});

test('a set-med whose TTL ran out while the node was away is not applied', async () => {
  const prefix = `fb${Date.now()}:`;
  const s = await store(prefix);
  const entry = { v: 1, id: 'expired0-0001', seq: 1, node: 'n1', op: 'set-med', prefix: P4, body: { med: 7, ttl: '1s' }, by: 'a', at: Date.now() - 5000 };
  await s.redis.hset(s.keys.desired('n1'), `med:${P4}`, JSON.stringify(entry));
  const { ctl } = await agent(fleetConfig('n1', prefix));
  const raw = await waitFor(async () => (await s.redis.lindex(s.keys.ack(entry.id), 0)) ?? undefined);
  assert.match(raw, /"outcome":"expired"/);
  assert.deepEqual(ctl.ops(), []);
});

test('minAnnouncers guard: follows the fleet, audited, held while Redis is away', async () => {
  const prefix = `fc${Date.now()}:`;
  const n1 = await agent(fleetConfig('n1', prefix, 1));
  const n2 = await agent(fleetConfig('n2', prefix, 1));
  const s = await store(prefix);
  // Both announce healthily: each may withdraw, since the other stays.
  await waitFor(() => n1.agent.status().guard.computedAt !== undefined && n2.agent.status().guard.computedAt !== undefined, { message: 'first verdicts' });
  assert.deepEqual(n1.agent.status().guard.prefixes, []);

  // n2's check fails with withdraw: n1 still announces, so n2 may withdraw.
  n2.ctl.setHealth([{ name: 'ingest', status: 'down', vips: [P4], effect: { withdraw: true }, since: Date.now() }]);
  // Now n1 is the only announcer of P4: n1 is guarded.
  await waitFor(() => n1.agent.status().guard.prefixes.includes(P4), { message: 'n1 guarded' });
  assert.deepEqual(n1.ctl.calls.filter((c) => c.op === 'setGuarded').at(-1)?.args, [[P4]]);
  // n1's check fails too: the guard turns its withdraw into the penalty; P4 stays announced by n1.
  n1.ctl.setHealth([{ name: 'ingest', status: 'down', vips: [P4], effect: { withdraw: true }, since: Date.now() }]);
  const v = n1.ctl.status().vips.find((x) => x.prefix === P4)!;
  assert.deepEqual([v.announced, v.med], [true, 100 + 5000]);
  // ...and n2 now sees no healthy announcer elsewhere either (n1 is held by its guard): guarded too, P4 comes back there.
  await waitFor(() => n2.agent.status().guard.prefixes.includes(P4), { message: 'n2 guarded' });
  assert.equal(n2.ctl.status().vips.find((x) => x.prefix === P4)!.announced, true);
  const audit = await waitFor(async () => (await s.readAudit({ count: 20 })).entries.filter((e) => e.action === 'guard').length >= 2 || undefined);
  assert.ok(audit);

  // Redis goes away: verdicts are held, nothing is called.
  const before = n1.ctl.calls.length;
  await redis.kill();
  await waitFor(() => !n1.agent.status().connected, { message: 'n1 notices' });
  assert.equal(n1.agent.status().guard.held, true);
  n2.ctl.setHealth([]); // would unguard n1 if n1 could see it
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual(n1.agent.status().guard.prefixes, [P4]);
  assert.equal(n1.ctl.calls.length, before);
  await redis.restart();
  // Back: n2 is healthy again, so after settling n1's guard lifts and n1's withdraw goes through.
  await waitFor(() => n1.agent.status().guard.prefixes.length === 0, { message: 'n1 unguarded after Redis is back', timeoutMs: 15_000 });
  assert.equal(n1.ctl.status().vips.find((x) => x.prefix === P4)!.announced, false);
  assert.equal(n1.log.events('error').length, 0, JSON.stringify(n1.log.lines.filter((l) => l.level === 'error')));
});

test('a config reload: the agent follows minAnnouncers without a restart', async () => {
  const prefix = `fd${Date.now()}:`;
  const n1 = await agent(fleetConfig('n1', prefix, 0));
  const n2 = await agent(fleetConfig('n2', prefix, 0));
  const s = await store(prefix);
  const published = async (node: string) => {
    const r = (await s.nodeInfo(node)).record;
    return r?.ok ? r.value.vips.find((v) => v.prefix === P4) : undefined;
  };
  // n2 withdraws P4: n1 is its only announcer, but without minAnnouncers nothing is guarded.
  n2.ctl.setHealth([{ name: 'ingest', status: 'down', vips: [P4], effect: { withdraw: true }, since: Date.now() }]);
  await waitFor(async () => (await published('n2'))?.announced === false, { message: 'n2 withdrawn in Redis' });
  assert.deepEqual(n1.agent.status().guard.prefixes, []);

  n1.ctl.reloadConfig(fleetConfig('n1', prefix, 1));
  await waitFor(() => n1.agent.status().guard.prefixes.includes(P4), { message: 'n1 guarded after the reload' });
  await waitFor(async () => (await published('n1'))?.minAnnouncers === 1, { message: 'record shows the new minAnnouncers' });

  // Back to 0: the guard goes at once (no fleet view needed to know nothing is left to guard).
  n1.ctl.reloadConfig(fleetConfig('n1', prefix, 0));
  await waitFor(() => n1.agent.status().guard.prefixes.length === 0, { message: 'unguarded after the second reload' });
  assert.deepEqual(n1.ctl.calls.filter((c) => c.op === 'setGuarded').map((c) => c.args[0]), [[P4], []]);
  assert.equal(n1.agent.status().guard.held, false);
  assert.equal(n1.log.events('error').length, 0);
});

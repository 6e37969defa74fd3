import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, waitFor, type RedisInstance } from '@vipcontrol/testlab';
import { FleetStore } from '@vipcontrol/fleet';
import type { CheckVerdict, VipcontrolConfig } from '@vipcontrol/core';
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

/** Withdraw slots as the state file keeps them: survives an agent restart when passed again. */
function slotStore() {
  let kept: readonly string[] | undefined;
  return { load: () => kept, save: async (slots: readonly string[]) => void (kept = [...slots]) };
}

async function agent(config: VipcontrolConfig, slots = slotStore()): Promise<{ ctl: FakeController; agent: FleetAgent; log: ReturnType<typeof capturingLogger> }> {
  const ctl = new FakeController(config);
  const log = capturingLogger();
  const a = await startFleetAgent({ config, controller: ctl, logger: log.logger, slotStore: slots });
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
  // The actor carries the command, so the Controller persists it with the change (at most once per id).
  assert.deepEqual(ctl.calls[0], {
    op: 'set-med', args: [P4, { med: 250, reason: 'shift' }],
    actor: { source: 'fleet', user: 'alice@ops', command: { field: `med:${P4}`, id: good.id, seq: good.seq } },
  });

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

const DOWN = (): CheckVerdict[] => [{ name: 'ingest', status: 'down', vips: [P4], effect: { withdraw: true }, since: Date.now() }];
const vipOf = (n: { ctl: FakeController }) => n.ctl.vip(P4);

test('minAnnouncers guard: withdraw slots from Redis, audited, fail-static while Redis is away', async () => {
  const prefix = `fc${Date.now()}:`;
  const n1 = await agent(fleetConfig('n1', prefix, 1));
  const n2 = await agent(fleetConfig('n2', prefix, 1));
  const s = await store(prefix);
  // Healthy: both guarded (no slot held), both announcing.
  await waitFor(() => n1.agent.status().guard.prefixes.includes(P4) && n2.agent.status().guard.prefixes.includes(P4), { message: 'first rounds' });
  await waitFor(async () => (await s.redis.zcard(s.keys.members(P4))) === 2, { message: 'both members' });

  // n2's check fails: n1 still announces, so n2 gets the slot and withdraws.
  n2.ctl.setHealth(DOWN());
  await waitFor(() => vipOf(n2).announced === false, { message: 'n2 withdrawn' });
  assert.equal(n2.agent.status().guard.detail[P4]?.slot, 'holding');
  assert.deepEqual(await s.redis.zrange(s.keys.slots(P4), 0, -1), ['n2']);
  // n1's check fails too: no slot for n1 (it is the last announcer); the withdraw becomes the penalty.
  n1.ctl.setHealth(DOWN());
  await waitFor(() => n1.agent.status().guard.detail[P4]?.refused !== undefined, { message: 'n1 refused' });
  assert.deepEqual([vipOf(n1).announced, vipOf(n1).med], [true, 100 + 5000]);
  const actions = await waitFor(async () => {
    const a = (await s.readAudit({ count: 50 })).entries.map((e) => `${e.node} ${e.action}`);
    return a.includes('n2 withdraw-slot') && a.includes('n1 guard') ? a : undefined;
  }, { message: 'audited' });
  assert.ok(actions);

  // Redis goes away: n2 recovers (announces again, cannot give its slot back); n1 stays refused.
  await redis.kill();
  await waitFor(() => !n1.agent.status().connected, { message: 'n1 notices' });
  assert.equal(n1.agent.status().guard.held, true);
  n2.ctl.setHealth([]);
  assert.equal(vipOf(n2).announced, true);
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual([vipOf(n1).announced, vipOf(n1).med], [true, 100 + 5000]);
  await redis.restart();
  // Back (empty): n2 counts as an announcer again after its heartbeat, so n1 gets a slot and withdraws.
  await waitFor(() => vipOf(n1).announced === false, { message: 'n1 withdraws once Redis is back', timeoutMs: 15_000 });
  assert.equal(n2.agent.status().guard.detail[P4]?.slot, 'none');
  assert.equal(n1.log.events('error').length, 0, JSON.stringify(n1.log.lines.filter((l) => l.level === 'error')));
  // Through acquire, refusal and release the agent never built the whole status(): the node record
  // takes a summary of every VIP per publish, the guard asks for its guarded VIP alone.
  for (const n of [n1, n2]) {
    assert.equal(n.ctl.statusCalls, 0, 'status() built by the agent');
    assert.ok(n.ctl.summaries.includes('all'), 'node records published');
    assert.deepEqual([...new Set(n.ctl.summaries.filter((p) => p !== 'all').flat())], [P4]);
  }
});

test('a node restarted while holding a slot keeps it; a forced withdraw takes one regardless', async () => {
  const prefix = `fe${Date.now()}:`;
  const n1 = await agent(fleetConfig('n1', prefix, 1));
  const n2slots = slotStore();
  const n2 = await agent(fleetConfig('n2', prefix, 1), n2slots);
  const s = await store(prefix);
  await waitFor(async () => (await s.redis.zcard(s.keys.members(P4))) === 2, { message: 'both members' });
  n2.ctl.setHealth(DOWN());
  await waitFor(() => vipOf(n2).announced === false, { message: 'n2 withdrawn' });
  assert.deepEqual(n2slots.load(), [P4], 'the slot is in the state file');
  await n2.agent.stop();
  // A new daemon process on n2, still failing: it starts unguarded for P4 (state file), finds its own
  // slot in Redis and stays withdrawn — never re-announced with the penalty in between.
  const n2b = new FakeController(fleetConfig('n2', prefix, 1));
  n2b.setHealth(DOWN());
  const a2 = await startFleetAgent({ config: fleetConfig('n2', prefix, 1), controller: n2b, logger: capturingLogger().logger, slotStore: n2slots });
  cleanups.push(() => a2.stop());
  await waitFor(() => a2.status().guard.computedAt !== undefined, { message: 'n2 first round' });
  assert.equal(a2.status().guard.detail[P4]?.slot, 'holding');
  assert.equal(n2b.status().vips.find((v) => v.prefix === P4)!.announced, false);
  assert.equal(n2b.calls.filter((c) => c.op === 'setGuarded').every((c) => !(c.args[0] as string[]).includes(P4)), true);
  // n1 forced: withdraws although it is the last announcer, and takes a slot so others count it as gone.
  await n1.ctl.withdraw(P4, { force: true }, { source: 'api' });
  await waitFor(async () => (await s.redis.zrange(s.keys.slots(P4), 0, -1)).includes('n1'), { message: 'n1 took a slot by force' });
  assert.equal(vipOf(n1).announced, false);
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
  // Guarded now: n1 holds no withdraw slot for P4.
  await waitFor(() => n1.agent.status().guard.prefixes.includes(P4), { message: 'n1 guarded after the reload' });
  await waitFor(async () => (await published('n1'))?.minAnnouncers === 1, { message: 'record shows the new minAnnouncers' });

  // Back to 0: the guard goes at once (no Redis needed to know nothing is left to guard).
  n1.ctl.reloadConfig(fleetConfig('n1', prefix, 0));
  await waitFor(() => n1.agent.status().guard.prefixes.length === 0, { message: 'unguarded after the second reload' });
  assert.deepEqual(n1.ctl.calls.filter((c) => c.op === 'setGuarded').map((c) => c.args[0]), [[P4], []]);
  assert.equal(n1.agent.status().guard.held, false);
  assert.equal(n1.log.events('error').length, 0);
});

test('a restart without a slot starts guarded: a failing check cannot withdraw before Redis answered', async () => {
  const prefix = `fg${Date.now()}:`;
  // Redis is not reachable at all: the guard is the start-up one (state file: no slot) and stays.
  const cfg = testConfig('n1', 'redis: { url: "redis://127.0.0.1:1/0", heartbeat: 200ms, ttl: 1s }\nguardPenalty: 5000\n', 1);
  const ctl = new FakeController(cfg);
  ctl.setHealth(DOWN());
  const a = await startFleetAgent({ config: cfg, controller: ctl, logger: capturingLogger().logger, slotStore: slotStore() });
  cleanups.push(() => a.stop());
  assert.deepEqual([vipOf({ ctl }).announced, vipOf({ ctl }).med], [true, 100 + 5000]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(vipOf({ ctl }).announced, true);
  assert.match(a.status().guard.detail[P4]?.refused ?? '', /fail-static/);
  void prefix;
});

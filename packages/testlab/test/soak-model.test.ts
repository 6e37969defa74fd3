// The soak's bookkeeping without a lab: the schedule is a function of the seed, the model follows
// accepted operations only, TTL windows make a read "in flux" instead of a false alarm, and the
// evaluation names the right violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, modelFromStatus, type NodeObservation, type StatusView } from '../src/soak/invariants.js';
import { EMPTY_MODEL, NodeExpectation, applyOp, expectedVip } from '../src/soak/model.js';
import { SOAK_VIPS, SoakSchedule, describeStep } from '../src/soak/schedule.js';

const V4 = SOAK_VIPS[0];

test('the same seed gives the same schedule; another seed another one', () => {
  const lines = (seed: number) => Array.from({ length: 30 }, (_, i) => new SoakSchedule(seed).cycle(i).steps.map(describeStep).join('\n'));
  assert.deepEqual(lines(42), lines(42));
  assert.notDeepEqual(lines(42), lines(43));
  // Generated lazily out of order, still the same.
  const s = new SoakSchedule(42);
  const late = s.cycle(7).steps.map(describeStep);
  assert.deepEqual(late, new SoakSchedule(42).cycle(7).steps.map(describeStep));
});

test('a schedule covers every operation and fault kind, and frees every disk it fills', () => {
  const s = new SoakSchedule(7);
  const text = Array.from({ length: 200 }, (_, i) => s.cycle(i).steps.map(describeStep).join('\n')).join('\n');
  for (const word of ['local set-med', 'fleet set-med', '--ttl', 'reset-med', 'withdraw', 'announce', 'drain --withdraw', 'fleet undrain',
    'kill-vipcontrol', 'kill-viphealth', 'kill-bird', 'stop-bird', 'disk-full', 'disk-free', 'redis kill+restart', 'birdc configure', 'birdc disable vipcontrol', 'after BIRD\'s Reconfiguring', '198.51.100.99/32']) {
    assert.ok(text.includes(word), `schedule of 200 cycles has ${word}`);
  }
  // A node's disk is never filled twice without a free in between.
  const full = new Set<string>();
  for (let i = 0; i < 200; i++) {
    for (const step of s.cycle(i).steps) {
      if (!('fault' in step)) continue;
      const f = step.fault;
      if (f.kind === 'disk-full') { assert.ok(!full.has(f.node)); full.add(f.node); }
      if (f.kind === 'disk-free') { assert.ok(full.has(f.node)); full.delete(f.node); }
    }
  }
  assert.deepEqual(new Set(s.diskFullNodes), full);
});

test('TTL: active before its window, in flux across it, expired after it', () => {
  const m = applyOp(EMPTY_MODEL, { kind: 'set-med', via: 'local', node: 'n1', prefix: V4, med: 300, ttlMs: 1000 }, 10_000, 10_200);
  assert.deepEqual(expectedVip(m, V4, 100, 100_000, { from: 10_500, to: 10_600 }), { override: 300, withdrawn: false, announced: true, med: 300 });
  assert.equal(expectedVip(m, V4, 100, 100_000, { from: 11_100, to: 11_150 }), 'flux');
  assert.deepEqual(expectedVip(m, V4, 100, 100_000, { from: 11_400, to: 11_500 }), { withdrawn: false, announced: true, med: 100 });
});

test('drain adds its penalty; drain --withdraw and an operator withdraw withdraw', () => {
  let m = applyOp(EMPTY_MODEL, { kind: 'drain', via: 'fleet', node: 'n2', withdraw: false }, 0, 0);
  assert.equal((expectedVip(m, V4, 200, 100_000, { from: 0, to: 0 }) as { med: number }).med, 100_200);
  m = applyOp(m, { kind: 'drain', via: 'local', node: 'n2', withdraw: true }, 0, 0);
  assert.equal((expectedVip(m, V4, 200, 100_000, { from: 0, to: 0 }) as { announced: boolean }).announced, false);
  m = applyOp(applyOp(m, { kind: 'undrain', via: 'local', node: 'n2' }, 0, 0), { kind: 'withdraw', via: 'local', node: 'n2', prefix: V4 }, 0, 0);
  assert.deepEqual(expectedVip(m, V4, 200, 100_000, { from: 0, to: 0 }), { withdrawn: true, announced: false, med: 200 });
});

test('an ambiguous operation forks the model; a check narrows it to what the daemon shows', () => {
  const e = new NodeExpectation('n1');
  e.fork({ kind: 'set-med', via: 'local', node: 'n1', prefix: V4, med: 300 }, 0, 0);
  assert.equal(e.candidates.length, 2);
  e.accept({ kind: 'withdraw', via: 'local', node: 'n1', prefix: SOAK_VIPS[1] }, 0, 0);
  assert.equal(e.candidates.length, 2);
  const ev = evaluate([observe('n1', status({ [V4]: 300 }, [SOAK_VIPS[1]]))], new Map([['n1', e.candidates]]), { drainPenalty: 100_000, read: { from: 1, to: 2 } });
  assert.deepEqual(ev.problems, []);
  e.narrow(ev.consistent.get('n1')!, 2);
  assert.equal(e.candidates.length, 1);
  assert.equal(e.candidates[0]!.overrides[V4]!.med, 300);
});

test('evaluate: status in sync but the router differs is status-vs-router; a lost override is override-lost', () => {
  const e = new NodeExpectation('n1');
  e.accept({ kind: 'set-med', via: 'local', node: 'n1', prefix: V4, med: 300 }, 0, 0);
  const st = status({ [V4]: 300 });
  const lying = evaluate([observe('n1', st, { [V4]: 100 })], new Map([['n1', e.candidates]]), { drainPenalty: 1, read: { from: 1, to: 2 } });
  assert.deepEqual(lying.problems.map((p) => [p.cls, p.prefix]), [['status-vs-router', V4]]);
  const lost = evaluate([observe('n1', status({}))], new Map([['n1', e.candidates]]), { drainPenalty: 1, read: { from: 1, to: 2 } });
  assert.deepEqual(lost.problems.map((p) => p.cls), ['override-lost']);
  // The model rebuilt from status is what a resync continues from.
  assert.deepEqual(modelFromStatus(status({ [V4]: 300 })), { overrides: { [V4]: { med: 300 } }, withdrawn: [] });
});

test('evaluate: not in sync or BIRD disconnected is no-convergence, not a lie', () => {
  const st = status({});
  st.bird.connected = false;
  st.vips[0]!.inSync = false;
  const ev = evaluate([observe('n1', st, { [V4]: 555 })], new Map([['n1', [EMPTY_MODEL]]]), { drainPenalty: 1, read: { from: 1, to: 2 } });
  assert.deepEqual([...new Set(ev.problems.map((p) => p.cls))], ['no-convergence']);
});

/** n1's status: configured MED 100, `overrides` per prefix, `withdrawn` by the operator; all in sync. */
function status(overrides: Record<string, number>, withdrawn: string[] = []): StatusView {
  return {
    bird: { connected: true },
    vips: SOAK_VIPS.map((prefix) => {
      const med = overrides[prefix];
      const out = withdrawn.includes(prefix);
      return {
        prefix, announced: !out, med: med ?? 100, inSync: true,
        terms: med === undefined ? [{ kind: 'configured', med: 100 }] : [{ kind: 'override', med }],
        withdrawReasons: out ? [{ kind: 'operator' }] : [],
      };
    }),
  };
}

/** The router agrees with `st` unless `router` says otherwise (prefix → MED). */
function observe(node: 'n1', st: StatusView, router: Record<string, number> = {}): NodeObservation {
  const paths = new Map(st.vips.map((v) => [v.prefix, v.announced ? { med: router[v.prefix] ?? v.med } : undefined] as const));
  return { node, status: st, router: paths, sessionState: 'Established' };
}

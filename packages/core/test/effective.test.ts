import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { computeEffective } from '../src/effective.js';
import { MAX_U32 } from '../src/vocabulary.js';
import type { CheckVerdict, HealthView, MedTerm, RuntimeState, VipcontrolConfig } from '../src/types.js';
import { check, configWith, runtime } from './core-fixtures.js';

const V4 = '198.51.100.10/32';
const V6 = '2001:db8::10/128';
const CONFIG = configWith(
  `  - { prefix: "${V6}", med: 100 }
  - { prefix: ${V4}, med: 100, communities: ["65000:100"], localPref: 50 }
  - { prefix: 198.51.100.9/32, med: 7 }
`,
  'drainPenalty: 1000\nguardPenalty: 50000\nhealth: { leasePolicy: { penalty: 300 } }',
);
const NOW = 1_000_000;
const HEALTHY: HealthView = { checks: [], leaseExpired: false };

function eff(rt: RuntimeState, health: HealthView = HEALTHY, guarded?: ReadonlySet<string>, config: VipcontrolConfig = CONFIG) {
  return computeEffective({ config, runtime: rt, health, now: NOW, ...(guarded ? { guarded } : {}) });
}
const pick = (list: ReturnType<typeof eff>, prefix: string) => list.find((v) => v.prefix === prefix);

test('no runtime state, no health: configured MED, everything announced, sorted IPv4 first', () => {
  const out = eff(runtime());
  assert.deepStrictEqual(out.map((v) => v.prefix), ['198.51.100.9/32', V4, V6]);
  assert.deepStrictEqual(out[1], {
    prefix: V4, family: 4, announced: true, med: 100, terms: [{ kind: 'configured', med: 100 }], withdrawReasons: [],
    communities: ['65000:100'], largeCommunities: [], localPref: 50,
  });
});

test('table: each input adds exactly its term or withdraw reason, in order', () => {
  const override = { med: 250, setAt: 1, expiresAt: NOW + 1, reason: 'shift' };
  const table: { name: string; rt: RuntimeState; health?: HealthView; terms: MedTerm[]; reasons: unknown[]; med: number }[] = [
    { name: 'override', rt: runtime({ overrides: { [V4]: override } }), terms: [{ kind: 'override', med: 250, expiresAt: NOW + 1, reason: 'shift' }], reasons: [], med: 250 },
    { name: 'expired override ignored', rt: runtime({ overrides: { [V4]: { ...override, expiresAt: NOW } } }), terms: [{ kind: 'configured', med: 100 }], reasons: [], med: 100 },
    { name: 'operator withdraw', rt: runtime({ withdrawn: { [V4]: { at: 1, reason: 'x' } } }), terms: [{ kind: 'configured', med: 100 }], reasons: [{ kind: 'operator', reason: 'x' }], med: 100 },
    {
      name: 'two failing checks, one up, one disabled',
      rt: runtime(),
      health: { leaseExpired: false, checks: [check('a', 'down', [V4], 1000), check('b', 'up', [V4], 5), check('c', 'disabled', ['198.51.100.10'], 20), check('d', 'down', [V6], 9)] },
      terms: [{ kind: 'configured', med: 100 }, { kind: 'health', check: 'a', penalty: 1000 }, { kind: 'health', check: 'c', penalty: 20 }],
      reasons: [],
      med: 1120,
    },
    { name: 'unknown check is not failing', rt: runtime(), health: { leaseExpired: false, checks: [check('u', 'unknown', [V4], 'withdraw')] }, terms: [{ kind: 'configured', med: 100 }], reasons: [], med: 100 },
    { name: 'check with withdraw', rt: runtime(), health: { leaseExpired: false, checks: [check('w', 'down', [V4], 'withdraw')] }, terms: [{ kind: 'configured', med: 100 }], reasons: [{ kind: 'health', check: 'w' }], med: 100 },
    {
      name: 'pending penalty check (fresh node, no verdict yet) withdraws',
      rt: runtime(),
      health: { leaseExpired: false, pending: ['p'], checks: [check('p', 'down', [V4], 1000)] },
      terms: [{ kind: 'configured', med: 100 }],
      reasons: [{ kind: 'health', check: 'p' }],
      med: 100,
    },
    { name: 'awaiting viphealth\'s first report', rt: runtime(), health: { leaseExpired: false, checks: [], awaitingFirstReport: true }, terms: [{ kind: 'configured', med: 100 }], reasons: [{ kind: 'awaiting-health' }], med: 100 },
    { name: 'drain penalty', rt: runtime({ drain: { withdraw: false, at: 1, source: 'operator' } }), terms: [{ kind: 'configured', med: 100 }, { kind: 'drain', penalty: 1000 }], reasons: [], med: 1100 },
    { name: 'drain withdraw', rt: runtime({ drain: { withdraw: true, at: 1, source: 'operator' } }), terms: [{ kind: 'configured', med: 100 }], reasons: [{ kind: 'drain' }], med: 100 },
    { name: 'maintenance drain past its end', rt: runtime({ drain: { withdraw: true, at: 1, source: 'maintenance', until: NOW } }), terms: [{ kind: 'configured', med: 100 }], reasons: [], med: 100 },
    {
      name: 'lease expired with penalty policy on a gated VIP',
      rt: runtime(),
      health: { leaseExpired: true, checks: [check('a', 'up', [V4], 10)] },
      terms: [{ kind: 'configured', med: 100 }, { kind: 'lease', penalty: 300 }],
      reasons: [],
      med: 400,
    },
    {
      name: 'everything at once: all terms and all reasons in order',
      rt: runtime({ overrides: { [V4]: { med: 4294967000, setAt: 1 } }, withdrawn: { [V4]: { at: 1 } }, drain: { withdraw: false, at: 1, source: 'operator' } }),
      health: { leaseExpired: true, checks: [check('a', 'down', [V4], 1000), check('w', 'down', [V4], 'withdraw')] },
      terms: [{ kind: 'override', med: 4294967000 }, { kind: 'health', check: 'a', penalty: 1000 }, { kind: 'drain', penalty: 1000 }, { kind: 'lease', penalty: 300 }],
      reasons: [{ kind: 'operator' }, { kind: 'health', check: 'w' }],
      med: MAX_U32,
    },
  ];
  for (const row of table) {
    const v = pick(eff(row.rt, row.health), V4);
    assert.deepStrictEqual(
      { terms: v?.terms, reasons: v?.withdrawReasons, med: v?.med, announced: v?.announced },
      { terms: row.terms, reasons: row.reasons, med: row.med, announced: row.reasons.length === 0 },
      row.name,
    );
  }
});

test('awaiting the first report withholds every VIP, gated or not; pending withholds only what the check gates', () => {
  assert.deepStrictEqual(eff(runtime(), { checks: [], leaseExpired: false, awaitingFirstReport: true }).map((v) => v.announced), [false, false, false]);
  const pending = eff(runtime(), { leaseExpired: false, pending: ['p'], checks: [check('p', 'down', [V4], 1000)] });
  assert.deepStrictEqual(pending.map((v) => [v.prefix, v.announced, v.med]), [['198.51.100.9/32', true, 7], [V4, false, 100], [V6, true, 100]]);
  // Under the minAnnouncers guard too: nothing announced yet is taken away, so no guard penalty goes out first.
  const guarded = new Set([V4]);
  const g = (health: HealthView) => pick(eff(runtime(), health, guarded), V4)!;
  assert.deepStrictEqual([g({ checks: [], leaseExpired: false, awaitingFirstReport: true }).announced, g({ leaseExpired: false, pending: ['p'], checks: [check('p', 'down', [V4], 'withdraw')] }).announced], [false, false]);
  assert.equal(g({ leaseExpired: false, checks: [check('p', 'down', [V4], 'withdraw')] }).terms.at(-1)?.kind, 'min-announcers', 'a proven failing check is still guarded');
});

test('lease policies: hold does nothing, withdraw withdraws only VIPs gated by a known check', () => {
  const health = { leaseExpired: true, checks: [check('a', 'up', [V4], 10)] };
  assert.deepStrictEqual(eff(runtime(), health, undefined, configWith(`  - { prefix: ${V4}, med: 1 }`))[0]?.terms, [{ kind: 'configured', med: 1 }]);
  const out = eff(runtime(), health, undefined, configWith(`  - { prefix: ${V4}, med: 1 }\n  - { prefix: ${V6}, med: 1 }`, 'health: { leasePolicy: withdraw }'));
  assert.deepStrictEqual(out.map((v) => v.withdrawReasons), [[{ kind: 'lease' }], []]);
});

test('guard: non-forced reasons become one min-announcers term; forced ones still withdraw', () => {
  const guarded = new Set([V4]);
  const health = { leaseExpired: false, checks: [check('w', 'down', [V4, V6], 'withdraw')] };
  const out = eff(runtime({ withdrawn: { [V4]: { at: 1, reason: 'r' } } }), health, guarded);
  assert.deepStrictEqual(pick(out, V4)?.terms, [
    { kind: 'configured', med: 100 },
    { kind: 'min-announcers', penalty: 50000, refused: [{ kind: 'operator', reason: 'r' }, { kind: 'health', check: 'w' }] },
  ]);
  assert.equal(pick(out, V4)?.announced, true);
  assert.equal(pick(out, V4)?.med, 50100);
  assert.equal(pick(out, V6)?.announced, false, 'not guarded');
  const forced = eff(runtime({ drain: { withdraw: true, force: true, at: 1, source: 'operator' } }), health, guarded);
  assert.deepStrictEqual(pick(forced, V4)?.withdrawReasons, [{ kind: 'drain' }]);
  assert.equal(pick(forced, V4)?.announced, false);
  // Nothing to refuse: no guard term.
  assert.deepStrictEqual(pick(eff(runtime(), HEALTHY, guarded), V4)?.terms, [{ kind: 'configured', med: 100 }]);
});

test('overrides and withdraws of prefixes not in the config are ignored', () => {
  const out = eff(runtime({ overrides: { '192.0.2.1/32': { med: 1, setAt: 1 } }, withdrawn: { '192.0.2.2/32': { at: 1 } } }));
  assert.deepStrictEqual(out, eff(runtime()));
});

// ---- properties ----

const PREFIXES = [V4, V6, '198.51.100.9/32'] as const;
const u32 = fc.integer({ min: 0, max: MAX_U32 });
const arbCheck: fc.Arbitrary<CheckVerdict> = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  status: fc.constantFrom('up', 'down', 'disabled', 'unknown'),
  vips: fc.subarray([...PREFIXES]),
  effect: fc.oneof(fc.record({ penalty: u32 }), fc.constant({ withdraw: true as const })),
  since: fc.constant(0),
});
const arbRuntime: fc.Arbitrary<RuntimeState> = fc.record({
  overrides: fc.dictionary(fc.constantFrom(...PREFIXES), fc.record({ med: u32, setAt: fc.constant(0), expiresAt: fc.option(fc.integer({ min: NOW - 5, max: NOW + 5 }), { nil: undefined }) })),
  withdrawn: fc.dictionary(fc.constantFrom(...PREFIXES), fc.record({ at: fc.constant(0), force: fc.boolean() })),
  drain: fc.option(fc.record({ withdraw: fc.boolean(), force: fc.boolean(), at: fc.constant(0), source: fc.constant('operator' as const) }), { nil: undefined }),
}).map((r) => runtime(JSON.parse(JSON.stringify(r)) as Partial<RuntimeState>));
const arbHealth: fc.Arbitrary<HealthView> = fc.record({ checks: fc.array(arbCheck, { maxLength: 4 }), leaseExpired: fc.boolean() });
const arbConfig = fc
  .record({ meds: fc.tuple(u32, u32, u32), drain: u32, guard: u32, lease: fc.constantFrom('hold', 'withdraw', '{ penalty: 77 }') })
  .map(({ meds, drain, guard, lease }) =>
    configWith(PREFIXES.map((p, i) => `  - { prefix: "${p}", med: ${meds[i]} }`).join('\n'), `drainPenalty: ${drain}\nguardPenalty: ${guard}\nhealth: { leasePolicy: ${lease} }`),
  );
const arbInputs = fc.record({
  config: arbConfig,
  runtime: arbRuntime,
  health: arbHealth,
  guarded: fc.subarray([...PREFIXES]).map((l) => new Set<string>(l)),
});

const termValue = (t: MedTerm) => ('med' in t ? t.med : t.penalty);

test('property: announced iff no withdraw reason; med = saturated sum of terms ≥ base', () => {
  fc.assert(
    fc.property(arbInputs, (inp) => {
      for (const v of computeEffective({ ...inp, now: NOW })) {
        assert.equal(v.announced, v.withdrawReasons.length === 0);
        const sum = v.terms.reduce((a, t) => a + termValue(t), 0);
        assert.equal(v.med, Math.min(sum, MAX_U32));
        assert.ok(v.med <= MAX_U32 && Number.isInteger(v.med));
        assert.ok(v.terms[0]?.kind === 'configured' || v.terms[0]?.kind === 'override');
        assert.ok(v.med >= termValue(v.terms[0]));
        // A guarded VIP is withdrawn only for forced reasons (operator or drain).
        if (inp.guarded.has(v.prefix)) assert.ok(v.withdrawReasons.every((r) => r.kind === 'operator' || r.kind === 'drain'));
      }
    }),
    { numRuns: 300 },
  );
});

test('property: adding a failing penalty check never lowers any MED nor announces anything', () => {
  fc.assert(
    fc.property(arbInputs, fc.subarray([...PREFIXES]), u32, (inp, vips, penalty) => {
      const before = computeEffective({ ...inp, now: NOW });
      const health = { ...inp.health, checks: [...inp.health.checks, check('extra', 'down', vips, penalty)] };
      const after = computeEffective({ ...inp, health, now: NOW });
      before.forEach((b, i) => {
        const a = after[i];
        assert.equal(a?.prefix, b.prefix);
        assert.ok((a?.med ?? -1) >= b.med);
        assert.ok(!(a?.announced === true && !b.announced));
      });
    }),
    { numRuns: 200 },
  );
});

test('graceful shutdown (RFC 8326): a drain tags 65535:0 where configured (node-wide, or per VIP)', () => {
  const cfg = configWith(
    `  - { prefix: ${V4}, med: 100, communities: ["65000:100"] }
  - { prefix: "${V6}", med: 100, gracefulShutdown: false }
`,
    'gracefulShutdown: true',
  );
  const drained = runtime({ drain: { withdraw: false, at: 1, source: 'maintenance' } });
  const d = eff(drained, HEALTHY, undefined, cfg);
  assert.deepEqual(pick(d, V4)?.communities, ['65000:100', '65535:0']);
  assert.deepEqual(pick(d, V6)?.communities, [], 'the VIP opted out');
  // The same frozen array every time: the renderer memoises routes by reference.
  assert.equal(pick(eff(drained, HEALTHY, undefined, cfg), V4)?.communities, pick(d, V4)?.communities);
  // Not drained: configured communities only. Default (no gracefulShutdown anywhere): untouched on drain.
  assert.deepEqual(pick(eff(runtime({}), HEALTHY, undefined, cfg), V4)?.communities, ['65000:100']);
  assert.deepEqual(pick(eff(drained), V4)?.communities, ['65000:100']);
});

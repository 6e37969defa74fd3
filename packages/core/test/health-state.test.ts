import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  initialHealthState,
  nextIntervalMs,
  stepHealth,
  type CheckOutcome,
  type HealthParams,
  type HealthState,
  type HealthTransition,
  type StartupMode,
} from '../src/health-state.js';

const base: HealthParams = { rise: 3, fall: 2, intervalMs: 1000, fastIntervalMs: 100 };

/** Runs `kinds` one per 100 ms from t=0 and returns every transition plus the final state. */
function run(kinds: string, params: HealthParams = base, startup: StartupMode = 'unknown') {
  let state = initialHealthState(startup, 0);
  const transitions: HealthTransition[] = [];
  [...kinds].forEach((c, i) => {
    const kind = c === '+' ? 'pass' : c === '-' ? 'fail' : 'disabled';
    const r = stepHealth(state, { kind, at: (i + 1) * 100 }, params);
    state = r.state;
    if (r.transition) transitions.push(r.transition);
  });
  return { state, transitions: transitions.map((t) => `${t.from}>${t.to}:${t.reason}`) };
}

describe('stepHealth tables', () => {
  const table: [string, string, StartupMode, string[]][] = [
    ['fresh start needs rise passes', '++', 'unknown', []],
    ['fresh start up after rise', '+++', 'unknown', ['unknown>up:rise-met']],
    ['fresh start down after fall', '--', 'unknown', ['unknown>down:fall-met']],
    ['broken streak restarts counting', '++-++', 'unknown', []],
    ['startup up is up at once and falls', '--', 'up', ['up>down:fall-met']],
    ['one failure is not enough', '+++-+', 'unknown', ['unknown>up:rise-met']],
    ['recovery needs rise again', '+++--++', 'unknown', ['unknown>up:rise-met', 'up>down:fall-met']],
    [
      'full cycle',
      '+++--+++',
      'unknown',
      ['unknown>up:rise-met', 'up>down:fall-met', 'down>up:rise-met'],
    ],
    ['disable is immediate', '+++d', 'unknown', ['unknown>up:rise-met', 'up>disabled:disabled']],
    ['still disabled: no transition', '+++dd', 'unknown', ['unknown>up:rise-met', 'up>disabled:disabled']],
    [
      'enable goes down until rise',
      '+++d+++',
      'unknown',
      ['unknown>up:rise-met', 'up>disabled:disabled', 'disabled>down:enabled', 'down>up:rise-met'],
    ],
  ];
  for (const [name, kinds, startup, expected] of table) {
    it(name, () => assert.deepStrictEqual(run(kinds, base, startup).transitions, expected));
  }

  it('enable with rise 1 and a pass goes straight up', () => {
    assert.deepStrictEqual(run('d+', { ...base, rise: 1 }).transitions, ['unknown>disabled:disabled', 'disabled>up:enabled']);
  });
});

describe('damping', () => {
  const damping = { flaps: 2, windowMs: 10_000, holdDownMs: 1000, maxHoldDownMs: 3000 };
  const params: HealthParams = { rise: 1, fall: 1, intervalMs: 100, fastIntervalMs: 100, damping };

  it('holds down on the Nth flap and releases with hold-down-expired', () => {
    // t=100 up, 200 down (flap 1), 300 up, 400 down (flap 2 → damped until 1400), passes until 1400.
    const r = run('+-+-' + '+'.repeat(10), params);
    assert.deepStrictEqual(r.transitions, [
      'unknown>up:rise-met',
      'up>down:fall-met',
      'down>up:rise-met',
      'up>down:damped',
      'down>up:hold-down-expired',
    ]);
    assert.equal(r.state.holdDownUntil, undefined);
  });

  it('doubles the hold-down and caps it', () => {
    let state = initialHealthState('up', 0);
    const holds: number[] = [];
    let t = 0;
    for (let i = 0; i < 6; i++) {
      const down = stepHealth(state, { kind: 'fail', at: (t += 10) }, params);
      if (down.transition?.reason === 'damped') holds.push(down.transition.holdDownUntil! - t);
      state = down.state;
      t = state.holdDownUntil ?? t;
      state = stepHealth(state, { kind: 'pass', at: t }, params).state;
      assert.equal(state.status, 'up');
    }
    assert.deepStrictEqual(holds, [1000, 2000, 3000, 3000, 3000]);
  });

  it('forgets episodes after a whole window up', () => {
    let state = initialHealthState('up', 0);
    state = stepHealth(state, { kind: 'fail', at: 10 }, params).state;
    state = stepHealth(state, { kind: 'pass', at: 20 }, params).state;
    const damped = stepHealth(state, { kind: 'fail', at: 30 }, params);
    assert.equal(damped.transition?.reason, 'damped');
    state = stepHealth(damped.state, { kind: 'pass', at: 2000 }, params).state;
    assert.equal(state.holdDowns, 1);
    const later = stepHealth(state, { kind: 'fail', at: 2000 + damping.windowMs }, params);
    assert.equal(later.transition?.reason, 'fall-met');
    assert.equal(later.state.holdDowns, 0);
  });
});

describe('nextIntervalMs', () => {
  it('is fast while a transition is in progress', () => {
    assert.equal(nextIntervalMs(initialHealthState('unknown', 0), base), 100);
    assert.equal(nextIntervalMs(run('+++').state, base), 1000);
    assert.equal(nextIntervalMs(run('+++-').state, base), 100);
    assert.equal(nextIntervalMs(run('--').state, base), 1000);
    assert.equal(nextIntervalMs(run('--+').state, base), 100);
  });
  it('wakes up at the end of a hold-down', () => {
    const held: HealthState = { ...initialHealthState('down', 0), holdDownUntil: 1250 };
    assert.equal(nextIntervalMs(held, base, 1000), 250);
    assert.equal(nextIntervalMs(held, base, 0), 1000);
  });
});

describe('stepHealth properties', () => {
  const outcomeKinds = fc.array(fc.constantFrom<CheckOutcome['kind']>('pass', 'pass', 'fail', 'fail', 'disabled'), {
    maxLength: 200,
  });
  const paramsArb = fc.record({
    rise: fc.integer({ min: 1, max: 6 }),
    fall: fc.integer({ min: 1, max: 6 }),
    intervalMs: fc.constant(1000),
    fastIntervalMs: fc.constant(100),
    damping: fc.option(
      fc.record({
        flaps: fc.integer({ min: 2, max: 5 }),
        windowMs: fc.integer({ min: 100, max: 20_000 }),
        holdDownMs: fc.integer({ min: 1, max: 5000 }),
        maxHoldDownMs: fc.integer({ min: 5000, max: 60_000 }),
      }),
      { nil: undefined },
    ),
  });
  const gaps = fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 200, maxLength: 200 });
  const startupArb = fc.constantFrom<StartupMode>('unknown', 'up', 'down');

  it('never skips rise or fall, and transitions exactly on status change', () => {
    fc.assert(
      fc.property(outcomeKinds, paramsArb, gaps, startupArb, (kinds, params, gapList, startup) => {
        let state = initialHealthState(startup, 0);
        let at = 0;
        const history: CheckOutcome['kind'][] = [];
        kinds.forEach((kind, i) => {
          at += gapList[i]!;
          history.push(kind);
          const r = stepHealth(state, { kind, at }, params);
          const changed = r.state.status !== state.status;
          assert.equal(r.transition !== undefined, changed, 'a transition iff the status changes');
          if (r.transition) {
            assert.equal(r.transition.from, state.status);
            assert.equal(r.transition.to, r.state.status);
            assert.notEqual(r.transition.from, r.transition.to);
            assert.equal(r.state.since, at);
          }
          if (r.state.status === 'up' && state.status !== 'up') {
            const last = history.slice(-params.rise);
            assert.ok(last.length === params.rise && last.every((k) => k === 'pass'), `up without ${params.rise} passes`);
          }
          if (r.state.status === 'down' && state.status !== 'down' && state.status !== 'disabled') {
            const last = history.slice(-params.fall);
            assert.ok(last.length === params.fall && last.every((k) => k === 'fail'), `down without ${params.fall} fails`);
          }
          if (kind === 'disabled') assert.equal(r.state.status, 'disabled');
          state = r.state;
        });
      }),
      { numRuns: 300 },
    );
  });

  it('damping bounds hold', () => {
    const damped = paramsArb.filter((p) => p.damping !== undefined);
    fc.assert(
      fc.property(outcomeKinds, damped, gaps, (kinds, params, gapList) => {
        const d = params.damping!;
        let state = initialHealthState('unknown', 0);
        let at = 0;
        let lastHold = 0;
        const falls: number[] = [];
        kinds.forEach((kind, i) => {
          at += gapList[i]!;
          const r = stepHealth(state, { kind, at }, params);
          if (r.state.status === 'up') {
            assert.ok(state.holdDownUntil === undefined || at >= state.holdDownUntil, 'up during a hold-down');
          }
          if (r.transition?.from === 'up' && r.transition.to === 'down') {
            falls.push(at);
            const inWindow = falls.filter((t) => at - t < d.windowMs).length;
            if (r.transition.reason === 'damped') {
              assert.ok(inWindow >= d.flaps, 'damped before N flaps in the window');
              const hold = r.transition.holdDownUntil! - at;
              assert.ok(hold >= Math.min(d.holdDownMs, d.maxHoldDownMs) && hold <= d.maxHoldDownMs, 'hold-down out of bounds');
              // Consecutive episodes never shrink unless a whole window was spent up.
              if (r.state.holdDowns > 1) assert.ok(hold >= lastHold, 'hold-down shrank');
              lastHold = hold;
            } else {
              assert.ok(inWindow < d.flaps, 'N flaps in the window but not damped');
            }
          }
          state = r.state;
        });
      }),
      { numRuns: 300 },
    );
  });
});

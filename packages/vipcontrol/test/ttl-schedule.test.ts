// TTL expiry: which entry expires next, what expiring removes, and the one re-armable timer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RuntimeState } from '@vipcontrol/core';
import { ExpiryTimer, expireRuntime, nextExpiry } from '../src/ttl-schedule.js';

const base: RuntimeState = { version: 1, overrides: {}, withdrawn: {} };

function state(over: Partial<RuntimeState>): RuntimeState {
  return { ...base, ...over };
}

describe('nextExpiry', () => {
  const cases: [string, RuntimeState, number | undefined][] = [
    ['empty', base, undefined],
    ['override without TTL', state({ overrides: { 'a/32': { med: 1, setAt: 0 } } }), undefined],
    [
      'earliest override',
      state({ overrides: { 'a/32': { med: 1, setAt: 0, expiresAt: 500 }, 'b/32': { med: 1, setAt: 0, expiresAt: 200 } } }),
      200,
    ],
    [
      'maintenance drain ends first',
      state({
        overrides: { 'a/32': { med: 1, setAt: 0, expiresAt: 500 } },
        drain: { withdraw: false, at: 0, source: 'maintenance', until: 300 },
      }),
      300,
    ],
  ];
  for (const [name, input, want] of cases) it(name, () => assert.equal(nextExpiry(input), want));
});

describe('expireRuntime', () => {
  it('removes expired overrides and ended drains, keeps the rest (also after downtime)', () => {
    const s = state({
      overrides: {
        '198.51.100.1/32': { med: 1, setAt: 0, expiresAt: 100 },
        '198.51.100.2/32': { med: 2, setAt: 0, expiresAt: 10_000 },
        '198.51.100.3/32': { med: 3, setAt: 0 },
      },
      drain: { withdraw: true, at: 0, source: 'maintenance', until: 50 },
    });
    const r = expireRuntime(s, 5_000);
    assert.deepEqual(r.expired, ['198.51.100.1/32']);
    assert.equal(r.drainEnded, true);
    assert.deepEqual(Object.keys(r.runtime.overrides).sort(), ['198.51.100.2/32', '198.51.100.3/32']);
    assert.equal(r.runtime.drain, undefined);
  });

  it('an operator drain without end is never expired', () => {
    const s = state({ drain: { withdraw: false, at: 0, source: 'operator' } });
    assert.equal(expireRuntime(s, Number.MAX_SAFE_INTEGER).drainEnded, false);
  });
});

describe('ExpiryTimer', () => {
  // The timer is unref'd (it must not keep the daemon alive); keep the test's event loop up meanwhile.
  let keepAlive: NodeJS.Timeout;
  before(() => (keepAlive = setInterval(() => undefined, 1000)));
  after(() => clearInterval(keepAlive));

  it('fires once at the armed time; re-arming replaces the previous deadline', async () => {
    let fired = 0;
    let resolveFired: () => void = () => undefined;
    const firedOnce = new Promise<void>((r) => (resolveFired = r));
    const t = new ExpiryTimer(() => {
      fired += 1;
      resolveFired();
    });
    t.arm(Date.now() + 60_000);
    const at = Date.now() + 20;
    t.arm(at);
    assert.equal(t.at, at);
    await firedOnce;
    assert.ok(Date.now() >= at - 1, 'not before the deadline');
    assert.equal(fired, 1);
    assert.equal(t.at, undefined);
  });

  it('disarm cancels; a past deadline fires at once', async () => {
    let fired = 0;
    const t = new ExpiryTimer(() => (fired += 1));
    t.arm(Date.now() + 10);
    t.disarm();
    const past = new Promise<void>((r) => new ExpiryTimer(r).arm(Date.now() - 1000));
    await past;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(fired, 0);
  });

  it('deadlines beyond setTimeout range (~24.8 days) are held, not fired at once', () => {
    let fired = 0;
    const t = new ExpiryTimer(() => (fired += 1));
    t.arm(Date.now() + 40 * 86_400_000);
    assert.equal(fired, 0);
    assert.ok(t.at !== undefined);
    t.disarm();
  });
});

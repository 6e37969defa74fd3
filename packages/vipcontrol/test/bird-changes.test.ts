// What changed in BIRD without vipcontrol (pure logic; with real BIRD in announcer-lab.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BIRD_TIME_JITTER_MS, birdChanges, type BirdLook } from '../src/bird-changes.js';

/** BIRD's default time format, local time (as BIRD prints it). */
const birdTime = (ms: number): string => {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};
const T0 = new Date(2026, 11, 1, 22, 51, 22, 198).getTime();
const look = (reconfiguredAt: string | undefined, protocols: Record<string, string> = { vipcontrol4: 'up', vipcontrol6: 'up', fabric4: 'up' }): BirdLook => ({
  reconfiguredAt,
  protocols: new Map(Object.entries(protocols)),
});

describe('birdChanges', () => {
  it('nothing changed: no reason', () => {
    assert.deepEqual(birdChanges(look(birdTime(T0)), look(birdTime(T0)), []), []);
  });

  it("the same reconfiguration printed a few ms apart (BIRD's clock jitter) is not a change", () => {
    assert.deepEqual(birdChanges(look(birdTime(T0)), look(birdTime(T0 + BIRD_TIME_JITTER_MS - 1)), []), []);
    assert.deepEqual(birdChanges(look(birdTime(T0)), look(birdTime(T0 - 26)), []), []);
  });

  it("a configuration loaded inside one of vipcontrol's own reconfigurations is ours", () => {
    const own = [{ sentAt: T0 + 5_000, doneAt: T0 + 5_004 }];
    assert.deepEqual(birdChanges(look(birdTime(T0)), look(birdTime(T0 + 5_002)), own), []);
    assert.deepEqual(birdChanges(look(birdTime(T0)), look(birdTime(T0 + 5_010)), own), [], 'within the jitter after the answer');
  });

  it("anyone else's is a change, named with BIRD's time", () => {
    const own = [{ sentAt: T0 + 5_000, doneAt: T0 + 5_004 }];
    const at = birdTime(T0 + 7_000);
    assert.deepEqual(birdChanges(look(birdTime(T0)), look(at), own), [
      `BIRD loaded a configuration at ${at} that vipcontrol did not send (birdc configure, a BIRD reload)`,
    ]);
    assert.equal(birdChanges(look(birdTime(T0)), look(birdTime(T0 + 1_000)), []).length, 1, 'a second later, no own reconfiguration');
  });

  it('a time BIRD prints without a date (custom timeformat) is compared as text: a change, never a miss', () => {
    assert.deepEqual(birdChanges(look('22:51:22'), look('22:51:22'), []), []);
    assert.equal(birdChanges(look('22:51:22'), look('22:51:30'), [{ sentAt: 0, doneAt: Number.MAX_SAFE_INTEGER }]).length, 1);
  });

  it('a watched protocol going down, up or away is a change each', () => {
    const before = look(birdTime(T0));
    const after = look(birdTime(T0), { vipcontrol4: 'down', vipcontrol6: 'up', fabric6: 'start' });
    assert.deepEqual(birdChanges(before, after, []), ['vipcontrol4: up → down', 'fabric4: up → not in BIRD', 'fabric6: not in BIRD → start']);
  });
});

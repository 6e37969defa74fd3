// What changed in BIRD without vipcontrol (pure logic; with real BIRD in announcer-lab.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BIRD_TIME_JITTER_MS, BirdLookBook, OWN_RECONFIGURATIONS_MAX, birdChanges, type BirdLook } from '../src/bird-changes.js';

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

describe('BirdLookBook', () => {
  /** A full look begun at T0 + `startedMs`, BIRD's config loaded at T0 + `loadedMs`. */
  const at = (startedMs: number, loadedMs = 0, protocols?: Record<string, string>) => ({ look: look(birdTime(T0 + loadedMs), protocols), startedAt: T0 + startedMs, status: true });

  it('the first look is the baseline; the same BIRD again is no change', () => {
    const book = new BirdLookBook();
    assert.deepEqual(book.compare(at(0)), []);
    assert.deepEqual(book.compare(at(2_000)), []);
  });

  it(`more than ${OWN_RECONFIGURATIONS_MAX} of our reconfigurations between two looks: the newest explains BIRD's time`, () => {
    const book = new BirdLookBook();
    book.compare(at(0));
    for (let i = 1; i <= 50; i += 1) book.ownReconfiguration({ sentAt: T0 + i * 40, doneAt: T0 + i * 40 + 3 });
    assert.deepEqual(book.compare(at(2_100, 50 * 40 + 1)), []);
  });

  it('our reconfiguration sent after a look began stays for the next look', () => {
    const book = new BirdLookBook();
    book.compare(at(0));
    // A watch begins at 1000 and reads BIRD's time before our configure at 1001 reaches BIRD.
    book.ownReconfiguration({ sentAt: T0 + 1_001, doneAt: T0 + 1_004 });
    assert.deepEqual(book.compare(at(1_000)), []);
    assert.deepEqual(book.compare(at(3_000, 1_002)), [], 'not "someone else\'s": the window was kept');
  });

  it('a look overtaken by a later one (a watch answered after an apply looked) changes nothing', () => {
    const book = new BirdLookBook();
    book.compare(at(0));
    const fabricDown = { vipcontrol4: 'up', vipcontrol6: 'up', fabric4: 'down' };
    assert.deepEqual(book.compare(at(3_000, 0, fabricDown)), ['fabric4: up → down']);
    assert.deepEqual(book.compare(at(2_900)), [], 'the older look is dropped, not reported as "down → up"');
    assert.deepEqual(book.compare(at(5_000, 0, fabricDown)), []);
  });

  it('a protocols-only look keeps the reconfiguration time and our reconfigurations for the next full look', () => {
    const book = new BirdLookBook();
    book.compare(at(0));
    book.ownReconfiguration({ sentAt: T0 + 1_500, doneAt: T0 + 1_510 });
    assert.deepEqual(book.compare({ look: look(book.reconfiguredAt), startedAt: T0 + 1_400, status: false }), []);
    assert.equal(book.reconfiguredAt, birdTime(T0));
    assert.deepEqual(book.compare(at(3_000, 1_505)), [], 'our configure explains the new time');
    assert.equal(book.compare(at(9_000, 8_000)).length, 1, "then someone else's is seen");
  });
});

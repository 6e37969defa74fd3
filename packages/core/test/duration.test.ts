import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../src/duration.js';

test('parseDuration accepts the documented grammar', () => {
  const table: [string, number][] = [
    ['200ms', 200],
    ['1s', 1000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['0s', 0],
    ['1d2h3m4s5ms', 93_784_005],
    ['3650d', MAX_DURATION_MS],
  ];
  for (const [text, ms] of table) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration rejects garbage, negatives, wrong order and overflow', () => {
  for (const bad of ['', '1', '-1s', '+1s', '1.5s', ' 1s', '1s ', '1S', '30m1h', '1s1s', 'ms', '1x', '1e3ms', '3651d', '999999999d', '1h 30m', '0x10s']) {
    assert.throws(() => parseDuration(bad), RangeError, bad);
  }
});

test('formatDuration round-trips through parseDuration', () => {
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(1500), '1s500ms');
  assert.throws(() => formatDuration(-1), RangeError);
  assert.throws(() => formatDuration(1.5), RangeError);
  fc.assert(fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => parseDuration(formatDuration(ms)) === ms));
});

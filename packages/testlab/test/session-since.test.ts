// SinceTracker: one BGP session's Since reported identically across BIRD's clock jitter; a reset is not hidden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SinceTracker } from '../src/session-since.js';

test('BIRD clock jitter on one session is the same event; a session re-established after the last reading is a reset', () => {
  const t = new SinceTracker();
  // Established at …100.000; read at …160.000 (epoch ms for readAt, epoch seconds for Since).
  assert.equal(t.stable('n1', '1796160100.000', 1796160160_000), '1796160100.000');
  // Under load BIRD printed the same event 26 ms later (seen in the suite): same session.
  assert.equal(t.stable('n1', '1796160100.026', 1796160161_000), '1796160100.000');
  assert.equal(t.stable('n1', '1796160099.995', 1796160162_000), '1796160100.000');
  // Reset and re-established after the last reading (…162.000): a new Since, reported as such.
  assert.equal(t.stable('n1', '1796160162.400', 1796160163_000), '1796160162.400');
  // Each protocol on its own.
  assert.equal(t.stable('n2', '1796160100.000', 1796160163_000), '1796160100.000');
  // Read just after it came up: a few ms of jitter past the reading's time is still the same event.
  assert.equal(t.stable('n3', '1796160170.000', 1796160170_001), '1796160170.000');
  assert.equal(t.stable('n3', '1796160170.003', 1796160170_500), '1796160170.000');
  // A restart quick enough to land within a second of the old Since, but after the last reading.
  assert.equal(t.stable('n3', '1796160170.600', 1796160171_000), '1796160170.600');
});

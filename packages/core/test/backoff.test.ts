import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { exponentialBackoff } from '../src/backoff.js';

test('exponentialBackoff doubles from minMs and stops at maxMs', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => exponentialBackoff({ attempt, minMs: 500, maxMs: 30_000 }));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
});

test('exponentialBackoff: maxMs wins over a larger minMs; a zero minMs stays zero', () => {
  assert.equal(exponentialBackoff({ attempt: 1, minMs: 100, maxMs: 40 }), 40);
  assert.equal(exponentialBackoff({ attempt: 3, minMs: 0, maxMs: 1000 }), 0);
  assert.equal(exponentialBackoff({ attempt: 1, minMs: 0, maxMs: 0 }), 0);
});

test('exponentialBackoff: a huge attempt gives maxMs, never Infinity or NaN', () => {
  for (const attempt of [64, 1024, 1025, 5000, Number.MAX_SAFE_INTEGER]) {
    assert.equal(exponentialBackoff({ attempt, minMs: 50, maxMs: 5000 }), 5000, String(attempt));
    assert.equal(exponentialBackoff({ attempt, minMs: 0, maxMs: 5000 }), 0, String(attempt));
  }
});

test('exponentialBackoff is min(maxMs, minMs·2^(attempt−1)), within [min(minMs, maxMs), maxMs], never shrinking', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), fc.nat({ max: 1e6 }), fc.nat({ max: 1e9 }), (attempt, minMs, maxMs) => {
      const d = exponentialBackoff({ attempt, minMs, maxMs });
      assert.ok(d <= maxMs && d >= Math.min(minMs, maxMs));
      assert.ok(exponentialBackoff({ attempt: attempt + 1, minMs, maxMs }) >= d);
      if (attempt <= 40) assert.equal(d, Math.min(maxMs, minMs * 2 ** (attempt - 1)));
    }),
  );
});

test('exponentialBackoff rejects an attempt below 1 or fractional, and negative or non-finite bounds', () => {
  for (const attempt of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => exponentialBackoff({ attempt, minMs: 1, maxMs: 2 }), RangeError, String(attempt));
  }
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => exponentialBackoff({ attempt: 1, minMs: bad, maxMs: 2 }), /minMs/);
    assert.throws(() => exponentialBackoff({ attempt: 1, minMs: 1, maxMs: bad }), /maxMs/);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDrainBody, parseReasonBody, parseSetMedBody, RequestError } from '../src/api-bodies.js';

test('parseSetMedBody accepts the documented body', () => {
  assert.deepStrictEqual(parseSetMedBody({ med: 250, ttl: '30m', reason: 'shift to n2 "now"' }), { med: 250, ttlMs: 1_800_000, reason: 'shift to n2 "now"' });
  assert.deepStrictEqual(parseSetMedBody({ med: 0 }), { med: 0 });
  assert.deepStrictEqual(parseSetMedBody({ med: 4294967295 }), { med: 4294967295 });
});

test('bodies: every bad input is a RequestError naming the field', () => {
  const table: [() => unknown, string, string][] = [
    [() => parseSetMedBody({ med: 4294967296 }), 'med', 'med: must be ≤ 4294967295'],
    [() => parseSetMedBody({ med: -1 }), 'med', 'med: must be ≥ 0'],
    [() => parseSetMedBody({ med: '100' }), 'med', 'med: expected number, got string'],
    [() => parseSetMedBody({ med: 1.5 }), 'med', 'med: must be an integer'],
    [() => parseSetMedBody({}), 'med', 'med: required'],
    [() => parseSetMedBody({ med: 1, ttl: '30' }), 'ttl', 'ttl: invalid duration "30"'],
    [() => parseSetMedBody({ med: 1, ttl: '0s' }), 'ttl', 'ttl: must be longer than 0'],
    [() => parseSetMedBody({ med: 1, ttl: 30 }), 'ttl', 'ttl: expected string, got number'],
    [() => parseSetMedBody({ med: 1, reason: 'a\nb' }), 'reason', 'reason: must not contain control, bidi-override or line-separator characters'],
    [() => parseSetMedBody({ med: 1, reason: 'x\u202etxt' }), 'reason', 'reason: must not contain control, bidi-override or line-separator characters'],
    [() => parseSetMedBody({ med: 1, reason: 'x'.repeat(201) }), 'reason', 'reason: must be at most 200 characters'],
    [() => parseSetMedBody({ med: 1, prefix: '1.2.3.4/32' }), 'prefix', 'prefix: unknown key'],
    [() => parseSetMedBody(null), '', 'body must be a JSON object'],
    [() => parseSetMedBody([1]), '', 'body must be a JSON object'],
    [() => parseDrainBody({ withdraw: 'yes' }), 'withdraw', 'withdraw: expected boolean, got string'],
    [() => parseReasonBody({ force: 1 }), 'force', 'force: expected boolean, got number'],
    [() => parseReasonBody({ why: 'x' }), 'why', 'why: unknown key'],
  ];
  for (const [fn, field, message] of table) {
    assert.throws(fn, (err: unknown) => err instanceof RequestError && err.field === field && err.message.startsWith(message), message);
  }
  // 200 code points is fine even when they are astral characters.
  assert.equal(parseReasonBody({ reason: '😀'.repeat(200) }).reason?.length, 400);
});

test('drain and reason bodies: defaults and absent bodies', () => {
  assert.deepStrictEqual(parseDrainBody({ withdraw: true, reason: 'maint', force: false }), { withdraw: true, reason: 'maint', force: false });
  assert.deepStrictEqual(parseDrainBody(undefined), { withdraw: false });
  assert.deepStrictEqual(parseReasonBody(undefined), {});
  assert.deepStrictEqual(parseReasonBody({ reason: 'r', force: true }), { reason: 'r', force: true });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkRuntimeEntries,
  emptyRuntimeState,
  expireOverrides,
  parseRuntimeState,
  RuntimeStateError,
  withDrain,
  withoutDrain,
  withOverride,
  withoutOverride,
  withoutWithdrawn,
  withWithdrawn,
} from '../src/runtime-state.js';

const FULL = {
  version: 1,
  overrides: { '198.51.100.10/32': { med: 250, expiresAt: 2000, reason: 'shift "quoted"; ok', setAt: 1000, setBy: 'alice@h' } },
  withdrawn: { '2001:db8::10/128': { at: 5, reason: 'r', by: 'bob', force: true } },
  drain: { withdraw: false, at: 7, source: 'maintenance', until: 99 },
};

test('parseRuntimeState round-trips a full state and freezes it', () => {
  const s = parseRuntimeState(JSON.parse(JSON.stringify(FULL)));
  assert.deepStrictEqual(s, FULL);
  assert.ok(Object.isFrozen(s.overrides['198.51.100.10/32']));
  assert.deepStrictEqual(parseRuntimeState(emptyRuntimeState()), { version: 1, overrides: {}, withdrawn: {} });
});

test('parseRuntimeState rejects anything it does not fully understand, naming the field', () => {
  const table: [unknown, string][] = [
    [null, 'invalid state: expected object, got null'],
    [{ ...FULL, version: 2 }, 'version: must be one of 1'],
    [{ ...FULL, extra: 1 }, 'extra: unknown key'],
    [{ ...FULL, overrides: { '198.51.100.10': { med: 1, setAt: 1 } } }, 'overrides["198.51.100.10"]: must be a canonical prefix'],
    [{ ...FULL, overrides: { '198.51.100.10/32': { med: -1, setAt: 1 } } }, 'overrides["198.51.100.10/32"].med: must be ≥ 0'],
    [{ ...FULL, overrides: { '198.51.100.10/32': { med: 1, setAt: 1, reason: 'a\nb' } } }, 'reason: must not contain control, bidi-override or line-separator characters'],
    [{ ...FULL, withdrawn: { '2001:db8::10/128': { at: 'x' } } }, 'withdrawn["2001:db8::10/128"].at: expected number, got string'],
    [{ ...FULL, drain: { withdraw: true, at: 1 } }, 'drain.source: required'],
  ];
  for (const [input, want] of table) {
    assert.throws(() => parseRuntimeState(input), (err: unknown) => err instanceof RuntimeStateError && err.message.includes(want), want);
  }
});

test('expireOverrides drops exactly the overrides due at now', () => {
  const s = parseRuntimeState({ ...FULL, overrides: { ...FULL.overrides, '192.0.2.1/32': { med: 1, setAt: 1 } } });
  assert.deepStrictEqual(expireOverrides(s, 1999).expired, []);
  assert.equal(expireOverrides(s, 1999).runtime, s, 'unchanged state is returned as is');
  const { runtime, expired } = expireOverrides(s, 2000);
  assert.deepStrictEqual(expired, ['198.51.100.10/32']);
  assert.deepStrictEqual(Object.keys(runtime.overrides), ['192.0.2.1/32']);
  assert.ok(Object.isFrozen(runtime));
});

test('updaters return new frozen states and leave the input untouched', () => {
  const s0 = emptyRuntimeState();
  const s1 = withOverride(s0, '192.0.2.1/32', { med: 5, setAt: 1 });
  const s2 = withWithdrawn(s1, '192.0.2.1/32', { at: 2, reason: 'x' });
  const s3 = withDrain(s2, { withdraw: true, at: 3, source: 'operator' });
  assert.deepStrictEqual(s0, { version: 1, overrides: {}, withdrawn: {} });
  assert.deepStrictEqual(s3, {
    version: 1,
    overrides: { '192.0.2.1/32': { med: 5, setAt: 1 } },
    withdrawn: { '192.0.2.1/32': { at: 2, reason: 'x' } },
    drain: { withdraw: true, at: 3, source: 'operator' },
  });
  assert.ok([s1, s2, s3].every((s) => Object.isFrozen(s) && Object.isFrozen(s.overrides)));
  assert.deepStrictEqual(withoutDrain(withoutWithdrawn(withoutOverride(s3, '192.0.2.1/32'), '192.0.2.1/32')), s0);
  assert.equal(withoutOverride(s0, '192.0.2.1/32'), s0);
  // Whatever the updaters produce, the state file parser accepts.
  assert.deepStrictEqual(parseRuntimeState(JSON.parse(JSON.stringify(s3))), s3);
});

test('checkRuntimeEntries: refuses what the loader would; an entry it passed is frozen and not checked again', () => {
  const bad = { med: 2 ** 32, setAt: 1 };
  for (let i = 0; i < 2; i++) assert.throws(() => checkRuntimeEntries({ overrides: { '192.0.2.1/32': bad } }), RuntimeStateError, 'refused every time');
  assert.equal(Object.isFrozen(bad), false);
  const good = { med: 250, setAt: 1 };
  checkRuntimeEntries({ overrides: { '192.0.2.1/32': good } });
  assert.ok(Object.isFrozen(good), 'a passed entry cannot change after its check');
  // The same (passed) object beside a new bad one: only the new one is checked, and refused.
  assert.throws(() => checkRuntimeEntries({ overrides: { '192.0.2.1/32': good, '192.0.2.2/32': bad } }), /192\.0\.2\.2/);
  const drain = { withdraw: false, at: 7, source: 'operator' as const };
  checkRuntimeEntries({ drain });
  assert.ok(Object.isFrozen(drain));
});

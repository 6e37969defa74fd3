import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { drainBody, durationArg, medArg, prefixArg, reasonBody, setMedBody, vipPath } from '../src/args.js';
import { UsageError } from '../src/errors.js';

test('prefixes are canonicalised; anything else is refused before the socket', () => {
  assert.equal(prefixArg('198.51.100.10/32'), '198.51.100.10/32');
  assert.equal(prefixArg('2001:DB8:0::10/128'), '2001:db8::10/128');
  for (const bad of ['198.51.100.10/32 blackhole; }; protocol x {', '198.51.100.10/33', '198.51.100.1/24', 'x', '', '2001:db8::10%eth0/128']) {
    assert.throws(() => prefixArg(bad), InvalidArgumentError, bad);
  }
});

test('MED: decimal 0..4294967295 only', () => {
  assert.equal(medArg('0'), 0);
  assert.equal(medArg('4294967295'), 4294967295);
  for (const bad of ['4294967296', '-1', '1e3', '1.5', '0x10', ' 5', '', '99999999999']) {
    assert.throws(() => medArg(bad), InvalidArgumentError, bad);
  }
});

test('TTL: core duration grammar, positive', () => {
  assert.equal(durationArg('30m'), '30m');
  assert.equal(durationArg('1h30m'), '1h30m');
  for (const bad of ['0s', '30 m', '-5m', '5x', '']) assert.throws(() => durationArg(bad), InvalidArgumentError, bad);
});

test('bodies are checked with core parsers (reason grammar)', () => {
  assert.deepEqual(setMedBody(250, { ttl: '30m', reason: 'shift traffic' }), { med: 250, ttl: '30m', reason: 'shift traffic' });
  assert.deepEqual(setMedBody(250, {}), { med: 250 });
  assert.throws(() => setMedBody(250, { reason: 'a\nb' }), UsageError);
  assert.throws(() => setMedBody(250, { reason: 'x'.repeat(201) }), UsageError);
  assert.deepEqual(reasonBody({ reason: 'r', force: true }), { reason: 'r', force: true });
  assert.deepEqual(reasonBody({}), {});
  assert.throws(() => reasonBody({ reason: '\u0007' }), UsageError);
  assert.deepEqual(drainBody({}), { withdraw: false });
  assert.deepEqual(drainBody({ withdraw: true, reason: 'maint' }), { withdraw: true, reason: 'maint' });
});

test('VIP paths percent-encode the prefix', () => {
  assert.equal(vipPath('198.51.100.10/32', 'med'), '/v1/vips/198.51.100.10%2F32/med');
  assert.equal(vipPath('2001:db8::10/128', 'withdraw'), '/v1/vips/2001%3Adb8%3A%3A10%2F128/withdraw');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalCommunity, canonicalLargeCommunity, CommunityError } from '../src/community.js';
import { canonicalPrefix, comparePrefixes, PrefixError } from '../src/prefix.js';

test('canonicalPrefix canonicalises IPv4 and IPv6', () => {
  const table: [string, string, 4 | 6][] = [
    ['198.51.100.10/32', '198.51.100.10/32', 4],
    ['198.51.100.10', '198.51.100.10/32', 4],
    ['0.0.0.0/0', '0.0.0.0/0', 4],
    ['192.0.2.0/24', '192.0.2.0/24', 4],
    ['2001:DB8:0:0:0:0:0:10/128', '2001:db8::10/128', 6],
    ['2001:db8::10', '2001:db8::10/128', 6],
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128', 6],
    ['::/0', '::/0', 6],
    ['::ffff:192.0.2.1/128', '::ffff:c000:201/128', 6],
  ];
  for (const [input, prefix, family] of table) assert.deepStrictEqual(canonicalPrefix(input), { prefix, family }, input);
});

test('canonicalPrefix rejects anything that is not a plain prefix', () => {
  const bad = [
    '', '1.2.3.4/33', '1.2.3.4/', '1.2.3.4/032', '1.2.3.4/-1', '192.0.2.1/24', '2001:db8::1/64', '::/129',
    '01.2.3.4', '127.1', '0x7f.0.0.1', '256.0.0.1', 'fe80::1%eth0', '[2001:db8::1]', ' 1.2.3.4', '1.2.3.4 ',
    '1.2.3.4/32 blackhole; }; protocol x', '1.2.3.4/32\n', 'localhost', '1.2.3.4/32/32', 'x'.repeat(100),
  ];
  for (const b of bad) assert.throws(() => canonicalPrefix(b), PrefixError, JSON.stringify(b));
});

test('comparePrefixes orders IPv4 before IPv6, numerically', () => {
  const sorted = ['2001:db8::10/128', '10.0.0.0/8', '9.0.0.0/8', '2001:db8::9/128', '10.0.0.0/16', '::/0'].sort(comparePrefixes);
  assert.deepStrictEqual(sorted, ['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', '::/0', '2001:db8::9/128', '2001:db8::10/128']);
});

test('communities: ranges and canonical text', () => {
  assert.equal(canonicalCommunity('65000:100'), '65000:100');
  assert.equal(canonicalCommunity('0:0'), '0:0');
  assert.equal(canonicalCommunity('065:0100'), '65:100');
  assert.equal(canonicalLargeCommunity('4294967295:0:1'), '4294967295:0:1');
  for (const b of ['65536:1', '1:65536', '1', '1:2:3', '-1:2', 'a:b', '1:2 ', '1,2', '(1,2)', '1:2;']) {
    assert.throws(() => canonicalCommunity(b), CommunityError, b);
  }
  for (const b of ['4294967296:1:1', '1:2', '1:2:3:4', '1:2:x', '01234567890:1:1']) {
    assert.throws(() => canonicalLargeCommunity(b), CommunityError, b);
  }
});

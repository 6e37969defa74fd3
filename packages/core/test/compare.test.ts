import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareObserved } from '../src/compare.js';
import { planLoopback } from '../src/loopback-plan.js';
import type { ObservedRoute } from '../src/types.js';
import { vip } from './core-fixtures.js';

const route = (prefix: string, med: number | undefined, more: Partial<ObservedRoute> = {}): ObservedRoute => ({
  prefix,
  ...(med !== undefined ? { med } : {}),
  communities: [],
  largeCommunities: [],
  ...more,
});

test('compareObserved: in sync (order-insensitive, canonicalised) is []', () => {
  const desired = [
    vip('198.51.100.10/32', 100, { communities: ['65000:100', '1:2'], largeCommunities: ['1:2:3'], localPref: 5 }),
    vip('2001:db8::10/128', 7),
    { ...vip('192.0.2.1/32', 1), announced: false },
  ];
  const observed = [
    route('2001:DB8:0::10/128', 7),
    route('198.51.100.10/32', 100, { communities: ['1:2', '65000:100'], largeCommunities: ['1:2:3'], localPref: 5 }),
  ];
  assert.deepStrictEqual(compareObserved(desired, observed), []);
});

test('compareObserved: every kind of mismatch, desired order then unexpected', () => {
  const desired = [
    vip('2001:db8::10/128', 7),
    vip('198.51.100.10/32', 100, { communities: ['65000:100'], largeCommunities: ['1:2:3'], localPref: 5 }),
    vip('198.51.100.11/32', 1),
    { ...vip('192.0.2.1/32', 1), announced: false },
  ];
  const observed = [
    route('198.51.100.10/32', 101, { communities: ['65000:101'], largeCommunities: [] }),
    route('2001:db8::10/128', undefined, { localPref: 9 }),
    route('192.0.2.1/32', 1),
    route('203.0.113.0/24', 1),
  ];
  assert.deepStrictEqual(compareObserved(desired, observed), [
    { prefix: '198.51.100.10/32', kind: 'med', want: 100, got: 101 },
    { prefix: '198.51.100.10/32', kind: 'communities', want: ['65000:100'], got: ['65000:101'] },
    { prefix: '198.51.100.10/32', kind: 'large-communities', want: ['1:2:3'], got: [] },
    { prefix: '198.51.100.10/32', kind: 'local-pref', want: 5 },
    { prefix: '198.51.100.11/32', kind: 'missing' },
    { prefix: '2001:db8::10/128', kind: 'med', want: 7 },
    { prefix: '2001:db8::10/128', kind: 'local-pref', got: 9 },
    { prefix: '192.0.2.1/32', kind: 'unexpected' },
    { prefix: '203.0.113.0/24', kind: 'unexpected' },
  ]);
});

test('planLoopback: adds wanted VIPs, removes only managed addresses', () => {
  const desired = [vip('198.51.100.10/32', 1), { ...vip('198.51.100.11/32', 1), announced: false }, vip('2001:db8::10/128', 1)];
  const present = ['127.0.0.1/8', '::1/128', '198.51.100.11/32', '203.0.113.5/32', '192.0.2.9/32', '2001:DB8::10/128'];
  const managed = new Set(['198.51.100.11/32', '192.0.2.9/32']);
  assert.deepStrictEqual(planLoopback(desired, present, { removeOnWithdraw: true, managed }), {
    add: ['198.51.100.10/32'],
    remove: ['192.0.2.9/32', '198.51.100.11/32'],
  });
  assert.deepStrictEqual(planLoopback(desired, present, { removeOnWithdraw: false, managed }), {
    add: ['198.51.100.10/32'],
    remove: ['192.0.2.9/32'],
  });
  // An operator's own address equal to a withdrawn VIP is never removed.
  assert.deepStrictEqual(planLoopback(desired, present, { removeOnWithdraw: true, managed: new Set() }), { add: ['198.51.100.10/32'], remove: [] });
});

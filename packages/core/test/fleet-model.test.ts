import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildFleetMatrix, desiredEntrySchema, desiredField, fleetKeys, isFresh, nodeRecordSchema,
  parseFleetJson, jsonTooDeep, pendingDesired, slotAction, wantsWithdraw, type DesiredEntry, type FleetVip, type NodeRecord,
} from '../src/fleet-model.js';
import { ValidationError } from '../src/vocabulary.js';

const NOW = 1_700_000_000_000;
const P4 = '198.51.100.10/32';
const P6 = '2001:db8::10/128';

function vip(prefix: string, over: Partial<FleetVip> = {}): FleetVip {
  const med = over.med ?? 100;
  return { prefix, announced: true, med, terms: [{ kind: 'configured', med }], withdrawReasons: [], minAnnouncers: 0, inSync: true, ...over };
}

function node(name: string, vips: FleetVip[], over: Partial<NodeRecord> = {}): NodeRecord {
  return { v: 1, node: name, version: '0.1.0', instance: 'abc', startedAt: NOW - 1000, heartbeatAt: NOW, bird: { connected: true }, guarded: [], vips, ...over };
}

const withdrawn = (prefix: string): FleetVip => vip(prefix, { announced: false, withdrawReasons: [{ kind: 'health', check: 'ingest' }] });
const held = (prefix: string): FleetVip => vip(prefix, { med: 1100, terms: [{ kind: 'configured', med: 100 }, { kind: 'min-announcers', penalty: 1000 }] });

test('fleetKeys lays keys out under the prefix and refuses names that could escape it', () => {
  const k = fleetKeys('vc:prod');
  assert.equal(k.node('n1'), 'vc:prod:node:n1');
  assert.equal(k.desired('n1'), 'vc:prod:desired:n1');
  assert.equal(k.audit, 'vc:prod:audit');
  assert.equal(fleetKeys('vipcontrol:').node('n1'), 'vipcontrol:node:n1');
  assert.throws(() => k.node('n1:desired:n2'), ValidationError);
  assert.throws(() => k.node('*'), ValidationError);
  assert.throws(() => k.ack('x'), RangeError);
  assert.throws(() => fleetKeys('bad prefix'), RangeError);
  assert.throws(() => fleetKeys('a{b}'), RangeError);
  // Pub/sub is server-wide: channels carry the DB so two fleets on DB 1 and DB 2 never wake each other.
  assert.equal(fleetKeys('vc', 1).events, 'vc:db1:events');
  assert.equal(fleetKeys('vc', 2).notify('n1'), 'vc:db2:notify:n1');
  assert.equal(fleetKeys('vc', 1).node('n1'), fleetKeys('vc', 2).node('n1'), 'keys live in their DB already');
  assert.throws(() => fleetKeys('vc', -1), RangeError);
});

test('desiredField: one field per target, so later commands replace earlier ones', () => {
  assert.equal(desiredField('set-med', P4), `med:${P4}`);
  assert.equal(desiredField('reset-med', P4), `med:${P4}`);
  assert.equal(desiredField('drain'), 'drain');
  assert.equal(desiredField('undrain'), 'drain');
  assert.throws(() => desiredField('set-med'), RangeError);
});

test('parseFleetJson rejects malformed and hostile values with the key named, never throws', () => {
  const cases: [string | null, RegExp][] = [
    [null, /k: missing/],
    ['{not json', /k: not JSON/],
    ['[]', /k: \(root\)/],
    [JSON.stringify({ ...node('n1', []), v: 2 }), /k: v:/],
    [JSON.stringify(node('n1', [vip(P4, { med: 2 ** 33 })])), /vips\.0\.med/],
    [JSON.stringify(node('n1', [vip('198.51.100.10/32; }; protocol x {')])), /vips\.0\.prefix/],
    [JSON.stringify(node('n1\nevil', [])), /node/],
    [JSON.stringify(node('n1', [], { drain: { withdraw: true, source: 'operator', reason: 'x\u0007' } })), /drain\.reason: must not contain control/],
    [JSON.stringify(node('n1', [vip(P4, { terms: [{ kind: 'evil', med: 1 } as never] })])), /vips\.0\.terms\.0/],
  ];
  for (const [raw, re] of cases) {
    const r = parseFleetJson(nodeRecordSchema, raw, 'k');
    assert.equal(r.ok, false, String(raw));
    assert.match((r as { error: string }).error, re);
  }
  const ok = parseFleetJson(nodeRecordSchema, JSON.stringify(node('n1', [vip(P4), vip(P6)])), 'k');
  assert.equal(ok.ok, true);
});

test('parseFleetJson refuses by size and nesting depth before parsing: 100,000 levels do not overflow the stack', () => {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  assert.match((parseFleetJson(desiredEntrySchema, deep, 'k') as { error: string }).error, /k: nested deeper than 16 levels/);
  const deepBody = JSON.stringify({ v: 1, id: 'abcdefgh-1', seq: 1, node: 'n1', op: 'drain', body: {}, by: 'x', at: NOW }).replace('"body":{}', `"body":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`);
  assert.match((parseFleetJson(desiredEntrySchema, deepBody, 'k') as { error: string }).error, /nested deeper/);
  assert.match((parseFleetJson(desiredEntrySchema, 'x'.repeat(100), 'k', 50) as { error: string }).error, /value too large \(100 bytes, limit 50\)/);
  // Brackets inside strings are text, not nesting.
  assert.equal(jsonTooDeep(JSON.stringify({ s: '[[[[[[[[[[[[[[[[[[[[[[[[["\\' }), 16), false);
  assert.equal(jsonTooDeep('[[[]]]', 3), false);
  assert.equal(jsonTooDeep('[[[[]]]]', 3), true);
});

test('desired entries: prefix required exactly for MED ops, body bounded', () => {
  const base = { v: 1, id: 'abcdefgh-1', seq: 3, node: 'n1', by: 'op@host', at: NOW };
  assert.equal(desiredEntrySchema.safeParse({ ...base, op: 'set-med', prefix: P4, body: { med: 5 } }).success, true);
  assert.equal(desiredEntrySchema.safeParse({ ...base, op: 'set-med', body: { med: 5 } }).success, false);
  assert.equal(desiredEntrySchema.safeParse({ ...base, op: 'drain', prefix: P4, body: {} }).success, false);
  assert.equal(desiredEntrySchema.safeParse({ ...base, op: 'drain', body: { reason: 'x'.repeat(5000) } }).success, false);
  assert.equal(desiredEntrySchema.safeParse({ ...base, op: 'flush-all', body: {} }).success, false);
});

test('pendingDesired returns entries not yet processed, oldest first, by id (a flushed seq counter restarts)', () => {
  const e = (seq: number, op: DesiredEntry['op'], prefix?: string): DesiredEntry => ({ v: 1, id: `cmd-000${seq}`, seq, node: 'n1', op, prefix, body: {}, by: 'x', at: NOW });
  const entries = [
    { field: 'drain', entry: e(9, 'drain') },
    { field: `med:${P4}`, entry: e(4, 'set-med', P4) },
    { field: `med:${P6}`, entry: e(2, 'set-med', P6) },
  ];
  const pending = pendingDesired(entries, { [`med:${P6}`]: { id: 'cmd-0002', seq: 2 }, drain: { id: 'cmd-0001', seq: 1 } });
  assert.deepEqual(pending.map((p) => p.entry.seq), [4, 9]);
  // A new command after a flush has a smaller seq than the one processed, but another id: still pending.
  assert.deepEqual(pendingDesired(entries, { drain: { id: 'cmd-old', seq: 500 } }, new Set(['cmd-0004'])).map((p) => p.entry.seq), [2, 9]);
});

test('buildFleetMatrix: stale, missing and invalid nodes flagged; best = lowest-MED fresh announcer', () => {
  const records = new Map([
    ['n1', { ok: true as const, value: node('n1', [vip(P4, { med: 100 }), vip(P6, { med: 100 })]) }],
    ['n2', { ok: true as const, value: node('n2', [vip(P4, { med: 50, minAnnouncers: 2 }), withdrawn(P6)]) }],
    ['n3', { ok: true as const, value: node('n3', [vip(P4, { med: 10 })], { heartbeatAt: NOW - 60_000 }) }],
    ['n5', { ok: false as const, error: 'vc:node:n5: not JSON' }],
  ]);
  const m = buildFleetMatrix({ known: [{ node: 'n4', heartbeatAt: NOW - 3_600_000 }, { node: 'n1', heartbeatAt: NOW }], records, now: NOW, staleAfterMs: 15_000 });
  assert.deepEqual(m.nodes.map((n) => [n.node, n.state]), [['n1', 'ok'], ['n2', 'ok'], ['n3', 'stale'], ['n4', 'missing'], ['n5', 'invalid']]);
  const v4 = m.vips.find((v) => v.prefix === P4)!;
  assert.deepEqual(v4.best, ['n2']); // n3 has MED 10 but is stale
  assert.equal(v4.announcers, 2);
  assert.equal(v4.minAnnouncers, 2);
  assert.equal(v4.belowMin, false);
  assert.equal(v4.cells.n3?.stale, true);
  const v6 = m.vips.find((v) => v.prefix === P6)!;
  assert.deepEqual(v6.best, ['n1']);
  assert.equal(v6.cells.n2?.why, 'withdrawn: health ingest');
  assert.equal(v6.cells.n1?.why, 'configured 100');
});

test('withdraw slots: ask when a withdraw is wanted, force only for forced withdraws, give back once exported', () => {
  const v = (over: Partial<FleetVip>) => ({ ...vip(P4), ...over });
  // Healthy and exported: nothing to do, or give back a slot held (or unknown after a restart).
  assert.deepEqual(slotAction(v({}), 'none', true), { kind: 'none' });
  assert.deepEqual(slotAction(v({}), 'holding', false), { kind: 'release' });
  assert.deepEqual(slotAction(v({}), 'unknown', true), { kind: 'release' });
  // Announced but BIRD does not export it yet: keep the slot, others must not count this node yet.
  assert.deepEqual(slotAction(v({ inSync: false }), 'holding', false), { kind: 'none' });
  // The guard turned a withdraw into the penalty: ask (not forced).
  assert.equal(wantsWithdraw(held(P4)), true);
  assert.deepEqual(slotAction({ ...held(P4) }, 'none', true), { kind: 'acquire', force: false });
  // Withdrawn although guarded: only a forced withdraw passes the guard, so the slot is taken by force.
  assert.deepEqual(slotAction(withdrawn(P4), 'none', true), { kind: 'acquire', force: true });
  // Withdrawn while the guard was off (start-up): ask, not forced.
  assert.deepEqual(slotAction(withdrawn(P4), 'unknown', false), { kind: 'acquire', force: false });
  // Withdrawn and holding: keep.
  assert.deepEqual(slotAction(withdrawn(P4), 'holding', false), { kind: 'none' });
});

test('freshness: a heartbeat from the future is not fresh for as long as it is ahead', () => {
  assert.equal(isFresh({ heartbeatAt: NOW - 5_000 }, NOW, 10_000), true);
  assert.equal(isFresh({ heartbeatAt: NOW - 10_001 }, NOW, 10_000), false);
  assert.equal(isFresh({ heartbeatAt: NOW + 5_000 }, NOW, 10_000), true);
  assert.equal(isFresh({ heartbeatAt: NOW + 60_000 }, NOW, 10_000), false);
});

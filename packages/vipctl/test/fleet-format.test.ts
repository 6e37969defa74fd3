// `vipctl fleet status` at 16 and 1,000 nodes (issue 10): per VIP, how many nodes at which MED, the
// outliers by name; every node row up to 16 nodes, above that only those that need a look.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFleetMatrix, type FleetParse, type NodeRecord } from '@vipcontrol/core';
import { formatMatrix } from '../src/commands/fleet.js';

const P4 = '198.51.100.10/32';
const NOW = 1_700_000_000_000;

function rec(node: string, over: { med?: number; withdrawn?: boolean; drain?: boolean; heartbeatAt?: number } = {}): NodeRecord {
  const med = over.med ?? 100;
  return {
    v: 1, node, version: '1.0.0', instance: 'i-1', startedAt: NOW - 1000, heartbeatAt: over.heartbeatAt ?? NOW - 500, bird: { connected: true }, guarded: [],
    ...(over.drain ? { drain: { withdraw: false, source: 'operator' as const } } : {}),
    vips: [{
      prefix: P4, announced: !over.withdrawn, med, minAnnouncers: 2, inSync: true,
      terms: over.drain ? [{ kind: 'configured' as const, med: 100 }, { kind: 'drain' as const, penalty: med - 100 }] : [{ kind: 'configured' as const, med }],
      withdrawReasons: over.withdrawn ? [{ kind: 'health' as const, check: 'svc' }] : [],
    }],
  };
}

function matrix(records: NodeRecord[]) {
  const map = new Map<string, FleetParse<NodeRecord>>(records.map((r) => [r.node, { ok: true, value: r }]));
  return buildFleetMatrix({ known: records.map((r) => ({ node: r.node, heartbeatAt: r.heartbeatAt })), records: map, now: NOW, staleAfterMs: 10_000 });
}

test('16 nodes: the VIP is one line per MED group, outliers named with why; --wide gives the matrix', () => {
  const records = Array.from({ length: 16 }, (_, i) => {
    const node = `n${i + 1}`;
    if (node === 'n7') return rec(node, { med: 100_100, drain: true });
    if (node === 'n12') return rec(node, { withdrawn: true });
    if (node === 'n16') return rec(node, { heartbeatAt: NOW - 60_000 });
    return rec(node);
  });
  const out = formatMatrix(matrix(records));
  const vip = out.slice(out.indexOf(`${P4}:`));
  assert.match(vip, /^198\.51\.100\.10\/32: 14 announcing \(minAnnouncers 2\), best 13 nodes \(med 100\)$/m);
  assert.match(vip, /^ {2}MED 100 +13 +n1, n2, n3, … \(10 more\)$/m);
  assert.match(vip, /^ {2}MED 100100 +1 +outlier: n7 \(configured 100 \+ drain \+100000\)$/m);
  assert.match(vip, /^ {2}withdrawn +1 +outlier: n12 \(withdrawn: health svc\)$/m);
  assert.match(vip, /^ {2}stale +1 +outlier: n16 /m);
  assert.ok(vip.split('\n').length <= 6, vip);
  // All 16 node rows are shown (a fleet this size fits on a screen).
  assert.equal(out.split('\n').filter((l) => /^n\d+ /.test(l)).length, 16);
  const wide = formatMatrix(matrix(records), { wide: true });
  assert.equal(wide.split('\n').filter((l) => /^ {2}n\d+/.test(l)).length, 16);
});

test('1,000 nodes: a summary line and only the nodes that need a look', () => {
  const records = Array.from({ length: 1000 }, (_, i) => (i === 41 ? rec(`n${i + 1}`, { med: 100_100, drain: true }) : rec(`n${i + 1}`)));
  const out = formatMatrix(matrix(records));
  assert.match(out, /^1000 nodes: 1000 ok; 1 that need a look \(--wide: every node\)$/m);
  assert.match(out, /^n42 +ok /m);
  assert.match(out, /^ {2}MED 100 +999 +n1, n2, n3, … \(996 more\)$/m);
  assert.ok(out.split('\n').length < 12, out);
});

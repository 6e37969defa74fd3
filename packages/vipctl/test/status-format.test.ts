import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMedBreakdown, formatResult, formatStatus, formatTable, formatTime } from '../src/status-format.js';
import type { DaemonStatus, VipStatus } from '@vipcontrol/core';

const NOW = Date.parse('2025-11-25T08:00:00Z');

/**
 * A status as an older (or differently configured) daemon may send it, with fields missing: vipctl
 * reads JSON and must still print it (DESIGN.md's interface contract), whatever core's type promises.
 */
function olderStatus(partial: object): DaemonStatus {
  return partial as DaemonStatus;
}

function vip(over: Partial<VipStatus>): VipStatus {
  return {
    prefix: '198.51.100.10/32',
    family: 4,
    announced: true,
    med: 100,
    terms: [{ kind: 'configured', med: 100 }],
    withdrawReasons: [],
    communities: [],
    largeCommunities: [],
    inSync: true,
    exported: { present: true, med: 100, communities: [], largeCommunities: [] },
    ...over,
  };
}

test('MED breakdown names every term and the sum', () => {
  const v = vip({
    med: 1600,
    terms: [
      { kind: 'configured', med: 100 },
      { kind: 'health', check: 'ingest', penalty: 1000 },
      { kind: 'drain', penalty: 500 },
    ],
  });
  assert.equal(formatMedBreakdown(v), '100 configured + 1000 health(ingest) + 500 drain = 1600');
  assert.equal(formatMedBreakdown(vip({ med: 250, terms: [{ kind: 'override', med: 250 }] })), '250 override = 250');
  assert.equal(formatMedBreakdown(vip({ med: 7, terms: [] })), '7');
});

test('relative times', () => {
  assert.equal(formatTime(NOW + 30 * 60_000, NOW), '2025-11-25T08:30:00Z (in 30m)');
  assert.equal(formatTime(NOW - 3_000, NOW), '2025-11-25T07:59:57Z (3s ago)');
  assert.equal(formatTime(NOW + 200, NOW), '2025-11-25T08:00:00Z (now)');
  assert.equal(formatTime(NOW - 61_503, NOW), '2025-11-25T07:58:58Z (1m2s ago)');
});

test('table columns align and the last column is not padded', () => {
  assert.deepEqual(formatTable(['A', 'BB'], [['xyz', '1'], ['p', '22']]), ['A    BB', 'xyz  1', 'p    22']);
});

test('status shows announced, MED, BIRD MED, sync, override, withdrawal, drain, health, last apply', () => {
  const status = olderStatus({
    node: 'n1',
    version: '0.1.0',
    startedAt: NOW - 3_600_000,
    bird: {
      connected: true,
      version: '3.3.2',
      socket: '/run/bird/bird.ctl',
      lastApply: { id: 7, at: NOW - 2_000, durationMs: 3.04, ok: false, error: 'BIRD said no', changed: ['198.51.100.10/32 med 100→250', '2001:db8::10/128 withdrawn'] },
      error: 'BIRD said no; the change stays desired',
      retryAt: NOW + 5_000,
    },
    config: { file: '/etc/vipcontrol/vipcontrol.yaml', loadedAt: NOW - 60_000, error: 'f:1:1: a: bad\nf:2:1: b: bad', errorAt: NOW - 1_000 },
    loopback: { interface: 'lo', manage: true, error: 'ip: Operation not permitted' },
    guarded: ['198.51.100.10/32'],
    drain: { withdraw: false, at: NOW - 60_000, reason: 'kernel upgrade', by: 'alice@h', source: 'operator' },
    health: {
      leaseExpired: false,
      lastReportAt: NOW - 1_000,
      checks: [
        {
          name: 'ingest',
          status: 'down',
          vips: ['198.51.100.10/32'],
          effect: { penalty: 1000 },
          since: NOW - 10_000,
          lastResult: { ok: false, at: NOW - 1_000, latencyMs: 12, detail: 'connection refused' },
        },
      ],
    },
    vips: [
      vip({
        med: 1750,
        terms: [
          { kind: 'override', med: 250, expiresAt: NOW + 1_800_000, reason: 'shift' },
          { kind: 'health', check: 'ingest', penalty: 1000 },
          { kind: 'drain', penalty: 500 },
        ],
        override: { med: 250, expiresAt: NOW + 1_800_000, reason: 'shift', setAt: NOW - 5_000, setBy: 'alice@h' },
        exported: { present: true, med: 1600, communities: [], largeCommunities: [] },
        inSync: false,
        communities: ['65000:100'],
        largeCommunities: ['65000:1:2'],
      }),
      vip({
        prefix: '2001:db8::10/128',
        family: 6,
        announced: false,
        withdrawReasons: [{ kind: 'operator', reason: 'rack move' }],
        exported: { present: false, communities: [], largeCommunities: [] },
      }),
    ],
  });
  const out = formatStatus(status, NOW);
  const lines = out.split('\n');
  assert.match(out, /^node: +n1 \(vipcontrol 0\.1\.0, up since 2025-11-25T07:00:00Z \(1h ago\)\)$/m);
  assert.match(out, /^bird: +connected to BIRD 3\.3\.2 \(\/run\/bird\/bird\.ctl\)$/m);
  assert.match(out, /^apply: +#7 at .* in 3 ms: FAILED: BIRD said no: 198\.51\.100\.10\/32 med 100→250, 2001:db8::10\/128 withdrawn$/m);
  assert.match(out, /^error: +BIRD said no; the change stays desired, retry 2025-11-25T08:00:05Z \(in 5s\)$/m);
  assert.match(out, /^ +last reload REFUSED at .*: f:1:1: a: bad; f:2:1: b: bad$/m);
  assert.match(out, /^loopback: lo: ip: Operation not permitted$/m);
  assert.match(out, /^guarded: +198\.51\.100\.10\/32 \(withdraw refused by minAnnouncers\)$/m);
  assert.match(out, /^drain: +yes, MED penalty \(operator\) since .*, by alice@h, reason "kernel upgrade"$/m);
  assert.match(out, /^ {2}ingest: down since .*, penalty 1000 on 198\.51\.100\.10\/32, last FAIL 12 ms \(connection refused\)$/m);
  const header = lines.findIndex((l) => l.startsWith('PREFIX'));
  assert.ok(header > 0, out);
  assert.deepEqual(lines[header + 1]?.split(/ {2,}/), [
    '198.51.100.10/32',
    'yes',
    '1750',
    '1600',
    'NO',
    '250 override + 1000 health(ingest) + 500 drain = 1750',
  ]);
  assert.match(out, /override: MED 250, expires 2025-11-25T08:30:00Z \(in 30m\) reason "shift" by alice@h/);
  assert.match(out, /communities: 65000:100 65000:1:2/);
  assert.match(out, /^2001:db8::10\/128 +no +100 +absent +yes /m);
  assert.match(out, /withdrawn: operator \(rack move\)/);
});

test('status without drain, health or applies says so', () => {
  const out = formatStatus(olderStatus({ node: 'n2', bird: { connected: false }, vips: [] }), NOW);
  assert.match(out, /^bird: +NOT CONNECTED$/m);
  const lost = formatStatus(olderStatus({ node: 'n2', bird: { connected: false, version: '2.19.2', socket: '/run/bird/bird.ctl' }, vips: [] }), NOW);
  assert.match(lost, /^bird: +NOT CONNECTED \(\/run\/bird\/bird\.ctl; last BIRD 2\.19\.2\)$/m);
  assert.match(out, /^apply: +none yet$/m);
  assert.match(out, /^drain: +no$/m);
  assert.match(out, /^health: +no checks reported$/m);
  assert.match(out, /^no VIPs configured$/m);
});

test('a fresh node says plainly that health is not known yet, and which checks have no verdict', () => {
  const awaiting = formatStatus(olderStatus({
    node: 'n1', bird: { connected: true }, health: { leaseExpired: false, leaseMs: 10_000, held: [], reportsRefused: 0, checks: [], awaitingFirstReport: { until: NOW + 9000 } },
    vips: [vip({ announced: false, withdrawReasons: [{ kind: 'awaiting-health' }] })],
  }), NOW);
  assert.match(awaiting, /^health: +NOT KNOWN YET \(fresh node\): nothing is announced until viphealth's first report, or without it .* \(in 9s\)$/m);
  assert.match(awaiting, /^ +withdrawn: health not known yet \(awaiting viphealth's first report\)$/m);
  const pending = formatStatus(olderStatus({
    node: 'n1', bird: { connected: true },
    health: { leaseExpired: false, leaseMs: 10_000, held: [], pending: ['ingest'], reportsRefused: 0, lastReportAt: NOW, checks: [{ name: 'ingest', status: 'down', vips: ['198.51.100.10/32'], effect: { penalty: 1000 }, since: NOW }] },
    vips: [vip({ announced: false, withdrawReasons: [{ kind: 'health', check: 'ingest' }] })],
  }), NOW);
  assert.match(pending, /^ {2}ingest: NO VERDICT YET \(fresh node\): its VIPs stay withdrawn until its first, penalty 1000 on 198\.51\.100\.10\/32$/m);
});

test('mutation result: one line per affected VIP', () => {
  assert.equal(
    formatResult([vip({ med: 250, terms: [{ kind: 'override', med: 250 }] }), vip({ prefix: '2001:db8::10/128', announced: false, withdrawReasons: [{ kind: 'drain' }], inSync: false })]),
    '198.51.100.10/32: announced, MED 250 (250 override = 250)\n2001:db8::10/128: withdrawn (drain) [BIRD not in sync yet]\n',
  );
  assert.equal(formatResult([]), 'ok\n');
});

test('maintenance windows: active, next (skipped), a window node-cron rejected', () => {
  const windows = [
    { index: 0, cron: '0 3 * * 2', durationMs: 1_800_000, action: 'withdraw', next: NOW + 3_600_000 },
    { index: 1, cron: '99 * * * *', durationMs: 60_000, action: 'drain', error: 'maintenance[1].cron: node-cron rejects "99 * * * *"' },
  ];
  const active = { index: 0, action: 'withdraw', startedAt: NOW - 60_000, until: NOW + 600_000, caughtUp: true, yieldedToOperator: false };
  const out = formatStatus(olderStatus({ node: 'n1', bird: { connected: true }, vips: [], maintenance: { windows, active, next: { index: 0, at: NOW + 3_600_000, skipped: true } } }), NOW);
  assert.match(out, /^maint: +ACTIVE withdraw \(window 0 "0 3 \* \* 2"\) since .* \(1m ago\), until .* \(in 10m\) \(entered at start-up\)$/m);
  assert.match(out, /^ {10}next withdraw 2025-11-25T09:00:00Z \(in 1h\) \(window 0 "0 3 \* \* 2"\) SKIPPED by operator$/m);
  assert.match(out, /^ {10}window 1: maintenance\[1\]\.cron: node-cron rejects/m);
  const idle = formatStatus(olderStatus({ node: 'n1', bird: { connected: true }, vips: [], maintenance: { windows: [] } }), NOW);
  assert.match(idle, /^maint: +no window scheduled$/m);
  assert.doesNotMatch(formatStatus(olderStatus({ node: 'n1', bird: { connected: true }, vips: [] }), NOW), /maint:/);
});

test('status shows the fabric protocols, a pending configure that is not ours, and why a VIP is not exported', () => {
  const status = olderStatus({
    node: 'n1',
    bird: {
      connected: true,
      fabric: [{ name: 'fabric4', family: 4, session: 'internal', state: 'Established' }, { name: 'up6', family: 6, session: 'external', state: 'Active' }],
      pendingConfigure: { owner: 'other', undoInSec: 42, seenAt: NOW, holdUntil: NOW + 30_000 },
    },
    vips: [
      vip({
        inSync: false,
        exported: { present: false, communities: [], largeCommunities: [], to: [], missing: ['fabric4'], reason: "lodirect's route (preference 240) is BIRD's best path", verifiedAt: 'fabric', inTable: true },
      }),
      vip({ prefix: '198.51.100.11/32', exported: { present: true, med: 100, communities: [], largeCommunities: [], to: ['up4'], missing: [], medUnverified: 'eBGP (up4): …' } }),
    ],
  });
  const text = formatStatus(status, NOW);
  assert.match(text, /^fabric: {3}fabric4 \(ipv4, iBGP, Established\), up6 \(ipv6, eBGP, Active\)$/m);
  assert.match(text, /^pending: {2}BIRD has an unconfirmed configure that is NOT vipcontrol's \(undo in 42 s\); changes held until 2025-11-25T08:00:30Z \(in 30s\)$/m);
  assert.match(text, /^ {4}NOT exported to fabric4: lodirect's route \(preference 240\) is BIRD's best path$/m);
  assert.match(text, /^ {4}MED unverified: eBGP \(up4\): …$/m);
  assert.match(formatStatus(olderStatus({ node: 'n1', bird: { connected: true, fabric: [] }, vips: [] }), NOW), /fabric: {3}no BGP protocol found: exports to the fabric NOT verified/);
});

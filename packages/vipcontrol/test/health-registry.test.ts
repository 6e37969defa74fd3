import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, uniqueId, type TempDir } from '@vipcontrol/testlab';
import { vipSetParts, type CheckVerdict, type HealthReport, type HealthView } from '@vipcontrol/core';
import { HealthRegistry } from '../src/health-registry.js';
import { HealthSnapshotStore, healthSnapshotPath } from '../src/health-snapshot.js';
import { OperationError } from '../src/errors.js';

/** A logger fake that records what was logged, by level. */
function fakeLogger() {
  const lines: { level: string; obj: Record<string, unknown> }[] = [];
  const at = (level: string) => (obj: object) => void lines.push({ level, obj: obj as Record<string, unknown> });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

function verdict(name: string, status: CheckVerdict['status'], extra: Partial<CheckVerdict> = {}): CheckVerdict {
  return { name, status, vips: ['198.51.100.10/32'], effect: { penalty: 1000 }, since: 1000, ...extra };
}

function report(instance: string, checks: CheckVerdict[]): HealthReport {
  return { instance, startedAt: 1000, checks };
}

const statuses = (v: HealthView) => v.checks.map((c) => `${c.name}=${c.status}`);

describe('HealthRegistry', () => {
  it('emits change only when a verdict changes, not on heartbeats', () => {
    const { logger } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 10_000, logger, now: () => 5000 });
    const changes: HealthView[] = [];
    reg.on('change', (v: HealthView) => changes.push(v));
    assert.deepStrictEqual(reg.ingest(report('a', [verdict('ingest', 'up')])), { changed: true });
    const beat = verdict('ingest', 'up', { lastResult: { ok: true, at: 4000, latencyMs: 1.5, detail: 'connected' } });
    assert.deepStrictEqual(reg.ingest(report('a', [beat])), { changed: false });
    assert.deepStrictEqual(reg.ingest(report('a', [verdict('ingest', 'down', { since: 4900 })])), { changed: true });
    assert.deepStrictEqual(reg.ingest(report('a', [verdict('ingest', 'down', { effect: { withdraw: true } })])), { changed: true });
    assert.deepStrictEqual(reg.ingest(report('a', [])), { changed: true }, 'a removed check changes the view');
    assert.deepStrictEqual(changes.map(statuses), [['ingest=up'], ['ingest=down'], ['ingest=down'], []]);
  });

  it('a restarted viphealth reporting unknown keeps the previous verdicts; a new check waits for its own', () => {
    const { logger, lines } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 10_000, logger, now: () => 5000 });
    reg.ingest(report('old', [verdict('a', 'down', { since: 3000 }), verdict('b', 'up')]));
    const restarted = report('new', [verdict('a', 'unknown', { since: 4999 }), verdict('b', 'unknown'), verdict('c', 'unknown')]);
    assert.deepStrictEqual(reg.ingest(restarted), { changed: true }, 'the new check c appears');
    assert.deepStrictEqual(statuses(reg.view()), ['a=down', 'b=up', 'c=unknown'], 'a check added on a running node gates nothing yet');
    assert.equal(reg.view().checks[0]!.since, 3000, 'the held verdict keeps its own since');
    assert.deepStrictEqual([reg.status().held, reg.status().pending, reg.status().awaitingVerdict], [['a', 'b'], [], ['c']]);
    assert.ok(lines.some((l) => l.obj.event === 'viphealthRestarted'));
    // The new instance reaches its own verdicts: only a real difference is a change.
    assert.deepStrictEqual(reg.ingest(report('new', [verdict('a', 'down'), verdict('b', 'up'), verdict('c', 'unknown')])), {
      changed: false,
    });
    assert.deepStrictEqual(reg.ingest(report('new', [verdict('a', 'up'), verdict('b', 'up'), verdict('c', 'unknown')])), {
      changed: true,
    });
    assert.deepStrictEqual([reg.status().held, reg.status().awaitingVerdict], [[], ['c']]);
    reg.ingest(report('new', [verdict('a', 'up'), verdict('b', 'up'), verdict('c', 'down')]));
    assert.deepStrictEqual([statuses(reg.view()), reg.status().awaitingVerdict], [['a=up', 'b=up', 'c=down'], []]);
  });

  it('format 2: a report naming an unknown VIP list gets 409 until its parts are in; a list not matching its digest is refused and counted', () => {
    const { logger, lines } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 10_000, logger, now: () => 5000 });
    const vips = Array.from({ length: 2500 }, (_, i) => `10.${i >> 8}.${i & 255}.1/32`);
    const parts = vipSetParts(vips);
    const body = (extra: object = {}) => ({
      version: 2, instance: 'i', startedAt: 1, checks: [{ name: 'big', status: 'down', vipSet: parts[0]!.set, effect: { withdraw: true }, since: 1 }], ...extra,
    });
    const status = (f: () => unknown) => {
      try {
        f();
        return 200;
      } catch (err) {
        return [(err as OperationError).status, (err as OperationError).details];
      }
    };
    assert.deepStrictEqual(status(() => reg.receive(body())), [409, { missingVipSets: [parts[0]!.set] }]);
    assert.deepStrictEqual(status(() => reg.receive(body({ vipSetParts: parts.slice(0, 2) }))), [409, { missingVipSets: [parts[0]!.set] }], 'two of three parts');
    assert.equal(status(() => reg.receive(body({ vipSetParts: parts.slice(2) }))), 200, 'the last part completes the list');
    assert.equal(reg.view().checks[0]!.vips.length, 2500);
    assert.equal(status(() => reg.receive(body())), 200, 'a heartbeat names the list only');
    assert.equal(reg.status().reportsRefused, 0, 'asking for a list is not a refusal');

    const forged = vipSetParts(['192.0.2.1/32']).map((p) => ({ ...p, set: vipSetParts(['192.0.2.2/32'])[0]!.set }));
    const refused = status(() => reg.receive(body({ vipSetParts: forged })));
    assert.equal((refused as [number])[0], 400);
    assert.equal(reg.status().reportsRefused, 1);
    assert.match(reg.status().lastRefusal!.error, /do not match its digest/);
    assert.ok(lines.some((l) => l.level === 'error' && l.obj.event === 'healthReportRefused'));
  });

  it('a refused report starts the lease even when none was ever accepted', () => {
    let now = 1000;
    const reg = new HealthRegistry({ leaseMs: 10_000, logger: fakeLogger().logger, now: () => now });
    assert.throws(() => reg.receive({ instance: 'old', startedAt: 1, checks: [] }), /format 1/);
    now += 10_000;
    assert.equal(reg.view().leaseExpired, true, 'the lease policy takes over instead of leaving VIPs ungated');
  });

  it('on a fresh node (no verdict ever) an unproven check counts as down', () => {
    const reg = new HealthRegistry({ leaseMs: 10_000, logger: fakeLogger().logger, now: () => 5000 });
    reg.ingest(report('first', [verdict('a', 'unknown'), verdict('b', 'up')]));
    assert.deepStrictEqual([statuses(reg.view()), reg.status().pending], [['a=down', 'b=up'], ['a']]);
    reg.ingest(report('first', [verdict('a', 'unknown'), verdict('b', 'up')]));
    assert.deepStrictEqual(statuses(reg.view()), ['a=down', 'b=up'], 'still pending on the next report');
  });

  it('refuses a malformed report with a 400 and keeps the old view', () => {
    const { logger } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 10_000, logger });
    reg.ingest(report('a', [verdict('x', 'up')]));
    const bad = [
      { instance: 'a', startedAt: 1, checks: [{ ...verdict('x', 'up'), status: 'great' }] },
      { instance: 'a', startedAt: 1, checks: [verdict('x', 'up', { vips: ['198.51.100.10/24'] })] },
      { instance: 'a', startedAt: 1, checks: [verdict('x', 'up'), verdict('x', 'down')] },
      { instance: 'a b', startedAt: 1, checks: [] },
      null,
    ];
    for (const body of bad) {
      assert.throws(
        () => reg.ingest(body as unknown as HealthReport),
        (err) => err instanceof OperationError && err.status === 400 && /invalid health report/.test(err.message),
      );
    }
    assert.deepStrictEqual(statuses(reg.view()), ['x=up']);
  });

  it('canonicalises prefixes and blanks control characters in evidence', () => {
    const { logger } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 10_000, logger });
    reg.ingest(report('a', [verdict('x', 'up', { vips: ['2001:DB8::0010/128'], lastResult: { ok: false, at: 1, detail: 'a\nb\u202e' } })]));
    const [c] = reg.view().checks;
    assert.deepStrictEqual([c!.vips, c!.lastResult?.detail], [['2001:db8::10/128'], 'a b ']);
  });

  it('expires the lease only after a first report, loudly, and restores it', async () => {
    const { logger, lines } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 150, logger });
    reg.start();
    try {
      assert.equal(reg.view(Date.now() + 60_000).leaseExpired, false, 'no lease before the first report');
      reg.ingest(report('a', [verdict('x', 'up')]));
      const start = Date.now();
      const [view] = (await once(reg, 'change')) as [HealthView];
      assert.equal(view.leaseExpired, true);
      assert.ok(Date.now() - start >= 140, 'expired no earlier than leaseMs');
      assert.deepStrictEqual(statuses(view), ['x=up'], 'verdicts are held; the policy is applied by computeEffective');
      const expired = lines.find((l) => l.obj.event === 'healthLeaseExpired');
      assert.equal(expired?.level, 'error');
      assert.equal(reg.status().leaseExpired, true);
      assert.deepStrictEqual(reg.ingest(report('a', [verdict('x', 'up')])), { changed: true });
      assert.equal(reg.view().leaseExpired, false);
      assert.ok(lines.some((l) => l.obj.event === 'healthLeaseRestored' && l.level === 'warn'));
      assert.equal(lines.filter((l) => l.obj.event === 'healthLeaseExpired').length, 1, 'logged once per expiry');
    } finally {
      await reg.stop();
    }
  });
});

describe('HealthRegistry snapshot (vipcontrol restart)', () => {
  let dir: TempDir;
  before(async () => (dir = await makeTempDir('health-snapshot')));
  after(async () => dir?.cleanup());

  /** A registry persisting to `file`, with a controllable clock (default: the real one). */
  function registry(file: string, clock?: { now: number }, leaseMs = 10_000) {
    const { logger, lines } = fakeLogger();
    const snapshot = new HealthSnapshotStore({ file, logger });
    return { reg: new HealthRegistry({ leaseMs, logger, now: clock ? () => clock.now : Date.now, snapshot }), lines };
  }

  it('restores the last verdicts as held until the first report, with a fresh lease', async () => {
    const file = join(dir.path, `${uniqueId()}.health.json`);
    const clock = { now: 5000 };
    const first = registry(file, clock).reg;
    first.ingest(report('vh1', [verdict('a', 'down', { since: 4000 }), verdict('b', 'up'), verdict('c', 'unknown')]));
    await first.stop();

    clock.now = 60_000; // long after: a lease counted from the last report would have expired
    const { reg, lines } = registry(file, clock);
    await reg.restore();
    assert.deepStrictEqual(statuses(reg.view()), ['a=down', 'b=up', 'c=down']);
    assert.equal(reg.view().leaseExpired, false, 'the lease counts from start-up');
    assert.equal(reg.view(60_000 + 10_000).leaseExpired, true, '...and does expire leaseMs after it');
    const status = reg.status();
    assert.deepStrictEqual([status.held, status.pending, status.instance], [['a', 'b'], ['c'], 'vh1']);
    assert.equal(status.restored?.file, file);
    assert.equal(status.lastReportAt, undefined, 'no report received by this process yet');
    assert.ok(lines.some((l) => l.obj.event === 'healthRestored'));

    // The same viphealth reports again with its own verdicts: nothing changes, nothing is held.
    const changes: HealthView[] = [];
    reg.on('change', (v: HealthView) => changes.push(v));
    clock.now = 60_100;
    reg.ingest(report('vh1', [verdict('a', 'down'), verdict('b', 'up'), verdict('c', 'unknown')]));
    assert.deepStrictEqual([changes.length, reg.status().held, reg.status().pending, reg.status().restored], [0, [], ['c'], undefined]);
    assert.ok(!lines.some((l) => l.obj.event === 'viphealthRestarted'), 'same instance: not a viphealth restart');
    await reg.stop();
  });

  it('a new viphealth reporting unknown after the restart keeps the restored verdicts', async () => {
    const file = join(dir.path, `${uniqueId()}.health.json`);
    const clock = { now: 5000 };
    const first = registry(file, clock).reg;
    first.ingest(report('vh1', [verdict('a', 'down', { since: 4000 })]));
    await first.stop();
    const { reg } = registry(file, clock);
    await reg.restore();
    assert.deepStrictEqual(reg.ingest(report('vh2', [verdict('a', 'unknown')])), { changed: false });
    assert.deepStrictEqual([statuses(reg.view()), reg.view().checks[0]!.since, reg.status().held], [['a=down'], 4000, ['a']]);
    await reg.stop();
  });

  it('keeps an expired lease expired across the restart', async () => {
    const file = join(dir.path, `${uniqueId()}.health.json`);
    const first = registry(file, undefined, 50);
    first.reg.start();
    first.reg.ingest(report('vh1', [verdict('a', 'up')]));
    await once(first.reg, 'change');
    await first.reg.stop();
    const { reg } = registry(file, undefined, 50);
    await reg.restore();
    assert.equal(reg.view().leaseExpired, true, 'the lease policy stays in force until viphealth reports');
    assert.deepStrictEqual(reg.ingest(report('vh1', [verdict('a', 'up')])), { changed: true });
    assert.equal(reg.view().leaseExpired, false);
    await reg.stop();
  });

  it('writes the snapshot only when the view changes, atomically', async () => {
    const file = join(dir.path, `${uniqueId()}.health.json`);
    const clock = { now: 5000 };
    const { reg } = registry(file, clock);
    reg.ingest(report('vh1', [verdict('a', 'up')]));
    await reg.stop();
    const before = await stat(file);
    clock.now = 6000;
    reg.ingest(report('vh1', [verdict('a', 'up', { lastResult: { ok: true, at: 5900 } })])); // a heartbeat
    await reg.stop();
    assert.equal((await stat(file)).mtimeMs, before.mtimeMs, 'a heartbeat does not rewrite it');
    reg.ingest(report('vh1', [verdict('a', 'down')]));
    await reg.stop();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { checks: CheckVerdict[] };
    assert.deepStrictEqual(saved.checks.map((c) => c.status), ['down']);
    assert.deepStrictEqual((await readdir(dir.path)).filter((n) => n.includes('.tmp-')), [], 'no temp file left behind');
  });

  it('starts without a corrupt or absent snapshot, and says so', async () => {
    for (const [content, event] of [
      [undefined, 'healthSnapshotAbsent'],
      ['{"version": 1, "savedAt": 1, "instance": "x"', 'healthSnapshotCorrupt'],
      ['{"version": 1, "savedAt": 1, "instance": "x", "startedAt": 1, "leaseExpired": false, "pending": [], ' +
        '"checks": [{"name": "a", "status": "unknown", "vips": [], "effect": {"penalty": 1}, "since": 1}]}', 'healthSnapshotCorrupt'],
      ['{"version": 2}', 'healthSnapshotCorrupt'],
    ] as const) {
      const file = join(dir.path, `${uniqueId()}.health.json`);
      if (content !== undefined) await writeFile(file, content);
      const { reg, lines } = registry(file, { now: 5000 });
      await reg.restore();
      assert.deepStrictEqual([reg.view().checks, reg.status().held, reg.view(1e12).leaseExpired], [[], [], false], String(content));
      assert.ok(lines.some((l) => l.obj.event === event), `${event} for ${String(content)}`);
    }
  });

  it('names the snapshot after the state file', () => {
    assert.equal(healthSnapshotPath('/var/lib/vipcontrol/state.json'), '/var/lib/vipcontrol/state.health.json');
    assert.equal(healthSnapshotPath('/srv/vc/runtime'), '/srv/vc/runtime.health.json');
  });
});

describe('HealthRegistry on a fresh node (no snapshot, nothing announced)', () => {
  let dir: TempDir;
  before(async () => (dir = await makeTempDir('health-fresh')));
  after(async () => dir?.cleanup());

  function registry(firstReportWaitMs: number) {
    const { logger, lines } = fakeLogger();
    const snapshot = new HealthSnapshotStore({ file: join(dir.path, `${uniqueId()}.health.json`), logger });
    return { reg: new HealthRegistry({ leaseMs: 10_000, firstReportWaitMs, logger, snapshot }), lines, snapshot };
  }

  it('awaits viphealth\'s first report, then holds each never-proven check as pending', async () => {
    const { reg, lines } = registry(60_000);
    await reg.restore(true);
    reg.start();
    try {
      assert.deepStrictEqual(reg.view(), { checks: [], leaseExpired: false, awaitingFirstReport: true });
      assert.ok((reg.status().awaitingFirstReport?.until ?? 0) > Date.now(), 'status says until when');
      assert.ok(lines.some((l) => l.obj.event === 'healthAwaitingFirstReport'));
      const changes: HealthView[] = [];
      reg.on('change', (v: HealthView) => changes.push(v));
      assert.deepStrictEqual(reg.ingest(report('vh', [verdict('a', 'unknown'), verdict('b', 'up')])), { changed: true });
      assert.deepStrictEqual(changes.map((v) => [v.awaitingFirstReport, v.pending, statuses(v)]), [[undefined, ['a'], ['a=down', 'b=up']]]);
      assert.equal(reg.status().awaitingFirstReport, undefined);
      // The first verdict of `a` is a change even though it is `down` again: pending no longer withholds it.
      assert.deepStrictEqual(reg.ingest(report('vh', [verdict('a', 'down'), verdict('b', 'up')])), { changed: true });
      assert.equal(reg.view().pending, undefined);
    } finally {
      await reg.stop();
    }
  });

  it('announces without health once firstReportWait passes with no report', async () => {
    const { reg, lines } = registry(50);
    await reg.restore(true);
    reg.start();
    try {
      const [view] = (await once(reg, 'change')) as [HealthView];
      assert.deepStrictEqual(view, { checks: [], leaseExpired: false });
      assert.ok(lines.some((l) => l.level === 'warn' && l.obj.event === 'healthFirstReportMissing'));
      assert.equal(reg.view().leaseExpired, false, 'no report ever: no lease to expire');
    } finally {
      await reg.stop();
    }
  });

  it('does not wait when something is announced already, when the wait is 0, or with a snapshot', async () => {
    for (const [waitMs, nothingAnnounced] of [[60_000, false], [0, true]] as const) {
      const { reg } = registry(waitMs);
      await reg.restore(nothingAnnounced);
      assert.equal(reg.view().awaitingFirstReport, undefined, `wait ${waitMs}, nothing announced ${nothingAnnounced}`);
    }
    const { reg: first, snapshot } = registry(0);
    first.ingest(report('vh', [verdict('a', 'up')]));
    await first.stop();
    const restarted = new HealthRegistry({ leaseMs: 10_000, firstReportWaitMs: 60_000, logger: fakeLogger().logger, snapshot: new HealthSnapshotStore({ file: snapshot.file, logger: fakeLogger().logger }) });
    await restarted.restore(true);
    assert.deepStrictEqual([restarted.view().awaitingFirstReport, statuses(restarted.view())], [undefined, ['a=up']]);
  });
});

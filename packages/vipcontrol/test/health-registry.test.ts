import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { CheckVerdict, HealthReport, HealthView } from '@vipcontrol/core';
import { HealthRegistry } from '../src/health-registry.js';
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

  it('a restarted viphealth reporting unknown keeps the previous verdicts', () => {
    const { logger, lines } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 10_000, logger, now: () => 5000 });
    reg.ingest(report('old', [verdict('a', 'down', { since: 3000 }), verdict('b', 'up')]));
    const restarted = report('new', [verdict('a', 'unknown', { since: 4999 }), verdict('b', 'unknown'), verdict('c', 'unknown')]);
    assert.deepStrictEqual(reg.ingest(restarted), { changed: true }, 'the new check c appears');
    assert.deepStrictEqual(statuses(reg.view()), ['a=down', 'b=up', 'c=down'], 'a check never proven counts as down');
    assert.equal(reg.view().checks[0]!.since, 3000, 'the held verdict keeps its own since');
    assert.deepStrictEqual([reg.status().held, reg.status().pending], [['a', 'b'], ['c']]);
    assert.ok(lines.some((l) => l.obj.event === 'viphealthRestarted'));
    // The new instance reaches its own verdicts: only a real difference is a change.
    assert.deepStrictEqual(reg.ingest(report('new', [verdict('a', 'down'), verdict('b', 'up'), verdict('c', 'unknown')])), {
      changed: false,
    });
    assert.deepStrictEqual(reg.ingest(report('new', [verdict('a', 'up'), verdict('b', 'up'), verdict('c', 'unknown')])), {
      changed: true,
    });
    assert.deepStrictEqual([reg.status().held, reg.status().pending], [[], ['c']]);
    reg.ingest(report('new', [verdict('a', 'up'), verdict('b', 'up'), verdict('c', 'up')]));
    assert.deepStrictEqual([statuses(reg.view()), reg.status().pending], [['a=up', 'b=up', 'c=up'], []]);
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

  it('canonicalises prefixes and strips unprintable evidence', () => {
    const { logger } = fakeLogger();
    const reg = new HealthRegistry({ leaseMs: 10_000, logger });
    reg.ingest(report('a', [verdict('x', 'up', { vips: ['2001:DB8::0010/128'], lastResult: { ok: false, at: 1, detail: 'a\nb\u202e' } })]));
    const [c] = reg.view().checks;
    assert.deepStrictEqual([c!.vips, c!.lastResult?.detail], [['2001:db8::10/128'], 'ab']);
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
      reg.stop();
    }
  });
});

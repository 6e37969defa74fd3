/**
 * viphealth's Prometheus metrics: each check's state, last latency and transitions, and the reports
 * to vipcontrol. Gauges read the same snapshot that is reported to vipcontrol, at scrape time.
 * The table of names is in docs/metrics.md.
 */
import { Counter, Gauge, SnapshotRegistry, collectDefaultMetrics, type Registry } from '@vipcontrol/metrics';
import type { HealthTransition } from '@vipcontrol/core';
import type { Viphealth } from './viphealth.js';

const CHECK_STATES = ['up', 'down', 'disabled', 'unknown'] as const;

/** Builds the registry; subscribes to `daemon`'s transitions. */
export function createViphealthMetrics(daemon: Viphealth): Registry {
  // One snapshot per scrape, shared by the per-check gauges.
  const registry = new SnapshotRegistry(() => daemon.snapshot());
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'viphealth_check_state',
    help: "Each check's state: 1 for the current state label, 0 for the others.",
    labelNames: ['check', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of registry.snapshot.checks) for (const s of CHECK_STATES) this.set({ check: c.name, state: s }, Number(c.status === s));
    },
  });
  new Gauge({
    name: 'viphealth_check_latency_seconds',
    help: "Duration of each check's last run.",
    labelNames: ['check'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of registry.snapshot.checks) {
        if (c.lastResult?.latencyMs !== undefined) this.set({ check: c.name }, c.lastResult.latencyMs / 1000);
      }
    },
  });
  new Gauge({
    name: 'viphealth_check_last_success',
    help: "1 when each check's last run passed, 0 when it failed (absent before its first run).",
    labelNames: ['check'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of registry.snapshot.checks) if (c.lastResult !== undefined) this.set({ check: c.name }, Number(c.lastResult.ok));
    },
  });
  const transitions = new Counter({
    name: 'viphealth_check_transitions_total',
    help: 'State changes per check, by the state entered.',
    labelNames: ['check', 'to'],
    registers: [registry],
  });
  daemon.on('transition', (check: string, t: HealthTransition) => transitions.inc({ check, to: t.to }));
  const reports = (name: string, help: string, total: () => number) => {
    let counted = 0;
    return new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // The daemon keeps monotonic totals; the counter catches up with them at each scrape.
        const now = total();
        if (now > counted) this.inc(now - counted);
        counted = now;
      },
    });
  };
  reports('viphealth_reports_sent_total', 'Reports vipcontrol accepted.', () => daemon.reportsSent);
  reports('viphealth_reports_failed_total', 'Reports not delivered or refused by vipcontrol (retried).', () => daemon.reportsFailed);
  return registry;
}

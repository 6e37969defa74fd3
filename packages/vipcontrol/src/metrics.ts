/**
 * vipcontrol's Prometheus metrics. Gauges are read from `controller.status()` at scrape time — the
 * same projection `vipctl status` prints, so the two can never tell different stories — and counters
 * and the apply histogram follow the controller's and the BIRD client's events. BIRD's protocol
 * states are asked at scrape time (`show protocols`, one short command on the control socket).
 * The table of names is in docs/metrics.md.
 */
import type { BirdClient } from '@vipcontrol/bird';
import { Counter, Gauge, Histogram, SnapshotRegistry, collectDefaultMetrics, type Registry } from '@vipcontrol/metrics';
import type { VipController } from './controller.js';
import type { ApplyOutcome, DaemonStatus } from './daemon-types.js';

const CHECK_STATES = ['up', 'down', 'disabled', 'unknown'] as const;

/** Builds the registry for one daemon; call once, it subscribes to `controller` and `bird`. */
export function createVipcontrolMetrics(opts: { controller: VipController; bird: BirdClient; version: string }): Registry {
  const { controller, bird } = opts;
  // One status() per scrape, shared by every gauge's collect: the whole page is one consistent view.
  const registry = new SnapshotRegistry(() => controller.status());
  collectDefaultMetrics({ register: registry });
  const status = (): DaemonStatus => registry.snapshot;
  const perVip = (name: string, help: string, value: (v: DaemonStatus['vips'][number]) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['prefix'],
      registers: [registry],
      collect() {
        this.reset();
        for (const vip of status().vips) {
          const x = value(vip);
          if (x !== undefined) this.set({ prefix: vip.prefix }, x);
        }
      },
    });

  new Gauge({
    name: 'vipcontrol_build_info',
    help: 'Always 1; labels name the vipcontrol version and the node.',
    labelNames: ['version', 'node'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ version: opts.version, node: status().node }, 1);
    },
  });
  perVip('vipcontrol_vip_announced', '1 while the VIP should be announced (effective state), else 0.', (v) => Number(v.announced));
  perVip('vipcontrol_vip_med', 'Effective MED of the VIP (configured or override, plus penalties).', (v) => v.med);
  perVip('vipcontrol_vip_override_active', '1 while an operator MED override is in force.', (v) => Number(v.override !== undefined));
  perVip('vipcontrol_vip_in_sync', '1 when BIRD exports exactly the effective state, else 0.', (v) => Number(v.inSync));
  perVip('vipcontrol_vip_exported', '1 when BIRD exports a route for the VIP (last read-back); absent before the first.', (v) =>
    v.exported === undefined ? undefined : Number(v.exported.present),
  );
  perVip('vipcontrol_vip_exported_med', 'MED of the route BIRD exports for the VIP (last read-back).', (v) => v.exported?.med);

  new Gauge({
    name: 'vipcontrol_bird_connected',
    help: '1 while the BIRD control socket is connected.',
    registers: [registry],
    collect() {
      this.set(Number(status().bird.connected));
    },
  });
  const reconnects = new Counter({ name: 'vipcontrol_bird_reconnects_total', help: 'Reconnections to the BIRD control socket.', registers: [registry] });
  bird.on('reconnect', () => reconnects.inc());
  const changed = new Counter({
    name: 'vipcontrol_bird_changed_outside_total',
    help: "Times the watch saw BIRD changed by someone else: another configuration loaded (birdc configure), a watched protocol up, down or away (logged as birdChangedOutside).",
    registers: [registry],
  });
  controller.on('birdChanged', () => changed.inc());

  new Gauge({
    name: 'vipcontrol_bird_protocol_up',
    help: "1 while a BIRD protocol is up (a BGP session: Established), from `show protocols` at scrape time.",
    labelNames: ['protocol', 'proto'],
    registers: [registry],
    async collect() {
      this.reset();
      if (!bird.connected) return;
      for (const p of await bird.showProtocols()) this.set({ protocol: p.name, proto: p.proto }, Number(p.state === 'up'));
    },
  });

  const applies = new Counter({
    name: 'vipcontrol_applies_total',
    help: 'Applies run, by result (ok, failed) and whether a configure was sent (configured: true/false).',
    labelNames: ['result', 'configured'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'vipcontrol_apply_failures_total',
    help: 'Failed applies by error kind (transient: retried; permanent: needs an operator).',
    labelNames: ['kind'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'vipcontrol_apply_duration_seconds',
    help: 'Time of one apply: render, write, configure, read-back, confirm.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  controller.on('applied', (o: ApplyOutcome) => {
    applies.inc({ result: o.ok ? 'ok' : 'failed', configured: String(o.configured) });
    if (!o.ok) failures.inc({ kind: o.errorKind ?? 'unknown' });
    duration.observe(o.durationMs / 1000);
  });
  new Gauge({
    name: 'vipcontrol_bird_configure_pending',
    help: "1 while BIRD has an unconfirmed `configure timeout`: owner=other is an operator's (vipcontrol holds its changes), owner=vipcontrol its own.",
    labelNames: ['owner'],
    registers: [registry],
    collect() {
      this.reset();
      const pending = status().bird.pendingConfigure;
      for (const owner of ['vipcontrol', 'other'] as const) this.set({ owner }, Number(pending?.owner === owner));
    },
  });
  new Gauge({
    name: 'vipcontrol_last_apply_success_timestamp_seconds',
    help: 'Unix time of the last successful apply.',
    registers: [registry],
    collect() {
      const at = status().bird.lastSuccessAt;
      if (at !== undefined) this.set(at / 1000);
    },
  });

  new Gauge({
    name: 'vipcontrol_drained',
    help: '1 while the node is drained (2 when drained with withdraw).',
    registers: [registry],
    collect() {
      const drain = status().drain;
      this.set(drain === undefined ? 0 : drain.withdraw ? 2 : 1);
    },
  });
  new Gauge({
    name: 'vipcontrol_state_file_error',
    help: '1 while the state file cannot be written (changes are applied but not persisted).',
    registers: [registry],
    collect() {
      this.set(Number(status().state.error !== undefined));
    },
  });

  new Gauge({
    name: 'vipcontrol_health_check_state',
    help: "viphealth's verdict per check as vipcontrol holds it: 1 for the current state label, 0 for the others.",
    labelNames: ['check', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of status().health.checks) for (const s of CHECK_STATES) this.set({ check: c.name, state: s }, Number(c.status === s));
    },
  });
  let refusedCounted = 0;
  new Counter({
    name: 'vipcontrol_health_reports_refused_total',
    help: 'Health reports refused (malformed, old format, bad VIP list): verdicts that could not act.',
    registers: [registry],
    collect() {
      // The registry keeps the total since start; the counter catches up with it at each scrape.
      const now = status().health.reportsRefused;
      if (now > refusedCounted) this.inc(now - refusedCounted);
      refusedCounted = now;
    },
  });
  new Gauge({
    name: 'vipcontrol_health_lease_expired',
    help: "1 while viphealth's lease has expired and the lease policy is in force.",
    registers: [registry],
    collect() {
      this.set(Number(status().health.leaseExpired));
    },
  });

  new Gauge({
    name: 'vipcontrol_maintenance_active',
    help: '1 while a maintenance window is active.',
    registers: [registry],
    collect() {
      const m = status().maintenance as { active?: unknown } | undefined;
      this.set(Number(m?.active !== undefined));
    },
  });
  const fleetGauge = (name: string, help: string, value: (f: FleetView) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const f = status().fleet as FleetView | undefined;
        const x = f === undefined ? undefined : value(f);
        if (x !== undefined) this.set(x);
      },
    });
  fleetGauge('vipcontrol_fleet_redis_connected', '1 while connected to Redis (fleet mode only).', (f) => (f.connected === undefined ? undefined : Number(f.connected)));
  fleetGauge('vipcontrol_fleet_outbox', 'Fleet writes (audit entries, acks) waiting for Redis.', (f) => f.outbox);
  fleetGauge('vipcontrol_fleet_guarded_vips', 'VIPs whose withdraw the minAnnouncers guard currently turns into a penalty.', (f) => f.guard?.prefixes.length);
  fleetGauge('vipcontrol_fleet_withdraw_slots', 'VIPs this node holds a minAnnouncers withdraw slot for (granted by Redis).',
    (f) => (f.guard ? Object.values(f.guard.detail ?? {}).filter((d) => d.slot === 'holding').length : undefined));
  new Gauge({
    name: 'vipcontrol_fleet_step_failing',
    help: '1 while a fleet loop step fails with a Redis reply error (wrong key type, NOPERM, OOM); the other steps go on.',
    labelNames: ['step'],
    registers: [registry],
    collect() {
      const f = status().fleet as FleetView | undefined;
      this.reset();
      if (f === undefined) return;
      for (const step of FLEET_STEPS) this.set({ step }, f.failing?.[step] ? 1 : 0);
    },
  });
  return registry;
}

/** The parts of `status().fleet` read here (the agent is loaded only in fleet mode). */
interface FleetView {
  readonly connected?: boolean;
  readonly outbox?: number;
  readonly guard?: { readonly prefixes: readonly string[]; readonly detail?: Readonly<Record<string, { readonly slot: string }>> };
  readonly failing?: Readonly<Record<string, unknown>>;
}

/** The fleet loop's steps (packages/fleet node-client), each reported by vipcontrol_fleet_step_failing. */
const FLEET_STEPS = ['outbox', 'publish', 'reconcile', 'guard'] as const;

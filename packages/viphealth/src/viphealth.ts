/**
 * The viphealth process: one scheduler per check, one reporter to vipcontrol, and reload.
 *
 * Reload keeps every check whose configuration is unchanged exactly as it is (state, streaks, timer);
 * a changed check starts afresh as `unknown`, which vipcontrol answers by holding its previous verdict
 * until the new one is reached — so neither a reload nor a restart moves a route by itself.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { HEALTH_REPORT_VERSION, type HealthCheckConfig, type HealthReportBody, type HealthReportReply, type VipSetPart, type ViphealthConfig } from '@vipcontrol/core';
import { createProbe } from './checks/create-probe.js';
import { assertCanDropGroups } from './checks/exec-identity.js';
import { HookRunner } from './hooks.js';
import type { Logger } from './logger.js';
import { Reporter, type Delivery, type ReportSnapshot, type SentReport } from './reporter.js';
import { CheckScheduler } from './scheduler.js';

/** What a reload did, by check name. */
export interface ReloadSummary {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  readonly kept: string[];
  /** Kept checks whose probe was built again because a file it read changed (a rotated CA): state kept. */
  readonly refreshed: string[];
}

/** Emits `transition` (check name, HealthTransition) for every check that changes state. */
export class Viphealth extends EventEmitter {
  /** Changes on every start: vipcontrol tells a restart from a heartbeat by it. */
  readonly instance: string = randomUUID();
  readonly startedAt: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  #config: ViphealthConfig;
  #schedulers = new Map<string, CheckScheduler>();
  #reporter: Reporter;
  readonly #hooks: HookRunner;
  #stopped = false;
  /** Counts of reporters replaced by a reload, so the totals above never go back. */
  #retired = { sent: 0, failed: 0 };

  readonly #onSent: ((report: SentReport, delivery: Delivery) => void) | undefined;

  /**
   * Builds every probe now, so a check that cannot be set up fails the start (or the reload).
   * `onSent` sees every report sent and whether vipcontrol took it (main.ts tells systemd from it).
   */
  constructor(opts: { config: ViphealthConfig; logger: Logger; now?: () => number; onSent?: (report: SentReport, delivery: Delivery) => void }) {
    super();
    this.#onSent = opts.onSent;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.startedAt = this.#now();
    if (runsCommands(opts.config)) assertCanDropGroups();
    this.#config = opts.config;
    this.#hooks = new HookRunner(this.#logger.child({ component: 'hooks' }));
    for (const check of opts.config.checks) this.#schedulers.set(check.name, this.#scheduler(check));
    this.#reporter = this.#newReporter(opts.config);
  }

  get config(): ViphealthConfig {
    return this.#config;
  }

  /** Reports delivered to vipcontrol (tests, the benchmark and metrics read it). */
  get reportsSent(): number {
    return this.#retired.sent + this.#reporter.sent;
  }

  /** Reports vipcontrol did not take (unreachable, refused) since start. */
  get reportsFailed(): number {
    return this.#retired.failed + this.#reporter.failed;
  }

  /** The reporter, for its counters (sent, refused, last body size). */
  get reporter(): Reporter {
    return this.#reporter;
  }

  start(): void {
    this.#logger.info(
      { event: 'started', instance: this.instance, checks: [...this.#schedulers.keys()], socket: this.#config.vipcontrol.socket },
      `viphealth started with ${this.#schedulers.size} checks`,
    );
    this.#reporter.start();
    for (const s of this.#schedulers.values()) {
      // A damped check first takes back its damping memory from vipcontrol's answer to the first report
      // (a restart must not lift a hold-down); if vipcontrol does not answer, it starts without.
      if (s.config.damping === undefined) s.start();
      else void this.#reporter.firstOutcome.then(() => this.#schedulers.get(s.config.name) === s && !this.#stopped && s.start());
    }
  }

  /** The report sent to vipcontrol (VIP lists by digest; their parts go out only when missing). */
  snapshot(): Omit<HealthReportBody, 'vipSetParts'> {
    return { version: HEALTH_REPORT_VERSION, instance: this.instance, startedAt: this.startedAt, checks: [...this.#schedulers.values()].map((s) => s.verdict()) };
  }

  #reportSnapshot(): ReportSnapshot {
    const vipSets = new Map<string, readonly VipSetPart[]>();
    for (const s of this.#schedulers.values()) vipSets.set(s.vipSet.digest, s.vipSet.parts);
    return { report: this.snapshot(), vipSets };
  }

  /** vipcontrol keeps damping memory with the verdicts: a fresh process takes it back. */
  #onReply(reply: HealthReportReply): void {
    for (const [name, memory] of Object.entries(reply.damping ?? {})) if (memory !== undefined) this.#schedulers.get(name)?.seedDamping(memory);
  }

  /**
   * Applies a new config. Probes of new and changed checks are built first; if one fails the reload
   * throws and the running set is untouched.
   */
  async reload(config: ViphealthConfig): Promise<ReloadSummary> {
    if (runsCommands(config)) assertCanDropGroups();
    const old = this.#schedulers;
    const next = new Map<string, CheckScheduler>();
    const summary: ReloadSummary = { added: [], removed: [], changed: [], kept: [], refreshed: [] };
    const fresh: CheckScheduler[] = [];
    const refreshed: [CheckScheduler, ReturnType<typeof createProbe>][] = [];
    try {
      for (const check of config.checks) {
        const current = old.get(check.name);
        if (current && sameCheck(current.config, check)) {
          // A file the probe read at set-up changed on disk (a CA rotated in place): a new probe reads it.
          if (current.probeFileChanged()) {
            refreshed.push([current, createProbe(check)]);
            summary.refreshed.push(check.name);
          }
          next.set(check.name, current);
          summary.kept.push(check.name);
          continue;
        }
        const s = this.#scheduler(check);
        // An edit keeps the damping history: editing a flapping check must not lift its hold-down.
        const memory = current?.dampingMemory();
        if (memory !== undefined) s.seedDamping(memory);
        fresh.push(s);
        next.set(check.name, s);
        (current ? summary.changed : summary.added).push(check.name);
      }
    } catch (err) {
      await Promise.all([...fresh.map((s) => s.stop()), ...refreshed.map(([, p]) => p.close())]);
      throw err;
    }
    for (const [s, probe] of refreshed) s.replaceProbe(probe);
    const retired = [...old.entries()].filter(([name, s]) => next.get(name) !== s);
    for (const [name] of retired) if (!next.has(name)) summary.removed.push(name);
    const reporterChanged = config.vipcontrol.socket !== this.#config.vipcontrol.socket || config.heartbeatMs !== this.#config.heartbeatMs;
    this.#schedulers = next;
    this.#config = config;
    this.#logger.level = config.log.level;
    if (reporterChanged) {
      await this.#reporter.stop();
      this.#retired = { sent: this.reportsSent, failed: this.reportsFailed };
      this.#reporter = this.#newReporter(config);
      this.#reporter.start();
    }
    // Not awaited: a retired check's run in progress (a hung command until its timeout) must not hold
    // up the reload; its result is dropped.
    for (const [name, s] of retired) {
      s.stop().catch((err: unknown) => this.#logger.error({ event: 'checkStopFailed', check: name, err }, 'stopping a retired check failed'));
    }
    for (const s of fresh) s.start();
    this.#logger.info({ event: 'reloaded', ...summary }, 'configuration reloaded');
    // Removed checks must disappear from vipcontrol's view now, not at the next heartbeat.
    this.#reporter.notify();
    return summary;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#schedulers.values()].map((s) => s.stop()));
    await this.#reporter.stop();
    await this.#hooks.idle();
    this.#logger.info({ event: 'stopped', instance: this.instance }, 'viphealth stopped');
  }

  #newReporter(config: ViphealthConfig): Reporter {
    return new Reporter({
      socketPath: config.vipcontrol.socket,
      heartbeatMs: config.heartbeatMs,
      snapshot: () => this.#reportSnapshot(),
      onReply: (reply) => this.#onReply(reply),
      logger: this.#logger.child({ component: 'reporter' }),
      ...(this.#onSent ? { onSent: this.#onSent } : {}),
    });
  }

  #scheduler(check: HealthCheckConfig): CheckScheduler {
    const logger = this.#logger.child({ component: 'check', check: check.name });
    const s = new CheckScheduler({ config: check, probe: createProbe(check), logger, now: this.#now });
    s.on('transition', (t) => {
      // A check replaced by a reload may finish one last run; only current schedulers speak.
      if (this.#schedulers.get(check.name) !== s) return;
      this.#reporter.notify();
      this.emit('transition', check.name, t);
      if (check.hooks.onChange) this.#hooks.run({ argv: check.hooks.onChange, timeoutMs: check.hooks.timeoutMs, check: check.name, transition: t, logger });
    });
    return s;
  }
}

/** Whether a config starts commands (exec checks or hooks), which must not keep viphealth's groups. */
function runsCommands(config: ViphealthConfig): boolean {
  return config.checks.some((c) => c.type === 'exec' || c.hooks.onChange !== undefined);
}

/** Configs come from the same normaliser, so equal checks serialise identically. */
function sameCheck(a: HealthCheckConfig, b: HealthCheckConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

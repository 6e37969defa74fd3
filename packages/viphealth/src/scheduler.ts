/**
 * Runs one check on its own timer and feeds the results through core's pure state machine.
 *
 * - One run at a time: the next run is armed only when the previous one has finished, so a slow check
 *   never overlaps itself (its timeout bounds how late it can be).
 * - Periods are measured start to start: `interval`, or `fastInterval` while a transition is in
 *   progress, as core's nextIntervalMs decides.
 * - The disable file is looked at before every run; while it exists the probe is not run at all.
 */
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import {
  checkHealthParams,
  dampingMemory,
  initialHealthState,
  vipSetParts,
  withDampingMemory,
  nextIntervalMs,
  stepHealth,
  type CheckOutcome,
  type CheckVerdict,
  type DampingMemory,
  type VipSetPart,
  type WireCheckVerdict,
  type HealthCheckConfig,
  type HealthParams,
  type HealthState,
  type HealthTransition,
} from '@vipcontrol/core';
import { errorText, type Probe, type ProbeResult } from './checks/probe.js';
import type { Logger } from './logger.js';

export interface SchedulerEvents {
  /** The check's status changed; `result` is the evidence (absent for a disable-file change). */
  transition: [transition: HealthTransition, result: ProbeResult | undefined];
}

export class CheckScheduler extends EventEmitter<SchedulerEvents> {
  readonly config: HealthCheckConfig;
  /** The check's VIP list as reported: named by digest, sent in parts when vipcontrol lacks it. */
  readonly vipSet: { readonly digest: string; readonly parts: readonly VipSetPart[] };
  #probe: Probe;
  readonly #params: HealthParams;
  readonly #logger: Logger;
  readonly #now: () => number;
  #state: HealthState;
  #lastResult: CheckVerdict['lastResult'];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  /** Logged once per episode, not on every run. */
  #disableFileError: string | undefined;

  constructor(opts: { config: HealthCheckConfig; probe: Probe; logger: Logger; now?: () => number }) {
    super();
    this.config = opts.config;
    this.#probe = opts.probe;
    this.#params = checkHealthParams(opts.config);
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#state = initialHealthState(opts.config.startup, this.#now());
    const parts = vipSetParts(opts.config.vips);
    this.vipSet = { digest: parts[0]!.set, parts };
  }

  /**
   * Carries damping memory over (from the check before an edit, or from vipcontrol after a restart),
   * so neither a restart nor an edit bypasses a hold-down. Only before this check's first transition.
   */
  seedDamping(memory: DampingMemory): void {
    if (this.#params.damping === undefined || this.#state.flapTimes.length > 0 || this.#state.holdDowns > 0) return;
    this.#state = withDampingMemory(this.#state, memory);
  }

  /** This check's damping memory, if it has any worth keeping. */
  dampingMemory(): DampingMemory | undefined {
    const s = this.#state;
    if (this.#params.damping === undefined || (s.flapTimes.length === 0 && s.holdDowns === 0 && s.holdDownUntil === undefined)) return undefined;
    return dampingMemory(s);
  }

  /** Whether a file the probe read at set-up now reads differently (a CA rotated in place). */
  probeFileChanged(): boolean {
    return this.#probe.setupFiles?.changed() ?? false;
  }

  /** Swaps the probe for one built from fresh files (a CA rotated before a SIGHUP); state and timer stay. */
  replaceProbe(probe: Probe): void {
    const old = this.#probe;
    this.#probe = probe;
    void old.close().catch((err: unknown) => this.#logger.error({ event: 'probeCloseFailed', err }, 'closing the replaced probe failed'));
  }

  get state(): HealthState {
    return this.#state;
  }

  /** What goes into the report for this check. */
  verdict(): WireCheckVerdict {
    const c = this.config;
    const damping = this.dampingMemory();
    return {
      name: c.name,
      status: this.#state.status,
      vipSet: this.vipSet.digest,
      effect: c.effect,
      since: this.#state.since,
      ...(this.#lastResult !== undefined && { lastResult: this.#lastResult }),
      ...(damping !== undefined && { damping }),
    };
  }

  /** Runs the first check right away, then on the check's own timer. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#arm(0);
  }

  /**
   * Stops the timer and releases the probe once a run in progress is over (its result is dropped).
   * A run ends within its timeout, whatever the command did (exec-probe.ts).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#probe.close();
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#tick().finally(() => (this.#running = undefined));
    }, delayMs);
  }

  async #tick(): Promise<void> {
    const started = performance.now();
    let result: ProbeResult | undefined;
    let outcome: CheckOutcome;
    if (await this.#disabled()) {
      outcome = { kind: 'disabled', at: this.#now() };
    } else {
      result = await this.#probe.run(this.config.timeoutMs);
      outcome = { kind: result.ok ? 'pass' : 'fail', at: this.#now() };
      this.#lastResult = {
        ok: result.ok,
        at: outcome.at,
        latencyMs: result.latencyMs,
        detail: result.detail,
      };
    }
    if (this.#stopped) return;
    const { state, transition } = stepHealth(this.#state, outcome, this.#params);
    this.#state = state;
    this.#logger.trace({ event: 'checkRan', outcome: outcome.kind, ...evidence(result), passes: state.passes, fails: state.fails });
    if (transition) {
      this.#logTransition(transition, result);
      this.emit('transition', transition, result);
    }
    const wait = nextIntervalMs(state, this.#params, this.#now()) - (performance.now() - started);
    this.#arm(Math.max(0, wait));
  }

  #logTransition(t: HealthTransition, result: ProbeResult | undefined): void {
    const entry = {
      event: 'checkTransition',
      old: t.from,
      new: t.to,
      reason: t.reason,
      ...loggedVips(this.config.vips, this.vipSet.digest),
      effect: this.config.effect,
      ...(t.holdDownUntil !== undefined && { holdDownUntil: new Date(t.holdDownUntil).toISOString() }),
      evidence: evidence(result),
    };
    const msg = `check ${this.config.name}: ${t.from} -> ${t.to} (${t.reason})`;
    if (t.to === 'down') this.#logger.warn(entry, msg);
    else this.#logger.info(entry, msg);
  }

  /** Whether the disable file exists. An unreadable path is logged and treated as absent: the check keeps running. */
  async #disabled(): Promise<boolean> {
    const file = this.config.disableFile;
    if (file === undefined) return false;
    try {
      await stat(file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.#disableFileError = undefined;
        return false;
      }
      const text = errorText(err);
      if (text !== this.#disableFileError) {
        this.#logger.error({ event: 'disableFileError', file, err }, `cannot tell whether ${file} exists; running the check`);
        this.#disableFileError = text;
      }
      return false;
    }
  }
}

/** Up to LOGGED_VIPS VIPs are logged as a list; more as a count and the list's digest (a line per 10,000 VIPs would be 200 KB). */
const LOGGED_VIPS = 20;
function loggedVips(vips: readonly string[], digest: string): Record<string, unknown> {
  return vips.length <= LOGGED_VIPS ? { vips } : { vipCount: vips.length, vipSet: digest, firstVips: vips.slice(0, 3) };
}

/** The evidence of one run as logged: exit code, error, latency, detail. */
function evidence(result: ProbeResult | undefined): Record<string, unknown> {
  if (result === undefined) return { disabled: true };
  return {
    ok: result.ok,
    latencyMs: result.latencyMs,
    detail: result.detail,
    ...(result.exitCode !== undefined && { exitCode: result.exitCode }),
    ...(result.error !== undefined && { error: result.error }),
  };
}

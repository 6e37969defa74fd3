/**
 * The Controller: the one object every front end (HTTP API, fleet agent, maintenance scheduler,
 * health reports) calls. An operation validates, persists the runtime state (BEFORE answering, and
 * before BIRD's change is confirmed), requests an apply and resolves only once that apply is done.
 * If the apply fails, the change stays saved and desired, the reconciler retries with backoff, and
 * the caller gets a 500/503 saying so.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  withFleetCommand,
  MAX_ACTOR_LENGTH,
  MAX_REASON_LENGTH,
  checkRuntimeEntries,
  freeTextProblem,
  medProblem,
  parsePrefix,
  type Actor,
  type HealthReportReply,
  type RuntimeState,
  type VipcontrolConfig,
} from '@vipcontrol/core';
import { QueueStoppedError } from './apply-queue.js';
import { ApplyError, type Announcer } from './announcer.js';
import { configuredPrefixes } from './config-index.js';
import type {
  ApplyOutcome,
  ChangeOp,
  ChangeRecord,
  DaemonStatus,
  OperationResult,
  StatusSummary,
} from './daemon-types.js';
import { OperationError } from './errors.js';
import { healthViewKey, type HealthRegistry } from './health-registry.js';
import { protocolRenameMessage } from './include-guard.js';
import type { Reconciler } from './reconciler.js';
import type { StateMutation, StateStore } from './state-store.js';
import { ExpiryTimer, expireRuntime, nextExpiry } from './ttl-schedule.js';

export { OperationError } from './errors.js';
export type { ApplyOutcome, ChangeRecord, DaemonStatus, OperationResult, StatusSummary, VipStatus } from './daemon-types.js';

/** See contracts.md. Mutations resolve once applied in BIRD, or reject with OperationError. */
export interface Controller {
  status(): DaemonStatus;
  /**
   * The few fields of status() a node record and the fleet guard read, without building the rest:
   * `vips` are the statuses of `prefixes` alone ('all': every VIP), the same projection as status().vips.
   */
  summary(prefixes: ReadonlySet<string> | 'all'): StatusSummary;
  setMed(prefix: string, req: { med: number; ttlMs?: number; reason?: string }, actor: Actor): Promise<OperationResult>;
  resetMed(prefix: string, actor: Actor): Promise<OperationResult>;
  withdraw(prefix: string, req: { reason?: string; force?: boolean }, actor: Actor): Promise<OperationResult>;
  announce(prefix: string, actor: Actor): Promise<OperationResult>;
  drain(
    req: { withdraw: boolean; reason?: string; force?: boolean; source?: 'operator' | 'maintenance'; untilMs?: number },
    actor: Actor,
  ): Promise<OperationResult>;
  undrain(actor: Actor): Promise<OperationResult>;
  reload(actor: Actor): Promise<OperationResult>;
  /** `POST /v1/health/report`: the body as received (HealthRegistry.receive parses it). */
  reportHealth(body: unknown): Promise<HealthReportReply>;
  setGuarded(prefixes: ReadonlySet<string>): Promise<void>;
  on(event: 'applied', fn: (o: ApplyOutcome) => void): this;
  on(event: 'changed', fn: (c: ChangeRecord) => void): this;
  /** The watch saw BIRD changed by someone else (what changed, in words). */
  on(event: 'birdChanged', fn: (changes: readonly string[]) => void): this;
  /** A reload swapped the config (before its apply): fleet agent and maintenance follow it. */
  on(event: 'reloaded', fn: (next: VipcontrolConfig, previous: VipcontrolConfig) => void): this;
}

export interface ControllerOptions {
  configFile: string;
  state: StateStore;
  health: HealthRegistry;
  reconciler: Reconciler;
  /** Reads and validates the config file (reload). */
  loadConfig: (file: string) => Promise<VipcontrolConfig>;
  bird: { readonly connected: boolean; readonly version: string | undefined };
  /** BIRD's pending configuration and the fabric protocols, for status. */
  announcer?: Pick<Announcer, 'pending' | 'fabric'>;
  logger: Logger;
  version: string;
  now?: () => number;
}

const SYSTEM: Actor = { source: 'system' };

/** The daemon's Controller implementation. Emits 'applied', 'birdChanged' (what others changed in BIRD), 'changed' and 'reloaded' (new config). */
export class VipController extends EventEmitter implements Controller {
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #expiry: ExpiryTimer;
  readonly #extras = new Map<'fleet' | 'maintenance', () => unknown>();
  #configLoadedAt: number;
  #configError: { message: string; at: number } | undefined;
  #healthKey: string;
  #healthSeq = 0;
  #healthApply: Promise<ApplyOutcome> | undefined;
  #staging = 0;

  constructor(opts: ControllerOptions) {
    super();
    this.#o = opts;
    this.#log = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#configLoadedAt = this.#startedAt;
    this.#expiry = new ExpiryTimer(() => void this.#expire(), this.#now);
    this.#healthKey = healthViewKey(opts.health.view(this.#startedAt));
    opts.health.on('change', () => this.#onHealthChange());
    opts.reconciler.on('applied', (o: ApplyOutcome) => this.emit('applied', o));
    opts.reconciler.on('birdChanged', (changes: readonly string[]) => this.emit('birdChanged', changes));
  }

  /** Mutations validated but not yet handed to the reconciler (their state write not yet started). */
  get staging(): number {
    return this.#staging;
  }

  /** Includes a component's status (fleet agent, maintenance) in GET /v1/status. */
  setExtraStatus(key: 'fleet' | 'maintenance', fn: (() => unknown) | undefined): void {
    if (fn) this.#extras.set(key, fn);
    else this.#extras.delete(key);
  }

  /** Expires what ran out while the daemon was down, arms the TTL timer and applies once. */
  async start(): Promise<ApplyOutcome> {
    await this.#expire(false);
    return this.#o.reconciler.request(this.#record('startup', SYSTEM));
  }

  stop(): void {
    this.#expiry.disarm();
  }

  status(): DaemonStatus {
    const r = this.#o.reconciler;
    const config = r.config;
    const runtime = this.#o.state.state;
    const last = r.lastApply;
    const extras: Record<string, unknown> = {};
    for (const [key, fn] of this.#extras) extras[key] = safeStatus(fn);
    return {
      node: config.node,
      version: this.#o.version,
      pid: process.pid,
      startedAt: this.#startedAt,
      config: {
        file: this.#o.configFile,
        loadedAt: this.#configLoadedAt,
        ...(this.#configError ? { error: this.#configError.message, errorAt: this.#configError.at } : {}),
      },
      state: this.#o.state.status(),
      bird: {
        connected: this.#o.bird.connected,
        ...(this.#o.bird.version !== undefined ? { version: this.#o.bird.version } : {}),
        socket: r.bird.socket,
        includeFile: r.bird.includeFile,
        applies: r.applies,
        ...(last ? { lastApply: last } : {}),
        ...(r.lastSuccessAt !== undefined ? { lastSuccessAt: r.lastSuccessAt } : {}),
        ...(last && !last.ok
          ? { error: `${last.error ?? 'apply failed'} (changes stay desired; ${r.retryAt !== undefined ? 'retrying' : 'applied again on the next change, verify or reload'})` }
          : {}),
        ...(r.retryAt !== undefined ? { retryAt: r.retryAt } : {}),
        configureTimeoutSec: r.bird.configureTimeoutSec,
        ...(this.#o.announcer?.pending ? { pendingConfigure: this.#o.announcer.pending } : {}),
        ...(this.#o.announcer?.fabric ? { fabric: this.#o.announcer.fabric } : {}),
      },
      loopback: {
        interface: config.loopback.interface,
        manage: config.loopback.manage,
        ...(r.loopbackError ? { error: r.loopbackError } : {}),
      },
      ...(runtime.drain ? { drain: runtime.drain } : {}),
      guarded: [...r.guarded].sort(),
      health: this.#o.health.status(),
      ...extras,
      vips: r.vipStatus(),
    };
  }

  summary(prefixes: ReadonlySet<string> | 'all'): StatusSummary {
    const r = this.#o.reconciler;
    const drain = this.#o.state.state.drain;
    const last = r.lastApply;
    const maintenance = this.#extras.get('maintenance');
    return {
      version: this.#o.version,
      bird: { connected: this.#o.bird.connected, ...(last ? { lastApply: last } : {}) },
      ...(drain ? { drain } : {}),
      guarded: [...r.guarded].sort(),
      ...(maintenance ? { maintenance: safeStatus(maintenance) } : {}),
      vips: prefixes === 'all' ? r.vipStatus() : r.vipStatus(r.desired().filter((v) => prefixes.has(v.prefix))),
    };
  }

  async setMed(prefixText: string, req: { med: number; ttlMs?: number; reason?: string }, actor: Actor): Promise<OperationResult> {
    const prefix = this.#vip(prefixText);
    const medInvalid = medProblem(req.med);
    if (medInvalid) throw new OperationError(400, `med ${medInvalid}`);
    if (req.ttlMs !== undefined && (!Number.isInteger(req.ttlMs) || req.ttlMs <= 0)) {
      throw new OperationError(400, 'ttl must be a positive duration');
    }
    const reason = checkText('reason', req.reason);
    checkActor(actor);
    const now = this.#now();
    const override = {
      med: req.med,
      setAt: now,
      ...(req.ttlMs !== undefined ? { expiresAt: now + req.ttlMs } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(actor.user !== undefined ? { setBy: actor.user } : {}),
    };
    admit({ overrides: { [prefix]: override } });
    return this.#mutate(
      this.#record('set-med', actor, { prefix, reason, detail: { med: req.med, ttlMs: req.ttlMs } }),
      (d) => {
        d.overrides[prefix] = override;
      },
      [prefix],
      override.expiresAt,
    );
  }

  async resetMed(prefixText: string, actor: Actor): Promise<OperationResult> {
    return this.#clear('reset-med', 'overrides', prefixText, actor);
  }

  async withdraw(prefixText: string, req: { reason?: string; force?: boolean }, actor: Actor): Promise<OperationResult> {
    const prefix = this.#vip(prefixText);
    const reason = checkText('reason', req.reason);
    checkActor(actor);
    const entry = {
      at: this.#now(),
      ...(reason !== undefined ? { reason } : {}),
      ...(actor.user !== undefined ? { by: actor.user } : {}),
      ...(req.force === true ? { force: true } : {}),
    };
    admit({ withdrawn: { [prefix]: entry } });
    return this.#mutate(
      this.#record('withdraw', actor, { prefix, reason, detail: { force: req.force === true } }),
      (d) => {
        d.withdrawn[prefix] = entry;
      },
      [prefix],
    );
  }

  async announce(prefixText: string, actor: Actor): Promise<OperationResult> {
    return this.#clear('announce', 'withdrawn', prefixText, actor);
  }

  /** `untilMs` is an absolute epoch-ms end (maintenance windows); the drain ends by itself then. */
  async drain(
    req: { withdraw: boolean; reason?: string; force?: boolean; source?: 'operator' | 'maintenance'; untilMs?: number },
    actor: Actor,
  ): Promise<OperationResult> {
    const reason = checkText('reason', req.reason);
    checkActor(actor);
    if (req.untilMs !== undefined && (!Number.isFinite(req.untilMs) || req.untilMs <= this.#now())) {
      throw new OperationError(400, 'drain end must be in the future');
    }
    const drain: NonNullable<RuntimeState['drain']> = {
      withdraw: req.withdraw,
      at: this.#now(),
      source: req.source ?? 'operator',
      ...(reason !== undefined ? { reason } : {}),
      ...(actor.user !== undefined ? { by: actor.user } : {}),
      ...(req.force === true ? { force: true } : {}),
      ...(req.untilMs !== undefined ? { until: req.untilMs } : {}),
    };
    admit({ drain });
    return this.#mutate(
      this.#record('drain', actor, { reason, detail: { withdraw: req.withdraw, source: drain.source, until: req.untilMs } }),
      (d) => {
        d.drain = drain;
      },
      'all',
      drain.until,
    );
  }

  async undrain(actor: Actor): Promise<OperationResult> {
    return this.#mutate(
      this.#record('undrain', actor),
      (d) => {
        delete d.drain;
      },
      'all',
    );
  }

  /** Re-reads the config file: invalid → 422 and nothing changes; valid → swap and apply. */
  async reload(actor: Actor): Promise<OperationResult> {
    const file = this.#o.configFile;
    let next: VipcontrolConfig;
    try {
      next = renameRefused(await this.#o.loadConfig(file), this.#o.reconciler.bird);
    } catch (cause) {
      const message = (cause as Error).message;
      this.#configError = { message, at: this.#now() };
      this.#log.error({ event: 'reloadRejected', file, err: cause, actor }, 'config reload rejected; running config unchanged');
      throw new OperationError(422, `config rejected, running config unchanged: ${message}`, { cause });
    }
    const previous = this.#o.reconciler.config;
    warnRestartOnly(previous, next, this.#log);
    this.#configError = undefined;
    this.#configLoadedAt = this.#now();
    this.#o.reconciler.setConfig(next);
    const kept = configuredPrefixes(next);
    const record = this.#record('reload', actor, {
      detail: { vips: next.vips.length, removed: previous.vips.filter((v) => !kept.has(v.prefix)).map((v) => v.prefix) },
    });
    this.#log.info({ event: 'configReloaded', file, vips: next.vips.length, actor }, 'config reloaded');
    this.emit('reloaded', next, previous);
    // Overrides of VIPs the new config dropped would linger forever: prune them with the reload.
    return this.#mutate(record, (s) => pruneState(s, kept), 'all', 'rescan');
  }

  async reportHealth(body: unknown): Promise<HealthReportReply> {
    const seq = this.#healthSeq;
    const { reply } = this.#o.health.receive(body);
    // The registry normally emits 'change' synchronously; check anyway so no report is lost.
    this.#onHealthChange();
    if (this.#healthSeq === seq || !this.#healthApply) return reply;
    await this.#settle(this.#healthApply);
    return reply;
  }

  async setGuarded(prefixes: ReadonlySet<string>): Promise<void> {
    const r = this.#o.reconciler;
    const same = prefixes.size === r.guarded.size && [...prefixes].every((p) => r.guarded.has(p));
    if (same) return;
    r.setGuarded(prefixes);
    const record = this.#record('guard', { source: 'fleet' }, { detail: { guarded: [...prefixes].sort() } });
    this.#changed(record);
    await this.#settle(r.request(record));
  }

  /** Drops one VIP's entry from `from` (an override, a withdrawal): reset-med and announce. */
  async #clear(op: ChangeOp, from: 'overrides' | 'withdrawn', prefixText: string, actor: Actor): Promise<OperationResult> {
    const prefix = this.#vip(prefixText);
    return this.#mutate(
      this.#record(op, actor, { prefix }),
      (d) => {
        delete d[from][prefix];
      },
      [prefix],
    );
  }

  /** Validates a prefix from outside: 400 if malformed, 404 if not a configured VIP. */
  #vip(text: string): string {
    let prefix: string;
    try {
      prefix = parsePrefix(text);
    } catch (cause) {
      throw new OperationError(400, (cause as Error).message, { cause }); // names the input, JSON-quoted
    }
    if (!configuredPrefixes(this.#o.reconciler.config).has(prefix)) {
      throw new OperationError(404, `unknown VIP ${prefix}: not configured in ${this.#o.configFile}`);
    }
    return prefix;
  }

  #record(op: ChangeOp, actor: Actor, extra: { prefix?: string; reason?: string; detail?: Record<string, unknown> } = {}): ChangeRecord {
    return {
      at: this.#now(),
      op,
      actor,
      ...(extra.prefix !== undefined ? { prefix: extra.prefix } : {}),
      ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      ...(extra.detail !== undefined ? { detail: extra.detail } : {}),
    };
  }

  /**
   * Persist, then apply; `affected` selects the VIPs returned. `expiresAt` is the one new expiry the
   * mutation adds ('rescan' when it may change several, e.g. a reload pruning overrides).
   */
  async #mutate(
    record: ChangeRecord,
    mutation: StateMutation,
    affected: readonly string[] | 'all',
    expiresAt?: number | 'rescan',
  ): Promise<OperationResult> {
    // The state write and the apply run side by side (the include file is written while the state
    // file is, the fsyncs overlap BIRD's reconfiguration): the apply holds BIRD's `configure` until
    // the file system took the state's data (a full disk refuses it before: the include is put back
    // and BIRD never sees the change), and `configure confirm` until that state is on disk; a write
    // failing later still (an fsync error) undoes it in BIRD and restores the include.
    // A remote command's mark goes into the same write as its change: it runs at most once, even
    // across restarts and lost Redis writes (issue 10).
    const command = record.actor.command;
    const write = this.#o.state.stage(command === undefined ? mutation : (draft) => withFleetCommand(mutation(draft) ?? draft, command));
    this.#staging += 1;
    const inCurrent = await write.inCurrent;
    this.#staging -= 1;
    if (!inCurrent) await write.durable.catch((cause: unknown) => Promise.reject(notSaved(cause)));
    const apply = this.#o.reconciler.request(record);
    apply.catch(() => undefined); // settled below, unless the state write failed first
    try {
      await write.durable;
    } catch (cause) {
      await apply.catch(() => undefined); // if it carried the change, it is undone: "nothing changed" holds once we answer
      throw notSaved(cause);
    }
    this.#armExpiry(expiresAt);
    this.#changed(record);
    const outcome = await this.#settle(apply);
    const vips = affected === 'all' ? outcome.vips : this.#o.reconciler.outcomeVips(outcome, affected);
    return { ok: true, vips, applyId: outcome.id };
  }

  #changed(record: ChangeRecord): void {
    // Debug: the apply that carries the change logs it at info (with a sample of its causes), and a
    // burst of 1,000 requests must not cost 1,000 log lines on the way to BIRD.
    if (this.#log.isLevelEnabled('debug')) {
      this.#log.debug({ event: 'changeRequested', ...record }, `${record.op}${record.prefix ? ` ${record.prefix}` : ''}`);
    }
    this.emit('changed', record);
  }

  /** Maps an apply failure onto an OperationError that says the change stays desired. */
  async #settle(apply: Promise<ApplyOutcome>): Promise<ApplyOutcome> {
    try {
      return await apply;
    } catch (cause) {
      if (cause instanceof QueueStoppedError) {
        throw new OperationError(503, 'vipcontrol is shutting down: the change is saved and applied on the next start', { cause, saved: true });
      }
      const retryAt = this.#o.reconciler.retryAt;
      const retry = retryAt !== undefined ? `retrying in ${Math.max(0, Math.ceil((retryAt - this.#now()) / 1000))}s` : 'retrying';
      const transient = cause instanceof ApplyError && cause.kind === 'transient';
      throw new OperationError(
        transient ? 503 : 500,
        `BIRD apply failed: ${(cause as Error).message} — the change is saved and stays desired; ${retry}`,
        { cause, saved: true },
      );
    }
  }

  /** Removes expired overrides / maintenance drains from the state and applies (TTL timer, start-up). */
  async #expire(apply = true): Promise<void> {
    const now = this.#now();
    const probe = expireRuntime(this.#o.state.state, now);
    if (probe.expired.length > 0 || probe.drainEnded) {
      const record = this.#record('expire', SYSTEM, { detail: { overrides: probe.expired, drainEnded: probe.drainEnded } });
      this.#log.info({ event: 'overridesExpired', ...record }, 'TTL expired');
      // In force whether or not the disk takes it (a full disk): the store retries the write, and
      // BIRD gets the expiry now — computeEffective drops expired entries by time anyway.
      const settled = this.#o.state.settle((s) => expireRuntime(s, now).runtime);
      this.emit('changed', record);
      if (apply) this.#o.reconciler.request(record).catch(() => undefined); // outcome logged by the reconciler
      await settled;
    }
    this.#expiry.arm(nextExpiry(this.#o.state.state));
  }

  /**
   * Keeps the TTL timer at or before the next expiry without scanning every override per request: a
   * new expiry can only pull it earlier, and a timer left pointing at an override that was since
   * reset or replaced merely fires early, finds nothing due and re-arms from a full scan.
   */
  #armExpiry(expiresAt: number | 'rescan' | undefined): void {
    if (expiresAt === 'rescan') this.#expiry.arm(nextExpiry(this.#o.state.state));
    else if (expiresAt !== undefined && (this.#expiry.at === undefined || expiresAt < this.#expiry.at)) this.#expiry.arm(expiresAt);
  }

  #onHealthChange(): void {
    const key = healthViewKey(this.#o.health.view(this.#now()));
    if (key === this.#healthKey) return;
    this.#healthKey = key;
    this.#healthSeq += 1;
    const record = this.#record('health', { source: 'health' });
    this.#changed(record);
    const apply = this.#o.reconciler.request(record);
    apply.catch(() => undefined); // outcome logged by the reconciler; reportHealth awaits it too
    this.#healthApply = apply;
  }
}

/**
 * A change is accepted only if the state file's own checks accept it (`checkRuntimeEntries`): a
 * value the loader would refuse at the next start (an actor with U+2028, an expiry past the date
 * limit) would get the whole file moved aside, and with it every operator withdraw and drain.
 */
function admit(part: Parameters<typeof checkRuntimeEntries>[0]): void {
  try {
    checkRuntimeEntries(part);
  } catch (cause) {
    throw new OperationError(400, `refused, the state file would not accept it (${(cause as Error).message}); nothing changed`, { cause });
  }
}

/**
 * Callers in this process (fleet agent, maintenance) hand over values they parsed with core's
 * vocabulary; checked again with the same rules, since whatever passes here is saved in the state
 * file, whose reader would otherwise refuse the whole file at the next start.
 */
function checkText(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = freeTextProblem(value, MAX_REASON_LENGTH);
  if (problem) throw new OperationError(400, `${field} ${problem}`);
  return value;
}

/** The actor's name, by the state file's rule for `by` (see checkText). */
function checkActor(actor: Actor): Actor {
  if (actor.user === undefined) return actor;
  const problem = freeTextProblem(actor.user, MAX_ACTOR_LENGTH);
  if (problem) throw new OperationError(400, `actor ${problem}`);
  return actor;
}

/** A change refused because the state file could not be written (the message names the file and why). */
function notSaved(cause: unknown): OperationError {
  return new OperationError(503, `cannot persist runtime state (${(cause as Error).message}); nothing changed`, { cause });
}

function pruneState(s: RuntimeState, kept: ReadonlySet<string>): RuntimeState {
  const overrides = Object.fromEntries(Object.entries(s.overrides).filter(([p]) => kept.has(p)));
  const withdrawn = Object.fromEntries(Object.entries(s.withdrawn).filter(([p]) => kept.has(p)));
  return { ...s, overrides, withdrawn };
}

/**
 * A reload must not carry a rename of the BIRD protocols: it takes effect at the next restart, and
 * then withdraws every VIP from the fabric (include-guard.ts). Refused like an invalid config.
 */
function renameRefused(next: VipcontrolConfig, running: VipcontrolConfig['bird']): VipcontrolConfig {
  if (next.bird.protocol4 === running.protocol4 && next.bird.protocol6 === running.protocol6) return next;
  throw new Error(protocolRenameMessage([running.protocol4, running.protocol6], next.bird, running.includeFile));
}

/** Settings only read at start-up: a reload keeps the running value and says so. */
function warnRestartOnly(prev: VipcontrolConfig, next: VipcontrolConfig, log: Logger): void {
  const fields: [string, unknown, unknown][] = [
    ['bird', prev.bird, next.bird],
    ['loopback.interface', prev.loopback.interface, next.loopback.interface],
    ['loopback.manage', prev.loopback.manage, next.loopback.manage],
    ['api', prev.api, next.api],
    ['stateFile', prev.stateFile, next.stateFile],
    ['health.leaseMs', prev.health.leaseMs, next.health.leaseMs],
    ['health.firstReportWaitMs', prev.health.firstReportWaitMs, next.health.firstReportWaitMs],
    ['redis', prev.redis, next.redis],
    ['log', prev.log, next.log],
    ['metrics', prev.metrics, next.metrics],
  ];
  for (const [field, a, b] of fields) {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      log.warn({ event: 'reloadNeedsRestart', field }, `${field} changed: takes effect on the next restart`);
    }
  }
}

function safeStatus(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * The node side of fleet mode: keeps this node registered, publishes its state, reads its desired
 * remote overrides and hands them to the daemon, and feeds it the fleet view for the minAnnouncers
 * guard. It decides nothing about announcements itself (the daemon's agent does).
 *
 * Fail-static: Redis being down, slow, restarted or flushed only ever makes this client log, buffer
 * and retry. It never calls a handler because of a Redis failure, and it withholds the fleet view
 * until the fleet has had time to re-register after a reconnect or a flush ("settling").
 */
import type { Redis } from 'ioredis';
import {
  FLEET_SCHEMA_VERSION, fleetEventSchema, parseFleetJson, pendingDesired,
  type AuditEntry, type CommandAck, type DesiredEntry, type FleetCommandLog, type NodeRecord, type RedisConfig,
} from '@vipcontrol/core';
import { FleetUnavailableError } from './errors.js';
import { FleetStore, type InvalidDesired, type SlotDecision } from './fleet-store.js';
import { closeRedis, createRedis, redactUrl, redisTarget } from './redis-options.js';

/** The pino subset we use (pino's Logger satisfies it). */
export interface FleetLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What the daemon supplies. */
export interface FleetNodeHandlers {
  /** The node's current record; `heartbeatAt` is overwritten at publish time. */
  snapshot(): NodeRecord;
  /** Executes one valid remote command through the daemon's own validation; never throws. */
  execute(entry: DesiredEntry): Promise<Omit<CommandAck, 'v' | 'id' | 'seq' | 'node' | 'at'>>;
  /** A desired value failed validation (already logged here): for the daemon's audit trail. */
  rejected(invalid: InvalidDesired): void;
  /**
   * The minAnnouncers guard's turn (issue 10): on every heartbeat, on (re)connect and when another node
   * changed (at most every 250 ms). The guard decides through acquireWithdrawSlot / releaseWithdrawSlot.
   */
  guardTick?(): void | Promise<void>;
  /** Whether `guardTick` is wanted now (default: yes); asked each time, so it may change at runtime. */
  watchFleet?(): boolean;
  /**
   * The commands this node processed as its state file has them (issue 10): persisted with the change
   * each made, so a new process never runs one again, whatever Redis lost.
   */
  commandLog?(): FleetCommandLog | undefined;
  /** Per guarded VIP, what the heartbeat records: slot held (lease renewed) or announcing (member). */
  guardSlots?(): readonly { prefix: string; holding: boolean; member: boolean }[];
}

export interface FleetNodeStatus {
  readonly connected: boolean;
  /** Redis endpoint (password redacted). */
  readonly endpoint: string;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly lastPublishAt?: number;
  readonly lastReconcileAt?: number;
  readonly lastFleetViewAt?: number;
  /** False while the fleet re-registers after a (re)connect or flush: guard verdicts are held meanwhile. */
  readonly settled: boolean;
  /** Writes (audit entries, acks) waiting for Redis. */
  readonly outbox: number;
  /** Audit entries dropped because the audit outbox was full (acks have their own queue). */
  readonly outboxDropped: number;
  /**
   * Steps of the fleet loop that fail although Redis answers (a key of the wrong type, NOPERM, OOM):
   * each fails on its own and the others go on. Absent when none fails.
   */
  readonly failing?: Readonly<Record<string, { readonly error: string; readonly since: number }>>;
  /** Times this node found its own record gone (flush or expiry) and registered again. */
  readonly reRegistrations: number;
}

type Write = { what: 'ack' | 'audit'; run(store: FleetStore): Promise<void> };
/** Steps of one sync run; `event` = publish with a change event. */
type Step = 'publish' | 'event' | 'reconcile' | 'guard';
const HEARTBEAT: readonly Step[] = ['publish', 'reconcile', 'guard'];

const OUTBOX_MAX = 1000;
/** A fleet event is a few dozen bytes of JSON; a larger message is junk, refused before it is parsed. */
const MAX_EVENT_BYTES = 1024;
const SEEN_MAX = 1000;

export class FleetNodeClient {
  readonly #cfg: RedisConfig;
  readonly #node: string;
  readonly #log: FleetLogger;
  readonly #handlers: FleetNodeHandlers;
  readonly #clock: () => number;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #store: FleetStore;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #connected = false;
  #settleUntil = Number.POSITIVE_INFINITY;
  #published = false;
  #running: Promise<void> | undefined;
  #want = new Set<Step>();
  #viewTimer: NodeJS.Timeout | undefined;
  /** Pending writes per kind: acks never make room for audit lines, and a failing audit never holds up acks. */
  readonly #outbox: { ack: Write[]; audit: Write[] } = { ack: [], audit: [] };
  #outboxDropped = 0;
  /** Loop parts failing with a Redis reply error (see FleetNodeStatus.failing). */
  readonly #failing = new Map<string, { error: string; since: number }>();
  /** Ids of desired entries processed by this process (guards against replays, e.g. an old snapshot restored). */
  readonly #seen = new Set<string>();
  /** Field -> last processed, kept here too: Redis may not have taken our mark yet. */
  readonly #processed: Record<string, { id: string; seq: number }> = {};
  /** Field -> digest of the value already reported as invalid (reported and parsed once, not every heartbeat). */
  readonly #rejected = new Map<string, string>();
  #status: { lastError?: string; lastErrorAt?: number; lastPublishAt?: number; lastReconcileAt?: number; lastFleetViewAt?: number; reRegistrations: number } = { reRegistrations: 0 };

  constructor(opts: { config: RedisConfig; node: string; logger: FleetLogger; handlers: FleetNodeHandlers; clock?: () => number }) {
    this.#cfg = opts.config;
    this.#node = opts.node;
    this.#log = opts.logger;
    this.#handlers = opts.handlers;
    this.#clock = opts.clock ?? Date.now;
    const target = redisTarget(opts.config);
    this.#redis = createRedis(target, { connectionName: `vipcontrol:${opts.node}` });
    this.#sub = createRedis(target, { connectionName: `vipcontrol:${opts.node}:sub`, offlineQueue: true });
    this.#store = new FleetStore(this.#redis, opts.config.keyPrefix, opts.config.limits, target.db);
    this.#redis.on('ready', () => this.#onReady());
    this.#redis.on('error', (err: Error) => this.#noteError('redis connection', err));
    this.#redis.on('end', () => { this.#connected = false; });
    this.#redis.on('close', () => {
      if (this.#connected) this.#log.warn({ event: 'fleetDisconnected', endpoint: this.endpoint }, 'Redis connection lost; announcements unchanged, reconnecting');
      this.#connected = false;
    });
    this.#sub.on('error', (err: Error) => this.#noteError('redis subscriber', err));
    this.#sub.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
  }

  get endpoint(): string {
    return this.#cfg.sentinels?.length
      ? `sentinel ${this.#cfg.name} via ${this.#cfg.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`
      : redactUrl(this.#cfg.url ?? '');
  }

  /** Starts connecting in the background; Redis being down is not an error here. */
  start(): void {
    const connectLater = (r: Redis, what: string) => r.connect().catch((err: Error) => this.#noteError(what, err));
    void connectLater(this.#redis, 'redis connect');
    void connectLater(this.#sub, 'redis subscriber connect');
    void this.#sub.subscribe(this.#store.keys.notify(this.#node), this.#store.keys.events).catch((err: Error) => this.#noteError('subscribe', err));
    this.#timer = setInterval(() => this.#kick(...HEARTBEAT), this.#cfg.heartbeatMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#viewTimer);
    await this.#running;
    // Best effort: flush what is pending if Redis is there; never wait for a reconnect, never fail on a bad key.
    if (this.#connected) await this.#flushOutbox().catch((err: Error) => this.#noteError('fleet flush at stop', err));
    await Promise.all([this.#redis, this.#sub].map(closeRedis));
  }

  /**
   * Asks Redis for a withdraw slot (FleetStore.acquireWithdrawSlot). Throws FleetUnavailableError while
   * Redis is unreachable or the fleet is settling after a (re)connect or flush: the caller keeps its
   * last verdict (fail-static, docs/fleet.md), which refuses any new withdraw.
   */
  async acquireWithdrawSlot(prefix: string, minAnnouncers: number, force: boolean): Promise<SlotDecision> {
    if (!this.#connected) throw new FleetUnavailableError('Redis unreachable');
    if (this.#clock() < this.#settleUntil) throw new FleetUnavailableError('fleet view settling after a reconnect or flush');
    return this.#store.acquireWithdrawSlot({ prefix, node: this.#node, minAnnouncers, leaseMs: this.#leaseMs(), ttlMs: this.#cfg.ttlMs, force });
  }

  /** Gives a withdraw slot back (the VIP is announced again). Throws FleetUnavailableError while Redis is away. */
  async releaseWithdrawSlot(prefix: string): Promise<void> {
    if (!this.#connected) throw new FleetUnavailableError('Redis unreachable');
    await this.#store.releaseWithdrawSlot(prefix, this.#node);
  }

  /** A slot lives one TTL past its last renewal (every heartbeat): a crashed holder frees it by then. */
  #leaseMs(): number {
    return this.#cfg.ttlMs;
  }

  /** The node's state changed (an apply): publish now rather than at the next heartbeat. */
  publishSoon(): void {
    this.#kick('publish', 'event');
  }

  /**
   * Runs the guard's turn in the fleet loop now, not at the next heartbeat: in the loop, so a slot
   * given back is never re-added by a heartbeat's renewal computed just before (one step at a time).
   */
  guardSoon(): void {
    this.#kick('guard');
  }

  /** Queues an audit entry; written now if Redis is there, else when it comes back (bounded). */
  audit(entry: AuditEntry): void {
    this.#enqueue({ what: 'audit', run: (s) => s.appendAudit(entry) });
    this.#kick();
  }

  #outboxSize(): number {
    return this.#outbox.ack.length + this.#outbox.audit.length;
  }

  status(): FleetNodeStatus {
    return {
      connected: this.#connected,
      endpoint: this.endpoint,
      settled: this.#connected && this.#clock() >= this.#settleUntil,
      outbox: this.#outboxSize(),
      outboxDropped: this.#outboxDropped,
      ...(this.#failing.size > 0 ? { failing: Object.fromEntries(this.#failing) } : {}),
      ...this.#status,
    };
  }

  #onReady(): void {
    this.#connected = true;
    this.#published = false;
    this.#settleUntil = this.#clock() + this.#settleMs();
    this.#log.info({ event: 'fleetConnected', endpoint: this.endpoint, node: this.#node }, 'connected to Redis: registering, re-reading desired overrides');
    // A change event too: others may have seen us go stale and should look again.
    this.#kick(...HEARTBEAT, 'event');
  }

  /** Long enough for every live node to publish once (they do every heartbeat). */
  #settleMs(): number {
    return Math.round(this.#cfg.heartbeatMs * 1.5);
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#store.keys.notify(this.#node)) return this.#kick('reconcile');
    const parsed = parseFleetJson(fleetEventSchema, message, channel, MAX_EVENT_BYTES);
    if (!parsed.ok) return this.#log.warn({ event: 'fleetDataRejected', error: parsed.error }, 'ignored an invalid fleet event');
    if (parsed.value.node === this.#node || !this.#watching()) return;
    // Another node changed: refresh the view, at most every 250 ms (a thousand nodes must not make us read a thousand times).
    if (this.#viewTimer) return;
    const wait = Math.max(0, (this.#status.lastFleetViewAt ?? 0) + 250 - this.#clock());
    this.#viewTimer = setTimeout(() => {
      this.#viewTimer = undefined;
      this.#kick('guard');
    }, wait);
    this.#viewTimer.unref();
  }

  /** Runs the wanted steps one at a time; a kick during a run is picked up by the same loop. */
  #kick(...steps: Step[]): void {
    for (const s of steps) this.#want.add(s);
    if (this.#running || this.#stopped) return;
    this.#running = this.#loop().finally(() => { this.#running = undefined; });
  }

  async #loop(): Promise<void> {
    while (!this.#stopped && this.#connected) {
      const want = this.#want;
      this.#want = new Set();
      // Each step on its own: one that Redis refuses (wrong key type, NOPERM, OOM) must not starve the others.
      const steps: [string, boolean, () => Promise<void>][] = [
        ['outbox', true, () => this.#flushOutbox()],
        ['publish', want.has('publish') || want.has('event'), () => this.#publish(want.has('event'))],
        ['reconcile', want.has('reconcile'), () => this.#reconcile()],
        ['guard', want.has('guard'), () => this.#guardTick()],
      ];
      for (const [name, wanted, run] of steps) {
        if (!wanted || this.#stopped) continue;
        if (!this.#connected) {
          // Lost mid-way: the next heartbeat or 'ready' redoes all of it.
          for (const s of want) this.#want.add(s);
          return;
        }
        await this.#step(name, run);
      }
      if (this.#want.size === 0 && (this.#outboxSize() === 0 || this.#failing.has('outbox'))) return;
    }
  }

  /**
   * Runs one step. A connection error is the fail-static path (#noteError); any other error is this
   * step's own: logged at error once per episode, kept in status until the step succeeds again.
   */
  async #step(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      const e = err as Error;
      if (!this.#connected || !isReplyError(e)) return this.#noteError(`fleet ${name}`, e);
      if (!this.#failing.has(name)) {
        this.#log.error({ event: 'fleetStepFailed', step: name, err: e.message }, `fleet ${name} fails: ${e.message}; the other fleet steps go on, this one is retried every heartbeat`);
        this.#failing.set(name, { error: e.message, since: this.#clock() });
      }
      return;
    }
    if (this.#failing.delete(name)) this.#log.info({ event: 'fleetStepRecovered', step: name }, `fleet ${name} works again`);
  }

  async #publish(changed: boolean): Promise<void> {
    // Redis's clock, not ours: every reader judges freshness against Redis's TIME (docs/fleet.md).
    const rec: NodeRecord = { ...this.#handlers.snapshot(), heartbeatAt: await this.#store.now() };
    const { existed } = await this.#store.publishNode(rec, this.#cfg.ttlMs, { changed });
    if (!existed && this.#published) {
      // Our record vanished under us: Redis was flushed (or restarted empty). Others vanished too, so
      // wait for them to re-register before trusting the fleet view again.
      this.#status.reRegistrations++;
      this.#settleUntil = this.#clock() + this.#settleMs();
      this.#log.warn({ event: 'fleetReRegistered', node: this.#node }, 'own fleet record was gone (Redis flushed or restarted empty): registered again; guard verdicts held while the fleet re-registers');
    }
    this.#published = true;
    this.#status.lastPublishAt = rec.heartbeatAt;
    const slots = this.#handlers.guardSlots?.() ?? [];
    if (slots.length > 0) await this.#store.syncSlots(this.#node, this.#leaseMs(), slots);
  }

  async #reconcile(): Promise<void> {
    const [{ entries, invalid }, applied] = await Promise.all([this.#store.readDesired(this.#node, this.#rejected), this.#store.readApplied(this.#node)]);
    for (const bad of invalid) await this.#reject(bad);
    const local = this.#handlers.commandLog?.();
    for (const { field, entry } of entries) {
      // Processed before (the state file says so) but Redis lost the mark and the ack: answer again, do not run again.
      if (local?.applied[field]?.id !== entry.id || applied[field]?.id === entry.id || this.#processed[field]?.id === entry.id) continue;
      this.#remember(field, entry);
      const ack: CommandAck = {
        v: FLEET_SCHEMA_VERSION, id: entry.id, seq: entry.seq, node: this.#node, at: this.#clock(), outcome: 'applied', ok: true, status: 200, vips: [],
        error: 'acknowledged again: the node had processed this command before a restart (its state file has it); not run twice',
      };
      this.#log.warn({ event: 'fleetCommandReacked', id: entry.id, field }, 'remote command already processed (state file) but its ack was lost: acknowledged again, not run twice');
      this.#enqueue({ what: 'ack', run: (s) => s.finishCommand(this.#node, field, ack) });
    }
    // A command any source marks as processed is not run again. The state file may hold an older mark
    // than Redis (the newer command failed on a full disk, so only Redis marked it, with the failure ack
    // its caller read): the older mark must not make it pending again after a restart.
    const marks = [applied, local?.applied, this.#processed].flatMap((m) => Object.values(m ?? {}).map((mark) => mark.id));
    const seen = new Set([...this.#seen, ...(local?.recent ?? []), ...marks]);
    for (const { field, entry } of pendingDesired(entries, applied, seen)) {
      const result = await this.#handlers.execute(entry);
      this.#remember(field, entry);
      const ack: CommandAck = { v: FLEET_SCHEMA_VERSION, id: entry.id, seq: entry.seq, node: this.#node, at: this.#clock(), ...result };
      this.#enqueue({ what: 'ack', run: (s) => s.finishCommand(this.#node, field, ack) });
      await this.#flushOutbox(['ack']);
    }
    this.#status.lastReconcileAt = this.#clock();
  }

  async #reject(bad: InvalidDesired): Promise<void> {
    if (this.#rejected.get(bad.field) === bad.digest) return;
    this.#rejected.set(bad.field, bad.digest);
    this.#log.error({ event: 'fleetDataRejected', field: bad.field, error: bad.error }, 'rejected an invalid desired override from Redis; nothing changed');
    this.#handlers.rejected(bad);
    if (bad.id === undefined || bad.seq === undefined || this.#seen.has(bad.id)) return;
    const ack: CommandAck = { v: FLEET_SCHEMA_VERSION, id: bad.id, seq: bad.seq, node: this.#node, at: this.#clock(), outcome: 'rejected', ok: false, status: 400, error: bad.error.slice(0, 1000), vips: [] };
    this.#remember(bad.field, { id: bad.id, seq: bad.seq });
    this.#enqueue({ what: 'ack', run: (s) => s.finishCommand(this.#node, bad.field, ack) });
    await this.#flushOutbox(['ack']);
  }

  #remember(field: string, entry: { id: string; seq: number }): void {
    this.#processed[field] = { id: entry.id, seq: entry.seq };
    this.#seen.add(entry.id);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.values().next().value!);
  }

  #watching(): boolean {
    return this.#handlers.guardTick !== undefined && this.#handlers.watchFleet?.() !== false;
  }

  async #guardTick(): Promise<void> {
    if (!this.#handlers.guardTick || !this.#watching()) return;
    this.#status.lastFleetViewAt = this.#clock();
    await this.#handlers.guardTick();
  }

  #enqueue(write: Write): void {
    const queue = this.#outbox[write.what];
    if (queue.length >= OUTBOX_MAX) {
      queue.shift();
      if (write.what === 'audit') this.#outboxDropped++;
      this.#log.warn({ event: 'fleetOutboxFull', dropped: write.what }, `Redis unreachable for long: dropped the oldest pending ${write.what} (it is in the local log)`);
    }
    queue.push(write);
  }

  /**
   * Writes acks, then audit entries, oldest first. Each queue stops at its first failure; a failing
   * audit write does not hold up acks (the error is thrown after both queues were tried).
   */
  async #flushOutbox(kinds: readonly Write['what'][] = ['ack', 'audit']): Promise<void> {
    let failure: Error | undefined;
    for (const queue of kinds.map((k) => this.#outbox[k])) {
      try {
        while (queue.length > 0 && this.#connected) {
          await queue[0]!.run(this.#store);
          queue.shift();
        }
      } catch (err) {
        failure ??= err as Error;
      }
    }
    if (failure) throw failure;
  }

  /** Logs the first error of an outage at warn, repeats at debug: a long outage must not flood the log. */
  #noteError(what: string, err: Error): void {
    const repeated = this.#status.lastError === err.message;
    this.#status.lastError = err.message;
    this.#status.lastErrorAt = this.#clock();
    (repeated ? this.#log.debug : this.#log.warn).call(this.#log, { event: 'fleetRedisError', what, err: err.message }, 'Redis error; announcements unchanged');
  }
}

/** A reply error of one command (wrong type, NOPERM, OOM, script error), as opposed to connection trouble. */
function isReplyError(err: Error): boolean {
  return err.name === 'ReplyError' || (err.cause instanceof Error && err.cause.name === 'ReplyError');
}

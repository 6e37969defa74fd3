/**
 * Data access to one fleet's keys (layout: core's `fleetKeys`, docs/fleet.md). Used by the node
 * agent (through FleetNodeClient), by `vipctl fleet` and by the benchmark. Every value read back goes
 * through core's schemas: what fails is returned as an error string, never acted on.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  appliedMarkSchema, auditEntrySchema, buildFleetMatrix, commandAckSchema, desiredEntrySchema, desiredField,
  fleetKeys, nodeRecordSchema, parseFleetJson, NODE_NAME_RE, FLEET_SCHEMA_VERSION,
  type AppliedMark, type AuditEntry, type CommandAck, type DesiredEntry, type FleetEvent, type FleetKeys,
  type FleetMatrix, type FleetOp, type FleetParse, type NodeRecord, type RedisConfig,
} from '@vipcontrol/core';
import { FleetError, FleetTimeoutError, FleetUnavailableError } from './errors.js';
import { closeRedis, createRedis, redisDb, type ConnectionTuning } from './redis-options.js';

/** A node key outlives its TTL by this factor, so `fleet status` shows a dead node as stale before it goes missing. */
export const RECORD_LINGER_FACTOR = 20;
/** Acks are read once by the waiting caller; the TTL only bounds garbage from callers that gave up. */
export const ACK_TTL_MS = 10 * 60_000;
/** Audit stream cap (XADD MAXLEN ~). */
export const AUDIT_MAX_LEN = 10_000;
const MGET_CHUNK = 500;

/** A desired entry that failed validation, with what could be recovered to answer its sender. */
export interface InvalidDesired {
  readonly field: string;
  readonly raw: string;
  readonly error: string;
  /** Present when the raw value carried a well-formed id and seq: the sender gets a rejection ack. */
  readonly id?: string;
  readonly seq?: number;
}

export interface FleetNodes {
  readonly known: { node: string; heartbeatAt: number }[];
  readonly records: Map<string, FleetParse<NodeRecord> | undefined>;
}

/** One fleet's keys over one ioredis connection. */
export class FleetStore {
  readonly keys: FleetKeys;
  readonly #redis: Redis;

  /** `db`: the Redis database the connection uses (channel names carry it: core `fleetKeys`). */
  constructor(redis: Redis, keyPrefix: string, db = 0) {
    this.#redis = redis;
    this.keys = fleetKeys(keyPrefix, db);
  }

  /** Connects a new store for a short-lived caller (vipctl, bench): fails fast when Redis is away. */
  static async open(cfg: RedisConfig, tuning: ConnectionTuning = {}): Promise<FleetStore> {
    const redis = createRedis(cfg, { maxReconnects: 2, connectionName: 'vipctl', ...tuning });
    // The listener keeps ioredis from printing errors itself, and keeps the real cause: connect()
    // often rejects only with "Connection is closed" after, e.g., WRONGPASS.
    let last: Error | undefined;
    redis.on('error', (err: Error) => { last = err; });
    try {
      await redis.connect();
    } catch (cause) {
      redis.disconnect();
      const why = last && last.message !== (cause as Error).message ? `${last.message} (${(cause as Error).message})` : (cause as Error).message;
      throw new FleetUnavailableError(`cannot connect to Redis: ${why}`, { cause: last ?? cause });
    }
    return new FleetStore(redis, cfg.keyPrefix, redisDb(cfg));
  }

  get redis(): Redis {
    return this.#redis;
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }

  /** Redis's clock (epoch ms): staleness is judged against one clock, not each caller's. */
  async now(): Promise<number> {
    const [s, us] = await this.#redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  /**
   * Registers / refreshes a node: its record (PX = TTL × linger) and its heartbeat in the nodes zset,
   * plus a `state` event when `changed` (heartbeats alone publish none: a thousand nodes must not make
   * every node re-read the fleet every second). Returns whether a record was already there: false
   * right after a flush or an expiry.
   */
  async publishNode(rec: NodeRecord, ttlMs: number, opts: { changed?: boolean } = {}): Promise<{ existed: boolean }> {
    const tx = this.#redis.multi()
      .set(this.keys.node(rec.node), JSON.stringify(rec), 'PX', ttlMs * RECORD_LINGER_FACTOR, 'GET')
      .zadd(this.keys.nodes, rec.heartbeatAt, rec.node);
    if (opts.changed) {
      const event: FleetEvent = { v: FLEET_SCHEMA_VERSION, type: 'state', node: rec.node, at: rec.heartbeatAt };
      tx.publish(this.keys.events, JSON.stringify(event));
    }
    return { existed: execResults(await tx.exec())[0] !== null };
  }

  /** Every node known to the fleet and its parsed record (undefined: registration expired). */
  async readNodes(): Promise<FleetNodes & { errors: string[] }> {
    const flat = await this.#redis.zrange(this.keys.nodes, 0, -1, 'WITHSCORES');
    const known: { node: string; heartbeatAt: number }[] = [];
    const errors: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const node = flat[i]!;
      if (NODE_NAME_RE.test(node)) known.push({ node, heartbeatAt: Number(flat[i + 1]) });
      else errors.push(`${this.keys.nodes}: member ${JSON.stringify(node.slice(0, 80))} is not a node name`);
    }
    const records = new Map<string, FleetParse<NodeRecord> | undefined>();
    for (let i = 0; i < known.length; i += MGET_CHUNK) {
      const chunk = known.slice(i, i + MGET_CHUNK);
      const values = await this.#redis.mget(chunk.map((k) => this.keys.node(k.node)));
      chunk.forEach(({ node }, j) => {
        const raw = values[j];
        if (raw === null || raw === undefined) return records.set(node, undefined);
        const parsed = parseFleetJson(nodeRecordSchema, raw, this.keys.node(node));
        const checked: FleetParse<NodeRecord> = parsed.ok && parsed.value.node !== node
          ? { ok: false, error: `${this.keys.node(node)}: record claims node "${parsed.value.node}"` }
          : parsed;
        if (!checked.ok) errors.push(checked.error);
        records.set(node, checked);
      });
    }
    return { known, records, errors };
  }

  /** The `fleet status` matrix, judged against Redis's clock. */
  async readMatrix(staleAfterMs: number): Promise<FleetMatrix & { errors: string[] }> {
    const [nodes, now] = await Promise.all([this.readNodes(), this.now()]);
    return { ...buildFleetMatrix({ known: nodes.known, records: nodes.records, now, staleAfterMs }), errors: nodes.errors };
  }

  /** The node's desired entries, split into valid ones and rejected ones. */
  async readDesired(node: string): Promise<{ entries: { field: string; entry: DesiredEntry }[]; invalid: InvalidDesired[] }> {
    const key = this.keys.desired(node);
    const all = await this.#redis.hgetall(key);
    const entries: { field: string; entry: DesiredEntry }[] = [];
    const invalid: InvalidDesired[] = [];
    for (const [field, raw] of Object.entries(all)) {
      const parsed = parseFleetJson(desiredEntrySchema, raw, `${key} ${field}`);
      let error: string | undefined;
      if (!parsed.ok) error = parsed.error;
      else if (parsed.value.node !== node) error = `${key} ${field}: entry is addressed to node "${parsed.value.node}"`;
      else if (desiredField(parsed.value.op, parsed.value.prefix) !== field) error = `${key} ${field}: ${parsed.value.op} entry stored under the wrong field`;
      if (error === undefined && parsed.ok) entries.push({ field, entry: parsed.value });
      else invalid.push({ field, raw, error: error!, ...recoverIds(raw) });
    }
    return { entries, invalid };
  }

  /** What the node last processed per desired field (malformed marks are ignored: the entry is re-processed). */
  async readApplied(node: string): Promise<Record<string, AppliedMark>> {
    const key = this.keys.applied(node);
    const out: Record<string, AppliedMark> = {};
    for (const [field, raw] of Object.entries(await this.#redis.hgetall(key))) {
      const parsed = parseFleetJson(appliedMarkSchema, raw, `${key} ${field}`);
      if (parsed.ok) out[field] = parsed.value;
    }
    return out;
  }

  /** Node side: marks a desired entry processed and hands the caller its ack, in one transaction. */
  async finishCommand(node: string, field: string, ack: CommandAck): Promise<void> {
    const mark: AppliedMark = { id: ack.id, seq: ack.seq };
    await this.#redis.multi()
      .hset(this.keys.applied(node), field, JSON.stringify(mark))
      .rpush(this.keys.ack(ack.id), JSON.stringify(ack))
      .pexpire(this.keys.ack(ack.id), ACK_TTL_MS)
      .exec()
      .then(execResults);
  }

  /**
   * The minAnnouncers guard's atomic decision (core: "withdraw slots"): grants `node` a slot to
   * withdraw `prefix` when it already holds one, when `force`, or when at least `minAnnouncers` other
   * nodes are members (announcing, heartbeat within `ttlMs` by Redis's clock) without holding a slot.
   * One Lua script, so nodes asking at the same instant are decided one after the other.
   */
  async acquireWithdrawSlot(req: { prefix: string; node: string; minAnnouncers: number; leaseMs: number; ttlMs: number; force: boolean }): Promise<SlotDecision> {
    const res = await this.#redis.eval(
      ACQUIRE_SLOT_LUA, 2, this.keys.slots(req.prefix), this.keys.members(req.prefix),
      req.node, req.minAnnouncers, req.leaseMs, req.ttlMs, req.force ? 1 : 0,
    ) as [number, number, string[]];
    return { granted: res[0] === 1, now: Number(res[1]), announcers: [...res[2]].sort() };
  }

  /** Gives the slot back and counts `node` as an announcer again (it announces once more). */
  async releaseWithdrawSlot(prefix: string, node: string): Promise<void> {
    await this.#redis.eval(RELEASE_SLOT_LUA, 2, this.keys.slots(prefix), this.keys.members(prefix), node);
  }

  /**
   * Heartbeat of the guard: per VIP, renews the node's slot lease (`holding`), or records it as an
   * announcer (`member`) or as not announcing (neither). Returns Redis's clock.
   */
  async syncSlots(node: string, leaseMs: number, vips: readonly { prefix: string; holding: boolean; member: boolean }[]): Promise<number> {
    const keys = vips.flatMap((v) => [this.keys.slots(v.prefix), this.keys.members(v.prefix)]);
    const flags = vips.map((v) => (v.holding ? 'h' : v.member ? 'm' : '-'));
    return Number(await this.#redis.eval(SYNC_SLOTS_LUA, keys.length, ...keys, node, leaseMs, ...flags));
  }

  async appendAudit(entry: AuditEntry, maxLen = AUDIT_MAX_LEN): Promise<void> {
    await this.#redis.xadd(this.keys.audit, 'MAXLEN', '~', maxLen, '*', 'node', entry.node, 'json', JSON.stringify(entry));
  }

  /**
   * The newest `count` audit entries matching the filters, oldest first. Scans at most the stream's
   * cap; malformed entries are counted, not returned.
   */
  async readAudit(opts: { count: number; node?: string; prefix?: string }): Promise<{ entries: AuditEntry[]; invalid: number }> {
    const found: AuditEntry[] = [];
    let invalid = 0;
    let end = '+';
    for (let scanned = 0; found.length < opts.count && scanned < AUDIT_MAX_LEN * 2;) {
      const batch = await this.#redis.xrevrange(this.keys.audit, end, '-', 'COUNT', 500);
      if (batch.length === 0) break;
      for (const [id, fields] of batch) {
        const json = fieldValue(fields, 'json');
        const parsed = parseFleetJson(auditEntrySchema, json, `${this.keys.audit} ${id}`);
        if (!parsed.ok) invalid++;
        else if ((!opts.node || parsed.value.node === opts.node) && (!opts.prefix || parsed.value.prefix === opts.prefix)) found.push(parsed.value);
        if (found.length >= opts.count) break;
      }
      scanned += batch.length;
      end = `(${batch[batch.length - 1]![0]}`;
    }
    return { entries: found.reverse(), invalid };
  }

  /** Caller side: is `node` known at all, and its record if registered. */
  async nodeInfo(node: string): Promise<{ known: boolean; record?: FleetParse<NodeRecord> }> {
    const [score, raw] = await Promise.all([this.#redis.zscore(this.keys.nodes, node), this.#redis.get(this.keys.node(node))]);
    return { known: score !== null, ...(raw !== null ? { record: parseFleetJson(nodeRecordSchema, raw, this.keys.node(node)) } : {}) };
  }

  /**
   * Caller side: stores the desired entry (replacing an older one for the same target) and wakes the
   * node. The entry stays until a newer one replaces it, so a node that is away applies it on return.
   */
  async sendCommand(cmd: { node: string; op: FleetOp; prefix?: string; body: Record<string, unknown>; by: string }): Promise<DesiredEntry> {
    const seq = await this.#redis.incr(this.keys.seq);
    const candidate = { v: FLEET_SCHEMA_VERSION, id: randomUUID(), seq, node: cmd.node, op: cmd.op, prefix: cmd.prefix, body: cmd.body, by: cmd.by, at: Date.now() };
    const checked = desiredEntrySchema.safeParse(candidate);
    if (!checked.success) throw new FleetError(`invalid command: ${checked.error.issues[0]?.path.join('.')}: ${checked.error.issues[0]?.message}`);
    const entry = checked.data;
    await this.#redis.multi()
      .hset(this.keys.desired(cmd.node), desiredField(entry.op, entry.prefix), JSON.stringify(entry))
      .publish(this.keys.notify(cmd.node), String(entry.seq))
      .exec()
      .then(execResults);
    return entry;
  }

  /**
   * Caller side: waits for the node's ack of `entry`. Throws FleetTimeoutError after `timeoutMs`, and
   * FleetError when a newer command for the same target replaced this one before the node read it.
   * Uses BLPOP, so the connection is blocked meanwhile: give it a dedicated store when in doubt.
   */
  async waitAck(entry: DesiredEntry, timeoutMs: number): Promise<CommandAck> {
    const deadline = Date.now() + timeoutMs;
    const key = this.keys.ack(entry.id);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      // Short slices: between them we notice a superseding command instead of waiting out the timeout.
      const res = await this.#redis.blpop(key, Math.max(0.01, Math.min(left, 1000)) / 1000);
      if (res) {
        const parsed = parseFleetJson(commandAckSchema, res[1], key);
        if (!parsed.ok) throw new FleetError(`node ${entry.node} answered with an invalid acknowledgement: ${parsed.error}`);
        return parsed.value;
      }
      const current = await this.#redis.hget(this.keys.desired(entry.node), desiredField(entry.op, entry.prefix));
      const now = current === null ? undefined : parseFleetJson(desiredEntrySchema, current, key);
      if (now?.ok && now.value.id !== entry.id) {
        throw new FleetError(`command ${entry.id} was superseded by command ${now.value.id} (seq ${now.value.seq}, by ${now.value.by}) before node ${entry.node} read it`);
      }
    }
    throw new FleetTimeoutError(`node ${entry.node} did not acknowledge command ${entry.id} within ${timeoutMs} ms; it stays desired and the node applies it when it reads Redis again`, entry.id, entry.node);
  }
}

/** The guard's answer: `announcers` = the other nodes that count (announcing, holding no slot). */
export interface SlotDecision {
  readonly granted: boolean;
  /** Redis's clock when it decided. */
  readonly now: number;
  readonly announcers: readonly string[];
}

const REDIS_NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: slots, members. ARGV: node, minAnnouncers, leaseMs, ttlMs, force. Expired leases and members
// whose heartbeat is older than ttlMs are dropped first: a crashed node blocks no one for long.
const ACQUIRE_SLOT_LUA = `${REDIS_NOW_LUA}
local node, min, lease, ttl, force = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl - 1)
local held = redis.call('ZSCORE', KEYS[1], node) ~= false
local others = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if m ~= node and redis.call('ZSCORE', KEYS[1], m) == false then others[#others + 1] = m end
end
local granted = held or force or #others >= min
if granted then
  redis.call('ZADD', KEYS[1], now + lease, node)
  redis.call('ZREM', KEYS[2], node)
end
return { granted and 1 or 0, now, others }`;

// KEYS: slots, members. ARGV: node.
const RELEASE_SLOT_LUA = `${REDIS_NOW_LUA}
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return now`;

// KEYS: slots_1, members_1, slots_2, ... ARGV: node, leaseMs, flag_1, flag_2, ... (h: holding, m: member, -: neither).
const SYNC_SLOTS_LUA = `${REDIS_NOW_LUA}
local node, lease = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS, 2 do
  local flag = ARGV[2 + (i + 1) / 2]
  if flag == 'h' then
    redis.call('ZADD', KEYS[i], now + lease, node)
    redis.call('ZREM', KEYS[i + 1], node)
  elseif flag == 'm' then
    redis.call('ZADD', KEYS[i + 1], now, node)
  else
    redis.call('ZREM', KEYS[i + 1], node)
  end
end
return now`;

/** Unwraps MULTI results, throwing the first command error (ioredis reports them per command). */
function execResults(res: [Error | null, unknown][] | null): unknown[] {
  if (res === null) throw new FleetUnavailableError('Redis transaction aborted');
  return res.map(([err, value]) => {
    if (err) throw new FleetUnavailableError(`Redis command failed: ${err.message}`, { cause: err });
    return value;
  });
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** From a rejected desired value, the id and seq if they look sane (so the sender hears "rejected", not a timeout). */
function recoverIds(raw: string): { id?: string; seq?: number } {
  try {
    const j = JSON.parse(raw) as { id?: unknown; seq?: unknown };
    return typeof j.id === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(j.id) && Number.isSafeInteger(j.seq) && (j.seq as number) > 0
      ? { id: j.id, seq: j.seq as number }
      : {};
  } catch {
    return {}; // not JSON: nothing to recover; the caller logs the parse error already
  }
}

/**
 * Data access to one fleet's keys (layout: core's `fleetKeys`, docs/fleet.md). Used by the node
 * agent (through FleetNodeClient), by `vipctl fleet` and by the benchmark. Every value read back goes
 * through core's schemas: what fails is returned as an error string, never acted on.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  appliedMarkSchema, auditEntrySchema, buildFleetMatrix, commandAckSchema, desiredEntrySchema, desiredField, COMMAND_ID_RE,
  fleetKeys, jsonTooDeep, nodeRecordSchema, parseFleetJson, NODE_NAME_RE, FLEET_LIMIT_DEFAULTS, FLEET_SCHEMA_VERSION, MAX_DESIRED_BYTES,
  MAX_DESIRED_FIELD_BYTES, MAX_JSON_DEPTH,
  type AppliedMark, type AuditEntry, type CommandAck, type DesiredEntry, type FleetEvent, type FleetKeys, type FleetLimits,
  type FleetMatrix, type FleetOp, type FleetParse, type NodeRecord, type RedisConfig,
} from '@vipcontrol/core';
import { FleetError, FleetTimeoutError, FleetUnavailableError } from './errors.js';
import { closeRedis, createRedis, redisTarget, type ConnectionTuning } from './redis-options.js';

/** A node key outlives its TTL by this factor, so `fleet status` shows a dead node as stale before it goes missing. */
export const RECORD_LINGER_FACTOR = 20;
/** Acks are read once by the waiting caller; the TTL only bounds garbage from callers that gave up. */
export const ACK_TTL_MS = 10 * 60_000;
/** Audit stream cap (XADD MAXLEN ~). */
export const AUDIT_MAX_LEN = 10_000;
const MGET_CHUNK = 500;
/** An applied mark is `{id, seq}`: well under this. */
const MAX_APPLIED_BYTES = 256;
/** Values larger than this are parsed one per event-loop turn, so a full view never blocks the loop for long. */
const YIELD_ABOVE_BYTES = 64 * 1024;
/** Desired values (≤ 16 KiB each) parsed between two event-loop turns. */
const PARSES_PER_TURN = 64;

/**
 * Bounded reads, run inside Redis (read-only scripts) so oversized data never crosses the wire: the desired hash
 * (field count first, then per field its name and value length) and node records (length first).
 * Reply of READ_HASH: [fieldCount, then per field: name, kind, value] where kind 0 = value follows,
 * 1 = the name is too long (first 80 bytes given), 2 = the value is too long (its length given).
 */
const READ_HASH = `
local n = redis.call('HLEN', KEYS[1])
if n > tonumber(ARGV[1]) then return {n} end
local out = {n}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if #f > tonumber(ARGV[2]) then
    out[#out + 1] = string.sub(f, 1, 80); out[#out + 1] = 1; out[#out + 1] = #f
  else
    local len = redis.call('HSTRLEN', KEYS[1], f)
    if len > tonumber(ARGV[3]) then
      out[#out + 1] = f; out[#out + 1] = 2; out[#out + 1] = len
    else
      out[#out + 1] = f; out[#out + 1] = 0; out[#out + 1] = redis.call('HGET', KEYS[1], f)
    end
  end
end
return out`;
/** Per key: its value, its length when longer than ARGV[1], or nil (missing, or not a string: as MGET). */
const READ_VALUES = `
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('TYPE', k).ok ~= 'string' then out[i] = false
  else
    local len = redis.call('STRLEN', k)
    if len > tonumber(ARGV[1]) then out[i] = len else out[i] = redis.call('GET', k) end
  end
end
return out`;

/** A short digest of a value, to remember what was rejected without keeping it. */
function valueDigest(raw: string): string {
  return createHash('sha256').update(raw).digest('base64url');
}

/** A desired entry that failed validation, with what could be recovered to answer its sender. */
export interface InvalidDesired {
  readonly field: string;
  /** Identifies the rejected value (its digest, or its size when it was too large to fetch). */
  readonly digest: string;
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
  readonly limits: FleetLimits;
  readonly #redis: Redis;
  /** Node -> digest of its record last rejected: the same junk is not parsed again on every view. */
  readonly #rejectedRecords = new Map<string, { digest: string; error: string }>();
  /** Desired hash key -> field -> the valid entry parsed from the value with this digest. */
  readonly #desiredCache = new Map<string, Map<string, { digest: string; entry: DesiredEntry }>>();

  /** `db`: the Redis database the connection uses (channel names carry it: core `fleetKeys`). */
  constructor(redis: Redis, keyPrefix: string, limits: FleetLimits = FLEET_LIMIT_DEFAULTS, db = 0) {
    this.#redis = redis;
    this.keys = fleetKeys(keyPrefix, db);
    this.limits = limits;
  }

  /** Connects a new store for a short-lived caller (vipctl, bench): fails fast when Redis is away. */
  static async open(cfg: RedisConfig, tuning: ConnectionTuning = {}): Promise<FleetStore> {
    const target = redisTarget(cfg);
    const redis = createRedis(target, { maxReconnects: 2, connectionName: 'vipctl', ...tuning });
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
    return new FleetStore(redis, cfg.keyPrefix, cfg.limits, target.db);
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

  /**
   * Every node known to the fleet (at most `limits.maxNodes`, most recent heartbeats first) and its
   * parsed record (undefined: registration expired). Records over `limits.maxValueBytes` are not
   * fetched; a record rejected before is not parsed again while it is unchanged.
   */
  async readNodes(): Promise<FleetNodes & { errors: string[] }> {
    const max = this.limits.maxNodes;
    const [total, flat] = await Promise.all([this.#redis.zcard(this.keys.nodes), this.#redis.zrevrange(this.keys.nodes, 0, max - 1, 'WITHSCORES')]);
    const known: { node: string; heartbeatAt: number }[] = [];
    const errors: string[] = [];
    if (total > max) errors.push(`${this.keys.nodes}: ${total} members, more than redis.limits.maxNodes (${max}); only the ${max} most recent read`);
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const node = flat[i]!;
      if (NODE_NAME_RE.test(node)) known.push({ node, heartbeatAt: Number(flat[i + 1]) });
      else errors.push(`${this.keys.nodes}: member ${JSON.stringify(node.slice(0, 80))} is not a node name`);
    }
    known.reverse();
    const records = new Map<string, FleetParse<NodeRecord> | undefined>();
    for (let i = 0; i < known.length; i += MGET_CHUNK) {
      const chunk = known.slice(i, i + MGET_CHUNK);
      const keys = chunk.map((k) => this.keys.node(k.node));
      const values = await this.#redis.call('EVAL_RO', READ_VALUES, keys.length, ...keys, this.limits.maxValueBytes) as (string | number | null)[];
      for (const [j, { node }] of chunk.entries()) {
        const checked = await this.#parseRecord(node, values[j] ?? null);
        if (checked && !checked.ok) errors.push(checked.error);
        records.set(node, checked);
      }
    }
    return { known, records, errors };
  }

  async #parseRecord(node: string, raw: string | number | null): Promise<FleetParse<NodeRecord> | undefined> {
    const key = this.keys.node(node);
    if (raw === null) return undefined;
    if (typeof raw === 'number') return { ok: false, error: `${key}: value too large (${raw} bytes, limit redis.limits.maxValueBytes ${this.limits.maxValueBytes}); not read` };
    // Hashed only where a rejection is on record or one is made: valid records (the usual case) are not.
    const known = this.#rejectedRecords.get(node);
    if (known !== undefined && known.digest === valueDigest(raw)) return { ok: false, error: known.error };
    if (raw.length > YIELD_ABOVE_BYTES) await yieldToLoop();
    const parsed = parseFleetJson(nodeRecordSchema, raw, key, this.limits.maxValueBytes);
    const checked: FleetParse<NodeRecord> = parsed.ok && parsed.value.node !== node
      ? { ok: false, error: `${key}: record claims node "${parsed.value.node}"` }
      : parsed;
    if (checked.ok) this.#rejectedRecords.delete(node);
    else this.#rejectedRecords.set(node, { digest: valueDigest(raw), error: checked.error });
    return checked;
  }

  /** The `fleet status` matrix, judged against Redis's clock. */
  async readMatrix(staleAfterMs: number): Promise<FleetMatrix & { errors: string[] }> {
    const [nodes, now] = await Promise.all([this.readNodes(), this.now()]);
    return { ...buildFleetMatrix({ known: nodes.known, records: nodes.records, now, staleAfterMs }), errors: nodes.errors };
  }

  /**
   * The node's desired entries, split into valid ones and rejected ones, read within bounds: a hash
   * with more than `limits.maxFields` fields is refused whole, values over MAX_DESIRED_BYTES (no valid
   * entry is that large) are not fetched. `known` maps field -> digest of a value rejected before:
   * such a value is skipped without being parsed again.
   */
  async readDesired(node: string, known: ReadonlyMap<string, string> = new Map()): Promise<{ entries: { field: string; entry: DesiredEntry }[]; invalid: InvalidDesired[] }> {
    const key = this.keys.desired(node);
    const reply = await this.#readHash(key, MAX_DESIRED_BYTES);
    const count = Number(reply[0]);
    const entries: { field: string; entry: DesiredEntry }[] = [];
    const invalid: InvalidDesired[] = [];
    if (count > this.limits.maxFields) {
      invalid.push({ field: '*', digest: `fields:${count}`, error: `${key}: ${count} fields, more than redis.limits.maxFields (${this.limits.maxFields}); none read` });
      return { entries, invalid };
    }
    // Valid entries stay in the hash after they ran: parse each value once, not on every heartbeat.
    const cached = this.#desiredCache.get(key);
    const fresh = new Map<string, { digest: string; entry: DesiredEntry }>();
    this.#desiredCache.set(key, fresh);
    let parses = 0;
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const field = String(reply[i]);
      const kind = Number(reply[i + 1]);
      const value = reply[i + 2]!;
      if (kind !== 0) {
        const what = kind === 1 ? `field name of ${value} bytes` : `value of ${value} bytes`;
        const digest = `${kind}:${value}`;
        if (known.get(field) !== digest) invalid.push({ field, digest, error: `${key} ${JSON.stringify(field)}: ${what}, larger than any valid entry; not read` });
        continue;
      }
      const raw = String(value);
      const digest = valueDigest(raw);
      if (known.get(field) === digest) continue;
      const hit = cached?.get(field);
      if (hit?.digest === digest) {
        fresh.set(field, hit);
        entries.push({ field, entry: hit.entry });
        continue;
      }
      if (++parses % PARSES_PER_TURN === 0) await yieldToLoop();
      const parsed = parseFleetJson(desiredEntrySchema, raw, `${key} ${field}`, MAX_DESIRED_BYTES);
      let error: string | undefined;
      if (!parsed.ok) error = parsed.error;
      else if (parsed.value.node !== node) error = `${key} ${field}: entry is addressed to node "${parsed.value.node}"`;
      else if (desiredField(parsed.value.op, parsed.value.prefix) !== field) error = `${key} ${field}: ${parsed.value.op} entry stored under the wrong field`;
      if (error === undefined && parsed.ok) {
        fresh.set(field, { digest, entry: parsed.value });
        entries.push({ field, entry: parsed.value });
      }
      else invalid.push({ field, digest, error: error!, ...recoverIds(raw) });
    }
    return { entries, invalid };
  }

  /** READ_HASH on `key`; EVAL_RO (Redis >= 7), so an ACL user with read-only access to the key may run it. */
  async #readHash(key: string, maxValueBytes: number): Promise<(string | number)[]> {
    return await this.#redis.call('EVAL_RO', READ_HASH, 1, key, this.limits.maxFields, MAX_DESIRED_FIELD_BYTES, maxValueBytes) as (string | number)[];
  }

  /** What the node last processed per desired field (malformed marks are ignored: the entry is re-processed). */
  async readApplied(node: string): Promise<Record<string, AppliedMark>> {
    const key = this.keys.applied(node);
    const reply = await this.#readHash(key, MAX_APPLIED_BYTES);
    const out: Record<string, AppliedMark> = {};
    for (let i = 1; i + 2 < reply.length; i += 3) {
      if (Number(reply[i + 1]) !== 0) continue;
      const field = String(reply[i]);
      const parsed = parseFleetJson(appliedMarkSchema, String(reply[i + 2]), `${key} ${field}`, MAX_APPLIED_BYTES);
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
    const [score, values] = await Promise.all([
      this.#redis.zscore(this.keys.nodes, node),
      this.#redis.call('EVAL_RO', READ_VALUES, 1, this.keys.node(node), this.limits.maxValueBytes) as Promise<(string | number | null)[]>,
    ]);
    const record = await this.#parseRecord(node, values[0] ?? null);
    return { known: score !== null, ...(record !== undefined ? { record } : {}) };
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
      const now = current === null ? undefined : parseFleetJson(desiredEntrySchema, current, key, MAX_DESIRED_BYTES);
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
  if (jsonTooDeep(raw, MAX_JSON_DEPTH)) return {};
  try {
    const j = JSON.parse(raw) as { id?: unknown; seq?: unknown };
    return typeof j.id === 'string' && COMMAND_ID_RE.test(j.id) && Number.isSafeInteger(j.seq) && (j.seq as number) > 0
      ? { id: j.id, seq: j.seq as number }
      : {};
  } catch {
    return {}; // not JSON: nothing to recover; the caller logs the parse error already
  }
}

/**
 * Fleet mode's data model (issue 4): the Redis key layout, the schemas of everything read back from
 * Redis, the node × VIP matrix behind `vipctl fleet status`, and the minAnnouncers guard.
 *
 * Pure: no I/O. Redis is trusted no more than the local API socket, so every value read from it goes
 * through a schema here before anything acts on it; a value that fails is reported, never half-used.
 * docs/fleet.md describes the same layout for operators.
 */
import { z } from 'zod';
import { checkNameSchema as checkName, epochMsSchema as epochMs, freeTextSchema as freeText, nodeNameSchema as nodeName, u32Schema as med } from './schemas.js';
import type { MedTerm, WithdrawReason } from './types.js';
import { COMMAND_ID_RE, MAX_ACTOR_LENGTH, parseNodeName } from './vocabulary.js';

/** Version stamped into every JSON document we write; a reader refuses other versions. */
export const FLEET_SCHEMA_VERSION = 1;

/**
 * How far in the future a remote command's `at` (the sender's clock) may lie. Further out it is
 * refused: its TTL counts from `at`, so a far-future `at` would stretch an override without limit.
 * NTP keeps real clocks well within this.
 */
export const FLEET_MAX_CLOCK_SKEW_MS = 60_000;

/** Key prefixes: the config's `redis.keyPrefix` alphabet (default "vipcontrol:"). */
export const KEY_PREFIX_RE = /^[A-Za-z0-9_:.-]{1,64}$/;

/** Redis key and channel names of one fleet. All keys of a fleet share `prefix`. */
export interface FleetKeys {
  /** STRING, JSON `NodeRecord`, PX = node TTL: the node's registration and published state. */
  node(node: string): string;
  /** ZSET member = node, score = last heartbeat (epoch ms): every node ever seen, for "missing". */
  readonly nodes: string;
  /** HASH field = `desiredField()`, value = JSON `DesiredEntry`: the latest desired remote override per target. */
  desired(node: string): string;
  /** HASH field = `desiredField()`, value = seq of the last desired entry the node processed. */
  applied(node: string): string;
  /** LIST, one JSON `CommandAck`, short TTL: the caller BLPOPs it. */
  ack(id: string): string;
  /** STRING counter: INCR gives every desired entry a fleet-wide increasing seq. */
  readonly seq: string;
  /** STREAM, capped (XADD MAXLEN ~): the audit trail, one JSON `AuditEntry` per change. */
  readonly audit: string;
  /** Pub/sub channel: JSON `FleetEvent` whenever a node's state changes. */
  readonly events: string;
  /** Pub/sub channel of one node: "a desired entry changed, re-read the hash" (a wake-up, not the data). */
  notify(node: string): string;
  /** ZSET member = node, score = lease end (Redis ms): nodes allowed to withdraw this VIP (the guard's slots). */
  slots(prefix: string): string;
  /** ZSET member = node, score = Redis time of its last heartbeat: nodes announcing this VIP at their BIRD. */
  members(prefix: string): string;
}

/**
 * The key layout for one prefix (config `redis.keyPrefix`). A ":" separator is added unless the prefix
 * already ends with one, so "vipcontrol:" and "vipcontrol" both give "vipcontrol:node:n1".
 *
 * Pub/sub channels are not per database in Redis: two fleets sharing one server and one key prefix on
 * different DB numbers would wake each other. So channel names carry the DB number (`db`, from the
 * URL's path; issue 10): "vipcontrol:db0:events", "vipcontrol:db0:notify:n1".
 */
export function fleetKeys(keyPrefix: string, db = 0): FleetKeys {
  if (!KEY_PREFIX_RE.test(keyPrefix)) throw new RangeError(`invalid fleet key prefix ${JSON.stringify(keyPrefix)}`);
  if (!Number.isInteger(db) || db < 0) throw new RangeError(`invalid Redis database ${db}`);
  const p = keyPrefix.endsWith(':') ? keyPrefix : `${keyPrefix}:`;
  const nodeKey = (kind: string) => (node: string) => `${p}${kind}:${parseNodeName(node)}`;
  return {
    node: nodeKey('node'),
    nodes: `${p}nodes`,
    desired: nodeKey('desired'),
    applied: nodeKey('applied'),
    ack: (id: string) => `${p}ack:${checkCommandId(id)}`,
    seq: `${p}seq`,
    audit: `${p}audit`,
    events: `${p}db${db}:events`,
    notify: (node: string) => `${p}db${db}:notify:${parseNodeName(node)}`,
    slots: (prefix: string) => `${p}slots:${checkPrefixText(prefix)}`,
    members: (prefix: string) => `${p}members:${checkPrefixText(prefix)}`,
  };
}

function checkPrefixText(prefix: string): string {
  if (!PREFIX_TEXT_RE.test(prefix)) throw new RangeError(`invalid prefix ${JSON.stringify(prefix)}`);
  return prefix;
}

function checkCommandId(id: string): string {
  if (!COMMAND_ID_RE.test(id)) throw new RangeError(`invalid command id ${JSON.stringify(id)}`);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Schemas. Bounded everywhere: a hostile writer must not make a reader allocate without limit.

/** Shape check only; the agent canonicalises with core's `canonicalPrefix` before acting. */
const PREFIX_TEXT_RE = /^[0-9A-Fa-f.:]{1,46}\/\d{1,3}$/;
const prefixText = z.string().max(50).regex(PREFIX_TEXT_RE, 'must be a prefix like 198.51.100.10/32');

const withdrawReasonSchema: z.ZodType<WithdrawReason> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('operator'), reason: freeText(200).optional() }),
  z.object({ kind: z.literal('health'), check: checkName }),
  z.object({ kind: z.literal('drain') }),
  z.object({ kind: z.literal('lease') }),
  z.object({ kind: z.literal('awaiting-health') }),
]);

const medTermSchema: z.ZodType<MedTerm> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('configured'), med }),
  z.object({ kind: z.literal('override'), med, expiresAt: epochMs.optional(), reason: freeText(200).optional() }),
  z.object({ kind: z.literal('health'), check: checkName, penalty: med }),
  z.object({ kind: z.literal('drain'), penalty: med }),
  z.object({ kind: z.literal('lease'), penalty: med }),
  z.object({ kind: z.literal('min-announcers'), penalty: med, refused: z.array(withdrawReasonSchema).max(16).optional() }),
]);

/** One VIP as a node publishes it. */
export const fleetVipSchema = z.object({
  prefix: prefixText,
  announced: z.boolean(),
  med,
  terms: z.array(medTermSchema).max(64),
  withdrawReasons: z.array(withdrawReasonSchema).max(64),
  minAnnouncers: z.number().int().min(0).max(1000),
  /** BIRD exports what we want (the last read-back matched). */
  inSync: z.boolean(),
});
export type FleetVip = z.infer<typeof fleetVipSchema>;

/** `{prefix}:node:{node}`: a node's registration and effective state. */
export const nodeRecordSchema = z.object({
  v: z.literal(FLEET_SCHEMA_VERSION),
  node: nodeName,
  version: freeText(64),
  /** Random per daemon start: a change means the daemon restarted. */
  instance: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  startedAt: epochMs,
  heartbeatAt: epochMs,
  bird: z.object({
    connected: z.boolean(),
    lastApply: z.object({ at: epochMs, ok: z.boolean(), durationMs: z.number().min(0).max(1e7).optional(), error: freeText(500).optional() }).optional(),
  }),
  drain: z.object({
    withdraw: z.boolean(),
    source: z.enum(['operator', 'maintenance']),
    reason: freeText(200).optional(),
    until: epochMs.optional(),
  }).optional(),
  /** The node's maintenance windows: the active one's end and action, the next start (and whether it is skipped). */
  maintenance: z.object({
    activeUntil: epochMs.optional(),
    activeAction: z.enum(['drain', 'withdraw']).optional(),
    next: epochMs.optional(),
    nextSkipped: z.boolean().optional(),
  }).optional(),
  /** Prefixes the minAnnouncers guard currently holds on this node. */
  guarded: z.array(prefixText).max(10000),
  vips: z.array(fleetVipSchema).max(10000),
});
export type NodeRecord = z.infer<typeof nodeRecordSchema>;

/** Remote operations. Their `body` is exactly the local API's request body, validated by the same parsers. */
export const FLEET_OPS = ['set-med', 'reset-med', 'drain', 'undrain'] as const;
export type FleetOp = (typeof FLEET_OPS)[number];

/** `{prefix}:desired:{node}` values: the latest desired remote override for one target. */
export const desiredEntrySchema = z.object({
  v: z.literal(FLEET_SCHEMA_VERSION),
  id: z.string().regex(COMMAND_ID_RE),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  node: nodeName,
  op: z.enum(FLEET_OPS),
  prefix: prefixText.optional(),
  /** Kept opaque here on purpose: the node validates it with parseSetMedBody / parseDrainBody. */
  body: z.record(z.string(), z.unknown()).refine((b) => JSON.stringify(b).length <= 4096, 'body too large'),
  by: freeText(MAX_ACTOR_LENGTH),
  at: epochMs,
}).refine((e) => (e.op === 'set-med' || e.op === 'reset-med') === (e.prefix !== undefined), {
  message: 'prefix is required for set-med/reset-med and forbidden for drain/undrain',
});
export type DesiredEntry = z.infer<typeof desiredEntrySchema>;

/** The hash field a desired entry lives under: one per target, so a later command replaces an earlier one. */
export function desiredField(op: FleetOp, prefix?: string): string {
  if (op === 'drain' || op === 'undrain') return 'drain';
  if (prefix === undefined) throw new RangeError(`${op} needs a prefix`);
  return `med:${prefix}`;
}

/** What a node answers to a remote command (`{prefix}:ack:{id}`). */
export const commandAckSchema = z.object({
  v: z.literal(FLEET_SCHEMA_VERSION),
  id: z.string().regex(COMMAND_ID_RE),
  seq: z.number().int().min(1),
  node: nodeName,
  /** applied: done and confirmed in BIRD; rejected: failed validation; failed: valid but the apply failed;
   *  expired: its TTL ran out while the node was away, so nothing was done. */
  outcome: z.enum(['applied', 'rejected', 'failed', 'expired']),
  ok: z.boolean(),
  /** HTTP-like status of the same operation on the local API (400, 404, 409, 500, ...). */
  status: z.number().int().min(100).max(599).optional(),
  error: freeText(1000).optional(),
  vips: z.array(z.object({ prefix: prefixText, announced: z.boolean(), med })).max(10000),
  at: epochMs,
});
export type CommandAck = z.infer<typeof commandAckSchema>;

/** One line of the audit trail (`{prefix}:audit`). */
export const auditEntrySchema = z.object({
  v: z.literal(FLEET_SCHEMA_VERSION),
  at: epochMs,
  node: nodeName,
  actor: z.object({ source: z.enum(['api', 'fleet', 'health', 'maintenance', 'system']), user: freeText(MAX_ACTOR_LENGTH).optional() }),
  /** e.g. "set-med", "drain", "guard", "remote-rejected". */
  action: freeText(64),
  prefix: prefixText.optional(),
  reason: freeText(200).optional(),
  ok: z.boolean(),
  detail: freeText(1000).optional(),
  /** Remote command id, when the change came from `vipctl fleet`. */
  command: z.string().regex(COMMAND_ID_RE).optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** `{prefix}:events` messages. */
export const fleetEventSchema = z.object({
  v: z.literal(FLEET_SCHEMA_VERSION),
  type: z.enum(['state', 'offline']),
  node: nodeName,
  at: epochMs,
});
export type FleetEvent = z.infer<typeof fleetEventSchema>;

/** Result of reading one value from Redis: parsed, or a message saying what was wrong with it. */
export type FleetParse<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Bounds on what a reader takes from Redis (config `redis.limits`): a writer must not make a node
 * allocate, parse or wait without limit. docs/fleet.md lists them.
 */
export interface FleetLimits {
  /** Nodes read from `{prefix}:nodes` for the fleet view and `fleet status`. */
  readonly maxNodes: number;
  /** Fields of a node's desired hash; a hash with more is refused whole (none of it runs). */
  readonly maxFields: number;
  /** Size of one node record (bytes of JSON); a larger one is not even fetched. */
  readonly maxValueBytes: number;
}

export const FLEET_LIMIT_DEFAULTS: FleetLimits = Object.freeze({ maxNodes: 1000, maxFields: 1024, maxValueBytes: 4 * 1024 * 1024 });

/** A desired entry's largest valid JSON: its body is capped at 4 KiB, the rest is small. Larger is junk. */
export const MAX_DESIRED_BYTES = 16 * 1024;
/** A desired field is `drain` or `med:{prefix}`. */
export const MAX_DESIRED_FIELD_BYTES = 128;
/** Deepest nesting any valid fleet document has (a node record: vips → terms → refused → reason) with room to spare. */
export const MAX_JSON_DEPTH = 16;

/**
 * Whether `raw` nests objects/arrays deeper than `max`, by one scan that skips string contents.
 * Checked before JSON.parse so that neither the parser nor a schema walks a 100,000-level document.
 */
export function jsonTooDeep(raw: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Parses JSON text read from Redis with `schema`. Never throws: hostile or corrupt data is an
 * expected input, reported with `what` (the key) so the log says where it came from. Text longer than
 * `maxBytes` or nested deeper than MAX_JSON_DEPTH is refused before it is parsed.
 */
export function parseFleetJson<T>(schema: z.ZodType<T>, raw: string | null | undefined, what: string, maxBytes = FLEET_LIMIT_DEFAULTS.maxValueBytes): FleetParse<T> {
  if (raw === null || raw === undefined) return { ok: false, error: `${what}: missing` };
  if (raw.length > maxBytes) return { ok: false, error: `${what}: value too large (${raw.length} bytes, limit ${maxBytes})` };
  if (jsonTooDeep(raw, MAX_JSON_DEPTH)) return { ok: false, error: `${what}: nested deeper than ${MAX_JSON_DEPTH} levels` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    return { ok: false, error: `${what}: not JSON (${(cause as Error).message})` };
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '(root)';
    return { ok: false, error: `${what}: ${path}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, value: r.data };
}

/** `{prefix}:applied:{node}` values: which desired entry the node last processed for a field. */
export const appliedMarkSchema = z.object({ id: z.string().regex(COMMAND_ID_RE), seq: z.number().int().min(1) });
export type AppliedMark = z.infer<typeof appliedMarkSchema>;

/**
 * Which desired entries a node still has to process, oldest first (so the audit trail reads in
 * command order). An entry is pending when its id differs from the one last processed for its field
 * and is not among `seen` (ids this process already handled). Ids rather than seq numbers decide,
 * because a flushed Redis restarts the seq counter: a fresh command with a small seq is still new.
 */
export function pendingDesired(
  entries: readonly { field: string; entry: DesiredEntry }[],
  applied: Readonly<Record<string, AppliedMark>>,
  seen: ReadonlySet<string> = new Set(),
): { field: string; entry: DesiredEntry }[] {
  return entries
    .filter(({ field, entry }) => entry.id !== applied[field]?.id && !seen.has(entry.id))
    .sort((a, b) => a.entry.seq - b.entry.seq);
}

// ---------------------------------------------------------------------------------------------
// The fleet matrix (`vipctl fleet status`).

export type FleetNodeState = 'ok' | 'stale' | 'missing' | 'invalid';

export interface FleetNodeRow {
  readonly node: string;
  /** ok: fresh heartbeat; stale: heartbeat older than the TTL; missing: registration expired;
   *  invalid: the record in Redis failed validation. */
  readonly state: FleetNodeState;
  readonly heartbeatAt?: number;
  readonly version?: string;
  readonly birdConnected?: boolean;
  readonly drain?: NodeRecord['drain'];
  readonly maintenance?: NodeRecord['maintenance'];
  readonly guarded: readonly string[];
  readonly error?: string;
}

export interface FleetCell {
  readonly announced: boolean;
  readonly med: number;
  /** One line: "configured 100 + drain 1000", "withdrawn: health ingest". */
  readonly why: string;
  /** From a stale node: shown, not counted. */
  readonly stale: boolean;
}

export interface FleetVipRow {
  readonly prefix: string;
  readonly minAnnouncers: number;
  readonly cells: Readonly<Record<string, FleetCell>>;
  /** Fresh nodes announcing it. */
  readonly announcers: number;
  /** Fresh announcers with the lowest MED (ties: several). */
  readonly best: readonly string[];
  readonly belowMin: boolean;
}

export interface FleetMatrix {
  readonly now: number;
  readonly nodes: readonly FleetNodeRow[];
  readonly vips: readonly FleetVipRow[];
}

const nodeNameCollator = new Intl.Collator('en', { numeric: true });

/** Node names in natural order (n2 before n10): one collator, not one per comparison. */
export function compareNodeNames(a: string, b: string): number {
  return nodeNameCollator.compare(a, b);
}

/** One line explaining a VIP's MED or why it is withdrawn. */
export function describeWhy(vip: Pick<FleetVip, 'announced' | 'terms' | 'withdrawReasons'>): string {
  if (!vip.announced) {
    const reasons = vip.withdrawReasons.map((r) => (r.kind === 'health' ? `health ${r.check}` : r.kind === 'operator' && r.reason ? `operator (${r.reason})` : r.kind));
    return `withdrawn: ${reasons.join(', ') || 'unknown'}`;
  }
  return vip.terms.map((t) => {
    switch (t.kind) {
      case 'configured': return `configured ${t.med}`;
      case 'override': return `override ${t.med}`;
      case 'health': return `health ${t.check} +${t.penalty}`;
      case 'drain': return `drain +${t.penalty}`;
      case 'lease': return `lease +${t.penalty}`;
      case 'min-announcers': return `min-announcers guard +${t.penalty}`;
    }
  }).join(' + ');
}

/**
 * Fresh = heartbeat within `staleAfterMs` of `now`, in either direction: heartbeats are stamped with
 * Redis's clock, so one from the future was written by a wrong clock (or a hostile writer) and must
 * not stay fresh for as long as it is ahead (issue 10).
 */
export function isFresh(rec: Pick<NodeRecord, 'heartbeatAt'>, now: number, staleAfterMs: number): boolean {
  return Math.abs(now - rec.heartbeatAt) <= staleAfterMs;
}

/**
 * Builds the node × VIP matrix from what was read: `known` is every node in `{prefix}:nodes` (with
 * its last heartbeat score), `records` the parse result of each node's key.
 */
export function buildFleetMatrix(input: {
  known: readonly { node: string; heartbeatAt: number }[];
  records: ReadonlyMap<string, FleetParse<NodeRecord> | undefined>;
  now: number;
  staleAfterMs: number;
}): FleetMatrix {
  const nodes: FleetNodeRow[] = [];
  const vips = new Map<string, { minAnnouncers: number; cells: Record<string, FleetCell> }>();
  const names = [...new Set([...input.known.map((k) => k.node), ...input.records.keys()])].sort(compareNodeNames);
  const knownAt = new Map(input.known.map((k) => [k.node, k.heartbeatAt]));
  for (const node of names) {
    const parsed = input.records.get(node);
    if (parsed === undefined) {
      nodes.push({ node, state: 'missing', heartbeatAt: knownAt.get(node), guarded: [] });
      continue;
    }
    if (!parsed.ok) {
      nodes.push({ node, state: 'invalid', heartbeatAt: knownAt.get(node), guarded: [], error: parsed.error });
      continue;
    }
    const rec = parsed.value;
    const stale = !isFresh(rec, input.now, input.staleAfterMs);
    nodes.push({ node, state: stale ? 'stale' : 'ok', heartbeatAt: rec.heartbeatAt, version: rec.version, birdConnected: rec.bird.connected, drain: rec.drain, maintenance: rec.maintenance, guarded: rec.guarded });
    for (const vip of rec.vips) {
      let row = vips.get(vip.prefix);
      if (!row) vips.set(vip.prefix, (row = { minAnnouncers: 0, cells: {} }));
      row.minAnnouncers = Math.max(row.minAnnouncers, vip.minAnnouncers);
      row.cells[node] = { announced: vip.announced, med: vip.med, why: describeWhy(vip), stale };
    }
  }
  const rows: FleetVipRow[] = [...vips.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([prefix, row]) => {
    const live = Object.entries(row.cells).filter(([, c]) => c.announced && !c.stale);
    const bestMed = Math.min(...live.map(([, c]) => c.med));
    return {
      prefix,
      minAnnouncers: row.minAnnouncers,
      cells: row.cells,
      announcers: live.length,
      best: live.filter(([, c]) => c.med === bestMed).map(([n]) => n),
      belowMin: live.length < row.minAnnouncers,
    };
  });
  return { now: input.now, nodes, vips: rows };
}

// ---------------------------------------------------------------------------------------------
// The minAnnouncers guard (issue 10): withdraw slots.
//
// A node may withdraw a VIP that has minAnnouncers only while it holds a *withdraw slot* for it in
// Redis. The slot is granted atomically (one Lua script, FleetStore.acquireWithdrawSlot) only while at
// least minAnnouncers *other* nodes announce the VIP without holding a slot themselves; otherwise the
// withdraw becomes the guard penalty. Nodes that fail at the same instant are serialised by Redis, so
// the fleet can never decide its way below minAnnouncers. Slots are leases: a crashed holder's expires.

/** What the guard needs of one VIP's status. */
export interface GuardVipView {
  readonly prefix: string;
  readonly announced: boolean;
  readonly terms: readonly MedTerm[];
  /** BIRD exports exactly what is desired (status `inSync`). */
  readonly inSync: boolean;
}

/** Where this node stands with one VIP's slot: `unknown` until Redis answered once since start-up. */
export type SlotState = 'holding' | 'none' | 'unknown';

/** What the agent must do for one guarded VIP now. */
export type SlotAction =
  | { readonly kind: 'acquire'; readonly force: boolean }
  | { readonly kind: 'release' }
  | { readonly kind: 'none' };

/**
 * True when the node wants the VIP withdrawn: it is withdrawn (the slot let it, or the withdraw was
 * forced), or the guard turned a withdraw into the penalty (`min-announcers` term).
 */
export function wantsWithdraw(vip: Pick<GuardVipView, 'announced' | 'terms'>): boolean {
  return !vip.announced || vip.terms.some((t) => t.kind === 'min-announcers');
}

/**
 * The slot step for one VIP. A node that wants to withdraw and holds no (known) slot asks for one;
 * `force` when the VIP is withdrawn although the guard applies to it (only forced withdraws pass the
 * guard): a forced withdraw takes a slot unconditionally so others count it as gone. A node that no
 * longer wants to withdraw gives its slot back only once BIRD exports the VIP again, so no one counts
 * it as an announcer before the router has its path.
 */
export function slotAction(vip: GuardVipView, state: SlotState, guarded: boolean): SlotAction {
  if (wantsWithdraw(vip)) return state === 'holding' ? { kind: 'none' } : { kind: 'acquire', force: guarded && !vip.announced };
  if (state !== 'none' && vip.announced && vip.inSync) return { kind: 'release' };
  return { kind: 'none' };
}

/**
 * The guard a daemon starts with, before Redis answered: every VIP with minAnnouncers is guarded
 * except those it held a withdraw slot for when it stopped (the state file's `withdrawSlots`). So a
 * restart changes nothing on the wire: a withdrawn VIP stays withdrawn (its slot is asked for again at
 * once), and a failing check cannot withdraw a VIP without a slot.
 */
export function initialGuard(vips: readonly { prefix: string; minAnnouncers: number }[], heldSlots: readonly string[] = []): Set<string> {
  const held = new Set(heldSlots);
  return new Set(vips.filter((v) => v.minAnnouncers > 0 && !held.has(v.prefix)).map((v) => v.prefix));
}

/** True when two guard sets hold the same prefixes (the agent only calls setGuarded on a change). */
export function sameGuard(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((p) => b.has(p));
}

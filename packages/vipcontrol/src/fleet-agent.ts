/**
 * Fleet mode (issue 4): joins this node to the fleet over Redis. It registers the node and publishes
 * its effective state, writes every change to the audit trail, executes remote commands through the
 * same Controller methods and body validation as the local API, and runs the minAnnouncers guard:
 * a VIP with minAnnouncers is guarded (`controller.setGuarded`: a non-forced withdraw becomes the
 * guard penalty) unless this node holds a withdraw slot for it, granted atomically by Redis (issue 10,
 * core `slotAction`, FleetStore.acquireWithdrawSlot). The guard sits on the desired-state side: it
 * only changes what the Controller computes, never the apply path.
 *
 * Fail-static (docs/fleet.md): nothing here changes an announcement because Redis failed. While Redis
 * is unreachable (or the fleet is re-registering after a reconnect or a flush), held slots stay held
 * and no new slot is granted, so a new withdraw becomes the penalty. The slots held are kept in the
 * state file, so a restart starts with the same guard (core `initialGuard`) and changes nothing on the
 * wire; a slot held before the restart is asked for again at once.
 */
import { randomUUID } from 'node:crypto';
import {
  MAX_ACTOR_LENGTH, MAX_REASON_LENGTH, canonicalPrefix, initialGuard, toFreeText, FLEET_MAX_CLOCK_SKEW_MS, parseDrainBody, parseReasonBody, parseSetMedBody, sameGuard, slotAction, wantsWithdraw, FLEET_SCHEMA_VERSION,
  nodeRecordSchema,
  desiredField,
  type Actor, type AuditEntry, type CommandAck, type DesiredEntry, type FleetCommandLog, type NodeRecord, type SlotState, type VipcontrolConfig,
} from '@vipcontrol/core';
import { FleetNodeClient, type FleetNodeStatus, type InvalidDesired } from '@vipcontrol/fleet';
import type { Controller } from './controller.js';
import type { ChangeRecord, OperationResult, StatusSummary } from './daemon-types.js';
import { OperationError } from './errors.js';
import type { Logger } from './logger.js';
import { maintenanceSummary } from './maintenance.js';

/** `fleet` in GET /v1/status. */
export interface FleetStatus extends FleetNodeStatus {
  readonly node: string;
  readonly keyPrefix: string;
  readonly guard: {
    /** Prefixes whose non-forced withdraw is currently turned into the guard penalty (no slot held here). */
    readonly prefixes: readonly string[];
    readonly detail: Readonly<Record<string, GuardDetail>>;
    /** When a guard round last completed with Redis answering (absent: never; the guard is off until then). */
    readonly computedAt?: number;
    /** True while Redis is unreachable or unsettled: held slots stay held, no new slot is granted (fail-static). */
    readonly held: boolean;
    readonly error?: string;
  };
  readonly lastCommand?: { readonly id: string; readonly op: string; readonly by: string; readonly outcome: CommandAck['outcome']; readonly at: number; readonly error?: string };
}

export interface FleetAgent {
  stop(): Promise<void>;
  status(): FleetStatus;
}

type AckBody = Omit<CommandAck, 'v' | 'id' | 'seq' | 'node' | 'at'>;

/** One guarded VIP in status: the slot, and why a withdraw is refused when it is. */
export interface GuardDetail {
  readonly required: number;
  readonly slot: SlotState;
  /** Other nodes counted at the last decision (announcing, no slot). */
  readonly announcers?: readonly string[];
  /** Set while a wanted withdraw is refused: too few announcers elsewhere, or Redis unreachable (fail-static). */
  readonly refused?: string;
}

/** Change ops that are not changes of desired state (re-verification, retries): kept out of the audit trail. */
const NOT_AUDITED = new Set(['verify', 'retry', 'guard']);

/** What of the config the agent follows on reload (node and redis: only at start-up). */
interface VipSettings {
  readonly minAnnouncers: ReadonlyMap<string, number>;
  /** VIPs with minAnnouncers > 0: the only ones the guard looks at. */
  readonly guardedVips: readonly { prefix: string; minAnnouncers: number }[];
  /** Their prefixes: the only VIP statuses a guard round asks the Controller for. */
  readonly guardedPrefixes: ReadonlySet<string>;
  readonly guardPenalty: number;
}

function vipSettings(config: VipcontrolConfig): VipSettings {
  const guardedVips = config.vips.filter((v) => v.minAnnouncers > 0).map((v) => ({ prefix: v.prefix, minAnnouncers: v.minAnnouncers }));
  return {
    minAnnouncers: new Map(config.vips.map((v) => [v.prefix, v.minAnnouncers])),
    guardedVips,
    guardedPrefixes: new Set(guardedVips.map((v) => v.prefix)),
    guardPenalty: config.guardPenalty,
  };
}

/**
 * Starts fleet mode; `config.redis` must be set. Resolves at once: Redis may still be unreachable.
 * Follows the controller's 'reloaded' event for minAnnouncers and guardPenalty; `node` and `redis`
 * are read at start-up only (the controller warns that a changed `redis` needs a restart).
 */
export async function startFleetAgent(opts: {
  config: VipcontrolConfig;
  controller: Controller;
  logger: Logger;
  /** The remote commands the state file records as processed (issue 10: at most once across restarts). */
  commandLog?: () => FleetCommandLog | undefined;
  /** Where the withdraw slots held are kept across restarts (the daemon: the state file). */
  slotStore?: { load(): readonly string[] | undefined; save(slots: readonly string[]): Promise<void> };
}): Promise<FleetAgent> {
  const { config, controller } = opts;
  const redis = config.redis;
  if (!redis) throw new Error('startFleetAgent: config.redis is not set');
  const log = opts.logger; // the daemon passes a child with component: 'fleet'
  const instance = randomUUID();
  const startedAt = Date.now();
  let vips = vipSettings(config);
  /** Slots held when the daemon last stopped: not guarded until Redis says otherwise (see the header). */
  const heldBefore = new Set(opts.slotStore?.load() ?? []);
  /** Prefixes guarded now. */
  let guarded: ReadonlySet<string> = initialGuard(vips.guardedVips, [...heldBefore]);
  const slots = new Map<string, SlotState>();
  let savedSlots = [...heldBefore].sort().join(' ');
  /** Persists the slots held (before the guard lets a withdraw through, after a release). */
  const saveSlots = async () => {
    const held = [...slots].filter(([, st]) => st === 'holding').map(([p]) => p).sort();
    if (held.join(' ') === savedSlots) return;
    await opts.slotStore?.save(held);
    savedSlots = held.join(' ');
  };
  const detail = new Map<string, { announcers?: readonly string[]; refused?: string; refusedKind?: 'count' | 'fail-static' }>();
  let guardComputedAt: number | undefined;
  let guardError: string | undefined;
  let current: DesiredEntry | undefined;
  let lastCommand: FleetStatus['lastCommand'];
  let snapshotError: string | undefined;

  const audit = (entry: Omit<AuditEntry, 'v' | 'node' | 'at'> & { at?: number }) => {
    const full: AuditEntry = { v: FLEET_SCHEMA_VERSION, node: config.node, at: entry.at ?? Date.now(), ...entry };
    // The local log is the copy that survives a Redis outage longer than the outbox.
    log.info({ event: 'audit', audit: full }, `audit: ${full.action}${full.prefix ? ` ${full.prefix}` : ''}`);
    client.audit(full);
  };

  const client: FleetNodeClient = new FleetNodeClient({
    config: redis,
    node: config.node,
    logger: log,
    handlers: {
      snapshot: () => {
        // The record lists every VIP: one full build per publish (and nothing else of status()).
        const rec = toNodeRecord(controller.summary('all'), { node: config.node, instance, startedAt, minAnnouncers: vips.minAnnouncers, guarded });
        const checked = nodeRecordSchema.safeParse(rec);
        // Published anyway (readers flag it); logged once per distinct problem so it gets fixed.
        const problem = checked.success ? undefined : `${checked.error.issues[0]?.path.join('.')}: ${checked.error.issues[0]?.message}`;
        if (problem && problem !== snapshotError) log.error({ event: 'fleetSnapshotInvalid', error: problem }, 'own fleet record fails its schema');
        snapshotError = problem;
        return rec;
      },
      execute: async (entry) => {
        current = entry;
        try {
          const ack = await execute(controller, entry, Date.now());
          lastCommand = { id: entry.id, op: entry.op, by: entry.by, outcome: ack.outcome, at: Date.now(), ...(ack.error ? { error: ack.error } : {}) };
          log.info({ event: 'fleetCommand', id: entry.id, op: entry.op, prefix: entry.prefix, by: entry.by, outcome: ack.outcome, error: ack.error }, `remote ${entry.op}: ${ack.outcome}`);
          // Applied changes reach the audit trail through the controller's 'changed' event; the rest here.
          if (ack.outcome !== 'applied') {
            audit({ actor: { source: 'fleet', user: entry.by }, action: `remote-${entry.op}`, ...(entry.prefix ? { prefix: entry.prefix } : {}), ok: false, detail: `${ack.outcome}: ${ack.error ?? ''}`.slice(0, 1000), command: entry.id });
          }
          return ack;
        } finally {
          current = undefined;
        }
      },
      ...(opts.commandLog ? { commandLog: opts.commandLog } : {}),
      rejected: (bad: InvalidDesired) => {
        audit({ actor: { source: 'fleet' }, action: 'remote-rejected', ok: false, detail: bad.error.slice(0, 1000), ...(bad.id ? { command: bad.id } : {}) });
      },
      // Only while some VIP has minAnnouncers (a reload can change that).
      watchFleet: () => vips.guardedVips.length > 0,
      guardTick: () => syncGuard(),
      guardSlots: () => {
        const s = controller.summary(vips.guardedPrefixes);
        const byPrefix = new Map(s.vips.map((v) => [v.prefix, v]));
        return vips.guardedVips.flatMap(({ prefix }) => {
          const v = byPrefix.get(prefix);
          if (!v) return [];
          const holding = slots.get(prefix) === 'holding';
          return [{ prefix, holding, member: !holding && s.bird.connected && v.announced && v.inSync }];
        });
      },
    },
  });

  /**
   * A guard round now, from the daemon's own events. Connected: in the client's loop (serialised with
   * the heartbeat's slot renewal). Not connected: right here, so a withdraw refused fail-static is
   * audited and shown at once (the loop runs only while connected; no Redis write can race then).
   */
  const guardSoon = () => {
    if (vips.guardedVips.length === 0) return;
    if (client.status().connected) return client.guardSoon();
    syncGuard().catch((err: Error) => log.error({ event: 'guardRoundFailed', err: err.message }, 'minAnnouncers guard round failed; retried next heartbeat'));
  };

  let guardRound: Promise<void> | undefined;
  let guardAgain = false;

  /** Runs guard rounds one at a time; a request during a round runs one more after it. */
  function syncGuard(): Promise<void> {
    if (guardRound) {
      guardAgain = true;
      return guardRound;
    }
    guardRound = (async () => {
      do {
        guardAgain = false;
        await runGuardRound();
      } while (guardAgain);
    })().finally(() => { guardRound = undefined; });
    return guardRound;
  }

  /**
   * One guard round: per VIP with minAnnouncers, ask for a slot when the node wants to withdraw, give it
   * back once the VIP is exported again (core `slotAction`), then hand the guarded set to the Controller.
   */
  async function runGuardRound(): Promise<void> {
    const status = controller.summary(vips.guardedPrefixes);
    const byPrefix = new Map(status.vips.map((v) => [v.prefix, v]));
    let complete = true;
    for (const { prefix, minAnnouncers } of vips.guardedVips) {
      const vip = byPrefix.get(prefix);
      if (!vip) continue;
      const state = slots.get(prefix) ?? 'unknown';
      const action = slotAction(vip, state, guarded.has(prefix));
      try {
        if (action.kind === 'acquire') {
          const d = await client.acquireWithdrawSlot(prefix, minAnnouncers, action.force);
          slots.set(prefix, d.granted ? 'holding' : 'none');
          if (d.granted) {
            detail.set(prefix, { announcers: d.announcers });
            const how = action.force ? 'forced' : `${d.announcers.length} announcer(s) remain elsewhere [${d.announcers.join(', ')}], minAnnouncers ${minAnnouncers}`;
            audit({ actor: { source: 'system' }, action: 'withdraw-slot', prefix, ok: true, detail: `withdraw allowed: ${how}` });
          } else {
            refuse(prefix, 'count', d.announcers, `only ${d.announcers.length} announcer(s) elsewhere [${d.announcers.join(', ')}], minAnnouncers ${minAnnouncers}`);
          }
        } else if (action.kind === 'release') {
          // Guarded again first — in the state file and in the Controller — and only then counted as an
          // announcer by Redis: a check failing in between must not withdraw without a slot. A release
          // Redis does not take leaves a slot to expire (the safe direction: others count one fewer).
          slots.set(prefix, 'none');
          await saveSlots();
          // Decided on a status read before the awaits: if the VIP wants to withdraw again by now, keep
          // the slot (it never left Redis). Checked right before setGuarded takes effect (its first,
          // synchronous part), so no withdraw can slip in between.
          const [now] = controller.summary(new Set([prefix])).vips;
          if (now === undefined || wantsWithdraw(now)) {
            slots.set(prefix, 'holding');
            continue;
          }
          if (!guarded.has(prefix)) {
            const withIt = new Set([...guarded, prefix]);
            const applying = controller.setGuarded(withIt);
            guarded = withIt;
            await applying;
          }
          await client.releaseWithdrawSlot(prefix);
          detail.delete(prefix);
          if (state === 'holding') audit({ actor: { source: 'system' }, action: 'withdraw-slot-released', prefix, ok: true, detail: 'announced again; slot given back' });
        } else if (!wantsWithdraw(vip) && detail.get(prefix)?.refused !== undefined) {
          detail.delete(prefix); // the refused episode is over
        }
      } catch (err) {
        complete = false;
        if (action.kind === 'acquire') refuse(prefix, 'fail-static', undefined, `Redis unreachable or settling (${(err as Error).message}): withdraw refused, fail-static`);
        // A release Redis did not take: the lease expires (safe: others count this node as gone meanwhile).
      }
    }
    if (complete) guardComputedAt = Date.now();
    // A slot held before a restart keeps the VIP unguarded until Redis answered for it ('unknown').
    const next = new Set(vips.guardedVips.map((v) => v.prefix).filter((p) => slots.get(p) !== 'holding' && !(heldBefore.has(p) && slots.get(p) === undefined)));
    try {
      await saveSlots();
    } catch (err) {
      // Not on disk: do not let a withdraw through on a slot a restart would not know of; retried next round.
      guardError = `cannot persist withdraw slots: ${(err as Error).message}`;
      log.error({ event: 'guardPersistFailed', err: guardError }, 'could not persist the withdraw slots; keeping the previous guard');
      return;
    }
    if (sameGuard(next, guarded)) return;
    try {
      await controller.setGuarded(next);
      guarded = next;
      guardError = undefined;
    } catch (err) {
      // Keep the old set; the next round retries.
      guardError = (err as Error).message;
      log.error({ event: 'guardApplyFailed', err: guardError }, 'could not apply the minAnnouncers guard; keeping the previous verdict');
    }
  }

  /** A wanted withdraw became the guard penalty: audited and logged once per episode (and per cause). */
  function refuse(prefix: string, kind: 'count' | 'fail-static', announcers: readonly string[] | undefined, why: string): void {
    const was = detail.get(prefix);
    detail.set(prefix, { ...(announcers ? { announcers } : was?.announcers ? { announcers: was.announcers } : {}), refused: why, refusedKind: kind });
    if (was?.refusedKind === kind) return;
    log.warn({ event: 'guardRefused', prefix, kind, why }, `minAnnouncers: withdraw of ${prefix} refused: ${why}`);
    audit({ actor: { source: 'system' }, action: 'guard', prefix, ok: true, detail: `${why}; MED +${vips.guardPenalty} instead` });
  }

  /**
   * A reload: new minAnnouncers / guardPenalty take effect now. VIPs that no longer have a minAnnouncers
   * leave the guard at once (nothing left to guard, Redis or not; their slot is given back); the others
   * get a guard round right away.
   */
  async function reconfigure(next: VipcontrolConfig): Promise<void> {
    if (next.node !== config.node) {
      log.warn({ event: 'reloadNeedsRestart', field: 'node' }, `node changed: the fleet sees this node as ${config.node} until the next restart`);
    }
    vips = vipSettings(next);
    const still = new Set(vips.guardedVips.map((v) => v.prefix));
    for (const prefix of [...slots.keys()].filter((p) => !still.has(p))) {
      slots.delete(prefix);
      detail.delete(prefix);
      await client.releaseWithdrawSlot(prefix).catch((err: Error) => log.warn({ event: 'guardReleaseFailed', prefix, err: err.message }, 'could not give back a withdraw slot; its lease expires'));
    }
    await syncGuard();
    client.publishSoon();
  }

  // The Controller may not have the start-up guard yet (the daemon sets it before its first apply).
  if (!sameGuard(new Set(controller.summary(new Set()).guarded), guarded)) await controller.setGuarded(guarded);
  guardSoon();
  controller.on('reloaded', (next: VipcontrolConfig) => void reconfigure(next));
  controller.on('applied', () => {
    client.publishSoon();
    guardSoon();
  });
  controller.on('changed', (c: ChangeRecord) => {
    if (c.op !== 'guard') guardSoon();
    if (NOT_AUDITED.has(c.op)) return;
    const fromFleet = current !== undefined && c.actor.source === 'fleet';
    audit({
      at: c.at,
      actor: { source: c.actor.source, ...(c.actor.user ? { user: toFreeText(c.actor.user, MAX_ACTOR_LENGTH) } : {}) },
      action: c.op,
      ...(c.prefix ? { prefix: c.prefix } : {}),
      ...(c.reason ? { reason: toFreeText(c.reason, MAX_REASON_LENGTH) } : {}),
      ok: true,
      ...(c.detail ? { detail: toFreeText(JSON.stringify(c.detail), 1000) } : {}),
      ...(fromFleet ? { command: current!.id } : {}),
    });
  });

  client.start();
  log.info({ event: 'fleetStarted', endpoint: client.endpoint, node: config.node, guardedVips: vips.guardedVips.map((v) => v.prefix) }, 'fleet mode started');

  return {
    stop: () => client.stop(),
    status: () => {
      const s = client.status();
      return {
        ...s,
        node: config.node,
        keyPrefix: redis.keyPrefix,
        guard: {
          prefixes: [...guarded].sort(),
          detail: Object.fromEntries(vips.guardedVips.map(({ prefix, minAnnouncers }) => {
            const d = detail.get(prefix);
            return [prefix, { required: minAnnouncers, slot: slots.get(prefix) ?? 'unknown', ...(d?.announcers ? { announcers: d.announcers } : {}), ...(d?.refused ? { refused: d.refused } : {}) }];
          })),
          ...(guardComputedAt !== undefined ? { computedAt: guardComputedAt } : {}),
          held: vips.guardedVips.length > 0 && !s.settled,
          ...(guardError ? { error: guardError } : {}),
        },
        ...(lastCommand ? { lastCommand } : {}),
      };
    },
  };
}

/**
 * Runs one remote command through the Controller, with the local API's validation. Never throws:
 * every failure becomes an ack the caller sees.
 */
export async function execute(controller: Controller, entry: DesiredEntry, now: number): Promise<AckBody> {
  // The command mark rides with the change into the state file (Controller #mutate): at most once per id.
  const actor: Actor = { source: 'fleet', user: entry.by, command: { field: desiredField(entry.op, entry.prefix), id: entry.id, seq: entry.seq } };
  if (entry.at > now + FLEET_MAX_CLOCK_SKEW_MS) {
    return { outcome: 'rejected', ok: false, status: 400, error: `at lies ${entry.at - now} ms in the future, more than the ${FLEET_MAX_CLOCK_SKEW_MS} ms clock skew allowed; nothing changed`, vips: [] };
  }
  let res: OperationResult;
  try {
    switch (entry.op) {
      case 'set-med': {
        const prefix = canonicalPrefix(entry.prefix!).prefix;
        const req = parseSetMedBody(entry.body);
        if (req.ttlMs !== undefined) {
          // The TTL counts from when the operator asked, not from when this node heard of it.
          const left = entry.at + req.ttlMs - now;
          if (left <= 0) return { outcome: 'expired', ok: false, status: 409, error: `ttl ran out ${now - entry.at - req.ttlMs} ms before this node read the command; nothing changed`, vips: [] };
          req.ttlMs = left;
        }
        res = await controller.setMed(prefix, req, actor);
        break;
      }
      case 'reset-med':
        res = await controller.resetMed(canonicalPrefix(entry.prefix!).prefix, actor);
        break;
      case 'drain':
        res = await controller.drain({ ...parseDrainBody(entry.body), source: 'operator' }, actor);
        break;
      case 'undrain':
        parseReasonBody(entry.body);
        res = await controller.undrain(actor);
        break;
    }
  } catch (err) {
    const e = err as Error;
    const status = err instanceof OperationError ? err.status : e.name === 'RequestError' || e.name === 'PrefixError' ? 400 : 500;
    return { outcome: status < 500 ? 'rejected' : 'failed', ok: false, status, error: toFreeText(e.message, 1000), vips: [] };
  }
  return { outcome: 'applied', ok: true, status: 200, vips: res.vips.map((v) => ({ prefix: v.prefix, announced: v.announced, med: v.med })) };
}

/**
 * The node's fleet record from the daemon's status summary. `ctx.node` is the name the agent registered
 * (a reload that renames the node takes effect at the next restart).
 */
export function toNodeRecord(s: StatusSummary, ctx: { node: string; instance: string; startedAt: number; minAnnouncers: ReadonlyMap<string, number>; guarded: ReadonlySet<string> }): NodeRecord {
  const last = s.bird.lastApply;
  const maintenance = maintenanceSummary(s.maintenance);
  return {
    v: FLEET_SCHEMA_VERSION,
    node: ctx.node,
    version: s.version,
    instance: ctx.instance,
    startedAt: ctx.startedAt,
    heartbeatAt: Date.now(),
    bird: {
      connected: s.bird.connected,
      ...(last ? { lastApply: { at: last.at, ok: last.ok, durationMs: last.durationMs, ...(last.error ? { error: toFreeText(last.error, 500) } : {}) } } : {}),
    },
    ...(s.drain ? { drain: { withdraw: s.drain.withdraw, source: s.drain.source, ...(s.drain.reason ? { reason: s.drain.reason } : {}), ...(s.drain.until ? { until: s.drain.until } : {}) } } : {}),
    ...(maintenance ? { maintenance } : {}),
    guarded: [...ctx.guarded].sort(),
    vips: s.vips.map((v) => ({
      prefix: v.prefix,
      announced: v.announced,
      med: v.med,
      terms: [...v.terms],
      withdrawReasons: [...v.withdrawReasons],
      minAnnouncers: ctx.minAnnouncers.get(v.prefix) ?? 0,
      inSync: v.inSync,
    })),
  };
}

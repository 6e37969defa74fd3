/**
 * Fleet mode (issue 4): joins this node to the fleet over Redis. It registers the node and publishes
 * its effective state, writes every change to the audit trail, executes remote commands through the
 * same Controller methods and body validation as the local API, and turns the fleet view into the
 * minAnnouncers guard (`controller.setGuarded`).
 *
 * Fail-static (docs/fleet.md): nothing here changes an announcement because Redis failed. While Redis
 * is unreachable (or the fleet is re-registering after a reconnect or a flush), the last guard verdict
 * stays in force; a node that starts without Redis starts with no guard, as a single node would.
 */
import { randomUUID } from 'node:crypto';
import {
  MAX_ACTOR_LENGTH, MAX_REASON_LENGTH, canonicalPrefix, computeGuard, toFreeText, FLEET_MAX_CLOCK_SKEW_MS, parseDrainBody, parseReasonBody, parseSetMedBody, sameGuard, FLEET_SCHEMA_VERSION,
  nodeRecordSchema,
  type AuditEntry, type CommandAck, type DesiredEntry, type GuardVerdict, type NodeRecord, type VipcontrolConfig,
} from '@vipcontrol/core';
import { FleetNodeClient, type FleetNodeStatus, type InvalidDesired } from '@vipcontrol/fleet';
import type { Controller } from './controller.js';
import type { ChangeRecord, DaemonStatus, OperationResult } from './daemon-types.js';
import { OperationError } from './errors.js';
import type { Logger } from './logger.js';
import { maintenanceSummary } from './maintenance.js';

/** `fleet` in GET /v1/status. */
export interface FleetStatus extends FleetNodeStatus {
  readonly node: string;
  readonly keyPrefix: string;
  readonly guard: {
    /** Prefixes whose non-forced withdraw is currently turned into the guard penalty. */
    readonly prefixes: readonly string[];
    readonly detail: GuardVerdict['detail'];
    /** When the verdict was last computed from a settled fleet view (absent: never). */
    readonly computedAt?: number;
    /** True while Redis is unreachable or unsettled: the verdict above is the last known one, held. */
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

/** Change ops that are not changes of desired state (re-verification, retries): kept out of the audit trail. */
const NOT_AUDITED = new Set(['verify', 'retry', 'guard']);

/** What of the config the agent follows on reload (node and redis: only at start-up). */
interface VipSettings {
  readonly minAnnouncers: ReadonlyMap<string, number>;
  /** VIPs with minAnnouncers > 0: the only ones the guard looks at. */
  readonly guardedVips: readonly { prefix: string; minAnnouncers: number }[];
  readonly guardPenalty: number;
}

function vipSettings(config: VipcontrolConfig): VipSettings {
  return {
    minAnnouncers: new Map(config.vips.map((v) => [v.prefix, v.minAnnouncers])),
    guardedVips: config.vips.filter((v) => v.minAnnouncers > 0).map((v) => ({ prefix: v.prefix, minAnnouncers: v.minAnnouncers })),
    guardPenalty: config.guardPenalty,
  };
}

/**
 * Starts fleet mode; `config.redis` must be set. Resolves at once: Redis may still be unreachable.
 * Follows the controller's 'reloaded' event for minAnnouncers and guardPenalty; `node` and `redis`
 * are read at start-up only (the controller warns that a changed `redis` needs a restart).
 */
export async function startFleetAgent(opts: { config: VipcontrolConfig; controller: Controller; logger: Logger }): Promise<FleetAgent> {
  const { config, controller } = opts;
  const redis = config.redis;
  if (!redis) throw new Error('startFleetAgent: config.redis is not set');
  const log = opts.logger; // the daemon passes a child with component: 'fleet'
  const instance = randomUUID();
  const startedAt = Date.now();
  let vips = vipSettings(config);
  let guard: GuardVerdict = { guarded: new Set(), detail: {} };
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
        const rec = toNodeRecord(controller.status(), { node: config.node, instance, startedAt, minAnnouncers: vips.minAnnouncers, guarded: guard.guarded });
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
      rejected: (bad: InvalidDesired) => {
        audit({ actor: { source: 'fleet' }, action: 'remote-rejected', ok: false, detail: bad.error.slice(0, 1000), ...(bad.id ? { command: bad.id } : {}) });
      },
      // Reading the whole fleet costs: only while some VIP has minAnnouncers (a reload can change that).
      watchFleet: () => vips.guardedVips.length > 0,
      fleetView: (records: readonly NodeRecord[], now: number) => updateGuard(records, now),
    },
  });

  async function updateGuard(records: readonly NodeRecord[], now: number): Promise<void> {
    await applyGuard(computeGuard({ self: config.node, vips: vips.guardedVips, fleet: records, now, staleAfterMs: redis!.ttlMs }));
  }

  /** Hands a verdict to the controller when it differs from the current one; audits guard / unguard. */
  async function applyGuard(verdict: GuardVerdict): Promise<void> {
    if (sameGuard(verdict.guarded, guard.guarded)) {
      guard = verdict;
      guardComputedAt = Date.now();
      return;
    }
    try {
      await controller.setGuarded(verdict.guarded);
    } catch (err) {
      // Keep the old verdict; the next view retries.
      guardError = (err as Error).message;
      log.error({ event: 'guardApplyFailed', err: guardError }, 'could not apply the minAnnouncers guard; keeping the previous verdict');
      return;
    }
    const added = [...verdict.guarded].filter((p) => !guard.guarded.has(p));
    const removed = [...guard.guarded].filter((p) => !verdict.guarded.has(p));
    guard = verdict;
    guardComputedAt = Date.now();
    guardError = undefined;
    for (const prefix of added) {
      const d = verdict.detail[prefix]!;
      audit({ actor: { source: 'system' }, action: 'guard', prefix, ok: true, detail: `minAnnouncers ${d.required}: healthy announcers elsewhere [${d.healthyOthers.join(', ')}]; a non-forced withdraw here becomes MED +${vips.guardPenalty}` });
    }
    for (const prefix of removed) audit({ actor: { source: 'system' }, action: 'unguard', prefix, ok: true, detail: 'enough healthy announcers elsewhere; withdraws allowed again' });
  }

  /**
   * A reload: new minAnnouncers / guardPenalty take effect now. Verdicts of VIPs that no longer have a
   * minAnnouncers are dropped at once (nothing left to guard, Redis or not); the others are held until
   * the next settled fleet view, which is asked for right away.
   */
  async function reconfigure(next: VipcontrolConfig): Promise<void> {
    if (next.node !== config.node) {
      log.warn({ event: 'reloadNeedsRestart', field: 'node' }, `node changed: the fleet sees this node as ${config.node} until the next restart`);
    }
    vips = vipSettings(next);
    const still = new Set(vips.guardedVips.map((v) => v.prefix));
    const kept = [...guard.guarded].filter((p) => still.has(p));
    await applyGuard({ guarded: new Set(kept), detail: Object.fromEntries(kept.map((p) => [p, guard.detail[p]!])) });
    client.publishSoon();
    client.refreshView();
  }

  controller.on('reloaded', (next: VipcontrolConfig) => void reconfigure(next));
  controller.on('applied', () => client.publishSoon());
  controller.on('changed', (c: ChangeRecord) => {
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
          prefixes: [...guard.guarded].sort(),
          detail: guard.detail,
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
  const actor = { source: 'fleet' as const, user: entry.by };
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
 * The node's fleet record from the daemon's status. `ctx.node` is the name the agent registered
 * (a reload that renames the node takes effect at the next restart).
 */
export function toNodeRecord(s: DaemonStatus, ctx: { node: string; instance: string; startedAt: number; minAnnouncers: ReadonlyMap<string, number>; guarded: ReadonlySet<string> }): NodeRecord {
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

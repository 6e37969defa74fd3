/**
 * Wires the daemon together: config → state → BIRD client → reconciler → controller → API, plus the
 * optional fleet agent and maintenance scheduler. `stop()` changes nothing on the wire: a code
 * deploy (restart) must be invisible to the fabric, so shutdown never withdraws or reconfigures.
 */
import type { Logger } from 'pino';
import { BirdClient, versionOfBanner } from '@vipcontrol/bird';
import { initialGuard, type MaintenanceMarks, type VipcontrolConfig } from '@vipcontrol/core';
import { apiRoutes, type ApiRoutes } from './api-routes.js';
import { ApiServer } from './api-server.js';
import { Announcer } from './announcer.js';
import { readRegularFileIfExists } from './atomic-file.js';
import { loadConfig } from './config-loader.js';
import { VipController } from './controller.js';
import type { FleetAgent } from './fleet-agent.js';
import type { ApplyOutcome } from './daemon-types.js';
import { HealthRegistry } from './health-registry.js';
import { HealthSnapshotStore, healthSnapshotPath } from './health-snapshot.js';
import { includeAnnounces } from './include-guard.js';
import { IpLoopback, type LoopbackManager } from './loopback.js';
import type { Maintenance } from './maintenance.js';
import { Reconciler } from './reconciler.js';
import { BirdOutage } from './bird-outage.js';
import { StateStore } from './state-store.js';
import { VERSION } from './version.js';

export interface DaemonOptions {
  configFile: string;
  logger: Logger;
  /** Already-validated config (main.ts loads it to pick the log level); loaded from configFile if absent. */
  config?: VipcontrolConfig;
  /** Replaces the `ip`-based loopback manager (tests). */
  loopback?: LoopbackManager;
  /** Periodic re-verify interval (default 30 s). */
  verifyIntervalMs?: number;
  /** Longest an apply waits for a burst still arriving on the API socket (default 200 ms). */
  burstHoldMs?: number;
}

/** A running daemon. */
export interface Daemon {
  readonly controller: VipController;
  readonly bird: BirdClient;
  readonly api: ApiServer;
  /** The API's route table (components add theirs while they run). */
  readonly routes: ApiRoutes;
  /** Resolves after the first apply following start-up (or rejects with its error). */
  readonly started: Promise<ApplyOutcome>;
  stop(): Promise<void>;
}

/** Starts everything; the API is up (and status served) even while BIRD is still unreachable. */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.logger;
  const config = opts.config ?? (await loadConfig(opts.configFile));
  log.info({ event: 'starting', version: VERSION, node: config.node, config: opts.configFile, vips: config.vips.length }, 'vipcontrol starting');

  const state = new StateStore({ file: config.stateFile, logger: log.child({ component: 'state' }) });
  await state.load();

  const bird = new BirdClient({ socketPath: config.bird.socket, commandTimeoutMs: config.bird.commandTimeoutMs });
  const birdLog = log.child({ component: 'bird' });
  const outage = new BirdOutage({ logger: birdLog });
  bird.on('connect', (banner: string) => {
    const birdVersion = versionOfBanner(banner);
    birdLog.info({ event: 'birdConnected', banner, birdVersion, socket: config.bird.socket }, `connected to BIRD ${birdVersion ?? '(unknown version)'}`);
    outage.up();
  });
  bird.on('disconnect', (cause: Error) => outage.down(cause));
  // Already down at start: the same one outage line (a later drop comes through 'disconnect').
  bird.on('unreachable', (cause: Error, retries: number) => {
    if (retries === 0 && !bird.connected) outage.down(cause);
  });
  bird.on('error', (error: Error) => birdLog.error({ event: 'birdClientError', err: error }, 'BIRD client error'));

  const healthLog = log.child({ component: 'health' });
  const snapshot = new HealthSnapshotStore({ file: healthSnapshotPath(config.stateFile), logger: healthLog });
  const health = new HealthRegistry({ leaseMs: config.health.leaseMs, firstReportWaitMs: config.health.firstReportWaitMs, logger: healthLog, snapshot });
  // Nothing of ours in BIRD (a fresh node): VIPs wait for viphealth's verdicts instead of being
  // announced and then moved. An unreadable include waits for nothing: the first apply reports it.
  const nothingAnnounced = await readRegularFileIfExists(config.bird.includeFile).then((text) => !includeAnnounces(text), () => false);
  await health.restore(nothingAnnounced); // before the first apply: a restart must not drop a failing check's penalty
  const announcer = new Announcer({
    client: bird,
    socket: config.bird.socket,
    includeFile: config.bird.includeFile,
    markerFile: `${config.api.socket}.unconfirmed`,
    protocol4: config.bird.protocol4,
    protocol6: config.bird.protocol6,
    configureTimeoutSec: config.bird.configureTimeoutSec,
    operatorConfigureHoldMs: config.bird.operatorConfigureHoldMs,
    ...(config.bird.fabricProtocols ? { fabricProtocols: config.bird.fabricProtocols } : {}),
    logger: outage.quiet(log.child({ component: 'announcer' })),
  });
  await announcer.start();
  const loopback = config.loopback.manage
    ? (opts.loopback ?? new IpLoopback({ interface: config.loopback.interface, logger: log.child({ component: 'loopback' }) }))
    : undefined;
  const reconciler = new Reconciler({
    config,
    runtime: () => state.current,
    // No configure before the file system took the state the change came from, no confirm (and no
    // no-op success) before it is on disk.
    stateWrite: () => state.pending(),
    health: (now) => health.view(now),
    announcer,
    loopback,
    logger: outage.quiet(log.child({ component: 'reconciler' })),
    verifyIntervalMs: opts.verifyIntervalMs,
    birdWatchMs: config.bird.watchIntervalMs,
    burstHoldMs: opts.burstHoldMs,
  });
  const controller = new VipController({
    configFile: opts.configFile,
    state,
    health,
    reconciler,
    loadConfig,
    bird,
    announcer,
    logger: log.child({ component: 'controller' }),
    version: VERSION,
  });

  const routes = apiRoutes();
  const api = new ApiServer({
    routes,
    socketPath: config.api.socket,
    mode: config.api.socketMode,
    group: config.api.socketGroup,
    controller,
    logger: log.child({ component: 'api' }),
  });
  await api.listen();
  // Loaded only when configured (prom-client); never fails the start (see serveMetrics).
  const metrics = config.metrics && (await (await import('@vipcontrol/metrics')).serveMetrics({
    listen: config.metrics.listen,
    registry: async () => (await import('./metrics.js')).createVipcontrolMetrics({ controller, bird, version: VERSION }),
    logger: log.child({ component: 'metrics' }),
  }));
  state.holdWhile(() => api.intake > 0);
  reconciler.holdWhile(() => api.intake > 0 || controller.staging > 0);

  const system = { at: 0, actor: { source: 'system' as const } };
  // BIRD restarted (or the socket dropped): what it exports now may differ from the file — re-verify.
  bird.on('reconnect', () => {
    reconciler.request({ ...system, at: Date.now(), op: 'bird-reconnect' }).catch(() => undefined); // logged by the reconciler
  });
  bird.on('spontaneous', (text: string) => {
    birdLog.info({ event: 'birdMessage', text }, `BIRD: ${text}`);
    // "+Config timeout expired, starting undo": BIRD undid something behind our back — re-verify.
    if (/undo/i.test(text)) reconciler.request({ ...system, at: Date.now(), op: 'verify' }).catch(() => undefined);
  });

  health.start();
  // Fleet mode: the minAnnouncers guard as the state file left it, before the first apply (issue 10).
  if (config.redis) reconciler.setGuarded(initialGuard(config.vips, state.current.withdrawSlots));
  reconciler.start();
  // connect() retries forever (the client's reconnect strategy): the daemon waits for BIRD, never exits.
  const started = bird.connect().then(() => controller.start());
  // During a BIRD outage this is one more way of saying birdDisconnected: debug then (see BirdOutage).
  started.catch((error: unknown) => outage.quiet(log).error({ event: 'startupApplyFailed', err: error }, 'first apply failed; retrying'));

  const extras = await startExtras(config, controller, state, routes, log);
  // Reloads that change the windows restart the scheduler, one after the other (starting one may import).
  let rescheduling = Promise.resolve();
  controller.on('reloaded', (next: VipcontrolConfig, previous: VipcontrolConfig) => {
    if (JSON.stringify(next.maintenance) === JSON.stringify(previous.maintenance)) return;
    rescheduling = rescheduling.then(async () => {
      extras.maintenance?.stop();
      extras.maintenance = await startMaintenanceSafely(next, controller, state, routes, log);
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({ event: 'stopping' }, 'vipcontrol stopping; announcements stay as they are');
      await api.close();
      await metrics?.close();
      await rescheduling;
      extras.maintenance?.stop();
      await extras.fleet?.stop();
      controller.stop();
      await health.stop();
      await reconciler.stop();
      await state.stop();
      await bird.close();
      log.info({ event: 'stopped' }, 'vipcontrol stopped');
    })();
    return stopping;
  };
  return { controller, bird, api, routes, started, stop };
}

async function startExtras(
  config: VipcontrolConfig,
  controller: VipController,
  state: StateStore,
  routes: ApiRoutes,
  log: Logger,
): Promise<{ fleet?: FleetAgent; maintenance?: Maintenance }> {
  const extras: { fleet?: FleetAgent; maintenance?: Maintenance } = {};
  if (config.redis) {
    const logger = log.child({ component: 'fleet' });
    try {
      // Imported only in fleet mode: ioredis and the fleet client are most of the daemon's footprint.
      const { startFleetAgent } = await import('./fleet-agent.js');
      extras.fleet = await startFleetAgent({
        config, controller, logger,
        commandLog: () => state.current.fleet,
        slotStore: {
          load: () => state.current.withdrawSlots,
          save: async (slots) => void (await state.update((draft) => { draft.withdrawSlots = [...slots].sort(); })),
        },
      });
      const fleet = extras.fleet;
      controller.setExtraStatus('fleet', () => fleet.status());
    } catch (error) {
      // Local control keeps working without Redis; fleet trouble must never take the node's VIPs down.
      logger.error({ event: 'fleetStartFailed', err: error }, 'fleet agent not started; local control only');
      controller.setExtraStatus('fleet', () => ({ error: (error as Error).message }));
    }
  }
  extras.maintenance = await startMaintenanceSafely(config, controller, state, routes, log);
  return extras;
}

async function startMaintenanceSafely(
  config: VipcontrolConfig,
  controller: VipController,
  state: StateStore,
  routes: ApiRoutes,
  log: Logger,
): Promise<Maintenance | undefined> {
  if (config.maintenance.length === 0) {
    controller.setExtraStatus('maintenance', undefined);
    return undefined;
  }
  const logger = log.child({ component: 'maintenance' });
  try {
    // Imported only when windows are configured (it brings node-cron).
    const { startMaintenance } = await import('./maintenance.js');
    const marks = {
      load: () => state.current.maintenance,
      save: async (next: MaintenanceMarks) => void (await state.update((draft) => { draft.maintenance = next; })),
    };
    const m = startMaintenance({ config, controller, logger, routes, marks });
    controller.setExtraStatus('maintenance', () => m.status());
    return m;
  } catch (error) {
    logger.error({ event: 'maintenanceStartFailed', err: error }, 'maintenance windows not scheduled');
    controller.setExtraStatus('maintenance', () => ({ error: (error as Error).message }));
    return undefined;
  }
}

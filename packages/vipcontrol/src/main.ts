/**
 * `vipcontrol --config FILE`: runs the daemon in the foreground, JSON logs on stdout.
 * SIGHUP reloads the config; SIGTERM/SIGINT stop WITHOUT withdrawing anything (a restart or code
 * deploy must change nothing on the wire).
 */
import { SystemdNotifier } from '@vipcontrol/systemd';
import { vipcontrolProgram } from './cli.js';
import { loadConfig } from './config-loader.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './logger.js';
import { OperationError } from './errors.js';
import type { ApplyOutcome } from './daemon-types.js';

async function main(argv: string[]): Promise<void> {
  const program = vipcontrolProgram().parse(argv);
  const { config: configFile } = program.opts<{ config: string }>();

  const bootLog = createLogger();
  let config;
  try {
    config = await loadConfig(configFile);
  } catch (error) {
    bootLog.fatal({ event: 'configInvalid', file: configFile, err: error }, (error as Error).message);
    process.exitCode = 1;
    return;
  }
  const log = createLogger({ level: config.log.level });
  const systemd = new SystemdNotifier({
    onError: (err) => log.warn({ event: 'systemdNotifyFailed', err }, `cannot notify systemd: ${err.message}`),
  });
  systemd.startWatchdog();
  let daemon;
  try {
    daemon = await startDaemon({ configFile, config, logger: log });
  } catch (error) {
    log.fatal({ event: 'startFailed', err: error }, `vipcontrol cannot start: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const d = daemon;
  // Type=notify: ready once the first apply (or adoption) is done, so `systemctl start` returns with
  // BIRD in the state the config asks for; a first apply that fails is retried and READY waits for it.
  let ready = false;
  const onApplied = (o: ApplyOutcome): void => {
    const line = statusLine(o);
    if (o.ok && !ready) {
      ready = true;
      void systemd.ready(line);
    } else void systemd.status(line);
  };
  d.controller.on('applied', onApplied);
  // The first apply may have finished before the listener above was added.
  d.started.then((o) => !ready && onApplied(o), () => undefined); // a failure is logged by startDaemon
  process.on('SIGHUP', () => {
    d.controller.reload({ source: 'system', user: 'SIGHUP' }).catch((error: unknown) => {
      // Already logged as reloadRejected by the controller; an apply failure is retried.
      if (!(error instanceof OperationError)) log.error({ event: 'reloadFailed', err: error }, 'reload failed');
    });
  });
  const shutdown = (signal: string): void => {
    log.info({ event: 'signal', signal }, `${signal} received`);
    void systemd.stopping('stopping; announcements stay as they are');
    d.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ event: 'stopFailed', err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** `systemctl status`'s one line: the last apply, which is what an operator looks for first. */
function statusLine(o: ApplyOutcome): string {
  const at = new Date(o.at).toISOString().slice(11, 19);
  if (!o.ok) return `apply #${o.id} FAILED at ${at} (${o.errorKind ?? 'error'}): ${o.error ?? ''}; retrying`;
  const what = o.configured ? `${o.changes.length} change(s)` : 'BIRD already in sync';
  return `apply #${o.id} ok at ${at}: ${what} in ${Math.round(o.durationMs)} ms`;
}

await main(process.argv);

/**
 * `vipcontrol --config FILE`: runs the daemon in the foreground, JSON logs on stdout.
 * SIGHUP reloads the config; SIGTERM/SIGINT stop WITHOUT withdrawing anything (a restart or code
 * deploy must change nothing on the wire).
 */
import { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig } from './config-loader.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './logger.js';
import { OperationError } from './errors.js';
import { VERSION } from './version.js';

async function main(argv: string[]): Promise<void> {
  const program = new Command('vipcontrol')
    .description('Floating-VIP control plane: drives BIRD 2 over its control socket')
    .version(VERSION)
    .option('-c, --config <file>', 'vipcontrol.yaml', DEFAULT_CONFIG_FILE)
    .parse(argv);
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
  let daemon;
  try {
    daemon = await startDaemon({ configFile, config, logger: log });
  } catch (error) {
    log.fatal({ event: 'startFailed', err: error }, `vipcontrol cannot start: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const d = daemon;
  process.on('SIGHUP', () => {
    d.controller.reload({ source: 'system', user: 'SIGHUP' }).catch((error: unknown) => {
      // Already logged as reloadRejected by the controller; an apply failure is retried.
      if (!(error instanceof OperationError)) log.error({ event: 'reloadFailed', err: error }, 'reload failed');
    });
  });
  const shutdown = (signal: string): void => {
    log.info({ event: 'signal', signal }, `${signal} received`);
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

await main(process.argv);

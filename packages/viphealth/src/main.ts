/**
 * `viphealth --config FILE` runs the health checks in the foreground (pino JSON on stdout);
 * `viphealth --config FILE --check` validates the file and exits (0 valid, 1 with file:line: reason).
 * SIGHUP reloads the file (a bad file is logged and the running checks continue); SIGTERM/SIGINT stop.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { parseViphealthConfig, VIPHEALTH_DEFAULTS, type ViphealthConfig } from '@vipcontrol/core';
import { createLogger } from './logger.js';
import { Viphealth } from './viphealth.js';

/** The file could not be read at all (as opposed to parsed: that is core's ConfigError). */
class ConfigReadError extends Error {
  override readonly name = 'ConfigReadError';
}

async function loadConfig(file: string): Promise<ViphealthConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigReadError(`${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseViphealthConfig(text, file);
}

async function run(file: string): Promise<void> {
  const config = await loadConfig(file);
  const logger = createLogger({ level: config.log.level });
  const daemon = new Viphealth({ config, logger });
  daemon.start();
  // Loaded only when configured (prom-client); never fails the start (see serveMetrics).
  const metrics = config.metrics && (await (await import('@vipcontrol/metrics')).serveMetrics({
    listen: config.metrics.listen,
    registry: async () => (await import('./metrics.js')).createViphealthMetrics(daemon),
    logger: logger.child({ component: 'metrics' }),
  }));

  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        await daemon.reload(await loadConfig(file));
      } catch (err) {
        logger.error({ event: 'reloadFailed', file, err }, `reload failed, keeping the running configuration: ${(err as Error).message}`);
      }
    });
  });
  const shutdown = (signal: string) => {
    logger.info({ event: 'stopping', signal });
    Promise.all([daemon.stop(), metrics?.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.fatal({ event: 'stopFailed', err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

const program = new Command()
  .name('viphealth')
  .description('Health checks for vipcontrol: shift MEDs or withdraw VIPs when a local service fails')
  .option('-c, --config <file>', 'configuration file', VIPHEALTH_DEFAULTS.configFile)
  .option('--check', 'validate the configuration file and exit')
  .action(async (opts: { config: string; check?: boolean }) => {
    try {
      if (opts.check) {
        const config = await loadConfig(opts.config);
        process.stdout.write(`${opts.config}: OK (${config.checks.length} checks)\n`);
        return;
      }
      await run(opts.config);
    } catch (err) {
      process.stderr.write(`viphealth: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();

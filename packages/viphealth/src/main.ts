/**
 * `viphealth --config FILE` runs the health checks in the foreground (pino JSON on stdout);
 * `viphealth --config FILE --check` validates the file and exits (0 valid, 1 with file:line: reason).
 * SIGHUP reloads the file (a bad file is logged and the running checks continue); SIGTERM/SIGINT stop.
 */
import { readFile } from 'node:fs/promises';
import { parseViphealthConfig, type ViphealthConfig } from '@vipcontrol/core';
import { SystemdNotifier } from '@vipcontrol/systemd';
import { viphealthProgram } from './cli.js';
import { createLogger } from './logger.js';
import type { Delivery, SentReport } from './reporter.js';
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
  const systemd = new SystemdNotifier({
    onError: (err) => logger.warn({ event: 'systemdNotifyFailed', err }, `cannot notify systemd: ${err.message}`),
  });
  systemd.startWatchdog();
  // Type=notify: ready once a report with a first verdict from every check has been sent, whether
  // vipcontrol took it or not — viphealth runs its checks even while vipcontrol is down (the reporter
  // retries), and the status line says plainly when the verdicts are not reaching it.
  let ready = false;
  let lastStatus = '';
  const onSent = (report: SentReport, delivery: Delivery): void => {
    const line = statusLine(report, delivery);
    if (!ready && everyCheckHasVerdict(report)) {
      ready = true;
      lastStatus = line;
      void systemd.ready(line);
    } else if (ready && line !== lastStatus) {
      lastStatus = line;
      void systemd.status(line);
    }
  };
  const daemon = new Viphealth({ config, logger, onSent });
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
    void systemd.stopping('stopping');
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

/** Whether every check has run once (or is disabled): its status is a verdict, not start-up's `unknown` alone. */
function everyCheckHasVerdict(report: SentReport): boolean {
  return report.checks.every((c) => c.lastResult !== undefined || c.status === 'disabled');
}

/**
 * `systemctl status`'s one line: how many checks are in each state, the failing ones by name, and
 * whether vipcontrol has these verdicts.
 */
function statusLine(report: SentReport, delivery: Delivery): string {
  const count = (status: string) => report.checks.filter((c) => c.status === status).length;
  const down = report.checks.filter((c) => c.status === 'down').map((c) => c.name);
  const counts = `${report.checks.length} checks: ${count('up')} up, ${down.length} down, ${count('unknown')} unknown, ${count('disabled')} disabled`;
  const reported = delivery.delivered ? 'reported to vipcontrol' : `verdicts not delivered: ${delivery.reason}; retrying`;
  return `${counts}${down.length ? ` (down: ${down.slice(0, 5).join(', ')}${down.length > 5 ? ', …' : ''})` : ''}; ${reported}`;
}

const program = viphealthProgram().action(async (opts: { config: string; check?: boolean }) => {
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

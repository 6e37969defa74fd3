/**
 * `hooks.onChange`: an argv run (no shell) on every status change of a check, with the change in the
 * environment. Hooks run in the background and never delay the check or the report to vipcontrol.
 */
import type { HealthTransition } from '@vipcontrol/core';
import { loadExeca } from './checks/exec-probe.js';
import type { Logger } from './logger.js';

export function runChangeHook(opts: {
  argv: readonly string[];
  timeoutMs: number;
  check: string;
  transition: HealthTransition;
  logger: Logger;
}): void {
  const [file, ...args] = opts.argv;
  if (file === undefined) return;
  const { transition: t } = opts;
  const env = { VIPHEALTH_CHECK: opts.check, VIPHEALTH_STATE: t.to, VIPHEALTH_PREVIOUS: t.from, VIPHEALTH_REASON: t.reason };
  let started = 0;
  loadExeca()
    .then(({ execa }) => {
      started = performance.now();
      return execa(file, args, { env, timeout: opts.timeoutMs, killSignal: 'SIGKILL', reject: false, stdin: 'ignore', all: true, maxBuffer: 64 * 1024 });
    })
    .then(
      (r) => {
        const evidence = { event: 'hookRan', hook: opts.argv, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, latencyMs: Math.round(performance.now() - started) };
        if (r.failed) opts.logger.warn({ ...evidence, error: r.shortMessage }, 'onChange hook failed');
        else opts.logger.debug(evidence, 'onChange hook ran');
      },
      (err: unknown) => opts.logger.error({ event: 'hookRan', hook: opts.argv, err }, 'onChange hook could not run'),
    );
}

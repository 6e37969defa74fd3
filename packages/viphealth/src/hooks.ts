/**
 * `hooks.onChange`: an argv run (no shell) on every status change of a check, with the change in the
 * environment. Hooks run in the background and never delay the check or the report to vipcontrol.
 *
 * Per check, hooks run one after the other in transition order: an `up` hook never starts before the
 * earlier `down` hook has finished. Across checks at most MAX_CONCURRENT_HOOKS run at once. A hook's
 * timeout kills its whole process group (run-command.ts), not only the hook itself.
 */
import type { HealthTransition } from '@vipcontrol/core';
import { runCommand } from './checks/run-command.js';
import type { Logger } from './logger.js';

/** Hooks running at once, all checks together (a fleet-wide event must not fork a storm). */
export const MAX_CONCURRENT_HOOKS = 4;

export interface HookRun {
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  readonly check: string;
  readonly transition: HealthTransition;
  readonly logger: Logger;
}

export class HookRunner {
  readonly #logger: Logger;
  /** The tail of each check's queue. */
  readonly #chains = new Map<string, Promise<void>>();
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Queues the hook behind the check's earlier ones; returns at once. */
  run(hook: HookRun): void {
    const previous = this.#chains.get(hook.check) ?? Promise.resolve();
    const next = previous.then(() => this.#slot(() => this.#runOne(hook)));
    this.#chains.set(hook.check, next);
    void next.finally(() => {
      if (this.#chains.get(hook.check) === next) this.#chains.delete(hook.check);
    });
  }

  /** Resolves once every queued hook has run. */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all(this.#chains.values());
  }

  async #slot(fn: () => Promise<void>): Promise<void> {
    if (this.#running >= MAX_CONCURRENT_HOOKS) await new Promise<void>((r) => this.#waiting.push(r));
    this.#running++;
    try {
      await fn();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  async #runOne(hook: HookRun): Promise<void> {
    const { transition: t } = hook;
    const env = { VIPHEALTH_CHECK: hook.check, VIPHEALTH_STATE: t.to, VIPHEALTH_PREVIOUS: t.from, VIPHEALTH_REASON: t.reason };
    const r = await runCommand({ argv: hook.argv, timeoutMs: hook.timeoutMs, env });
    const evidence = { event: 'hookRan', hook: hook.argv, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, latencyMs: r.latencyMs };
    if (r.error !== undefined) this.#logger.error({ ...evidence, check: hook.check, error: r.error }, 'onChange hook could not run');
    else if (r.timedOut || r.exitCode !== 0) hook.logger.warn(evidence, 'onChange hook failed');
    else hook.logger.debug(evidence, 'onChange hook ran');
  }
}

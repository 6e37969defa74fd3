import { setTimeout as sleep } from 'node:timers/promises';

/** `waitFor` gave up: the condition never held before the deadline. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  /** The last value the condition returned (or the last error it threw), for the failure message. */
  readonly lastValue: unknown;
  constructor(message: string, lastValue: unknown, options?: ErrorOptions) {
    super(message, options);
    this.lastValue = lastValue;
  }
}

export interface WaitOptions {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Default 20 ms: BIRD answers in well under a millisecond, so polling fast costs little. */
  intervalMs?: number;
  /** Names what was awaited in the timeout error. */
  message?: string;
}

/**
 * Polls `fn` until it returns something other than `undefined` or `false`, and resolves with that value.
 * An exception thrown by `fn` counts as "not yet" (a socket that is not up yet throws) and becomes the
 * timeout error's `cause`, so a test failure says why the condition never held.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = opts.message ?? 'condition';
      const why = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, lastValue, {
        cause: lastError,
      });
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

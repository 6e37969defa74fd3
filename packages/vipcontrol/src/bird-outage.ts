/**
 * Issue 10: while BIRD is down, one line for the outage and one for its recovery — not an error per
 * reconnect attempt or per apply retry. The apply path keeps its own logging; while an outage is on,
 * the loggers handed to it (`quiet`) write their warnings and errors at debug, since each says again
 * what `birdDisconnected` already said ("BIRD is not connected").
 */
import type { Logger } from 'pino';

export class BirdOutage {
  readonly #log: Logger;
  readonly #now: () => number;
  #since: number | undefined;

  constructor(opts: { logger: Logger; now?: () => number }) {
    this.#log = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  get active(): boolean {
    return this.#since !== undefined;
  }

  /** The control socket was lost (BIRD stopped, crashed or restarts) or is unreachable at start. Logged once per outage. */
  down(cause: Error): void {
    if (this.#since !== undefined) return;
    this.#since = this.#now();
    this.#log.error({ event: 'birdDisconnected', err: cause },
      'lost BIRD control socket: announcements stay as BIRD has them; changes are saved and applied once it is back (retries logged at debug until then)');
  }

  /** Connected again: logs the outage's end and length, once. */
  up(): void {
    if (this.#since === undefined) return;
    const downMs = this.#now() - this.#since;
    this.#since = undefined;
    this.#log.info({ event: 'birdRecovered', downMs }, `BIRD control socket back after ${downMs} ms; re-verifying and applying what is pending`);
  }

  /** `logger`, with warn and error written at debug while an outage is on (children alike). */
  quiet(logger: Logger): Logger {
    return new Proxy(logger, {
      get: (target, prop, receiver) => {
        if ((prop === 'warn' || prop === 'error') && this.active) return target.debug.bind(target);
        if (prop === 'child') return (bindings: Record<string, unknown>) => this.quiet(target.child(bindings));
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

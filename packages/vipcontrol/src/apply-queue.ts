/**
 * The one coalescing writer (MetalLB's FRR `debouncer`, as a promise API).
 *
 * Callers `request(cause)` and get a promise that settles with the outcome of the first run that
 * STARTS after their request — so that run includes their change. While a run is in flight, every
 * new request waits for the next one, and all of them share it: a burst of 1,000 requests becomes a
 * handful of runs. After a failed run, the queue retries by itself with backoff (the change stays
 * desired); a successful run resets the backoff.
 *
 * Used for BIRD applies (reconciler) and for state-file writes (state store), so both get the same
 * "one writer, squashed bursts" behaviour from one implementation.
 */

/** A request that could not run because the queue was stopped (daemon shutting down). */
export class QueueStoppedError extends Error {
  constructor() {
    super('shutting down: request not applied');
    this.name = 'QueueStoppedError';
  }
}

export interface CoalescingQueueOptions<C, R> {
  /** Does the work for every cause collected since the previous run started. Never concurrent. */
  run: (causes: C[]) => Promise<R>;
  /**
   * Backoff after a failed run: `(consecutiveFailures, error) => ms`, or undefined for no automatic
   * retry. The retry runs with `retryCause` alone.
   */
  retryDelayMs?: (failures: number, error: unknown) => number | undefined;
  retryCause?: C;
  /**
   * Holds a run back while `busy()` says more requests are on their way (a burst still being read
   * off the API socket), for at most `maxMs` after the oldest waiting request. A lone request finds
   * nothing busy and starts at once; a burst becomes one run instead of a first run with the few
   * requests read so far, slowed down by the reading of all the others, then one for the rest.
   * A run carrying an `urgent` cause (a health failover) is never held.
   *
   * `quietMs`: requests still streaming in hold the run too, even when `busy()` sees none at that
   * instant (a burst whose sender is slower than we are: the last few hundred trickle in, a few per
   * millisecond, and a run in flight gathers them). Streaming: more than one request is waiting and
   * the newest came less than `quietMs` ago. A lone request is never held by it, so neither is a
   * change made after the previous one was answered.
   */
  hold?: { busy: () => boolean; maxMs: number; quietMs?: number; urgent?: (cause: C) => boolean };
}

interface Waiter<C, R> {
  cause: C;
  /** performance.now() of the request. */
  at: number;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * The `quietMs` the reconciler and the state store use: how long a burst may pause and still be one
 * burst: a sender slower than the daemon sends the tail of 1,000 requests a few per millisecond, and
 * the state store hands them to the reconciler once per write (every 2-5 ms, an fsync each).
 */
export const BURST_QUIET_MS = 5;

/** How often a held run looks again whether the burst is in. */
const HOLD_POLL_MS = 1;

/** Serialises and coalesces runs of one piece of work; see the module comment. */
export class CoalescingQueue<C, R> {
  readonly #opts: CoalescingQueueOptions<C, R>;
  #pending: Waiter<C, R>[] = [];
  #running: Promise<void> | undefined;
  #scheduled = false;
  #stopped = false;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #nextRetryAt: number | undefined;
  #runs = 0;

  constructor(opts: CoalescingQueueOptions<C, R>) {
    this.#opts = opts;
  }

  /** Number of runs started so far (tests and status use it to show coalescing). */
  get runs(): number {
    return this.#runs;
  }

  /** Nothing running, scheduled or waiting. */
  get idle(): boolean {
    return !this.#running && !this.#scheduled && this.#pending.length === 0;
  }

  /** Consecutive failed runs (0 after a success). */
  get failures(): number {
    return this.#failures;
  }

  /** When the automatic retry fires, if one is scheduled. */
  get nextRetryAt(): number | undefined {
    return this.#nextRetryAt;
  }

  /** Asks for a run that includes `cause`; settles with that run's result or error. */
  request(cause: C): Promise<R> {
    if (this.#stopped) return Promise.reject(new QueueStoppedError());
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ cause, at: performance.now(), resolve, reject });
      this.#kick();
    });
  }

  /**
   * Stops automatic retries, rejects requests that have not started, and waits for the run in
   * flight (a BIRD reconfiguration is never cut in half).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearRetry();
    const pending = this.#pending;
    this.#pending = [];
    for (const w of pending) w.reject(new QueueStoppedError());
    await this.#running;
  }

  #kick(): void {
    if (this.#running || this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: requests issued in the same tick (and I/O callbacks already
    // queued) join the first run instead of each starting their own.
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#running || this.#stopped || this.#pending.length === 0) return;
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
        // Requests that arrived during the last await of #drain are picked up here.
        if (this.#pending.length > 0) this.#kick();
      });
    });
  }

  async #drain(): Promise<void> {
    let lastError: unknown;
    while (this.#pending.length > 0 && !this.#stopped) {
      if (this.#opts.hold && !this.#urgent(this.#opts.hold) && this.#held(this.#opts.hold)) await this.#holdBack(this.#opts.hold);
      if (this.#pending.length === 0 || this.#stopped) break;
      this.#clearRetry();
      const batch = this.#pending;
      this.#pending = [];
      this.#runs += 1;
      try {
        const result = await this.#opts.run(batch.map((w) => w.cause));
        this.#failures = 0;
        lastError = undefined;
        for (const w of batch) w.resolve(result);
      } catch (error) {
        this.#failures += 1;
        lastError = error;
        for (const w of batch) w.reject(error);
      }
    }
    if (lastError !== undefined && this.#pending.length === 0) this.#scheduleRetry(lastError);
  }

  async #holdBack(hold: NonNullable<CoalescingQueueOptions<C, R>['hold']>): Promise<void> {
    const until = (this.#pending[0]?.at ?? 0) + hold.maxMs;
    while (!this.#stopped && this.#held(hold) && performance.now() < until && !this.#urgent(hold)) {
      await new Promise((resolve) => setTimeout(resolve, HOLD_POLL_MS));
    }
  }

  /** More requests are on their way (`busy`) or still streaming in (see `quietMs`). */
  #held(hold: NonNullable<CoalescingQueueOptions<C, R>['hold']>): boolean {
    if (hold.busy()) return true;
    if (hold.quietMs === undefined || this.#pending.length < 2) return false;
    return performance.now() - this.#pending[this.#pending.length - 1]!.at < hold.quietMs;
  }

  #urgent(hold: NonNullable<CoalescingQueueOptions<C, R>['hold']>): boolean {
    const urgent = hold.urgent;
    return urgent !== undefined && this.#pending.some((w) => urgent(w.cause));
  }

  #scheduleRetry(error: unknown): void {
    const { retryDelayMs, retryCause } = this.#opts;
    if (!retryDelayMs || retryCause === undefined || this.#stopped) return;
    const delay = retryDelayMs(this.#failures, error);
    if (delay === undefined) return;
    this.#nextRetryAt = Date.now() + delay;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#nextRetryAt = undefined;
      // The run records and logs its own failure; the retry has no caller to tell.
      this.request(retryCause).catch(() => undefined);
    }, delay);
    this.#retryTimer.unref();
  }

  #clearRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#nextRetryAt = undefined;
  }
}

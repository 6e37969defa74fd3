/**
 * When runtime state expires by itself: MED overrides with a TTL and maintenance drains with `until`.
 * Pure functions plus one re-armable timer, so the daemon sets exactly one timeout, to the next expiry.
 */
import { expireOverrides, type RuntimeState } from '@vipcontrol/core';

/** The earliest future expiry in `runtime` (epoch ms), if any. */
export function nextExpiry(runtime: RuntimeState): number | undefined {
  let next: number | undefined;
  for (const o of Object.values(runtime.overrides)) {
    if (o.expiresAt !== undefined && (next === undefined || o.expiresAt < next)) next = o.expiresAt;
  }
  const until = runtime.drain?.until;
  if (until !== undefined && (next === undefined || until < next)) next = until;
  return next;
}

/** Removes what has expired at `now` (also what expired while the daemon was down). */
export function expireRuntime(runtime: RuntimeState, now: number): { runtime: RuntimeState; expired: string[]; drainEnded: boolean } {
  const { runtime: next, expired } = expireOverrides(runtime, now);
  const until = next.drain?.until;
  if (until === undefined || until > now) return { runtime: next, expired, drainEnded: false };
  const { drain: _ended, ...rest } = next;
  return { runtime: rest, expired, drainEnded: true };
}

// setTimeout fires at once for delays over 2^31-1 ms (~24.8 days); longer TTLs re-arm in steps.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** One timer, always pointing at the next expiry. */
export class ExpiryTimer {
  readonly #onDue: () => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #at: number | undefined;

  constructor(onDue: () => void, now: () => number = Date.now) {
    this.#onDue = onDue;
    this.#now = now;
  }

  /** When the timer fires next (undefined = disarmed). */
  get at(): number | undefined {
    return this.#at;
  }

  /** Points the timer at `at` (epoch ms), or disarms it. */
  arm(at: number | undefined): void {
    this.disarm();
    if (at === undefined) return;
    this.#at = at;
    const delay = Math.max(0, at - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (delay > MAX_TIMEOUT_MS) this.arm(at);
      else {
        this.#at = undefined;
        this.#onDue();
      }
    }, Math.min(delay, MAX_TIMEOUT_MS));
    this.#timer.unref();
  }

  disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = undefined;
  }
}

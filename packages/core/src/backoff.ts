/** The delay before retry number `attempt`, doubling from `minMs` and capped at `maxMs`. */
export interface BackoffInput {
  /** 1 for the first retry (or the first failure), 2 for the next, …: an integer ≥ 1. */
  readonly attempt: number;
  /** The first delay (ms, ≥ 0). */
  readonly minMs: number;
  /** The cap (ms, ≥ 0); it wins over `minMs` when smaller. */
  readonly maxMs: number;
}

/**
 * `min(maxMs, minMs × 2^(attempt−1))`: minMs, 2·minMs, 4·minMs … up to maxMs, for any attempt
 * (a large one gives maxMs, never Infinity or NaN). Throws a RangeError on an attempt below 1, a
 * fractional one, or a negative or non-finite bound.
 */
export function exponentialBackoff({ attempt, minMs, maxMs }: BackoffInput): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new RangeError(`backoff attempt must be an integer ≥ 1, got ${attempt}`);
  for (const [name, ms] of [['minMs', minMs], ['maxMs', maxMs]] as const) {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`backoff ${name} must be a finite number ≥ 0, got ${ms}`);
  }
  // 2^1023 is the largest finite power of two: beyond it 0 × 2^n would be NaN.
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 1023));
}

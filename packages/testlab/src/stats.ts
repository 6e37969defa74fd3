/** Latency summaries for the benchmark tables. */

/** p50/p99 (nearest rank) of a set of samples, in milliseconds. */
export interface Summary {
  n: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
}

/**
 * Nearest-rank percentile: the smallest sample with at least `p`% of the samples at or below it.
 * With fewer than 100 samples p99 is therefore the maximum — the honest reading of a small run.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Summarises samples (ms). */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** "1.23 ms" with a precision that suits the magnitude. */
export function ms(value: number): string {
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** "p50 / p99" of a summary. */
export function p50p99(s: Summary): string {
  return `${ms(s.p50)} / ${ms(s.p99)}`;
}

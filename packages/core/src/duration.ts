/**
 * Durations as operators write them: "200ms", "1s", "30m", "1h30m", "2d".
 *
 * Strict on purpose: units in descending order, each at most once, integers only, no spaces, no
 * sign. A typo must fail config validation rather than silently become a different timeout.
 */

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

// Each number is at most 9 digits so no intermediate sum can lose precision before the range check.
const GRAMMAR = /^(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?(?:(\d{1,9})ms)?$/;

/** Upper bound for any duration: 3650 days. Longer is certainly a mistake, and keeps `now + ttl` a valid Date. */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/** Parses a duration into milliseconds. Throws RangeError on bad grammar or values over MAX_DURATION_MS. */
export function parseDuration(text: string): number {
  const m = typeof text === 'string' ? GRAMMAR.exec(text) : null;
  if (!m || text === '') {
    throw new RangeError(`invalid duration ${JSON.stringify(text)}: expected e.g. "200ms", "30s", "1h30m", "2d"`);
  }
  let ms = 0;
  UNITS.forEach(([, factor], i) => {
    const v = m[i + 1];
    if (v !== undefined) ms += Number(v) * factor;
  });
  if (ms > MAX_DURATION_MS) throw new RangeError(`duration ${JSON.stringify(text)} is longer than 3650d`);
  return ms;
}

/** Formats milliseconds in the grammar parseDuration accepts ("1h30m", "0s"); parseDuration(formatDuration(x)) === x. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`cannot format duration ${ms}`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, factor] of UNITS) {
    const n = Math.floor(rest / factor);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * factor;
    }
  }
  return out;
}

/**
 * BIRD's `timeformat` output (lib/timer.c tm_format_time) back to epoch milliseconds. BIRD prints
 * local time; the formats with a date are read: "iso long" (`%F %T`) and the default "iso long ms"
 * (`%F %T.%3f`), also with microseconds (`%6f`). Anything else (an operator's custom format, "iso
 * short" without a date) is undefined: the caller cannot place it in time.
 */
const ISO_LONG = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

export function parseBirdTime(text: string): number | undefined {
  const m = ISO_LONG.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Math.floor(Number(frac.padEnd(6, '0')) / 1000);
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  // Date rolls 2026-13-45 over into 2027: a field out of range is not a time BIRD printed.
  const same = date.getMonth() + 1 === Number(mo) && date.getDate() === Number(d) && date.getHours() === Number(h) && date.getMinutes() === Number(mi);
  return same ? date.getTime() : undefined;
}

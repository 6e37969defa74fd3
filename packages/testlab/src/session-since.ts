/**
 * BIRD prints a protocol's Since as real time minus the monotonic time elapsed since the event, and
 * reads the two clocks at different moments of its event loop (tm_format_time): one unchanged session
 * reads "…167.919", then "…167.920" — and, on a loaded machine, tens of milliseconds apart (seen:
 * 5 and 26 ms while benchmarks ran beside the suite). A reset re-establishes the session after the
 * previous reading was taken, so its Since is later than that reading's time.
 *
 * The tracker reports one event identically: a Since within a second of the one seen before and earlier
 * than that reading's time (or within a few milliseconds of it, for a session read just after it came
 * up) is that same event.
 */
const CLOSE_S = 0.005;
const SAME_EVENT_MAX_S = 1;

export class SinceTracker {
  readonly #seen = new Map<string, { since: string; readAt: number }>();

  /** `since` as read for `key` (a protocol), with `readAt` = Date.now() taken before asking BIRD. */
  stable(key: string, since: string, readAt: number): string {
    const seen = this.#seen.get(key);
    const delta = seen === undefined ? Infinity : Math.abs(Number(since) - Number(seen.since));
    if (seen !== undefined && (delta <= CLOSE_S || (delta <= SAME_EVENT_MAX_S && Number(since) * 1000 < seen.readAt))) {
      seen.readAt = readAt; // the session was up then: a reset from now on re-establishes later still
      return seen.since;
    }
    this.#seen.set(key, { since, readAt });
    return since;
  }
}

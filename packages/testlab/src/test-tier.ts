/**
 * Test tiers. `npm test` runs everything (what CI runs); `bash scripts/test.sh --quick` (or
 * VIPCONTROL_TEST_QUICK=1) skips the long tiers — other BIRD lines, the soak, the systemd container,
 * the 16-node fleet — for the inner loop. A long test declares itself with `{ ...longTier('why') }`
 * in its `test()`/`describe()` options, so a quick run lists it as skipped with the reason.
 */
export const QUICK_MODE = process.env.VIPCONTROL_TEST_QUICK === '1';

/** `node:test` options that skip a long-tier test in quick mode (and run it otherwise). */
export function longTier(what: string): { skip: string | false } {
  return { skip: QUICK_MODE ? `long tier (${what}): skipped by --quick` : false };
}

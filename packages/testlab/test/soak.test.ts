// The fault-injection soak as a test tier (issue 7): ~3 minutes in CI by default; longer with
// VIPCONTROL_SOAK_SECONDS, a chosen schedule with VIPCONTROL_SOAK_SEED. A failure names the seed,
// every violation and where the schedule log and the daemons' logs were kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus, loadavg } from 'node:os';
import { longTier, repoPath } from '../src/index.js';
import { randomSeed } from '../src/soak/schedule.js';
import { renderSummary } from '../src/soak/soak-report.js';
import { runSoak } from '../src/soak/soak-run.js';

/** Cycles run for this long; set-up, the last quiet period and the final check add ~20 s. */
const SECONDS = Number(process.env.VIPCONTROL_SOAK_SECONDS ?? '150');
const SEED = process.env.VIPCONTROL_SOAK_SEED === undefined ? randomSeed() : Number(process.env.VIPCONTROL_SOAK_SEED);

test(`soak: random operations and faults, router = status = accepted operations (seed ${SEED})`,
  { ...longTier('soak'), timeout: (SECONDS + 240) * 1000 }, async (t) => {
    const startedAt = new Date();
    const load = loadavg()[0]!;
    const artifacts = repoPath(`.soak/test-seed-${SEED}`);
    const summary = await runSoak({ seconds: SECONDS, seed: SEED, artifacts, say: () => undefined });
    const table = renderSummary(summary, {
      command: `VIPCONTROL_SOAK_SEED=${SEED} VIPCONTROL_SOAK_SECONDS=${SECONDS} node --test packages/testlab/dist/test/soak.test.js`,
      startedAt, load, cpus: cpus().length,
    });
    for (const line of table.split('\n')) t.diagnostic(line);
    // The run did what a soak must: operations of every kind went through and faults were injected.
    const ops = Object.values(summary.ops).reduce((n, c) => n + c.accepted + c['accepted-with-error'], 0);
    assert.ok(summary.cycles >= 5 && ops >= 10, `too little happened: ${summary.cycles} cycles, ${ops} accepted operations`);
    assert.ok(Object.values(summary.faults).reduce((a, b) => a + b, 0) >= 3, 'faults were injected');
    assert.deepEqual(
      summary.violations.map((v) => `cycle ${v.cycle}: ${v.cls} ${v.node}${v.prefix ? ` ${v.prefix}` : ''}: ${v.detail}`),
      [],
      `soak seed ${SEED}: violations (replay: bash scripts/soak.sh --seed ${SEED} --seconds ${SECONDS}; logs in ${artifacts})\n${table}`,
    );
  });

/**
 * The fault-injection soak from the command line (`bash scripts/soak.sh`):
 *
 *   node packages/testlab/dist/src/soak/soak-main.js [--seconds N] [--seed S] [--artifacts DIR] [--no-docs]
 *
 * Prints every step with its outcome, then the summary tables, and writes the summary into the
 * "soak" section of docs/benchmarks.md (unless --no-docs). Keeps the schedule log and the daemons' and
 * BIRDs' logs in DIR (default .soak/seed-S). Exit 0: no violation; 1: violations (the seed replays the
 * schedule); 2: the soak itself failed.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { replaceDocSection } from '../doc-section.js';
import { repoPath } from '../repo-path.js';
import { randomSeed } from './schedule.js';
import { renderSummary } from './soak-report.js';
import { runSoak } from './soak-run.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '180' },
      seed: { type: 'string' },
      artifacts: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) throw new Error(`--seconds: an integer 1..86400, got ${values.seconds}`);
  const seed = values.seed === undefined ? randomSeed() : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`--seed: an integer 0..4294967295, got ${values.seed}`);
  const artifacts = values.artifacts ?? repoPath(`.soak/seed-${seed}`);
  const startedAt = new Date();
  const load = loadavg()[0]!;
  const summary = await runSoak({ seconds, seed, artifacts, say: (line) => process.stdout.write(`${line}\n`) });
  const body = renderSummary(summary, {
    command: `bash scripts/soak.sh --seconds ${seconds} --seed ${seed}`, startedAt, load, cpus: cpus().length,
  });
  process.stdout.write(`\n${body}\n`);
  if (!values['no-docs']) {
    await replaceDocSection(repoPath('docs/benchmarks.md'), { marker: 'soak', title: 'Fault-injection soak (issue 7)', markdown: body });
    process.stdout.write('\nwritten to docs/benchmarks.md, section "Fault-injection soak (issue 7)"\n');
  }
  if (summary.violations.length > 0) {
    process.stdout.write(`\nsoak: ${summary.violations.length} violation(s); replay with: bash scripts/soak.sh --seed ${seed} --seconds ${seconds}`
      + ` (schedule and logs: ${artifacts})\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);

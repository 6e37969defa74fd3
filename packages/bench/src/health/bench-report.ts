/** The viphealth benchmark's tables, and its section of docs/benchmarks.md. */
import { replaceDocSection, repoPath, summarize } from '@vipcontrol/testlab';
import type { Phases } from './check-runs.js';
import type { Footprint } from './footprint.js';

/** One row: a product's check at some settings, and its trials' phases. */
export interface Row {
  product: string;
  check: string;
  settings: string;
  /** Configured worst-case detection: interval + (fall − 1) × fast (rise for recovery). */
  worstFail: number;
  worstRecover: number;
  failover: Phases[];
  recovery: Phases[];
}

/** "p50 / p99 ms" (nearest rank: with fewer than 100 samples p99 is the maximum), or n/a. */
function p50p99(values: readonly (number | undefined)[]): string {
  const known = values.filter((v): v is number => v !== undefined);
  if (known.length === 0) return 'n/a';
  const s = summarize(known);
  return `${Math.round(s.p50)} / ${Math.round(s.p99)}`;
}

function table(rows: readonly Row[], which: 'failover' | 'recovery'): string {
  const event = which === 'failover' ? 'kill' : 'ready';
  const run = which === 'failover' ? 'failing' : 'passing';
  const head = [
    `| product | check | interval / fast, rise, fall | ${which} (worst detection configured) | ${which} p50 / p99 ms | ` +
      `phase: ${event} → first ${run} run | after first ${run} run (detection-normalised) | after deciding run (overhead) | trials |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const lines = rows.map((r) => {
    const p = r[which];
    const worst = which === 'failover' ? r.worstFail : r.worstRecover;
    return `| ${r.product} | ${r.check} | ${r.settings} | ≤ ${worst} ms | ${p50p99(p.map((x) => x.total))} | ${p50p99(p.map((x) => x.phase))} | ` +
      `${p50p99(p.map((x) => x.afterFirst))} | ${p50p99(p.map((x) => x.afterDecision))} | ${p.length} |`;
  });
  return [...head, ...lines].join('\n');
}

function footprintTable(footprints: readonly Footprint[]): string {
  return [
    `| viphealth footprint, 50 checks (${footprints[0]!.checks}) | CPU of one core | RSS at the end | peak RSS |`,
    '|---|---|---|---|',
    ...footprints.map(
      (f) =>
        `| ${f.nodeOptions ? `NODE_OPTIONS=${f.nodeOptions} (as in systemd/viphealth.service)` : 'node defaults'}, ${f.seconds} s | ` +
        `${f.cpuPercent.toFixed(2)} % | ${f.rssMb.toFixed(1)} MB | ${f.peakRssMb.toFixed(1)} MB |`,
    ),
  ].join('\n');
}

/** All tables, as printed and as put in the doc. */
export function formatTables(rows: readonly Row[], footprints: readonly Footprint[]): string {
  return [
    '**Failover** (service SIGKILLed → router shows the higher MED)',
    '',
    table(rows, 'failover'),
    '',
    '**Recovery** (service listening again → router shows the normal MED)',
    '',
    table(rows, 'recovery'),
    '',
    footprintTable(footprints),
  ].join('\n');
}

/** Rewrites only the viphealth section of docs/benchmarks.md (between its markers), creating it if needed. */
export async function updateDoc(tables: string, opts: { trials: number; defaultTrials: number; pollMs: number; seconds: number }): Promise<void> {
  await replaceDocSection(repoPath('docs/benchmarks.md'), {
    marker: 'viphealth-bench',
    title: 'viphealth',
    markdown: [
      `Measured ${new Date().toISOString().slice(0, 10)} by \`scripts/bench.sh health\` (packages/bench/src/health/failover-bench.ts, ` +
        `${opts.seconds} s), ${opts.trials} trials per row (${opts.defaultTrials} for ExaBGP's defaults, in parallel lanes), in one lab: a BIRD ` +
        '2.0.12 route reflector, a node running BIRD + vipcontrol + viphealth, and an ExaBGP 4.2 host running its healthcheck, each in its own ' +
        'network namespace, node 20, 2 cores. The equal-settings rows are measured interleaved (one trial of each in turn), so a load change ' +
        'on the machine hits both products alike.',
      '',
      'Every trial waits a random time, uniform over two check intervals, before the kill and before the restart, for both products alike: the ' +
        '*phase* (how long the dead service waits for the next run of the check) is chance, and is shown. *After first failing run* subtracts ' +
        'it — the detection-normalised figure, ideally (fall − 1) × fast interval plus the run and the product\'s overhead. *After deciding run* ' +
        'is the router\'s change minus the end of the run that met fall (or rise): report → vipcontrol → BIRD reconfigure → BGP UPDATE → router ' +
        'for viphealth; healthcheck → ExaBGP API → BGP UPDATE → router for ExaBGP. Run times come from viphealth\'s `checkRan` trace lines and ' +
        'from `$EPOCHREALTIME` logged by ExaBGP\'s check script (bash builtins: a TCP connect through /dev/tcp; the same pidfile + /proc zombie ' +
        `test as viphealth's process check). The router is polled every ${opts.pollMs} ms. ExaBGP's timeout takes whole seconds (1 s here).`,
      '',
      tables,
    ].join('\n'),
  });
}

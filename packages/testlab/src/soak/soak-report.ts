/** The soak's summary: Markdown tables for the terminal, the test log and docs/benchmarks.md. */
import { markdownTable } from '../doc-section.js';
import { percentile } from '../stats.js';
import { violationsByClass, type OpOutcome, type SoakSummary } from './soak-run.js';

const OUTCOMES: readonly OpOutcome[] = ['accepted', 'accepted-with-error', 'rejected', 'ambiguous'];

export interface ReportContext {
  /** The command that reproduces the run. */
  command: string;
  startedAt: Date;
  /** 1-minute load average at the start (the machine is shared). */
  load: number;
  cpus: number;
}

export function renderSummary(s: SoakSummary, ctx: ReportContext): string {
  const opRows = Object.entries(s.ops).sort(([a], [b]) => a.localeCompare(b)).map(([key, c]) => [
    key, String(OUTCOMES.reduce((n, o) => n + c[o], 0)), ...OUTCOMES.map((o) => String(c[o])),
  ]);
  const totals = OUTCOMES.map((o) => Object.values(s.ops).reduce((n, c) => n + c[o], 0));
  opRows.push(['**all**', String(totals.reduce((a, b) => a + b, 0)), ...totals.map(String)]);
  const faultRows = Object.entries(s.faults).map(([k, n]) => [k, String(n)]);
  faultRows.push(['**all**', String(Object.values(s.faults).reduce((a, b) => a + b, 0))]);
  const conv = [...s.checks.convergeMs].sort((a, b) => a - b);
  const byClass = [...violationsByClass(s.violations)].map(([cls, vs]) => [
    cls, String(vs.length), [...new Set(vs.map((v) => v.cycle))].slice(0, 8).join(' '), `${vs[0]!.node}${vs[0]!.prefix ? ` ${vs[0]!.prefix}` : ''}: ${vs[0]!.detail}`,
  ]);
  return [
    `Run ${ctx.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: \`${ctx.command}\` — seed **${s.seed}**, ${s.cycles} cycles in `
      + `${(s.elapsedMs / 1000).toFixed(0)} s (incl. set-up), ${ctx.cpus} cores, load ${ctx.load.toFixed(1)} at start (shared machine: other `
      + 'test runs were using the CPU). Lab: router + 2 nodes (iBGP, BFD off), BIRD 2, redis-server, vipcontrol + viphealth per node; '
      + 'health kept stable (a stand-in service per node that never fails).',
    '',
    'Each cycle runs 2–6 operations through the real `vipctl` (local socket) and `vipctl fleet` (Redis) — set-med with and '
      + 'without TTL (short TTLs expire during the run), reset-med, withdraw/announce, drain/undrain, a set-med on an unknown VIP — '
      + 'interleaved with faults: SIGKILL + restart of vipcontrol (also mid-apply: 0–6 ms after BIRD logs `Reconfiguring`, before `configure confirm`), viphealth and BIRD, '
      + 'SIGSTOP/SIGCONT of BIRD, an operator\'s `birdc configure` or `birdc disable` of vipcontrol\'s own static protocol (the router '
      + 'loses those VIPs until vipcontrol sees it and enables it again), the state tmpfs filled and freed, Redis killed and restarted '
      + 'empty. After a quiet period '
      + '(BIRD\'s 3 s configure timeout + 0.5 s since the last event) the check polls until, for every node and VIP: vipcontrol answers, '
      + 'BIRD is connected, every VIP is in sync; the router\'s path from the node (presence, MED) equals what `vipctl status --json` '
      + 'says; status equals the model of the accepted operations (an error that does not say "saved/stays desired" must have '
      + 'changed nothing; an outcome cut by a kill forks the model until a check sees which); no health term appears; the router\'s '
      + 'sessions stay up and never reset unless that node\'s BIRD was killed; no vipcontrol writes more than 100 log lines in a second. '
      + 'A wrong answer that lasts 2 s after the quiet period is a violation; "not in sync" is one once it lasts 25 s.',
    '',
    markdownTable(['operation (via vipctl)', 'count', ...OUTCOMES], opRows),
    '',
    markdownTable(['fault', 'count'], faultRows),
    '',
    markdownTable(['invariant checks', 'value'], [
      ['check rounds (one per cycle + final)', String(s.checks.rounds)],
      ['assertions evaluated', String(s.checks.assertions)],
      ['converged rounds: time to converge after the quiet period, p50 / max', conv.length > 0 ? `${percentile(conv, 50)} / ${conv[conv.length - 1]!} ms` : '-'],
      ['violations', String(s.violations.length)],
    ]),
    '',
    byClass.length === 0
      ? 'Violations: **none**.'
      : markdownTable(['violation class', 'count', 'cycles', 'first occurrence'], byClass),
  ].join('\n');
}

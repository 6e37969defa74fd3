/**
 * When each product's check actually ran, so a failover time can be split into its phases alike for
 * viphealth and for ExaBGP's healthcheck:
 *
 *   kill ──phase──▶ first failing run ends ──(fall−1) runs──▶ deciding run ends ──overhead──▶ router RIB
 *
 * The phase (how long a dead service waits for the next run) is chance: it depends only on where the
 * kill falls in the check's schedule. Subtracting it gives the detection-normalised figure that
 * compares the tools' own work; subtracting up to the deciding run gives the product's overhead.
 *
 * viphealth: its `checkRan` trace lines (end = log time, start = end − latencyMs). ExaBGP: the check
 * script appends `$EPOCHREALTIME` (a bash builtin: no extra process) at its start and in an EXIT trap.
 */
import { readFile } from 'node:fs/promises';
import type { DaemonProcess } from '@vipcontrol/testlab';

/** One run of a check, epoch ms. */
export interface CheckRun {
  readonly end: number;
  readonly ok: boolean;
}

/** Collects viphealth's runs of `check` from its stdout as they are logged (viphealth at log level trace). */
export function viphealthRuns(vh: DaemonProcess, check: string): () => readonly CheckRun[] {
  const runs: CheckRun[] = [];
  vh.onLogLine((line) => {
    if (!line.includes('"checkRan"') || !line.includes(`"check":"${check}"`)) return;
    const e = JSON.parse(line) as { time: string; outcome: string };
    runs.push({ end: Date.parse(e.time), ok: e.outcome === 'pass' });
  });
  return () => runs;
}

/**
 * The bash script ExaBGP's healthcheck runs (it has no probes of its own): a TCP connect through
 * bash's /dev/tcp on the `:` builtin, or the pidfile + /proc state test viphealth's process check
 * does (a zombie is dead) in bash builtins — no fork beyond the one the healthcheck itself makes.
 */
export function exabgpCheckScript(check: 'tcp' | 'process', target: { port: number; pidfile: string }, runLog: string): string {
  const probe =
    check === 'tcp'
      ? `: 2>/dev/null 3<>/dev/tcp/127.0.0.1/${target.port}`
      : [
          // The pidfile has no trailing newline: read's status is 1 at EOF, the variable is still set.
          `read -r pid < ${target.pidfile}; [[ -n $pid ]] || exit 1`,
          'read -r stat < /proc/$pid/stat || exit 1',
          'state=${stat##*) }',
          '[[ ${state:0:1} != Z && ${state:0:1} != X ]]',
        ].join('\n');
  return `#!/bin/bash\nexec 2>/dev/null\ntrap 'echo "$? $EPOCHREALTIME" >> ${runLog}' EXIT\n${probe}\n`;
}

/** Reads the runs the script above logged ("status epoch.micros" per run). */
export async function exabgpRuns(runLog: string): Promise<CheckRun[]> {
  const text = await readFile(runLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [status, at] = l.split(' ');
      return { end: Number(at) * 1000, ok: status === '0' };
    });
}

/** One transition of one trial, split into phases (ms); undefined parts when the runs are not known. */
export interface Phases {
  /** From the event (kill / service ready) to the router's change. */
  total: number;
  /** Event → end of the first run that saw it. */
  phase?: number;
  /** Router change − end of the first run that saw it: the detection-normalised figure. */
  afterFirst?: number;
  /** Router change − end of the run that met fall / rise: the product's overhead. */
  afterDecision?: number;
}

/**
 * Splits `seenAt − eventAt` using the runs that ended after the event: the first one with the
 * outcome the event causes (`ok`) and the `count`-th (fall or rise) of them.
 */
export function splitPhases(runs: readonly CheckRun[], eventAt: number, seenAt: number, ok: boolean, count: number): Phases {
  const total = seenAt - eventAt;
  const seen = runs.filter((r) => r.end >= eventAt && r.end <= seenAt && r.ok === ok);
  const first = seen[0];
  const decision = seen[count - 1];
  if (first === undefined) return { total };
  return {
    total,
    phase: first.end - eventAt,
    afterFirst: seenAt - first.end,
    ...(decision !== undefined && { afterDecision: seenAt - decision.end }),
  };
}

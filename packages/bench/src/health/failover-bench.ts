/**
 * viphealth benchmark (`scripts/bench.sh health`): failover and recovery at the fabric router, for
 * viphealth+vipcontrol and for ExaBGP's healthcheck in the same lab, and viphealth's footprint.
 *
 * - A trial SIGKILLs the service and times the router's RIB change (the MED going up), then restarts
 *   it and times the change back (from the moment the service listens again).
 * - Before the kill and before the restart a trial waits a random time, uniform over two check
 *   intervals, so the event falls anywhere in either product's check schedule; each product's own
 *   run times (check-runs.ts) then split every figure into that chance phase, the detection after it,
 *   and the product's overhead after its decision.
 * - The equal-settings rows run interleaved — one trial of each target in turn — so a change of load
 *   on the (shared, 2-core) machine during the run hits both products alike.
 * - ExaBGP's defaults (5 s / 1 s) take seconds per trial: their trials run in parallel lanes, each
 *   lane its own service and prefix, polled less often (the figure is seconds, not milliseconds).
 * - Footprint: viphealth with 50 checks at 1 s (footprint.ts), with node's defaults and with the
 *   NODE_OPTIONS of systemd/viphealth.service.
 *
 * Options: --trials N (default 40), --default-trials N (ExaBGP defaults, default 40), --footprint-s N (30).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { bestPathMed, healthcheckArgv, Lab, startService, type ExabgpHost, type LabHost, type Service } from '@vipcontrol/testlab';
import { formatTables, updateDoc, type Row } from './bench-report.js';
import { exabgpCheckScript, exabgpRuns, splitPhases, viphealthRuns, type CheckRun } from './check-runs.js';
import { measureFootprint, type Footprint } from './footprint.js';

const POLL_MS = 2;
/** ExaBGP's defaults take seconds: polling every 20 ms is precise enough and keeps 8 lanes cheap. */
const DEFAULTS_POLL_MS = 20;
const DEFAULT_LANES = 8;
/** NODE_OPTIONS of systemd/viphealth.service: a 1 MB semi-space keeps V8's young generation small. */
const UNIT_NODE_OPTIONS = '--max-semi-space-size=1';
const UP_MED = 100;
const PENALTY = 1000;

interface Settings {
  intervalMs: number;
  fastMs: number;
  rise: number;
  fall: number;
}
/** The equal settings both products run with. */
const TCP: Settings = { intervalMs: 200, fastMs: 100, rise: 2, fall: 2 };
const PROC: Settings = { intervalMs: 100, fastMs: 50, rise: 2, fall: 2 };
/** ExaBGP healthcheck's own defaults (healthcheck.py: interval 5, fast-interval 1, rise 3, fall 3). */
const EXA_DEFAULTS: Settings = { intervalMs: 5000, fastMs: 1000, rise: 3, fall: 3 };

/** Worst-case detection the settings allow: first failing run within one interval, then n-1 fast ones. */
const detectWorst = (s: Settings, n: number) => s.intervalMs + (n - 1) * s.fastMs;

/** One service watched by one check of one product, announcing `prefix`. */
interface Target {
  row: Row;
  check: 'tcp' | 'process';
  settings: Settings;
  prefix: string;
  downMed: number;
  host: { netns: string; dir: string };
  port: number;
  pidfile: string;
  pollMs: number;
  /** The random wait before each kill and restart is uniform over [0, phaseSpanMs). */
  phaseSpanMs: number;
  service?: Service;
  runs?: () => Promise<readonly CheckRun[]>;
}

async function main(): Promise<void> {
  const began = performance.now();
  const { values } = parseArgs({
    options: { trials: { type: 'string', default: '40' }, 'default-trials': { type: 'string', default: '40' }, 'footprint-s': { type: 'string', default: '30' } },
  });
  const trials = Number(values.trials);
  const defaultTrials = Number(values['default-trials']);
  const footprintS = Number(values['footprint-s']);
  const lab = await Lab.create({ nodes: 1, exabgpNodes: 1, bfd: false });
  try {
    const node = lab.nodes[0]!;
    const exa = lab.exabgpHosts[0]!;
    const vipcontrol = await lab.startVipcontrol(node, {
      vips: ['198.51.100.1/32', '198.51.100.2/32'].map((prefix) => ({ prefix, med: UP_MED })),
    });
    const vt = target('viphealth+vipcontrol', 'tcp', TCP, '198.51.100.1/32', UP_MED + PENALTY, node, 7101);
    const vp = target('viphealth+vipcontrol', 'process', PROC, '198.51.100.2/32', UP_MED + PENALTY, node, 7102);
    const et = target('ExaBGP healthcheck', 'tcp', TCP, '198.51.100.11/32', UP_MED + PENALTY, exa, 7111);
    const ep = target('ExaBGP healthcheck', 'process', PROC, '198.51.100.12/32', UP_MED + PENALTY, exa, 7112);
    // ExaBGP with its defaults: down metric 1000 instead of 1100 (its --down-metric default).
    const lanes = Array.from({ length: DEFAULT_LANES }, (_, i) => ({
      ...target('ExaBGP healthcheck, defaults', 'tcp', EXA_DEFAULTS, `198.51.100.${21 + i}/32`, 1000, exa, 7121 + i),
      pollMs: DEFAULTS_POLL_MS,
      phaseSpanMs: EXA_DEFAULTS.intervalMs,
    }));
    const equal = [vt, et, vp, ep];
    for (const t of [...equal, ...lanes]) t.service = await startService(t.host, t.port, t.pidfile);

    const vh = await lab.startViphealth(node, {
      heartbeat: '1s',
      log: { level: 'trace' }, // checkRan lines: when each run ended
      checks: [viphealthCheck('svc-tcp', vt), viphealthCheck('svc-proc', vp)],
    });
    for (const [t, name] of [[vt, 'svc-tcp'], [vp, 'svc-proc']] as const) {
      const runs = viphealthRuns(vh, name);
      t.runs = () => Promise.resolve(runs());
    }
    await startExabgp(lab, exa, [et, ep], lanes);

    // Interleaved: trial i of every equal-settings target before trial i + 1 of any.
    for (const t of equal) await untilMed(lab, t, UP_MED, 30_000);
    for (let i = 0; i < trials; i++) {
      for (const t of equal) await runTrial(lab, t, `#${i + 1}`);
    }
    const perLane = Math.ceil(defaultTrials / DEFAULT_LANES);
    await Promise.all(
      lanes.map(async (t, lane) => {
        await untilMed(lab, t, UP_MED, 60_000);
        for (let i = 0; i < perLane; i++) await runTrial(lab, t, `lane ${lane + 1} #${i + 1}`);
      }),
    );
    const defaultsRow = { ...lanes[0]!.row, failover: lanes.flatMap((t) => t.row.failover), recovery: lanes.flatMap((t) => t.row.recovery) };

    await vh.stop();
    const footprints: Footprint[] = [];
    for (const nodeOptions of ['', UNIT_NODE_OPTIONS]) {
      footprints.push(await measureFootprint({ lab, node, vipcontrol, service: vt, seconds: footprintS, nodeOptions }));
    }
    const tables = formatTables([vt.row, et.row, vp.row, ep.row, defaultsRow], footprints);
    process.stdout.write(`${tables}\n`);
    const seconds = Math.round((performance.now() - began) / 1000);
    await updateDoc(tables, { trials, defaultTrials: perLane * DEFAULT_LANES, pollMs: POLL_MS, seconds });
    process.stderr.write(`viphealth bench: ${seconds} s\n`);
  } finally {
    await lab.destroy();
  }
}

function target(product: string, check: 'tcp' | 'process', settings: Settings, prefix: string, downMed: number, host: LabHost | ExabgpHost, port: number): Target {
  const s = settings;
  return {
    row: {
      product,
      check,
      settings: `${s.intervalMs} / ${s.fastMs} ms, rise ${s.rise}, fall ${s.fall}`,
      worstFail: detectWorst(s, s.fall),
      worstRecover: detectWorst(s, s.rise),
      failover: [],
      recovery: [],
    },
    check,
    settings,
    prefix,
    downMed,
    host,
    port,
    pidfile: join(host.dir, `svc-${port}.pid`),
    pollMs: POLL_MS,
    phaseSpanMs: 2 * settings.intervalMs,
  };
}

function viphealthCheck(name: string, t: Target): object {
  const s = t.settings;
  const base = { name, interval: `${s.intervalMs}ms`, fastInterval: `${s.fastMs}ms`, timeout: '100ms', rise: s.rise, fall: s.fall, vips: [t.prefix], penalty: PENALTY };
  return t.check === 'tcp' ? { ...base, type: 'tcp', target: `127.0.0.1:${t.port}` } : { ...base, type: 'process', pidfile: t.pidfile };
}

/**
 * One ExaBGP (one restart, one BGP session) runs every healthcheck, equal settings and defaults alike.
 * Each check command is a script file: ExaBGP's configuration tokenizer cannot carry braces or quotes.
 */
async function startExabgp(lab: Lab, exa: ExabgpHost, equal: Target[], defaults: Target[]): Promise<void> {
  const processes = [];
  for (const t of [...equal, ...defaults]) {
    const cmd = join(exa.dir, `check-${t.port}.sh`);
    const runLog = join(exa.dir, `runs-${t.port}.log`);
    await writeFile(cmd, exabgpCheckScript(t.check, t, runLog), { mode: 0o755 });
    t.runs = () => exabgpRuns(runLog);
    const s = t.settings;
    const timing = defaults.includes(t)
      ? []
      : ['--interval', String(s.intervalMs / 1000), '--fast-interval', String(s.fastMs / 1000), '--rise', String(s.rise), '--fall', String(s.fall), '--timeout', '1', '--down-metric', String(t.downMed)];
    const args = ['--no-syslog', '--no-ip-setup', '--name', `hc${t.port}`, '--ip', t.prefix, '--up-metric', String(UP_MED), ...timing, '--cmd', cmd];
    processes.push({ name: `hc${t.port}`, run: await healthcheckArgv(args) });
  }
  await exa.start({ processes });
  await lab.waitEstablished();
}

/** Polls the router until `t.prefix`'s best path has `med`; returns the epoch ms it was first seen. */
async function untilMed(lab: Lab, t: Target, med: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await bestPathMed(lab.router.bird.client, t.prefix)) === med) return Date.now();
    if (Date.now() > deadline) throw new Error(`router never saw ${t.prefix} with MED ${med} within ${timeoutMs} ms`);
    await sleep(t.pollMs);
  }
}

async function runTrial(lab: Lab, t: Target, label: string): Promise<void> {
  const s = t.settings;
  const limit = 5 * (detectWorst(s, Math.max(s.rise, s.fall)) + 2000);
  await sleep(Math.random() * t.phaseSpanMs);
  const killedAt = Date.now();
  await t.service!.kill();
  const downSeen = await untilMed(lab, t, t.downMed, limit);
  await sleep(Math.random() * t.phaseSpanMs);
  t.service = await startService(t.host, t.port, t.pidfile);
  const upSeen = await untilMed(lab, t, UP_MED, limit);
  const runs = await t.runs!();
  const failover = splitPhases(runs, killedAt, downSeen, false, s.fall);
  const recovery = splitPhases(runs, t.service.readyAt, upSeen, true, s.rise);
  t.row.failover.push(failover);
  t.row.recovery.push(recovery);
  process.stderr.write(
    `${t.row.product} ${t.check} ${label}: failover ${failover.total} ms (phase ${fmt(failover.phase)}), ` +
      `recovery ${Math.round(recovery.total)} ms (phase ${fmt(recovery.phase)})\n`,
  );
}

const fmt = (v: number | undefined) => (v === undefined ? '?' : `${Math.round(v)} ms`);

await main();

/**
 * viphealth benchmark (`scripts/bench.sh health`): failover and recovery at the fabric router, for
 * viphealth+vipcontrol and for ExaBGP's healthcheck in the same lab, and viphealth's footprint.
 *
 * - A trial SIGKILLs the service and times the router's RIB change (the MED going up), then restarts
 *   it and times the change back (from the moment the service listens again).
 * - For viphealth the time of its own transition (its log line) splits each figure into detection
 *   (the configured interval/fall at work) and the product's overhead after it: report → vipcontrol →
 *   BIRD reconfigure → BGP UPDATE → router RIB.
 * - ExaBGP's healthcheck runs on an ExaBGP host of the same lab, with the same interval, fast interval,
 *   rise and fall (its timeout is whole seconds: 1 s), then with its defaults.
 * - Footprint: viphealth with 50 checks at 1 s (tcp, process, http, bird-protocol), CPU over 60 s and RSS.
 *
 * The router is polled over its control socket every POLL_MS; results are upper bounds by that much.
 * Options: --trials N (default 20), --default-trials N (ExaBGP defaults, default 20), --footprint-s N (60).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { healthcheckArgv, Lab, repoPath, unixHttpRequest, waitFor, type DaemonProcess, type ExabgpHost, type LabHost } from '@vipcontrol/testlab';
import { startService, type Service } from './lab-service.js';

const POLL_MS = 2;
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

/** Worst-case detection the settings allow: first failing run within one interval, then fall-1 fast ones. */
const detectWorst = (s: Settings, n: number) => s.intervalMs + (n - 1) * s.fastMs;

interface Sample {
  failover: number;
  recovery: number;
  /** viphealth only: router change minus viphealth's transition. */
  failOverhead?: number;
  recoverOverhead?: number;
}

/** One service watched by one check of one product, announcing `prefix`. */
interface Target {
  label: string;
  product: string;
  check: 'tcp' | 'process';
  settings: Settings;
  prefix: string;
  downMed: number;
  host: { netns: string };
  port: number;
  pidfile: string;
  service?: Service;
  /** viphealth: its transition times for this check after `since` (epoch ms). */
  transitionAt?: (to: 'up' | 'down', since: number) => number | undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { trials: { type: 'string', default: '20' }, 'default-trials': { type: 'string', default: '20' }, 'footprint-s': { type: 'string', default: '60' } },
  });
  const trials = Number(values.trials);
  const defaultTrials = Number(values['default-trials']);
  const footprintS = Number(values['footprint-s']);
  const lab = await Lab.create({ nodes: 1, exabgpNodes: 1, bfd: false });
  const rows: string[][] = [];
  try {
    const node = lab.nodes[0]!;
    const exa = lab.exabgpHosts[0]!;
    const vipcontrol = await lab.startVipcontrol(node, {
      vips: [
        { prefix: '198.51.100.1/32', med: UP_MED },
        { prefix: '198.51.100.2/32', med: UP_MED },
        { prefix: '198.51.100.3/32', med: UP_MED },
      ],
    });
    const vt = target('viphealth+vipcontrol', 'tcp', TCP, '198.51.100.1/32', UP_MED + PENALTY, node, 7101);
    const vp = target('viphealth+vipcontrol', 'process', PROC, '198.51.100.2/32', UP_MED + PENALTY, node, 7102);
    for (const t of [vt, vp]) t.service = await startService(t.host, t.port, t.pidfile);
    const vh = await lab.startViphealth(node, {
      heartbeat: '1s',
      checks: [viphealthCheck('svc-tcp', vt), viphealthCheck('svc-proc', vp)],
    });
    vt.transitionAt = transitionFinder(vh, 'svc-tcp');
    vp.transitionAt = transitionFinder(vh, 'svc-proc');
    for (const t of [vt, vp]) rows.push(row(t, await runTrials(lab, t, trials)));

    const et = target('ExaBGP healthcheck', 'tcp', TCP, '198.51.100.11/32', UP_MED + PENALTY, exa, 7111);
    const ep = target('ExaBGP healthcheck', 'process', PROC, '198.51.100.12/32', UP_MED + PENALTY, exa, 7112);
    for (const t of [et, ep]) t.service = await startService(t.host, t.port, t.pidfile);
    await startExabgp(lab, exa, [et, ep], false);
    for (const t of [et, ep]) rows.push(row(t, await runTrials(lab, t, trials)));

    // ExaBGP with its defaults: down metric 1000 instead of 1100 (its --down-metric default).
    const ed = target('ExaBGP healthcheck, defaults', 'tcp', EXA_DEFAULTS, '198.51.100.13/32', 1000, exa, 7113);
    ed.service = await startService(ed.host, ed.port, ed.pidfile);
    await startExabgp(lab, exa, [ed], true);
    rows.push(row(ed, await runTrials(lab, ed, defaultTrials)));

    await vh.stop();
    const footprints = [await measureFootprint(lab, node, vipcontrol, vt, footprintS, '')];
    // The same with the young-generation cap systemd/viphealth.service sets.
    footprints.push(await measureFootprint(lab, node, vipcontrol, vt, footprintS, UNIT_NODE_OPTIONS));
    const table = formatTable(rows, footprints);
    process.stdout.write(`${table}\n`);
    await updateDoc(table, { trials, defaultTrials });
  } finally {
    await lab.destroy();
  }
}

function target(product: string, check: 'tcp' | 'process', settings: Settings, prefix: string, downMed: number, host: LabHost | ExabgpHost, port: number): Target {
  return { label: `${product} ${check}`, product, check, settings, prefix, downMed, host, port, pidfile: join(host.dir, `svc-${port}.pid`) };
}

function viphealthCheck(name: string, t: Target): object {
  const s = t.settings;
  const base = { name, interval: `${s.intervalMs}ms`, fastInterval: `${s.fastMs}ms`, timeout: '100ms', rise: s.rise, fall: s.fall, vips: [t.prefix], penalty: PENALTY };
  return t.check === 'tcp' ? { ...base, type: 'tcp', target: `127.0.0.1:${t.port}` } : { ...base, type: 'process', pidfile: t.pidfile };
}

/** Reads viphealth's `checkTransition` log lines (pino `time` is ISO with milliseconds). */
function transitionFinder(vh: DaemonProcess, check: string): Target['transitionAt'] {
  return (to, since) => {
    for (const e of vh.logEntries()) {
      if (e.event !== 'checkTransition' || e.check !== check || e.new !== to) continue;
      const at = Date.parse(String(e.time));
      if (at >= since) return at;
    }
    return undefined;
  };
}

/**
 * ExaBGP's healthcheck runs a shell command per check (it has no built-in probes): bash's /dev/tcp for
 * tcp, the same /proc state test as viphealth for process (a zombie counts as dead). Each command is a
 * script file: ExaBGP's configuration tokenizer cannot carry braces or quotes in a `run` line.
 */
async function startExabgp(lab: Lab, exa: ExabgpHost, targets: Target[], defaults: boolean): Promise<void> {
  const processes = [];
  for (const t of targets) {
    const cmd = join(exa.dir, `check-${t.port}.sh`);
    const body =
      t.check === 'tcp'
        ? `#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/${t.port}\n`
        : `#!/bin/sh\nawk '$3 != "Z" { ok = 1 } END { exit !ok }' /proc/$(cat ${t.pidfile})/stat\n`;
    await writeFile(cmd, body, { mode: 0o755 });
    const s = t.settings;
    const timing = defaults
      ? []
      : ['--interval', String(s.intervalMs / 1000), '--fast-interval', String(s.fastMs / 1000), '--rise', String(s.rise), '--fall', String(s.fall), '--timeout', '1', '--down-metric', String(t.downMed)];
    const args = ['--no-syslog', '--no-ip-setup', '--name', `hc${t.port}`, '--ip', t.prefix, '--up-metric', String(UP_MED), ...timing, '--cmd', cmd];
    processes.push({ name: `hc${t.port}`, run: await healthcheckArgv(args) });
  }
  await exa.start({ processes });
  await lab.waitEstablished();
}

/** The router's best-path MED for `prefix`, or -1 when it has no route. */
async function routerMed(lab: Lab, prefix: string): Promise<number> {
  const routes = await lab.routerRoutes(prefix);
  return routes.find((r) => r.primary)?.med ?? -1;
}

/** Polls the router until the MED is `med`; returns the epoch ms it was first seen. */
async function untilMed(lab: Lab, prefix: string, med: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await routerMed(lab, prefix)) === med) return Date.now();
    if (Date.now() > deadline) throw new Error(`router never saw ${prefix} with MED ${med} within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

async function runTrials(lab: Lab, t: Target, n: number): Promise<Sample[]> {
  const s = t.settings;
  const limit = 5 * (detectWorst(s, Math.max(s.rise, s.fall)) + 2000);
  await untilMed(lab, t.prefix, UP_MED, 30_000 + limit);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    // A random phase against the check's timer, so trials sample the whole interval.
    await sleep(Math.random() * s.intervalMs);
    const killedAt = Date.now();
    await t.service!.kill();
    const downSeen = await untilMed(lab, t.prefix, t.downMed, limit);
    await sleep(Math.random() * s.intervalMs);
    t.service = await startService(t.host, t.port, t.pidfile);
    const upSeen = await untilMed(lab, t.prefix, UP_MED, limit);
    const sample: Sample = { failover: downSeen - killedAt, recovery: upSeen - t.service.readyAt };
    const down = t.transitionAt?.('down', killedAt);
    const up = t.transitionAt?.('up', t.service.readyAt);
    if (down !== undefined) sample.failOverhead = downSeen - down;
    if (up !== undefined) sample.recoverOverhead = upSeen - up;
    samples.push(sample);
    process.stderr.write(`${t.label} #${i + 1}: failover ${sample.failover} ms, recovery ${sample.recovery} ms\n`);
  }
  return samples;
}

/** Nearest-rank p50 / p99 (with fewer than 100 samples p99 is the maximum). */
function p50p99(values: number[]): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
  return `${Math.round(rank(50))} / ${Math.round(rank(99))} ms`;
}

function row(t: Target, samples: Sample[]): string[] {
  const s = t.settings;
  const pick = (k: keyof Sample) => samples.flatMap((x) => (x[k] === undefined ? [] : [x[k]]));
  return [
    t.product,
    t.check,
    `${s.intervalMs} / ${s.fastMs} ms, rise ${s.rise}, fall ${s.fall}`,
    `≤ ${detectWorst(s, s.fall)} ms`,
    p50p99(pick('failover')),
    t.transitionAt ? p50p99(pick('failOverhead')) : '—',
    `≤ ${detectWorst(s, s.rise)} ms`,
    p50p99(pick('recovery')),
    t.transitionAt ? p50p99(pick('recoverOverhead')) : '—',
    String(samples.length),
  ];
}

interface Footprint {
  nodeOptions: string;
  checks: string;
  cpuPercent: number;
  rssMb: number;
  peakRssMb: number;
  seconds: number;
}

/** 50 checks at 1 s against one service and the node's BIRD; CPU from /proc/<pid>/stat over the window. */
async function measureFootprint(
  lab: Lab,
  node: LabHost,
  vipcontrol: DaemonProcess,
  svc: Target,
  seconds: number,
  nodeOptions: string,
): Promise<Footprint> {
  const url = `http://127.0.0.1:${svc.port}/health`;
  const common = { interval: '1s', fastInterval: '200ms', timeout: '500ms', rise: 2, fall: 2, vips: [svc.prefix], penalty: 1 };
  const checks = [
    ...Array.from({ length: 15 }, (_, i) => ({ ...common, name: `tcp${i}`, type: 'tcp', target: `127.0.0.1:${svc.port}` })),
    ...Array.from({ length: 15 }, (_, i) => ({ ...common, name: `proc${i}`, type: 'process', pidfile: svc.pidfile })),
    ...Array.from({ length: 10 }, (_, i) => ({ ...common, name: `http${i}`, type: 'http', url })),
    ...Array.from({ length: 10 }, (_, i) => ({ ...common, name: `bird${i}`, type: 'bird-protocol', socket: node.bird.socketPath, protocols: ['fabric4', 'fabric6'] })),
  ];
  // The daemon inherits our environment through `ip netns exec`.
  process.env.NODE_OPTIONS = nodeOptions;
  const vh = await lab.startViphealth(node, { heartbeat: '1s', checks });
  delete process.env.NODE_OPTIONS;
  await waitFor(
    async () => {
      const res = await fetchStatus(vipcontrol);
      return res.filter((c) => c.status === 'up').length === checks.length;
    },
    { timeoutMs: 20_000, message: '50 checks up' },
  );
  await sleep(2000); // past start-up work (JIT, first connections)
  const ticks0 = await cpuTicks(vh.pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const ticks1 = await cpuTicks(vh.pid);
  const elapsedS = (performance.now() - t0) / 1000;
  const status = await readFile(`/proc/${vh.pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  await vh.stop();
  // USER_HZ is 100 on Linux x86-64: one tick is 10 ms of CPU.
  return {
    nodeOptions,
    checks: '15 tcp, 15 process, 10 http, 10 bird-protocol; interval 1 s',
    cpuPercent: ((ticks1 - ticks0) * 10) / (elapsedS * 1000) * 100,
    rssMb: kb('VmRSS') / 1024,
    peakRssMb: kb('VmHWM') / 1024,
    seconds: Math.round(elapsedS),
  };
}

async function fetchStatus(vipcontrol: DaemonProcess): Promise<{ status: string }[]> {
  const res = await unixHttpRequest(vipcontrol.apiSocket, { path: '/v1/status' });
  return ((res.json as { health?: { checks?: { status: string }[] } }).health?.checks ?? []);
}

/** utime + stime of a process, in clock ticks. */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm)": index 0 is field 3 (state); utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

function formatTable(rows: string[][], footprints: Footprint[]): string {
  const head = [
    '| product | check | interval / fast, rise, fall | detection (configured) | failover p50 / p99 | after detection p50 / p99 | recovery detection (configured) | recovery p50 / p99 | after detection p50 / p99 | trials |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const footprint = [
    '',
    `| viphealth footprint, 50 checks (${footprints[0]!.checks}) | CPU of one core | RSS at the end | peak RSS |`,
    '|---|---|---|---|',
    ...footprints.map(
      (f) =>
        `| ${f.nodeOptions ? `NODE_OPTIONS=${f.nodeOptions} (as in systemd/viphealth.service)` : 'node defaults'}, ${f.seconds} s | ` +
        `${f.cpuPercent.toFixed(2)} % | ${f.rssMb.toFixed(1)} MB | ${f.peakRssMb.toFixed(1)} MB |`,
    ),
  ];
  return [...head, ...rows.map((r) => `| ${r.join(' | ')} |`), ...footprint].join('\n');
}

/** Rewrites only the viphealth section of docs/benchmarks.md (between its markers), creating it if needed. */
async function updateDoc(table: string, opts: { trials: number; defaultTrials: number }): Promise<void> {
  const file = repoPath('docs/benchmarks.md');
  const start = '<!-- viphealth-bench:start -->';
  const end = '<!-- viphealth-bench:end -->';
  const body = [
    start,
    `Measured ${new Date().toISOString().slice(0, 10)} by \`scripts/bench.sh health\` (packages/viphealth/src/bench/failover-bench.ts), ` +
      `${opts.trials} trials per row (${opts.defaultTrials} for ExaBGP's defaults), in one lab: a BIRD 2.0.12 route reflector, a node ` +
      'running BIRD + vipcontrol + viphealth, and an ExaBGP 4.2 host running its healthcheck, each in its own network namespace, node 20, 2 cores.',
    '',
    '*Failover*: from the service\'s SIGKILL to the router\'s RIB showing the higher MED. *Recovery*: from the restarted service listening to the ' +
      'router showing the normal MED again. *After detection*: the router\'s change minus viphealth\'s own transition (its log line) — the ' +
      'product\'s overhead (report → vipcontrol → BIRD reconfigure → BGP UPDATE → router). *Detection (configured)* is the worst case the settings ' +
      `allow (interval + (fall − 1) × fast interval; rise for recovery). The router is polled every ${POLL_MS} ms. ExaBGP's timeout takes whole ` +
      'seconds (1 s here); its checks are shell commands (bash /dev/tcp; the same /proc zombie test as viphealth\'s process check).',
    '',
    table,
    end,
  ].join('\n');
  let text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  if (text.includes(start) && text.includes(end)) {
    text = text.slice(0, text.indexOf(start)) + body + text.slice(text.indexOf(end) + end.length);
  } else {
    text = `${text.trimEnd()}\n\n## viphealth\n\n${body}\n`;
  }
  await writeFile(file, text);
}

await main();

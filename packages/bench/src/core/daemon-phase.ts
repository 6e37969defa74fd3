/** The vipcontrol half at one scale: the daemon in the node's namespace, driven over its API socket. */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { type Lab, type DaemonProcess, daemonStatus, procKiB, repoPath, unixHttpRequest, waitFor } from '@vipcontrol/testlab';
import { bareSample, type BareResults, type SamplePlan } from './bare-phase.js';
import type { ChangeTimer, Timing } from './change-timer.js';
import { routerHasMed } from './router-watch.js';
import { samplePrefix, type Workload } from './workload.js';

const VIPCTL = repoPath('packages/vipctl/bin/vipctl.js');
/**
 * RSS is read twice after the first apply: at 3 s, with start-up's garbage (at 1,000 VIPs mostly the
 * config's YAML parse, promoted by the 1 MB semi-space) still on the heap, and at 20 s, idle: V8's
 * memory reducer collects it after ~8-12 s without allocation, as on any node that has been up a while.
 */
export const RSS_EARLY_MS = 3000;
export const RSS_IDLE_MS = 20_000;

export interface DaemonPlan extends SamplePlan {
  vipctlRuns: number;
}

export interface DaemonResults {
  /** NODE_OPTIONS the daemon ran with: those of systemd/vipcontrol.service, so RSS is the shipped one. */
  nodeOptions: string;
  /** startVipcontrol → first apply finished (ms). */
  startMs: number;
  /** Whether the first apply had to `configure` (false = adopted what BIRD already had). */
  startConfigured: boolean;
  /** The daemon's include file is byte-identical to the bare half's rendering of the same state. */
  includeIdentical: boolean;
  /** VmRSS RSS_IDLE_MS after the first apply (idle). */
  rssKb: number;
  /** VmRSS RSS_EARLY_MS after the first apply. */
  rssEarlyKb: number;
  hwmKb: number;
  latency: Timing[];
  /** The daemon's own `durationMs` of each sample's apply (its `applied` log line). */
  applyMs: number[];
  /** Applies the sample loop caused, per sample (1 expected). */
  appliesPerSample: number;
  bursts: { timing: Timing; applies: number }[];
  /** The unmeasured burst before `bursts` (the benchmark's own HTTP client is cold on its first one). */
  warmupBurst?: { timing: Timing; applies: number };
  /** vipctl set-med, process start to exit (ms). */
  vipctlMs: number[];
}

interface Status {
  bird?: { applies?: number; lastApply?: { id: number; ok: boolean; configured?: boolean; error?: string } };
}

/**
 * Starts vipcontrol with the workload's VIPs, measures, stops it (the routes stay, as on a deploy).
 * The bare half's single-change samples are taken here, alternating with the daemon's, into `bare`.
 */
export async function runDaemon(lab: Lab, t: ChangeTimer, wl: Workload, plan: DaemonPlan, bare: BareResults): Promise<DaemonResults> {
  const node = t.node;
  // A fresh state file: overrides of the previous scale must not leak into this one.
  await rm(join(node.dir, 'state.json'), { force: true });
  // BENCH_EXTRA_NODE_OPTIONS (e.g. `--import /path/profiler-hook.mjs`; node refuses --cpu-prof there) is added for profiling runs.
  const nodeOptions = [await unitNodeOptions(), process.env['BENCH_EXTRA_NODE_OPTIONS'] ?? ''].join(' ').trim();
  const started = performance.now();
  const daemon = await withNodeOptions(nodeOptions, () => lab.startVipcontrol(node, wl.daemonConfig, { startTimeoutMs: 120_000 }));
  try {
    const socket = daemon.apiSocket;
    const first = await waitFor(async () => {
      const last = (await getStatus(socket)).bird?.lastApply;
      if (last && !last.ok) throw new Error(`first apply failed: ${last.error ?? '?'}`);
      return last?.ok ? last : undefined;
    }, { timeoutMs: 120_000, intervalMs: 50, message: `vipcontrol's first apply with ${wl.count} VIPs` });
    const startMs = performance.now() - started;
    wl.reset();
    const includeIdentical = (await readFile(node.includeFile, 'utf8')) === wl.render();
    await sleep(RSS_EARLY_MS);
    const rssEarlyKb = (await memory(daemon)).rssKb;
    await sleep(RSS_IDLE_MS - RSS_EARLY_MS);
    const { rssKb, hwmKb } = await memory(daemon);

    let idBefore = 0;
    const latency: Timing[] = [];
    for (let k = 0; k < plan.warmup + plan.samples; k += 1) {
      if (k === plan.warmup) idBefore = await applies(socket);
      const prefix = samplePrefix(wl, k);
      // Bare BIRD and vipcontrol take turns, sample by sample, so a change in the machine's load hits
      // both alike. Bare first, on the same VIP: its file is the daemon's state plus this one change,
      // so each of the two changes exactly one route (the daemon's file differs from it in this line only).
      const b = await bareSample(t, wl, prefix);
      const med = t.nextMed();
      const timing = await t.one(prefix, med, () => putMed(socket, prefix, med));
      wl.setMed(prefix, med);
      if (k < plan.warmup) continue;
      latency.push(timing);
      bare.latency.push(b.timing);
      bare.writeMs.push(b.writeMs);
      bare.configureMs.push(b.configureMs);
      bare.renderMs.push(b.renderMs);
    }
    const idAfter = await applies(socket);
    const applyMs = appliedDurations(daemon, idBefore, idAfter);

    const bursts: DaemonResults['bursts'] = [];
    let warmupBurst: DaemonResults['warmupBurst'];
    // b = -1: one warm-up burst, reported apart. The first burst of 1,000 HTTP requests is slow in
    // the benchmark's own client (measured: 160-170 ms to send them all, 55-95 ms on later bursts).
    for (let b = plan.bursts > 0 ? -1 : 0; b < plan.bursts; b += 1) {
      const med = t.nextMed();
      const targets = wl.prefixes.slice(0, plan.burstSize);
      const ids = new Set<number>();
      const timing = await t.many(targets, med, async () => {
        // All at once, one connection each: 1,000 operators' calls landing together.
        const answers = await Promise.all(targets.map((p) => putMed(socket, p, med)));
        for (const id of answers) ids.add(id);
      });
      if (b < 0) warmupBurst = { timing, applies: ids.size };
      else bursts.push({ timing, applies: ids.size });
    }

    const vipctlMs: number[] = [];
    for (let k = 0; k < plan.warmup + plan.vipctlRuns; k += 1) {
      const prefix = samplePrefix(wl, k + 1);
      const med = t.nextMed();
      const t0 = performance.now();
      const res = await execa(process.execPath, [VIPCTL, '--socket', socket, 'set-med', prefix, String(med)], { reject: false });
      const wall = performance.now() - t0;
      if (res.exitCode !== 0) throw new Error(`vipctl set-med exited ${String(res.exitCode)}: ${res.stderr}`);
      // vipctl returns once the daemon answered, i.e. once BIRD confirmed: the router has it by now.
      await waitFor(() => routerHasMed(t.router, prefix, med), { timeoutMs: 5000, intervalMs: 5, message: `router MED ${med} after vipctl` });
      if (k >= plan.warmup) vipctlMs.push(wall);
    }

    return {
      nodeOptions,
      startMs,
      startConfigured: first.configured ?? true,
      includeIdentical,
      rssKb,
      rssEarlyKb,
      hwmKb,
      latency,
      applyMs,
      appliesPerSample: (idAfter - idBefore) / plan.samples,
      bursts,
      ...(warmupBurst ? { warmupBurst } : {}),
      vipctlMs,
    };
  } catch (err) {
    const tail = daemon.logs().slice(-20).join('\n');
    throw new Error(`vipcontrol benchmark at ${wl.count} VIPs failed: ${(err as Error).message}\n--- last daemon log lines ---\n${tail}`, {
      cause: err,
    });
  } finally {
    await daemon.stop();
  }
}

/** PUT /v1/vips/{prefix}/med; resolves with the id of the apply that carried it. */
async function putMed(socket: string, prefix: string, med: number): Promise<number> {
  const res = await unixHttpRequest(socket, {
    method: 'PUT',
    path: `/v1/vips/${encodeURIComponent(prefix)}/med`,
    body: { med },
    headers: { 'x-vipcontrol-actor': 'bench@lab' },
    timeoutMs: 30_000,
  });
  const id = (res.json as { applyId?: unknown } | undefined)?.applyId;
  if (res.status !== 200 || typeof id !== 'number') throw new Error(`PUT med ${prefix} ${med}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return id;
}

function getStatus(socket: string): Promise<Status> {
  return daemonStatus(socket, { timeoutMs: 30_000 });
}

/** Id of the last apply (applies are numbered from 1 per daemon run). */
async function applies(socket: string): Promise<number> {
  return (await getStatus(socket)).bird?.lastApply?.id ?? 0;
}

/** `durationMs` of the `applied` log lines with after < applyId <= upTo. */
function appliedDurations(daemon: DaemonProcess, after: number, upTo: number): number[] {
  return daemon
    .logEntries()
    .filter((e) => e['event'] === 'applied' && typeof e['applyId'] === 'number' && e['applyId'] > after && e['applyId'] <= upTo)
    .map((e) => Number(e['durationMs']));
}

/** VmRSS / VmHWM of the daemon (the lab execs node in place, so its pid is the daemon's). */
async function memory(daemon: DaemonProcess): Promise<{ rssKb: number; hwmKb: number }> {
  const cmdline = await readFile(`/proc/${daemon.pid}/cmdline`, 'utf8');
  if (!cmdline.includes('vipcontrol')) throw new Error(`pid ${daemon.pid} is not vipcontrol: ${cmdline.replace(/\0/g, ' ')}`);
  const { VmRSS, VmHWM } = await procKiB(daemon.pid, 'status', ['VmRSS', 'VmHWM']);
  return { rssKb: VmRSS, hwmKb: VmHWM };
}

/** `Environment=NODE_OPTIONS=…` of systemd/vipcontrol.service ('' when the unit sets none). */
async function unitNodeOptions(): Promise<string> {
  const unit = await readFile(repoPath('systemd/vipcontrol.service'), 'utf8');
  const m = /^Environment=("?)NODE_OPTIONS=(.*?)\1\s*$/m.exec(unit);
  return m?.[2] ?? '';
}

/** Runs `fn` (which spawns the daemon, inheriting our environment) with NODE_OPTIONS set. */
async function withNodeOptions<T>(options: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env['NODE_OPTIONS'];
  if (options) process.env['NODE_OPTIONS'] = options;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = saved;
  }
}

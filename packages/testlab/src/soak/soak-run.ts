/**
 * The fault-injection soak (issue 7): cycles of operations through the real `vipctl` (local socket
 * and `vipctl fleet` over Redis) interleaved with faults, each cycle followed by a quiet period and an
 * invariant check (see invariants.ts). The schedule comes from the seed alone (schedule.ts); the run
 * logs every step with its outcome to `<artifacts>/schedule.log`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult } from '../netns.js';
import { evaluate, modelFromStatus, type Evaluation, type NodeObservation, type Problem, type ViolationClass } from './invariants.js';
import { NodeExpectation, type NodeModel } from './model.js';
import {
  SOAK_NODES, SOAK_UNKNOWN_VIP, SoakSchedule, describeStep, opArgs,
  type FaultKind, type SoakFault, type SoakNode, type SoakOp, type SoakStep,
} from './schedule.js';
import { SOAK_CONFIGURE_TIMEOUT_S, SOAK_DRAIN_PENALTY, SoakLab, VIPCTL_EXIT_SAVED_RETRYING, settle } from './soak-lab.js';

export interface SoakOptions {
  /** Run cycles until this many seconds have passed (the set-up and the last check come on top). */
  seconds: number;
  seed: number;
  /** Directory for schedule.log and the daemons' and BIRDs' logs (created). */
  artifacts: string;
  /** Progress lines. */
  say: (line: string) => void;
  /** Longest a check waits for convergence before it reports what still differs; default 25 s. */
  convergeTimeoutMs?: number;
}

export type OpOutcome = 'accepted' | 'accepted-with-error' | 'rejected' | 'ambiguous';

export interface Violation extends Problem {
  cycle: number;
}

export interface SoakSummary {
  seed: number;
  seconds: number;
  elapsedMs: number;
  cycles: number;
  /** Per `"<via> <kind>"`: how many, and how each ended. */
  ops: Record<string, Record<OpOutcome, number>>;
  faults: Record<FaultKind, number>;
  checks: { rounds: number; assertions: number; convergeMs: number[] };
  violations: Violation[];
  artifacts: string;
}

/** Log lines per second from one vipcontrol above which it is spinning (an apply logs one or two). */
const LOG_STORM_LINES_PER_S = 100;

/**
 * How long a wrong answer may last after the quiet period before it is a violation: BGP carries a
 * change to the router in milliseconds, and a check's reads are not one atomic snapshot.
 */
const WRONG_GRACE_MS = 2000;

/**
 * An operation's error that still took effect: the daemon says so in these words (locally also by
 * vipctl's exit 5; a fleet acknowledgement carries only the node's message).
 */
const SAVED_DESPITE_ERROR = /stays desired|change is saved/;

/** When vipcontrol on a node, or Redis, was down: an operation overlapping it has an unknown outcome. */
interface Outage {
  node?: SoakNode;
  from: number;
  to?: number;
}

class CycleState {
  readonly birdKilled = new Set<SoakNode>();
  readonly outages: { vipcontrol: Outage[]; redis: Outage[] } = { vipcontrol: [], redis: [] };
  readonly background: Promise<void>[] = [];
  /** Per node: the BIRD fault still running in the background (the next one waits for it). */
  readonly birdBusy = new Map<SoakNode, Promise<void>>();
  redisBusy: Promise<void> = Promise.resolve();
  lastEventAt = Date.now();

  overlaps(kind: 'vipcontrol' | 'redis', node: SoakNode | undefined, from: number, to: number): boolean {
    return this.outages[kind].some((o) => (node === undefined || o.node === node) && o.from <= to && (o.to === undefined || o.to >= from));
  }
}

export async function runSoak(opts: SoakOptions): Promise<SoakSummary> {
  const startedAt = Date.now();
  // A replay of the same seed replaces the previous run's logs rather than appending to them.
  await rm(opts.artifacts, { recursive: true, force: true });
  await mkdir(opts.artifacts, { recursive: true });
  const logFile = createWriteStream(join(opts.artifacts, 'schedule.log'), { flags: 'w' });
  const log = (line: string) => {
    const text = `t+${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)}s ${line}`;
    logFile.write(`${text}\n`);
    opts.say(text);
  };
  log(`seed ${opts.seed} (replay: bash scripts/soak.sh --seed ${opts.seed} --seconds ${opts.seconds})`);
  const schedule = new SoakSchedule(opts.seed);
  const summary: SoakSummary = {
    seed: opts.seed, seconds: opts.seconds, elapsedMs: 0, cycles: 0, ops: {},
    faults: {
      'kill-vipcontrol': 0, 'kill-vipcontrol-mid-apply': 0, 'kill-viphealth': 0, 'kill-bird': 0, 'stop-bird': 0,
      'disk-full': 0, 'disk-free': 0, 'restart-redis': 0, birdc: 0,
    },
    checks: { rounds: 0, assertions: 0, convergeMs: [] },
    violations: [],
    artifacts: opts.artifacts,
  };
  const soak = await SoakLab.create(opts.artifacts);
  try {
    await settle(soak);
    log(`lab ${soak.lab.id} up: router + ${SOAK_NODES.join(', ')}, redis ${soak.redis.url}, every VIP in sync`);
    const runner = new Runner(soak, summary, log, opts.convergeTimeoutMs ?? 25_000);
    await runner.baseline();
    const deadline = startedAt + opts.seconds * 1000;
    for (let i = 0; Date.now() < deadline; i++) {
      await runner.cycle(schedule.cycle(i));
      summary.cycles = i + 1;
    }
    await runner.finalCheck(schedule.diskFullNodes);
  } finally {
    await soak.destroy();
    summary.elapsedMs = Date.now() - startedAt;
    log(`done: ${summary.cycles} cycles, ${summary.violations.length} violation(s); artifacts in ${opts.artifacts}`);
    await new Promise<void>((resolve) => logFile.end(resolve));
  }
  return summary;
}

class Runner {
  readonly #soak: SoakLab;
  readonly #summary: SoakSummary;
  readonly #log: (line: string) => void;
  readonly #convergeTimeoutMs: number;
  readonly #expect = new Map<SoakNode, NodeExpectation>(SOAK_NODES.map((n) => [n, new NodeExpectation(n)]));
  readonly #since = new Map<SoakNode, string>();
  #cycle = 0;

  constructor(soak: SoakLab, summary: SoakSummary, log: (line: string) => void, convergeTimeoutMs: number) {
    this.#soak = soak;
    this.#summary = summary;
    this.#log = log;
    this.#convergeTimeoutMs = convergeTimeoutMs;
  }

  async baseline(): Promise<void> {
    for (const node of SOAK_NODES) this.#since.set(node, (await this.#soak.sessionStats(node)).since);
  }

  async cycle(cycle: { index: number; steps: readonly SoakStep[] }): Promise<void> {
    this.#cycle = cycle.index;
    const state = new CycleState();
    for (const [i, step] of cycle.steps.entries()) {
      const tag = `c${cycle.index}.${i}`;
      if ('fault' in step) {
        this.#log(`${tag} ${describeStep(step)}`);
        await this.#fault(step.fault, state);
      } else {
        await this.#op(tag, step, state);
      }
      state.lastEventAt = Date.now();
    }
    await Promise.all(state.background);
    await this.#check(`c${cycle.index}`, state);
  }

  /** After the last cycle: frees any full disk, then one more check (nothing may stay unconverged). */
  async finalCheck(diskFull: readonly SoakNode[]): Promise<void> {
    const state = new CycleState();
    for (const node of diskFull) {
      this.#log(`final: FAULT ${node} disk-free`);
      this.#summary.faults['disk-free'] += 1;
      await this.#soak.freeDisk(node);
    }
    this.#cycle += 1;
    await this.#check('final', state);
  }

  async #op(tag: string, step: Extract<SoakStep, { op: unknown }>, state: CycleState): Promise<void> {
    const { op } = step;
    const sentAt = Date.now();
    const midKill = step.killMidApply ? this.#killOnReconfigure(op.node, step.killMidApply.jitterMs, state) : undefined;
    const res = op.via === 'local' ? await this.#soak.vipctl(op.node, opArgs(op)) : await this.#soak.fleet(fleetArgs(op));
    const answeredAt = Date.now();
    const killed = midKill ? await midKill.finish() : false;
    let outcome = await this.#classify(op, res, state, sentAt, answeredAt);
    const key = `${op.via} ${op.kind}${op.kind === 'set-med' && op.prefix === SOAK_UNKNOWN_VIP ? ' (unknown VIP)' : ''}`;
    const counts = (this.#summary.ops[key] ??= { accepted: 0, 'accepted-with-error': 0, rejected: 0, ambiguous: 0 });
    if ('prefix' in op && op.prefix === SOAK_UNKNOWN_VIP) {
      if (outcome !== 'rejected' && outcome !== 'ambiguous') {
        this.#violation({ cls: 'bad-input-accepted', node: op.node, prefix: op.prefix, detail: `${describeStep(step)} was not refused: ${oneLine(res)}` });
      }
      outcome = outcome === 'ambiguous' ? 'ambiguous' : 'rejected';
    } else {
      const expect = this.#expect.get(op.node)!;
      if (outcome === 'accepted' || outcome === 'accepted-with-error') expect.accept(op, sentAt, answeredAt);
      else if (outcome === 'ambiguous') expect.fork(op, sentAt, answeredAt);
    }
    counts[outcome] += 1;
    const kill = step.killMidApply ? (killed ? ' [vipcontrol SIGKILLed mid-apply]' : ' [no apply seen: no kill]') : '';
    this.#log(`${tag} ${describeStep({ op })} → exit ${res.exitCode} ${outcome} (${answeredAt - sentAt} ms)${kill}${res.exitCode === 0 ? '' : `: ${oneLine(res)}`}`);
  }

  /**
   * Arms a crash of the node's vipcontrol in the middle of an apply, timed from the moment its BIRD
   * logs `Reconfiguring` (the `configure timeout` arrived; vipcontrol now reads back, waits for its
   * state file, then confirms): with `jitterMs` 0 it is frozen at once (SIGSTOP, so it cannot finish
   * the state write either), otherwise it runs on for `jitterMs` and dies wherever it is; then
   * SIGKILL and a restart.
   */
  #killOnReconfigure(node: SoakNode, jitterMs: number, state: CycleState): { finish(): Promise<boolean> } {
    const watch = this.#soak.watchReconfigure(node);
    const done = watch.seen.then(async (seen) => {
      if (!seen) return false;
      const outage: Outage = { node, from: Date.now() };
      state.outages.vipcontrol.push(outage);
      if (jitterMs === 0) this.#soak.freezeVipcontrol(node);
      else await sleep(jitterMs);
      await this.#soak.killVipcontrol(node);
      await this.#restart(node, 'vipcontrol');
      outage.to = Date.now();
      this.#summary.faults['kill-vipcontrol-mid-apply'] += 1;
      return true;
    });
    return {
      finish: async () => {
        // An apply that starts just after the answer (a retry, a TTL expiry) is a fine target too.
        await Promise.race([done, sleep(300)]);
        watch.stop();
        return done;
      },
    };
  }

  async #classify(op: SoakOp, res: ExecResult, state: CycleState, sentAt: number, answeredAt: number): Promise<OpOutcome> {
    if (res.exitCode === 0) return 'accepted';
    const text = `${res.stdout}\n${res.stderr}`;
    const overlapped = state.overlaps('vipcontrol', op.node, sentAt, answeredAt) || (op.via === 'fleet' && state.overlaps('redis', undefined, sentAt, answeredAt));
    if (op.via === 'local') {
      if (overlapped) return 'ambiguous';
      return res.exitCode === VIPCTL_EXIT_SAVED_RETRYING || SAVED_DESPITE_ERROR.test(text) ? 'accepted-with-error' : 'rejected';
    }
    // vipctl fleet printed the node's acknowledgement ("n1: failed (503): …"): the node's own answer.
    if (new RegExp(`^${op.node}: (failed|rejected|expired|superseded)`, 'm').test(res.stdout)) {
      return SAVED_DESPITE_ERROR.test(text) ? 'accepted-with-error' : 'rejected';
    }
    if (/is not registered in this fleet/.test(text)) return 'rejected';
    if (res.exitCode === 3) return 'rejected'; // Redis unreachable before anything was written
    // Timed out, or the connection broke after the command was stored: ask Redis what became of it.
    return this.#resolveFleet(op);
  }

  /** Waits (bounded) until the node processed the stored command, and reads its acknowledgement. */
  async #resolveFleet(op: SoakOp): Promise<OpOutcome> {
    const field = op.kind === 'drain' || op.kind === 'undrain' ? 'drain' : `med:${(op as { prefix: string }).prefix}`;
    const entry = parseJson(await this.#soak.redisCli('HGET', `vipcontrol:desired:${op.node}`, field));
    const id = (entry as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') return 'ambiguous'; // Redis lost it (restarted): it may or may not have run
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const applied = parseJson(await this.#soak.redisCli('HGET', `vipcontrol:applied:${op.node}`, field)) as { id?: unknown } | undefined;
      if (applied?.id === id) {
        const ack = parseJson(await this.#soak.redisCli('LINDEX', `vipcontrol:ack:${id}`, '0')) as { ok?: boolean; error?: string } | undefined;
        if (ack === undefined) return 'ambiguous';
        if (ack.ok === true) return 'accepted';
        return SAVED_DESPITE_ERROR.test(ack.error ?? '') ? 'accepted-with-error' : 'rejected';
      }
      await sleep(250);
    }
    return 'ambiguous';
  }

  async #fault(f: SoakFault, state: CycleState): Promise<void> {
    const soak = this.#soak;
    this.#summary.faults[f.kind] += 1;
    switch (f.kind) {
      case 'kill-vipcontrol': {
        const outage: Outage = { node: f.node, from: Date.now() };
        state.outages.vipcontrol.push(outage);
        await soak.killVipcontrol(f.node);
        await this.#restart(f.node, 'vipcontrol');
        outage.to = Date.now();
        return;
      }
      case 'kill-viphealth':
        await soak.killViphealth(f.node);
        await this.#restart(f.node, 'viphealth');
        return;
      case 'kill-bird': {
        await state.birdBusy.get(f.node);
        state.birdKilled.add(f.node);
        await soak.killBird(f.node);
        this.#background(state, 'bird', f.node, (async () => {
          await sleep(f.downMs);
          await soak.restartBird(f.node);
          this.#log(`     ${f.node} BIRD restarted`);
        })());
        return;
      }
      case 'stop-bird': {
        await state.birdBusy.get(f.node);
        soak.signalBird(f.node, 'SIGSTOP');
        this.#background(state, 'bird', f.node, (async () => {
          await sleep(f.stoppedMs);
          soak.signalBird(f.node, 'SIGCONT');
          this.#log(`     ${f.node} BIRD SIGCONT`);
        })());
        return;
      }
      case 'birdc': {
        await state.birdBusy.get(f.node);
        // BIRD may be down or restarting (an earlier kill-bird): then nothing was done, and that is said.
        const answer = await soak.birdc(f.node, f.command).catch((error: unknown) => `not sent: ${(error as Error).message}`);
        this.#log(`     ${f.node} birdc ${f.command}: ${answer}`);
        return;
      }
      case 'disk-full':
        return soak.fillDisk(f.node);
      case 'disk-free':
        return soak.freeDisk(f.node);
      case 'restart-redis': {
        await state.redisBusy;
        const outage: Outage = { from: Date.now() };
        state.outages.redis.push(outage);
        await soak.redis.kill();
        this.#background(state, 'redis', undefined, (async () => {
          await sleep(f.downMs);
          await soak.redis.restart();
          outage.to = Date.now();
          this.#log('     redis restarted (empty)');
        })());
        return;
      }
    }
  }

  #background(state: CycleState, what: 'bird' | 'redis', node: SoakNode | undefined, work: Promise<void>): void {
    const tracked = work.finally(() => {
      state.lastEventAt = Math.max(state.lastEventAt, Date.now());
    });
    if (what === 'bird') state.birdBusy.set(node!, tracked.catch(() => undefined)); // the failure is reported via `background`
    else state.redisBusy = tracked.catch(() => undefined);
    state.background.push(tracked);
  }

  /** Starts a daemon again; one that does not come up is a violation, retried a few times. */
  async #restart(node: SoakNode, what: 'vipcontrol' | 'viphealth'): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await (what === 'vipcontrol' ? this.#soak.startVipcontrol(node) : this.#soak.startViphealth(node));
        return;
      } catch (err) {
        this.#violation({ cls: 'restart-failed', node, detail: `${what} restart attempt ${attempt}: ${(err as Error).message.split('\n')[0]}` });
        if (attempt >= 3) throw err;
        await sleep(2000);
      }
    }
  }

  /**
   * The quiet period, then the invariants: wait until BIRD's configure timeout has passed since the
   * last operation or fault (an unconfirmed configuration left by a crash is rolled back by then),
   * then poll until every invariant holds — confirmed once more through `vipctl status --json`.
   * "Not converged" (status says it does not know) is tolerated until the convergence timeout; a
   * wrong answer (status in sync but not what the router has, status not what was accepted) is a
   * violation as soon as it has lasted WRONG_GRACE_MS, even if it is repaired later.
   */
  async #check(tag: string, state: CycleState): Promise<void> {
    const quietUntil = state.lastEventAt + SOAK_CONFIGURE_TIMEOUT_S * 1000 + 500;
    await sleep(Math.max(0, quietUntil - Date.now()));
    const t0 = Date.now();
    const deadline = t0 + this.#convergeTimeoutMs;
    const wrong = new Map<string, { since: number; reported: boolean }>();
    let wrongAnswers = 0;
    const track = (ev: Evaluation) => {
      const now = Date.now();
      const seen = new Set<string>();
      for (const p of ev.problems) {
        if (p.cls === 'no-convergence') continue;
        const key = `${p.cls}|${p.node}|${p.prefix ?? ''}|${p.detail}`;
        seen.add(key);
        const w = wrong.get(key) ?? { since: now, reported: false };
        wrong.set(key, w);
        if (!w.reported && now - w.since >= WRONG_GRACE_MS) {
          w.reported = true;
          wrongAnswers += 1;
          this.#violation({ ...p, detail: `${p.detail} (for ${now - w.since} ms after the quiet period)` });
        }
      }
      for (const key of wrong.keys()) if (!seen.has(key)) wrong.delete(key);
    };
    let last: { ev: Evaluation; obs: NodeObservation[] } | undefined;
    for (;;) {
      const fast = await this.#observe(false);
      last = fast;
      track(fast.ev);
      if (fast.ev.conclusive && fast.ev.problems.length === 0) {
        const cli = await this.#observe(true);
        last = cli;
        track(cli.ev);
        if (cli.ev.conclusive && cli.ev.problems.length === 0) break;
      }
      if (Date.now() >= deadline) break;
      await sleep(200);
    }
    const { ev, obs } = last;
    this.#summary.checks.rounds += 1;
    this.#summary.checks.assertions += ev.assertions + SOAK_NODES.length;
    const converged = ev.conclusive && ev.problems.length === 0;
    if (converged) this.#summary.checks.convergeMs.push(Date.now() - t0);
    for (const node of SOAK_NODES) {
      const expect = this.#expect.get(node)!;
      const fits = ev.consistent.get(node) ?? [];
      if (fits.length > 0) expect.narrow(fits, Date.now());
      else {
        const status = obs.find((o) => o.node === node)?.status;
        if (status && ev.problems.some((p) => p.node === node)) expect.resync(modelFromStatus(status));
      }
    }
    // At the deadline: what is still wrong and was not reported yet, and what never converged.
    for (const p of ev.problems) if (!wrong.get(`${p.cls}|${p.node}|${p.prefix ?? ''}|${p.detail}`)?.reported) this.#violation(p);
    if (!ev.conclusive && ev.problems.length === 0) {
      this.#violation({ cls: 'no-convergence', node: SOAK_NODES[0], detail: 'a TTL expiry window overlapped every poll until the timeout' });
    }
    await this.#checkSessions(state);
    this.#checkLogRate();
    const models = SOAK_NODES.map((n) => `${n}: ${describeModels(this.#expect.get(n)!.candidates)}`).join('; ');
    const verdict = converged
      ? `${wrongAnswers > 0 ? `VIOLATION (${wrongAnswers} wrong answer(s), then ` : 'ok ('}converged in ${Date.now() - t0} ms)`
      : `VIOLATION (${ev.problems.length} problem(s) at the timeout)`;
    this.#log(`${tag} CHECK ${verdict} — ${models}`);
  }

  /** Router sessions never reset, except with a node whose BIRD was killed in this cycle. */
  async #checkSessions(state: CycleState): Promise<void> {
    for (const node of SOAK_NODES) {
      const stats = await this.#soak.sessionStats(node);
      const before = this.#since.get(node);
      if (before !== undefined && stats.since !== before && !state.birdKilled.has(node)) {
        this.#violation({ cls: 'session-reset', node, detail: `router's session with ${node} reset (Since ${before} → ${stats.since}, now ${stats.state}) although its BIRD was not killed` });
      }
      this.#since.set(node, stats.since);
    }
  }

  /** A daemon that logs hundreds of lines a second is spinning (a retry without backoff): a defect. */
  #checkLogRate(): void {
    for (const node of SOAK_NODES) {
      const storms = this.#soak.logStorms(node, LOG_STORM_LINES_PER_S);
      if (storms.length === 0) continue;
      const peak = storms.reduce((a, b) => (b.lines > a.lines ? b : a));
      const total = storms.reduce((n, st) => n + st.lines, 0);
      this.#violation({
        cls: 'log-storm', node,
        detail: `vipcontrol wrote more than ${LOG_STORM_LINES_PER_S} log lines a second during ${storms.length} s (${total} lines; `
          + `peak ${peak.lines} at ${new Date(peak.second * 1000).toISOString()}, mostly "${peak.event}")`,
      });
    }
  }

  /** Reads every node's status (API or real CLI), the router's paths and sessions; evaluates. */
  async #observe(cli: boolean): Promise<{ ev: Evaluation; obs: NodeObservation[] }> {
    const from = Date.now();
    const obs = await Promise.all(SOAK_NODES.map(async (node): Promise<NodeObservation> => {
      const { status, error } = cli ? await this.#soak.statusCli(node) : await this.#soak.statusApi(node);
      const router = await this.#soak.routerPaths(node);
      const session = await this.#soak.sessionStats(node);
      return { node, router, sessionState: session.state, ...(status ? { status } : {}), ...(error ? { statusError: error } : {}) };
    }));
    const to = Date.now();
    const candidates = new Map<SoakNode, readonly NodeModel[]>(SOAK_NODES.map((n) => [n, this.#expect.get(n)!.candidates]));
    return { ev: evaluate(obs, candidates, { drainPenalty: SOAK_DRAIN_PENALTY, read: { from, to } }), obs };
  }

  #violation(p: Problem): void {
    this.#summary.violations.push({ ...p, cycle: this.#cycle });
    this.#log(`     VIOLATION ${p.cls} ${p.node}${p.prefix ? ` ${p.prefix}` : ''}: ${p.detail}`);
  }
}

/** `vipctl fleet` arguments: the command, the node, then the rest (fleet has no withdraw/announce). */
function fleetArgs(op: SoakOp): string[] {
  const [command, ...rest] = opArgs(op);
  // `fleet reset-med` and `fleet undrain` take no --reason.
  return [command!, op.node, ...rest];
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON: treated like a missing entry (the caller then says "ambiguous")
  }
}

function oneLine(res: ExecResult): string {
  return `${res.stderr.trim()} ${res.stdout.trim()}`.trim().replace(/\s+/g, ' ').slice(0, 300);
}

function describeModels(models: readonly NodeModel[]): string {
  return models.map((m) => {
    const parts = [
      ...Object.entries(m.overrides).map(([p, o]) => `${p}=${o.med}${o.expires ? '(ttl)' : ''}`),
      ...m.withdrawn.map((p) => `${p} withdrawn`),
      ...(m.drain ? [m.drain.withdraw ? 'drain --withdraw' : 'drain'] : []),
    ];
    return parts.length > 0 ? parts.join(', ') : 'configured';
  }).join(' | ');
}

/** Violations grouped by class, for the summary. */
export function violationsByClass(violations: readonly Violation[]): Map<ViolationClass, Violation[]> {
  const out = new Map<ViolationClass, Violation[]>();
  for (const v of violations) out.set(v.cls, [...(out.get(v.cls) ?? []), v]);
  return out;
}

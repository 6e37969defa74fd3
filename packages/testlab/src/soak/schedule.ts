/**
 * The soak's schedule: a pure function of the seed. Cycle k of seed S is always the same list of
 * operations and faults, whatever happened while cycle k−1 ran, so a failing run is replayed with
 * `--seed S` (the outcomes may differ with timing; the schedule does not).
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** The lab's nodes and VIPs the soak drives. Both nodes announce every VIP, each with its own MED. */
export const SOAK_NODES = ['n1', 'n2'] as const;
export type SoakNode = (typeof SOAK_NODES)[number];
export const SOAK_VIPS = ['198.51.100.10/32', '198.51.100.11/32', '2001:db8::10/128'] as const;
export const SOAK_CONFIGURED_MED: Readonly<Record<SoakNode, number>> = { n1: 100, n2: 200 };
/** Not configured anywhere: operations on it are bad input and must change nothing. */
export const SOAK_UNKNOWN_VIP = '198.51.100.99/32';

/** How an operation reaches the daemon: `vipctl` on the local socket, or `vipctl fleet` over Redis. */
export type Via = 'local' | 'fleet';

export type SoakOp =
  | { kind: 'set-med'; via: Via; node: SoakNode; prefix: string; med: number; ttlMs?: number }
  | { kind: 'reset-med'; via: Via; node: SoakNode; prefix: string }
  | { kind: 'withdraw' | 'announce'; via: 'local'; node: SoakNode; prefix: string }
  | { kind: 'drain'; via: Via; node: SoakNode; withdraw: boolean }
  | { kind: 'undrain'; via: Via; node: SoakNode };

export type SoakFault =
  | { kind: 'kill-vipcontrol'; node: SoakNode }
  | { kind: 'kill-viphealth'; node: SoakNode }
  /** SIGKILL BIRD, restart it `downMs` later (operations go on meanwhile). */
  | { kind: 'kill-bird'; node: SoakNode; downMs: number }
  /** SIGSTOP BIRD, SIGCONT `stoppedMs` later (operations go on meanwhile). */
  | { kind: 'stop-bird'; node: SoakNode; stoppedMs: number }
  /** Fill the node's state tmpfs; it stays full until a later `disk-free`. */
  | { kind: 'disk-full'; node: SoakNode }
  | { kind: 'disk-free'; node: SoakNode }
  /** SIGKILL redis-server, restart it (empty) `downMs` later. */
  | { kind: 'restart-redis'; downMs: number }
  /**
   * An operator at the node's BIRD: `configure` (bird.conf unchanged) or `disable` of one of
   * vipcontrol's static protocols — the router loses its VIPs until vipcontrol sees it and enables it.
   */
  | { kind: 'birdc'; node: SoakNode; command: BirdcCommand };

export type BirdcCommand = 'configure' | 'disable vipcontrol4' | 'disable vipcontrol6';

export type FaultKind = SoakFault['kind'] | 'kill-vipcontrol-mid-apply';

/**
 * One step of a cycle. An operation may carry `killMidApply`: vipcontrol on the operation's node is
 * SIGKILLed `jitterMs` after its BIRD logs `Reconfiguring` for this operation (between `configure
 * timeout` and `configure confirm`; with 0 it is frozen at once), and restarted at once.
 */
export type SoakStep =
  | { op: SoakOp; killMidApply?: { jitterMs: number } }
  | { fault: SoakFault };

export interface SoakCycle {
  readonly index: number;
  readonly steps: readonly SoakStep[];
}

/** Short TTLs expire during the run (often during a later cycle or a quiet period). */
const SHORT_TTLS_MS = [1500, 2500, 4000, 6000];
const LONG_TTL_MS = 600_000;

/** Generates cycles 0, 1, 2, … of one seed; `cycle(k)` is the same for every run with that seed. */
export class SoakSchedule {
  readonly seed: number;
  readonly #cycles: SoakCycle[] = [];
  #rng: RandomGenerator;
  /** Nodes whose state disk a generated step left full (schedule state, not lab state). */
  readonly #diskFull = new Set<SoakNode>();

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`seed must be an integer 0..4294967295, got ${seed}`);
    this.seed = seed;
    this.#rng = xoroshiro128plus(seed);
  }

  cycle(index: number): SoakCycle {
    while (this.#cycles.length <= index) this.#cycles.push(this.#generate(this.#cycles.length));
    return this.#cycles[index]!;
  }

  /** Nodes left with a full disk after the cycles generated so far (the run frees them at the end). */
  get diskFullNodes(): SoakNode[] {
    return [...this.#diskFull];
  }

  #int(from: number, to: number): number {
    return uniformInt(this.#rng, from, to);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(0, items.length - 1)]!;
  }

  /** Picks a key of `weights` with probability proportional to its weight. */
  #weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.#int(0, total - 1);
    for (const [key, w] of entries) {
      if (roll < w) return key;
      roll -= w;
    }
    return entries[entries.length - 1]![0];
  }

  #generate(index: number): SoakCycle {
    const steps: SoakStep[] = [];
    // Every full disk gets a 1-in-2 chance per cycle to be freed first: some quiet periods (and
    // their invariant checks) run while the disk is full, some right after.
    for (const node of [...this.#diskFull]) {
      if (this.#int(0, 1) === 0) {
        this.#diskFull.delete(node);
        steps.push({ fault: { kind: 'disk-free', node } });
      }
    }
    const ops = this.#int(2, 6);
    const faults = this.#weighted({ 0: 2, 1: 5, 2: 3 } as Record<'0' | '1' | '2', number>);
    const faultAt = new Set(Array.from({ length: Number(faults) }, () => this.#int(0, ops)));
    for (let i = 0; i <= ops; i++) {
      if (faultAt.has(i)) steps.push(...this.#fault());
      if (i === ops) break;
      const op = this.#op();
      if (this.#int(0, 4) === 0) steps.push({ op, killMidApply: { jitterMs: this.#int(0, 6) } });
      else steps.push({ op });
    }
    return { index, steps };
  }

  #op(): SoakOp {
    const node = this.#pick(SOAK_NODES);
    const prefix = this.#pick(SOAK_VIPS);
    const via: Via = this.#int(0, 2) === 0 ? 'fleet' : 'local';
    const kind = this.#weighted({ 'set-med': 8, 'set-med-unknown': 1, 'reset-med': 3, withdraw: 2, announce: 2, drain: 2, undrain: 2 });
    switch (kind) {
      case 'set-med': {
        const med = this.#int(1, 60) * 10;
        const ttl = this.#weighted({ none: 4, short: 4, long: 1 });
        if (ttl === 'none') return { kind, via, node, prefix, med };
        return { kind, via, node, prefix, med, ttlMs: ttl === 'short' ? this.#pick(SHORT_TTLS_MS) : LONG_TTL_MS };
      }
      case 'set-med-unknown':
        return { kind: 'set-med', via, node, prefix: SOAK_UNKNOWN_VIP, med: this.#int(1, 60) * 10 };
      case 'reset-med':
        return { kind, via, node, prefix };
      case 'withdraw':
      case 'announce':
        return { kind, via: 'local', node, prefix };
      case 'drain':
        return { kind, via, node, withdraw: this.#int(0, 2) === 0 };
      case 'undrain':
        return { kind, via, node };
    }
  }

  #fault(): SoakStep[] {
    const node = this.#pick(SOAK_NODES);
    const canFill = !this.#diskFull.has(node);
    const kind = this.#weighted({
      'kill-vipcontrol': 3, 'kill-viphealth': 2, 'kill-bird': 2, 'stop-bird': 2, 'disk-full': canFill ? 2 : 0, 'restart-redis': 2, birdc: 2,
    });
    switch (kind) {
      case 'kill-vipcontrol':
      case 'kill-viphealth':
        return [{ fault: { kind, node } }];
      case 'kill-bird':
        return [{ fault: { kind, node, downMs: this.#int(0, 20) * 100 } }];
      case 'stop-bird':
        return [{ fault: { kind, node, stoppedMs: this.#int(2, 40) * 100 } }];
      case 'disk-full': {
        this.#diskFull.add(node);
        const full: SoakStep = { fault: { kind, node } };
        // Half the time a short TTL is set just before: it expires while the disk is full.
        if (this.#int(0, 1) === 0) return [full];
        const ttl: SoakOp = { kind: 'set-med', via: 'local', node, prefix: this.#pick(SOAK_VIPS), med: this.#int(1, 60) * 10, ttlMs: this.#pick(SHORT_TTLS_MS) };
        return [{ op: ttl }, full];
      }
      case 'restart-redis':
        return [{ fault: { kind, downMs: this.#int(0, 20) * 100 } }];
      case 'birdc':
        return [{ fault: { kind, node, command: this.#pick(['configure', 'disable vipcontrol4', 'disable vipcontrol6'] as const) } }];
    }
  }
}

/** A fresh seed for a run that was not given one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}

/** One line of the schedule log, e.g. `n1 fleet set-med 198.51.100.10/32 250 --ttl 2500ms`. */
export function describeStep(step: SoakStep): string {
  if ('fault' in step) {
    const f = step.fault;
    switch (f.kind) {
      case 'kill-bird':
        return `FAULT ${f.node} kill-bird (down ${f.downMs} ms)`;
      case 'stop-bird':
        return `FAULT ${f.node} stop-bird (SIGSTOP ${f.stoppedMs} ms)`;
      case 'restart-redis':
        return `FAULT redis kill+restart (down ${f.downMs} ms)`;
      case 'birdc':
        return `FAULT ${f.node} birdc ${f.command}`;
      default:
        return `FAULT ${f.node} ${f.kind}`;
    }
  }
  const mid = step.killMidApply ? ` [+ SIGKILL vipcontrol ${step.killMidApply.jitterMs} ms after BIRD's Reconfiguring]` : '';
  return `${describeOp(step.op)}${mid}`;
}

export function describeOp(op: SoakOp): string {
  return `${op.node} ${op.via} ${opArgs(op).join(' ')}`;
}

/** The vipctl arguments of an operation (after `vipctl --socket S` or `vipctl fleet … NODE`). */
export function opArgs(op: SoakOp): string[] {
  switch (op.kind) {
    case 'set-med':
      return ['set-med', op.prefix, String(op.med), ...(op.ttlMs === undefined ? [] : ['--ttl', `${op.ttlMs}ms`]), '--reason', 'soak'];
    case 'reset-med':
      return ['reset-med', op.prefix];
    case 'withdraw':
      return ['withdraw', op.prefix, '--reason', 'soak'];
    case 'announce':
      return ['announce', op.prefix];
    case 'drain':
      return ['drain', ...(op.withdraw ? ['--withdraw'] : []), '--reason', 'soak'];
    case 'undrain':
      return ['undrain'];
  }
}

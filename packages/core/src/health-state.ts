/**
 * The rise/fall hysteresis of one health check as a pure reducer (HealthStateMachine).
 *
 * anycast-healthchecker keeps this logic inline in its timer thread and has no tests for it; here the
 * scheduler only feeds outcomes in and acts on the returned transition, so every rule below is tested
 * by tables and properties without timers.
 *
 * Rules:
 * - A check leaves `unknown` (fresh start) only after `rise` consecutive passes (→ up) or `fall`
 *   consecutive failures (→ down); `startup: up` starts it up instead.
 * - up → down after `fall` consecutive failures; down → up after `rise` consecutive passes.
 * - A `disabled` outcome (maintenance file present) moves it to `disabled` at once; leaving maintenance
 *   goes to `down` until `rise` passes are seen (a service is never announced unproven).
 * - Damping (optional): a flap is an up → down transition. When `flaps` of them fall inside `windowMs`,
 *   the check is held down for `holdDownMs`, doubled for every further damping episode, capped at
 *   `maxHoldDownMs`; the doubling resets once the check stays up for a whole window.
 * - A transition is returned only when the status changes.
 */
import { exponentialBackoff } from './backoff.js';
import type { CheckStatus, DampingMemory } from './types.js';

/** Why a check changed status; logged as `{ old, new, reason }`. */
export type HealthTransitionReason = 'rise-met' | 'fall-met' | 'disabled' | 'enabled' | 'damped' | 'hold-down-expired';

/** How a check starts: `unknown` waits for rise/fall; `up`/`down` assume that status. */
export type StartupMode = 'unknown' | 'up' | 'down';

export interface DampingParams {
  /** Number of up → down transitions within `windowMs` that triggers a hold-down (>= 2). */
  readonly flaps: number;
  readonly windowMs: number;
  /** First hold-down; doubled for every consecutive damping episode. */
  readonly holdDownMs: number;
  readonly maxHoldDownMs: number;
}

export interface HealthParams {
  readonly rise: number;
  readonly fall: number;
  readonly intervalMs: number;
  /** Used while a transition is in progress (a streak against the current status). */
  readonly fastIntervalMs: number;
  readonly damping?: DampingParams;
}

export interface HealthState {
  readonly status: CheckStatus;
  /** When the status last changed (or the check started). */
  readonly since: number;
  /** Consecutive passes / failures up to the last outcome (one of them is always 0). */
  readonly passes: number;
  readonly fails: number;
  /** Times of the up → down transitions still inside the damping window. */
  readonly flapTimes: readonly number[];
  /** Number of consecutive damping episodes: the hold-down exponent. */
  readonly holdDowns: number;
  /** While set and in the future, the check stays down whatever it sees. */
  readonly holdDownUntil?: number;
}

/** One run of a check: passed, failed, or skipped because its disable file exists. */
export interface CheckOutcome {
  readonly kind: 'pass' | 'fail' | 'disabled';
  readonly at: number;
}

export interface HealthTransition {
  readonly from: CheckStatus;
  readonly to: CheckStatus;
  readonly reason: HealthTransitionReason;
  readonly at: number;
  /** Set on 'damped': when the hold-down ends. */
  readonly holdDownUntil?: number;
}

/** The state of a check that has just been created (process start or changed by a reload). */
export function initialHealthState(startup: StartupMode, now: number): HealthState {
  return { status: startup, since: now, passes: 0, fails: 0, flapTimes: [], holdDowns: 0 };
}

/** What of a state damping needs later (persisted with the verdict by vipcontrol). */
export function dampingMemory(state: HealthState): DampingMemory {
  return { flapTimes: state.flapTimes, holdDowns: state.holdDowns, ...(state.holdDownUntil !== undefined && { holdDownUntil: state.holdDownUntil }) };
}

/** A state carrying damping memory over (a restart, or an edit of the check); stale parts are harmless. */
export function withDampingMemory(state: HealthState, memory: DampingMemory): HealthState {
  return { ...state, flapTimes: [...memory.flapTimes], holdDowns: memory.holdDowns, ...(memory.holdDownUntil !== undefined && { holdDownUntil: memory.holdDownUntil }) };
}

/** Feeds one outcome into the machine. Returns a transition only when the status changes. */
export function stepHealth(
  state: HealthState,
  outcome: CheckOutcome,
  params: HealthParams,
): { state: HealthState; transition?: HealthTransition } {
  const { at } = outcome;
  if (outcome.kind === 'disabled') {
    const next: HealthState = { ...state, passes: 0, fails: 0 };
    if (state.status === 'disabled') return { state: next };
    return move(next, 'disabled', 'disabled', at);
  }
  const pass = outcome.kind === 'pass';
  let next: HealthState = { ...state, passes: pass ? state.passes + 1 : 0, fails: pass ? 0 : state.fails + 1 };
  const riseMet = next.passes >= params.rise;
  const fallMet = next.fails >= params.fall;

  switch (state.status) {
    case 'disabled':
      // Leaving maintenance: the service must prove itself again before it is announced.
      return move(next, riseMet && !isHeldDown(next, at) ? 'up' : 'down', 'enabled', at);
    case 'unknown':
      // A hold-down carried over from before a restart or an edit still binds a fresh check.
      if (riseMet && !isHeldDown(next, at)) return move(next, 'up', 'rise-met', at);
      if (fallMet) return move(next, 'down', 'fall-met', at);
      return { state: next };
    case 'up':
      return fallMet ? fall(next, at, params.damping) : { state: next };
    case 'down':
      if (next.holdDownUntil !== undefined) {
        if (isHeldDown(next, at)) return { state: next };
        // The hold-down was binding only if rise had already been met before it ended.
        const binding = next.passes > params.rise;
        next = withoutHoldDown(next);
        if (riseMet) return move(next, 'up', binding ? 'hold-down-expired' : 'rise-met', at);
        return { state: next };
      }
      return riseMet ? move(next, 'up', 'rise-met', at) : { state: next };
  }
}

/**
 * How long the scheduler waits before the next run: the fast interval while a transition is in
 * progress (fresh start, or a streak against the current status), the normal interval otherwise;
 * never past the end of a hold-down, so the check comes back as soon as it may.
 */
export function nextIntervalMs(state: HealthState, params: HealthParams, now?: number): number {
  if (now !== undefined && state.holdDownUntil !== undefined && isHeldDown(state, now)) {
    return Math.min(params.intervalMs, state.holdDownUntil - now);
  }
  const inTransition =
    state.status === 'unknown' ||
    (state.status === 'up' && state.fails > 0) ||
    (state.status === 'down' && state.passes > 0);
  return inTransition ? params.fastIntervalMs : params.intervalMs;
}

/** Whether a hold-down still keeps the check down at `at`. */
export function isHeldDown(state: HealthState, at: number): boolean {
  return state.holdDownUntil !== undefined && at < state.holdDownUntil;
}

function withoutHoldDown(state: HealthState): HealthState {
  const { holdDownUntil: _dropped, ...rest } = state;
  return rest;
}

function move(
  state: HealthState,
  to: CheckStatus,
  reason: HealthTransitionReason,
  at: number,
): { state: HealthState; transition: HealthTransition } {
  return { state: { ...state, status: to, since: at }, transition: { from: state.status, to, reason, at } };
}

/** up → down: a flap. Damping may turn it into a hold-down. */
function fall(
  state: HealthState,
  at: number,
  damping: DampingParams | undefined,
): { state: HealthState; transition: HealthTransition } {
  if (damping === undefined) return move(state, 'down', 'fall-met', at);
  const flapTimes = [...state.flapTimes.filter((t) => at - t < damping.windowMs), at];
  // A whole window spent up forgives earlier episodes: the hold-down starts small again.
  const holdDowns = at - state.since >= damping.windowMs ? 0 : state.holdDowns;
  if (flapTimes.length < damping.flaps) {
    return move({ ...state, flapTimes, holdDowns }, 'down', 'fall-met', at);
  }
  const holdMs = exponentialBackoff({ attempt: holdDowns + 1, minMs: damping.holdDownMs, maxMs: damping.maxHoldDownMs });
  const holdDownUntil = at + holdMs;
  const moved = move({ ...state, flapTimes, holdDowns: holdDowns + 1, holdDownUntil }, 'down', 'damped', at);
  return { state: moved.state, transition: { ...moved.transition, holdDownUntil } };
}

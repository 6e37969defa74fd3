/**
 * Runtime operator state (MED overrides, operator withdrawals, drain), persisted in the state file.
 *
 * Every change is written (atomically) BEFORE the caller is answered, so an acknowledged `set-med`
 * survives a crash. Writes go through a coalescing queue: a burst of changes becomes a few writes,
 * each caller resolved once a write containing its change is on disk. A failed write changes
 * nothing in memory either: the batch is rejected and the state stays as last persisted.
 *
 * While a write is in flight, `current` is the state being written: the reconciler applies it side
 * by side with the write (the include file is written while the state file is), and `pending()`
 * holds that apply's steps: BIRD's `configure` until the file system has taken the data (`staged`:
 * a full disk refuses it before, and BIRD never sees the change), `configure confirm` until the
 * state is on disk (`durable`). If the write fails, `current` falls back to the persisted state and
 * the apply that waited puts the include back or is undone (announcer.ts).
 *
 * Expiries are different (`settle`): time has passed whether or not the disk takes the change, so an
 * expiry is in force at once even when its write fails (a full disk); the store then retries the
 * write with backoff and logs the failure once per episode. Until then the file may still hold the
 * expired entries, which any reader drops anyway (expiry is by time).
 *
 * Temp files a crash left beside the state file are removed at load (sweepStaleTempFiles).
 *
 * Corrupt state file (decision): the daemon does not guess what a half-readable file meant. It
 * moves the file aside as `<file>.corrupt-<timestamp>` (kept for the operator), logs an error,
 * starts from the empty state (configured MEDs, nothing withdrawn, no drain) and reports the
 * incident in status (`state.corrupt`) for the life of the process. An UNREADABLE file
 * (permissions, I/O error) is different: start-up fails, because an empty state could undo an
 * operator's withdraw that is still on disk.
 */
import { rename } from 'node:fs/promises';
import type { Logger } from 'pino';
import { checkRuntimeEntries, emptyRuntimeState, exponentialBackoff, parseRuntimeState, type CorruptStateInfo, type RuntimeState, type StateFileStatus } from '@vipcontrol/core';
import { readFileIfExists, sweepStaleTempFiles, writeFileAtomic } from './atomic-file.js';
import type { StateWrite } from './daemon-types.js';
import { BURST_QUIET_MS, CoalescingQueue } from './apply-queue.js';

/** The state a batch of mutations edits: a private copy, made once per batch, that edits change in place. */
export interface RuntimeDraft {
  readonly version: 1;
  overrides: Record<string, RuntimeState['overrides'][string]>;
  withdrawn: Record<string, RuntimeState['withdrawn'][string]>;
  drain?: RuntimeState['drain'];
  fleet?: RuntimeState['fleet'];
  maintenance?: RuntimeState['maintenance'];
  withdrawSlots?: RuntimeState['withdrawSlots'];
}

/**
 * A change to the runtime state; must not throw (validate before calling `update`). Either edits
 * the draft in place and returns nothing — O(1) for one VIP, so a burst of 1,000 set-meds costs one
 * copy of the overrides, not 1,000 — or returns a whole new state (pure style).
 */
export type StateMutation = (draft: RuntimeDraft) => RuntimeState | void;

/** Backoff of the retried write of an expiry that could not be persisted: min(max, min * 2^(n-1)). */
const RETRY_MIN_MS = 1_000;
/** Longest a write waits for a burst still being read off the API socket (see holdWhile). */
const BURST_HOLD_MS = 200;
const RETRY_MAX_MS = 60_000;

/** Loads, holds and persists the RuntimeState. */
export class StateStore {
  readonly #file: string;
  readonly #log: Logger;
  readonly #queue: CoalescingQueue<QueuedMutation, RuntimeState>;
  #state: RuntimeState = emptyRuntimeState();
  /** The write in flight: its state and its two steps (promises never unhandled). */
  #writing: ({ readonly state: RuntimeState } & StateWrite) | undefined;
  #written: string | undefined;
  #lastWriteAt: number | undefined;
  #error: string | undefined;
  #corrupt: CorruptStateInfo | undefined;
  /** Consecutive failed writes of the state in force (0 once one succeeds). */
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAt: number | undefined;
  #intakeBusy: () => boolean = () => false;

  constructor(opts: { file: string; logger: Logger }) {
    this.#file = opts.file;
    this.#log = opts.logger;
    this.#queue = new CoalescingQueue({
      run: (queued) => this.#persist(queued),
      hold: { busy: () => this.#intakeBusy(), maxMs: BURST_HOLD_MS, quietMs: BURST_QUIET_MS },
    });
  }

  /**
   * `busy()`: requests are still being read off the API socket. A write about to start then waits for
   * them (at most BURST_HOLD_MS), so a burst of 1,000 set-meds is one or two writes, not dozens each
   * serialising every override again while the rest are still being read.
   */
  holdWhile(busy: () => boolean): void {
    this.#intakeBusy = busy;
  }

  /** The state in force: as last persisted, plus expiries whose write is still being retried (see `settle`). */
  get state(): RuntimeState {
    return this.#state;
  }

  /** What the daemon acts on: the state being written, if a write is in flight, else the persisted one. */
  get current(): RuntimeState {
    return this.#writing?.state ?? this.#state;
  }

  /** The write of `current` (as of this call): settled at once when it is the persisted state. */
  pending(): StateWrite {
    return this.#writing ?? WRITTEN;
  }

  status(): StateFileStatus {
    return { file: this.#file, lastWriteAt: this.#lastWriteAt, error: this.#error, retryAt: this.#retryAt, corrupt: this.#corrupt };
  }

  /** Reads the state file: missing → empty state; corrupt → moved aside, empty state (see module doc). */
  async load(now = Date.now()): Promise<RuntimeState> {
    await sweepStaleTempFiles(this.#file, this.#log);
    const text = await readFileIfExists(this.#file);
    if (text === undefined) {
      this.#log.info({ event: 'stateMissing', file: this.#file }, 'no state file yet; starting with empty runtime state');
      this.#state = emptyRuntimeState();
      return this.#state;
    }
    try {
      this.#state = parseRuntimeState(JSON.parse(text) as unknown);
      this.#written = text;
      this.#log.info({ event: 'stateLoaded', file: this.#file }, 'runtime state loaded');
    } catch (cause) {
      const movedTo = `${this.#file}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.#file, movedTo);
      this.#corrupt = { at: now, movedTo, error: (cause as Error).message };
      this.#state = emptyRuntimeState();
      this.#log.error(
        { event: 'stateCorrupt', file: this.#file, movedTo, err: cause },
        'state file is corrupt: moved aside, starting with empty runtime state (configured MEDs, nothing withdrawn, no drain)',
      );
    }
    return this.#state;
  }

  /** Applies `mutation` and resolves once the result is on disk. */
  update(mutation: StateMutation): Promise<RuntimeState> {
    return this.#queue.request({ mutation });
  }

  /**
   * Like `update`, plus `inCurrent`: true as soon as `current` includes the mutation (its write has
   * started; `pending()` then tells how far it got), false when it never will (the change was refused,
   * the store stopped). Never rejects.
   */
  stage(mutation: StateMutation): { inCurrent: Promise<boolean>; durable: Promise<RuntimeState> } {
    let onCurrent!: (inCurrent: boolean) => void;
    const inCurrent = new Promise<boolean>((resolve) => (onCurrent = resolve));
    const durable = this.#queue.request({ mutation, onCurrent: () => onCurrent(true) });
    durable.then(
      () => onCurrent(true),
      () => onCurrent(false),
    );
    return { inCurrent, durable };
  }

  /**
   * A change in force whether or not it can be written (an expiry): resolves once `state` includes
   * it. A failed write is retried with backoff until one succeeds; never rejects.
   */
  async settle(mutation: StateMutation): Promise<void> {
    try {
      await this.#queue.request({ mutation, holds: true });
    } catch {
      // #persist kept the change in force, logged the failure and armed the retry; or the store is
      // stopping, and the next start expires the entry again (expiry is by time).
    }
  }

  /** Waits for a write in flight; later updates are refused. */
  stop(): Promise<void> {
    this.#clearRetry();
    return this.#queue.stop();
  }

  async #persist(queued: QueuedMutation[]): Promise<RuntimeState> {
    const draft = applyMutations(this.#state, queued);
    // The loader's own checks on what this batch changed: a file the next start would refuse is never
    // written (the controller admits each change the same way, so this only fires on a bug — loudly).
    // Only changed entries: checking all 10,000 overrides would cost ~30 ms per write.
    try {
      checkRuntimeEntries(changedEntries(this.#state, draft));
    } catch (error) {
      this.#log.error({ event: 'stateRefused', file: this.#file, err: error }, 'a change would make the state file unloadable; refused');
      throw error;
    }
    const next: RuntimeState = draft;
    const text = `${JSON.stringify(next, null, 2)}\n`;
    if (text === this.#written) {
      this.#state = next;
      for (const q of queued) q.onCurrent?.();
      return next;
    }
    let onStaged!: () => void;
    let onRefused!: (error: unknown) => void;
    const staged = new Promise<void>((resolve, reject) => ((onStaged = resolve), (onRefused = reject)));
    // 0640: reasons and operator names are not secrets, but nobody outside the group needs them.
    const write = writeFileAtomic(this.#file, text, { mode: 0o640, onWritten: onStaged });
    const durable = write.then(() => undefined);
    // Awaited by applies that rendered `next`, if any; the callers get the error below.
    staged.catch(() => undefined);
    durable.catch(() => undefined);
    this.#writing = { state: next, staged, durable };
    for (const q of queued) q.onCurrent?.();
    try {
      await write;
    } catch (error) {
      onRefused(error); // no-op once staged: then only `durable` fails (an fsync error)
      this.#failed(error, queued);
      throw error;
    } finally {
      this.#writing = undefined;
    }
    this.#written = text;
    this.#lastWriteAt = Date.now();
    if (this.#error !== undefined) {
      this.#log.info({ event: 'stateWriteRecovered', file: this.#file, failures: this.#failures }, 'runtime state written again');
    }
    this.#error = undefined;
    this.#failures = 0;
    this.#clearRetry();
    this.#state = next;
    return next;
  }

  /**
   * A write failed: operator changes in the batch are refused (their callers get the error), changes
   * that hold anyway (expiries) stay in force, and a retry is armed while the file lags behind.
   * Logged once per episode: a full disk must not fill the log too.
   */
  #failed(error: unknown, queued: readonly QueuedMutation[]): void {
    this.#failures += 1;
    if (this.#error === undefined) {
      this.#log.error(
        { event: 'stateWriteFailed', file: this.#file, err: error },
        'cannot persist runtime state: changes are refused, expiries still apply; retrying',
      );
    } else {
      this.#log.debug({ event: 'stateWriteFailed', file: this.#file, failures: this.#failures, err: error }, 'runtime state still not writable');
    }
    this.#error = (error as Error).message;
    const holding = queued.filter((q) => q.holds);
    if (holding.length > 0) this.#state = applyMutations(this.#state, holding);
    const text = `${JSON.stringify(this.#state, null, 2)}\n`;
    if (text !== this.#written) this.#armRetry();
  }

  #armRetry(): void {
    if (this.#retryTimer) return;
    const delay = exponentialBackoff({ attempt: this.#failures, minMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS });
    this.#retryAt = Date.now() + delay;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#retryAt = undefined;
      // Writes the state in force (it differs from the file); a failure re-arms with a longer delay.
      this.#queue.request({ mutation: () => undefined, holds: true }).catch(() => undefined);
    }, delay);
    this.#retryTimer.unref();
  }

  #clearRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retryAt = undefined;
  }
}

/** A state whose write finished. */
const WRITTEN: StateWrite = { staged: Promise.resolve(), durable: Promise.resolve() };

/** A mutation waiting for the next write; `onCurrent` runs once `current` includes it. */
interface QueuedMutation {
  readonly mutation: StateMutation;
  readonly onCurrent?: () => void;
  /** In force even if its write fails (an expiry): see `settle`. */
  readonly holds?: boolean;
}

/** `state` with the mutations applied in order, on a private copy (see toDraft). */
function applyMutations(state: RuntimeState, queued: readonly QueuedMutation[]): RuntimeDraft {
  let draft = toDraft(state);
  for (const { mutation } of queued) {
    const replaced = mutation(draft);
    if (replaced !== undefined) draft = toDraft(replaced);
  }
  return draft;
}

/** A private, editable copy (the state itself may be shared with an apply in flight and is never edited). */
function toDraft(state: RuntimeState): RuntimeDraft {
  return {
    version: state.version,
    overrides: copyRecord(state.overrides),
    withdrawn: copyRecord(state.withdrawn),
    ...(state.drain !== undefined ? { drain: state.drain } : {}),
    ...(state.fleet !== undefined ? { fleet: state.fleet } : {}),
    ...(state.maintenance !== undefined ? { maintenance: state.maintenance } : {}),
    ...(state.withdrawSlots !== undefined ? { withdrawSlots: state.withdrawSlots } : {}),
  };
}

/**
 * A shallow copy of a record, by a loop: object spread of a 1,000-key record (V8 keeps it as a
 * dictionary) allocates and costs several times more, and a burst copies the overrides per write.
 */
function copyRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const copy: Record<string, T> = {};
  for (const key in record) copy[key] = record[key]!;
  return copy;
}

/** The entries of `next` that are not (by identity) those of `prev`: what a batch added or replaced. */
function changedEntries(prev: RuntimeState, next: RuntimeDraft): Parameters<typeof checkRuntimeEntries>[0] {
  const changed = <T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>) => {
    const out: Record<string, T> = {};
    for (const key in b) if (a[key] !== b[key]) out[key] = b[key]!;
    return out;
  };
  return {
    overrides: changed(prev.overrides, next.overrides),
    withdrawn: changed(prev.withdrawn, next.withdrawn),
    ...(next.drain !== undefined && next.drain !== prev.drain ? { drain: next.drain } : {}),
  };
}

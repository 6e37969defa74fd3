/**
 * Runtime operator state (MED overrides, operator withdrawals, drain), persisted in the state file.
 *
 * Every change is written (atomically) BEFORE the caller is answered, so an acknowledged `set-med`
 * survives a crash. Writes go through a coalescing queue: a burst of changes becomes a few writes,
 * each caller resolved once a write containing its change is on disk. A failed write changes
 * nothing in memory either: the batch is rejected and the state stays as last persisted.
 *
 * While a write is in flight, `current` is the state being written: the reconciler may apply it at
 * the same time (the fsyncs run side by side instead of one after the other), but holds BIRD's
 * `configure confirm` until `durable()` says that state is on disk. If the write fails, `current`
 * falls back to the persisted state and the apply that waited is undone (announcer.ts).
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
import { emptyRuntimeState, parseRuntimeState, type RuntimeState } from '@vipcontrol/core';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';
import { CoalescingQueue } from './apply-queue.js';

/** The state a batch of mutations edits: a private copy, made once per batch, that edits change in place. */
export interface RuntimeDraft {
  readonly version: 1;
  overrides: Record<string, RuntimeState['overrides'][string]>;
  withdrawn: Record<string, RuntimeState['withdrawn'][string]>;
  drain?: RuntimeState['drain'];
}

/**
 * A change to the runtime state; must not throw (validate before calling `update`). Either edits
 * the draft in place and returns nothing — O(1) for one VIP, so a burst of 1,000 set-meds costs one
 * copy of the overrides, not 1,000 — or returns a whole new state (pure style).
 */
export type StateMutation = (draft: RuntimeDraft) => RuntimeState | void;

/** What happened to a state file that could not be parsed at start-up. */
export interface CorruptStateInfo {
  readonly at: number;
  readonly movedTo: string;
  readonly error: string;
}

export interface StateStoreStatus {
  readonly file: string;
  readonly lastWriteAt?: number;
  readonly error?: string;
  readonly corrupt?: CorruptStateInfo;
}

/** Loads, holds and persists the RuntimeState. */
export class StateStore {
  readonly #file: string;
  readonly #log: Logger;
  readonly #queue: CoalescingQueue<QueuedMutation, RuntimeState>;
  #state: RuntimeState = emptyRuntimeState();
  /** The write in flight: its state and a promise that settles with it (never unhandled). */
  #writing: { readonly state: RuntimeState; readonly done: Promise<void> } | undefined;
  #written: string | undefined;
  #lastWriteAt: number | undefined;
  #error: string | undefined;
  #corrupt: CorruptStateInfo | undefined;

  constructor(opts: { file: string; logger: Logger }) {
    this.#file = opts.file;
    this.#log = opts.logger;
    this.#queue = new CoalescingQueue({ run: (queued) => this.#persist(queued) });
  }

  /** The state as last persisted. */
  get state(): RuntimeState {
    return this.#state;
  }

  /** What the daemon acts on: the state being written, if a write is in flight, else the persisted one. */
  get current(): RuntimeState {
    return this.#writing?.state ?? this.#state;
  }

  /** Settles once `current` (as of this call) is on disk; rejects if that write failed. */
  durable(): Promise<void> {
    return this.#writing?.done ?? Promise.resolve();
  }

  status(): StateStoreStatus {
    return { file: this.#file, lastWriteAt: this.#lastWriteAt, error: this.#error, corrupt: this.#corrupt };
  }

  /** Reads the state file: missing → empty state; corrupt → moved aside, empty state (see module doc). */
  async load(now = Date.now()): Promise<RuntimeState> {
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
   * Like `update`, plus `staged`: settles as soon as `current` includes the mutation (its write has
   * started), or once `durable` has settled (a refused write, a stopped store). Never rejects.
   */
  stage(mutation: StateMutation): { staged: Promise<void>; durable: Promise<RuntimeState> } {
    let onStaged!: () => void;
    const staged = new Promise<void>((resolve) => (onStaged = resolve));
    const durable = this.#queue.request({ mutation, onStaged });
    durable.then(onStaged, onStaged);
    return { staged, durable };
  }

  /** Waits for a write in flight; later updates are refused. */
  stop(): Promise<void> {
    return this.#queue.stop();
  }

  async #persist(queued: QueuedMutation[]): Promise<RuntimeState> {
    let draft = toDraft(this.#state);
    for (const { mutation } of queued) {
      const replaced = mutation(draft);
      if (replaced !== undefined) draft = toDraft(replaced);
    }
    const next: RuntimeState = draft;
    const text = `${JSON.stringify(next, null, 2)}\n`;
    if (text === this.#written) {
      this.#state = next;
      for (const q of queued) q.onStaged?.();
      return next;
    }
    // 0640: reasons and operator names are not secrets, but nobody outside the group needs them.
    const write = writeFileAtomic(this.#file, text, { mode: 0o640 });
    const done = write.then(() => undefined);
    done.catch(() => undefined); // awaited by applies that rendered `next`, if any; the caller gets the error below
    this.#writing = { state: next, done };
    for (const q of queued) q.onStaged?.();
    try {
      await write;
    } catch (error) {
      this.#error = (error as Error).message;
      this.#log.error({ event: 'stateWriteFailed', file: this.#file, err: error }, 'cannot persist runtime state; change refused');
      throw error;
    } finally {
      this.#writing = undefined;
    }
    this.#written = text;
    this.#lastWriteAt = Date.now();
    this.#error = undefined;
    this.#state = next;
    return next;
  }
}

/** A mutation waiting for the next write; `onStaged` runs once `current` includes it. */
interface QueuedMutation {
  readonly mutation: StateMutation;
  readonly onStaged?: () => void;
}

/** A private, editable copy (the state itself may be shared with an apply in flight and is never edited). */
function toDraft(state: RuntimeState): RuntimeDraft {
  return {
    version: state.version,
    overrides: { ...state.overrides },
    withdrawn: { ...state.withdrawn },
    ...(state.drain !== undefined ? { drain: state.drain } : {}),
  };
}

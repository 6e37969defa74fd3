/**
 * The HealthRegistry's verdicts on disk, so that restarting vipcontrol (a code deploy) changes nothing
 * on the wire even while a check is failing: without them the registry starts empty and every VIP
 * would go out at its configured MED until viphealth's next report — a flap.
 *
 * The file is written whenever the registry's view changes (temp + fsync + rename, atomic-file.ts),
 * by one coalescing writer: a change during a write marks it dirty and one more write follows with the
 * latest view. It is read once at start-up; an absent or corrupt file means "start without it".
 */
import { basename, dirname, extname, join } from 'node:path';
import { parseHealthReport, type CheckVerdict } from '@vipcontrol/core';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';
import type { HealthRegistryLogger } from './health-registry.js';

/** What the registry keeps across a restart. */
export interface HealthSnapshot {
  readonly version: 1;
  readonly savedAt: number;
  /** The viphealth instance that reported last (a different one after the restart is logged). */
  readonly instance: string;
  readonly startedAt: number;
  /** The lease had expired: it stays expired (the lease policy stays in force) until a report. */
  readonly leaseExpired: boolean;
  /** Checks that never had a verdict of their own (counted as down). */
  readonly pending: readonly string[];
  /** Merged verdicts: never `unknown`. */
  readonly checks: readonly CheckVerdict[];
}

/** A snapshot file that cannot be used; `file` names it. */
export class HealthSnapshotError extends Error {
  override readonly name = 'HealthSnapshotError';
  readonly file: string;
  constructor(message: string, file: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** The snapshot lives beside the state file: `/var/lib/vipcontrol/state.json` → `state.health.json`. */
export function healthSnapshotPath(stateFile: string): string {
  const ext = extname(stateFile);
  return join(dirname(stateFile), `${basename(stateFile, ext)}.health.json`);
}

/** Validates a decoded snapshot; the checks go through the same schema as a live report. */
export function parseHealthSnapshot(json: unknown, file: string): HealthSnapshot {
  if (json === null || typeof json !== 'object') throw new HealthSnapshotError('not a JSON object', file);
  const o = json as Record<string, unknown>;
  if (o.version !== 1) throw new HealthSnapshotError(`version: unsupported (${String(o.version)})`, file);
  if (!Number.isSafeInteger(o.savedAt) || (o.savedAt as number) < 0) throw new HealthSnapshotError('savedAt: must be epoch milliseconds', file);
  if (typeof o.leaseExpired !== 'boolean') throw new HealthSnapshotError('leaseExpired: must be a boolean', file);
  let report;
  try {
    report = parseHealthReport({ instance: o.instance, startedAt: o.startedAt, checks: o.checks });
  } catch (cause) {
    throw new HealthSnapshotError((cause as Error).message, file, { cause });
  }
  const names = new Set(report.checks.map((c) => c.name));
  const unknown = report.checks.find((c) => c.status === 'unknown');
  if (unknown) throw new HealthSnapshotError(`checks: ${unknown.name} is unknown; a saved verdict never is`, file);
  if (!Array.isArray(o.pending) || !o.pending.every((n) => typeof n === 'string' && names.has(n))) {
    throw new HealthSnapshotError('pending: must list names of saved checks', file);
  }
  return {
    version: 1,
    savedAt: o.savedAt as number,
    instance: report.instance,
    startedAt: report.startedAt,
    leaseExpired: o.leaseExpired,
    pending: o.pending as string[],
    checks: report.checks,
  };
}

/** Reads the snapshot once and keeps it up to date, one write at a time. */
export class HealthSnapshotStore {
  readonly file: string;
  readonly #logger: HealthRegistryLogger;
  #writing: Promise<void> | undefined;
  #next: (() => HealthSnapshot) | undefined;
  /** Logged once per episode, not per write. */
  #failing = false;

  constructor(opts: { file: string; logger: HealthRegistryLogger }) {
    this.file = opts.file;
    this.#logger = opts.logger;
  }

  /** The saved snapshot, or undefined (absent, unreadable or corrupt — logged, never thrown). */
  async load(): Promise<HealthSnapshot | undefined> {
    let text: string | undefined;
    try {
      text = await readFileIfExists(this.file);
    } catch (err) {
      this.#logger.error({ event: 'healthSnapshotUnreadable', file: this.file, err }, 'cannot read the health snapshot; starting without it');
      return undefined;
    }
    if (text === undefined) {
      this.#logger.info({ event: 'healthSnapshotAbsent', file: this.file }, 'no health snapshot; starting without held verdicts');
      return undefined;
    }
    try {
      return parseHealthSnapshot(JSON.parse(text), this.file);
    } catch (err) {
      this.#logger.error({ event: 'healthSnapshotCorrupt', file: this.file, err }, 'health snapshot is corrupt; starting without it');
      return undefined;
    }
  }

  /** Saves what `snapshot()` returns at write time (so a burst of changes costs one or two writes). */
  save(snapshot: () => HealthSnapshot): void {
    this.#next = snapshot;
    this.#writing ??= this.#drain().finally(() => (this.#writing = undefined));
  }

  /** Resolves once every requested save has been written (or has failed, logged). */
  async flush(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#next) {
      const snapshot = this.#next();
      this.#next = undefined;
      try {
        await writeFileAtomic(this.file, `${JSON.stringify(snapshot)}\n`, { mode: 0o640 });
        if (this.#failing) this.#logger.info({ event: 'healthSnapshotSaved', file: this.file }, 'health snapshot written again');
        this.#failing = false;
      } catch (err) {
        // Not fatal: the live view is unaffected; only a restart during this episode would start without it.
        if (!this.#failing) this.#logger.error({ event: 'healthSnapshotWriteFailed', file: this.file, err }, 'cannot save the health snapshot');
        this.#failing = true;
      }
    }
  }
}

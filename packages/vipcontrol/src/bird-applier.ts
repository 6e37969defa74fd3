/**
 * Applies a rendered include file to BIRD with BIRD's own safe reconfiguration, and proves it.
 *
 *   rendered == file on disk && BIRD exports desired  →  nothing (no configure, nothing on the wire)
 *   else: atomic write → `configure timeout N` → read back `show route protocol vipcontrol4/6 all`
 *         → compare with desired → durable → `configure confirm`
 *
 * Durable: the temp file is fsynced before the rename (a reader, BIRD after a crash included, sees
 * the old or the new file, never a torn one), but the directory fsync that makes the rename itself
 * survive a power cut, and the state file write the change came from, run while BIRD reconfigures
 * rather than before: both must succeed before `configure confirm`, or BIRD undoes the change and
 * the previous file is restored. Crash before confirm: BIRD undoes by itself (the timeout), and
 * start-up re-applies from the state file.
 *
 * A scoped apply (an operator's change to a few VIPs) reads back only the prefixes that changed,
 * `show route P protocol vipcontrol4 all` one at a time, and takes the rest from the last full
 * read-back: at 10,000 VIPs a full read-back costs more than BIRD's whole reconfiguration. It also
 * compares with the text it last wrote instead of re-reading the file. Start-up, periodic verify,
 * BIRD reconnects and retries are never scoped: they read the file and every route.
 *   mismatch / error after configure → `configure undo` + restore the previous file
 *   8002 (bird.conf or our file does not parse) → BIRD has ALREADY dropped its undo copy
 *         (`configure undo` would answer 0019 "Nothing to do"), so restore the previous file and send
 *         a plain `configure` to get back to a config that matches the disk.
 *
 * Before replacing the include on disk the applier checks it is vipcontrol's own, under the
 * configured protocol names (include-guard.ts): a foreign file or a protocol rename is refused.
 *
 * `configure timeout N` is the safety net for the daemon itself: if we die between configure and
 * confirm, BIRD undoes the change after N seconds on its own.
 */
import type { Logger } from 'pino';
import {
  BirdConfigError,
  BirdConnectionError,
  BirdReplyError,
  BirdTimeoutError,
  type BirdClient,
  type ConfigureResult,
  type RouteInfo,
} from '@vipcontrol/bird';
import { canonicalPrefix, compareObserved, indexObserved, type ApplyErrorKind, type EffectiveVip, type Mismatch, type ObservedRoute } from '@vipcontrol/core';
import { AtomicFileError, readFileIfExists, removeFileDurably, sameText, syncParentDir, writeFileAtomic, type FileText } from './atomic-file.js';
import { includeRefusal } from './include-guard.js';

/** Transient: worth retrying soon (BIRD down, timeout). Permanent: needs a human (broken bird.conf). */
export type { ApplyErrorKind };
export type ApplyPhase = 'read' | 'write' | 'configure' | 'verify' | 'confirm';

/** An apply that did not end with BIRD exporting the desired state. */
export class ApplyError extends Error {
  readonly kind: ApplyErrorKind;
  readonly phase: ApplyPhase;
  /** BIRD's own error text, e.g. `/etc/bird/bird.conf:12:3 syntax error`, when BIRD said something. */
  readonly birdText?: string;
  /** True when the previous config was put back (file restored, BIRD undone or reconfigured). */
  readonly restored: boolean;
  constructor(
    message: string,
    details: { kind: ApplyErrorKind; phase: ApplyPhase; birdText?: string; restored: boolean; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'ApplyError';
    this.kind = details.kind;
    this.phase = details.phase;
    this.birdText = details.birdText;
    this.restored = details.restored;
  }
}

/** The part of BirdClient the applier uses (tests of pure logic may fake it). */
export type BirdPort = Pick<BirdClient, 'configure' | 'configureConfirm' | 'configureUndo' | 'showRoutes' | 'waitForReconfiguration'>;

export interface ApplyResult {
  /** False when the no-op check found everything in place and no `configure` was sent. */
  readonly configured: boolean;
  /**
   * What BIRD has in our two protocols after the apply, by canonical prefix (raw text if unparseable).
   * After a scoped apply this is the scope's `known` map itself, updated in place.
   */
  readonly observed: Map<string, ObservedRoute>;
}

/** Limits an apply's read-back to the prefixes that can have changed. */
export interface ApplyScope {
  /** Canonical prefixes whose route in BIRD may differ from `known` (new, changed or withdrawn). */
  readonly changed: readonly string[];
  /** The desired VIPs among `changed` (a withdrawn VIP's prefix has none): what the read-back is compared with. */
  readonly desired: readonly EffectiveVip[];
  /**
   * BIRD's routes at the last read-back, by canonical prefix; trusted for every other prefix. A
   * successful scoped apply updates it in place (its `changed` entries) and returns it as `observed`:
   * at 10,000 VIPs a copy per apply costs ~1 ms and 10,000 map entries of garbage.
   */
  readonly known: Map<string, ObservedRoute>;
}

export interface BirdApplierOptions {
  client: BirdPort;
  includeFile: string;
  protocol4: string;
  protocol6: string;
  configureTimeoutSec: number;
  logger: Logger;
}

// BIRD reply codes (doc/reply_codes): 0003 Reconfigured, 0004 in progress, 0005 queued (newer BIRDs
// finish asynchronously — the read-back polls for that), 0018 Reconfiguration confirmed.
const CONFIGURE_OK = new Set([3, 4, 5]);
const RECONFIGURED = 3;
const CONFIRMED = 18;
/** Read-back retries after a mismatch: BIRD 2.1x/3 may still be reconfiguring (0004). ~0.8 s in all. */
const VERIFY_DELAYS_MS = [10, 25, 50, 100, 200, 400];
/**
 * A scope reads back per prefix only while that is cheaper than one full read-back: a per-prefix
 * query is a round trip (~0.3 ms), a full one costs ~8 µs per route.
 */
const SCOPED_MAX = 16;
const SCOPED_ROUTES_PER_QUERY = 64;

/** The one component that writes the include file and reconfigures BIRD. Not re-entrant: callers serialise. */
export class BirdApplier {
  readonly #o: BirdApplierOptions;
  /** A `configure timeout` was sent and not confirmed: BIRD may undo it behind our back. */
  #unconfirmed = false;
  /** The include file's content as we last wrote or read it (`value` undefined = no file); unset = unknown. */
  #file: { value: FileText | undefined } | undefined;

  constructor(opts: BirdApplierOptions) {
    this.#o = opts;
  }

  /** What BIRD currently has in both of our static protocols. */
  async readObserved(): Promise<ObservedRoute[]> {
    const { client, protocol4, protocol6 } = this.#o;
    const routes = [
      ...(await client.showRoutes({ protocol: protocol4, all: true })),
      ...(await client.showRoutes({ protocol: protocol6, all: true })),
    ];
    return routes.map(toObserved);
  }

  /**
   * See the module comment. Without `scope` (or with one too wide to be worth it) the file is read
   * from disk and every route is read back. `persisted` settles once the runtime state `desired` was
   * computed from is on disk (its write runs beside this apply): no apply is confirmed, and none
   * succeeds, before it has; if it fails, the change is undone like a mismatch. Throws ApplyError.
   */
  async applyWithRollback(rendered: FileText, desired: readonly EffectiveVip[], scope?: ApplyScope, persisted?: Promise<void>): Promise<ApplyResult> {
    const narrow = scope && (scope.changed.length <= SCOPED_MAX || scope.changed.length * SCOPED_ROUTES_PER_QUERY <= scope.known.size) ? scope : undefined;
    const previous = scope && this.#file ? this.#file.value : await this.#readInclude();
    if (sameText(previous, rendered) && !this.#unconfirmed) {
      const seen = await this.#readForNoop(desired, narrow);
      if (seen && seen.mismatches.length === 0) {
        await this.#persistedBeforeNoop(persisted);
        return { configured: false, observed: merge(narrow, seen.observed) };
      }
    }
    await this.#write(rendered);
    await this.#configureWithTimeout(previous);
    const observed = await this.#verify(desired, previous, narrow);
    await this.#durableBeforeConfirm(persisted, previous);
    await this.#confirm();
    return { configured: true, observed: merge(narrow, observed) };
  }

  async #readInclude(): Promise<FileText | undefined> {
    const known = this.#file;
    let text: string | undefined;
    try {
      this.#file = undefined;
      text = await readFileIfExists(this.#o.includeFile);
    } catch (cause) {
      throw new ApplyError((cause as Error).message, { kind: 'permanent', phase: 'read', restored: true, cause });
    }
    // Content we wrote (or accepted) before needs no second look; anything else must be ours to replace.
    const refusal = text === undefined || sameText(text, known?.value) ? undefined : includeRefusal(text, this.#o.includeFile, this.#o);
    if (refusal !== undefined) {
      this.#o.logger.error({ event: 'includeRefused', file: this.#o.includeFile }, refusal);
      throw new ApplyError(refusal, { kind: 'permanent', phase: 'read', restored: true });
    }
    this.#file = { value: text };
    return text;
  }

  /**
   * Reads back what BIRD has — every route, or only the scope's changed prefixes (`merge` puts them
   * into the known routes once the apply succeeded) — and compares it with `desired`.
   */
  async #readBack(desired: readonly EffectiveVip[], scope: ApplyScope | undefined): Promise<{ observed: Map<string, ObservedRoute>; mismatches: Mismatch[] }> {
    if (!scope) {
      const observed = indexObserved(await this.readObserved());
      return { observed, mismatches: compareObserved(desired, observed) };
    }
    const routes: ObservedRoute[] = [];
    for (const prefix of scope.changed) {
      const protocol = canonicalPrefix(prefix).family === 4 ? this.#o.protocol4 : this.#o.protocol6;
      // One short command at a time: BIRD's control socket drops a client that sends a burst.
      for (const r of await this.#o.client.showRoutes({ prefix, protocol, all: true })) routes.push(toObserved(r));
    }
    const observed = indexObserved(routes);
    return { observed, mismatches: compareObserved(scope.desired, observed) };
  }

  /** The read-back, or undefined when BIRD refuses the query (e.g. our protocols not loaded yet). */
  async #readForNoop(
    desired: readonly EffectiveVip[],
    scope: ApplyScope | undefined,
  ): Promise<{ observed: Map<string, ObservedRoute>; mismatches: Mismatch[] } | undefined> {
    try {
      return await this.#readBack(desired, scope);
    } catch (cause) {
      if (cause instanceof BirdReplyError) {
        this.#o.logger.debug({ event: 'noopCheckRefused', err: cause }, 'BIRD refused the read-back; applying');
        return undefined;
      }
      throw this.#wrap(cause, 'read', true);
    }
  }

  async #write(rendered: FileText): Promise<void> {
    try {
      this.#file = undefined; // whatever happens next, the content is only known once written
      // The directory fsync (rename durable) runs beside `configure`: #durableBeforeConfirm.
      await writeFileAtomic(this.#o.includeFile, rendered, { syncDir: false, keepAttributes: true });
      this.#file = { value: rendered };
    } catch (cause) {
      // The atomic write leaves the old file in place on failure: nothing to restore.
      throw new ApplyError(`cannot write the BIRD include: ${(cause as Error).message}`, {
        kind: 'permanent',
        phase: 'write',
        restored: true,
        cause,
      });
    }
  }

  /** A no-op apply succeeds only once the state it was computed from is on disk. */
  async #persistedBeforeNoop(persisted: Promise<void> | undefined): Promise<void> {
    try {
      await persisted;
    } catch (cause) {
      throw new ApplyError(`runtime state not persisted (${(cause as Error).message})`, { kind: 'transient', phase: 'write', restored: true, cause });
    }
  }

  /**
   * Nothing is confirmed that a power cut could lose: the include file's rename (its content was
   * fsynced before it) and the runtime state it was rendered from must both be on disk. Both fsyncs
   * run while BIRD reconfigures, not before; if either fails, BIRD undoes and the file goes back.
   */
  async #durableBeforeConfirm(persisted: Promise<void> | undefined, previous: FileText | undefined): Promise<void> {
    try {
      await Promise.all([syncParentDir(this.#o.includeFile), persisted]);
    } catch (cause) {
      throw await this.#rollback(
        previous,
        new ApplyError(`change not durable, undone (${(cause as Error).message})`, { kind: 'transient', phase: 'write', restored: false, cause }),
      );
    }
  }

  async #configureWithTimeout(previous: FileText | undefined): Promise<void> {
    let result: ConfigureResult;
    try {
      this.#unconfirmed = true;
      result = await this.#o.client.configure({ timeoutSec: this.#o.configureTimeoutSec });
    } catch (cause) {
      if (cause instanceof BirdConfigError) throw await this.#recoverFromParseError(previous, cause);
      throw await this.#rollback(previous, this.#wrap(cause, 'configure', false));
    }
    if (!CONFIGURE_OK.has(result.code)) {
      const text = replyText(result);
      throw await this.#rollback(
        previous,
        new ApplyError(`BIRD did not reconfigure: ${text}`, { kind: 'transient', phase: 'configure', birdText: text, restored: false }),
      );
    }
    if (result.code !== RECONFIGURED) {
      // 0004/0005 (BIRD 2.1x/3): the reconfiguration finishes asynchronously; read back only after it.
      try {
        await this.#o.client.waitForReconfiguration({ timeoutMs: this.#o.configureTimeoutSec * 500 });
      } catch (cause) {
        throw await this.#rollback(previous, this.#wrap(cause, 'configure', false));
      }
    }
  }

  /** Reads back until BIRD matches `desired` or the poll budget is spent; rolls back on mismatch. */
  async #verify(desired: readonly EffectiveVip[], previous: FileText | undefined, scope: ApplyScope | undefined): Promise<Map<string, ObservedRoute>> {
    let mismatches: Mismatch[] = [];
    for (let attempt = 0; ; attempt += 1) {
      let seen: { observed: Map<string, ObservedRoute>; mismatches: Mismatch[] };
      try {
        seen = await this.#readBack(desired, scope);
      } catch (cause) {
        throw await this.#rollback(previous, this.#wrap(cause, 'verify', false));
      }
      mismatches = seen.mismatches;
      if (mismatches.length === 0) return seen.observed;
      const delay = VERIFY_DELAYS_MS[attempt];
      if (delay === undefined) break;
      await new Promise((r) => setTimeout(r, delay));
    }
    const text = JSON.stringify(mismatches.slice(0, 5));
    throw await this.#rollback(
      previous,
      new ApplyError(`BIRD does not export the desired routes after configure (${mismatches.length} mismatches): ${text}`, {
        kind: 'permanent',
        phase: 'verify',
        restored: false,
      }),
    );
  }

  async #confirm(): Promise<void> {
    let result: ConfigureResult;
    try {
      result = await this.#o.client.configureConfirm();
    } catch (cause) {
      // Unconfirmed: BIRD undoes by itself after the timeout; #unconfirmed forces a full re-apply.
      throw this.#wrap(cause, 'confirm', false);
    }
    if (result.code !== CONFIRMED) {
      // Typically 0019 "Nothing to do": the timeout fired first and BIRD already undid the change.
      const text = replyText(result);
      throw new ApplyError(`BIRD did not confirm the reconfiguration: ${text}`, {
        kind: 'transient',
        phase: 'confirm',
        birdText: text,
        restored: false,
      });
    }
    this.#unconfirmed = false;
  }

  /**
   * `configure undo`, then put the previous file back; if BIRD cannot undo (connection lost, 0019),
   * reload the restored file with a plain `configure`. Returns `error` annotated for throwing.
   */
  async #rollback(previous: FileText | undefined, error: ApplyError): Promise<ApplyError> {
    const log = this.#o.logger;
    let undone = false;
    try {
      const r = await this.#o.client.configureUndo();
      undone = CONFIGURE_OK.has(r.code);
      if (!undone) log.warn({ event: 'undoRefused', reply: replyText(r) }, 'BIRD could not undo; reloading the previous file');
    } catch (cause) {
      log.warn({ event: 'undoFailed', err: cause }, 'configure undo failed; reloading the previous file');
    }
    const restored = (await this.#restoreFile(previous)) && (undone || (await this.#plainConfigure()));
    if (undone) this.#unconfirmed = false;
    log.warn({ event: 'applyRolledBack', phase: error.phase, restored, err: error }, 'apply failed and was rolled back');
    return new ApplyError(error.message, { kind: error.kind, phase: error.phase, birdText: error.birdText, restored, cause: error.cause });
  }

  /** After 8002: BIRD kept running its old config but has no undo copy any more. */
  async #recoverFromParseError(previous: FileText | undefined, cause: BirdConfigError): Promise<ApplyError> {
    const log = this.#o.logger;
    // BirdConfigError's message is BIRD's own "file:line:col reason" text.
    const birdText = cause.message.replace(/^BIRD configuration error: /, '');
    const restoredFile = await this.#restoreFile(previous);
    let configured = false;
    let ours = false;
    if (restoredFile) {
      try {
        const r = await this.#o.client.configure();
        configured = CONFIGURE_OK.has(r.code);
        // The previous file parses where the new one did not: the rendered include was at fault.
        ours = configured;
      } catch (again) {
        log.error({ event: 'birdConfigBroken', err: again }, 'BIRD configuration is broken even with the previous include');
      }
    }
    this.#unconfirmed = false;
    const message = ours
      ? `BIRD rejected the rendered include (${birdText}); previous include restored`
      : `BIRD configuration does not parse (${birdText}); fix bird.conf — BIRD keeps running its last good config`;
    log.error({ event: ours ? 'includeRejected' : 'birdConfigBroken', birdText, restored: restoredFile }, message);
    return new ApplyError(message, { kind: 'permanent', phase: 'configure', birdText, restored: restoredFile && configured, cause });
  }

  async #restoreFile(previous: FileText | undefined): Promise<boolean> {
    try {
      this.#file = undefined;
      if (previous === undefined) await removeFileDurably(this.#o.includeFile);
      else await writeFileAtomic(this.#o.includeFile, previous, { keepAttributes: true });
      this.#file = { value: previous };
      return true;
    } catch (cause) {
      this.#o.logger.error({ event: 'restoreFailed', file: this.#o.includeFile, err: cause }, 'cannot restore the previous include file');
      return false;
    }
  }

  async #plainConfigure(): Promise<boolean> {
    try {
      const r = await this.#o.client.configure();
      return CONFIGURE_OK.has(r.code);
    } catch (cause) {
      this.#o.logger.error({ event: 'reloadPreviousFailed', err: cause }, 'configure with the previous include failed');
      return false;
    }
  }

  #wrap(cause: unknown, phase: ApplyPhase, restored: boolean): ApplyError {
    if (cause instanceof ApplyError) return cause;
    const transient = cause instanceof BirdConnectionError || cause instanceof BirdTimeoutError;
    const birdText = cause instanceof BirdReplyError ? cause.message : undefined;
    const what = cause instanceof AtomicFileError ? 'file' : 'BIRD';
    return new ApplyError(`${what} error during ${phase}: ${(cause as Error).message}`, {
      kind: transient ? 'transient' : 'permanent',
      phase,
      birdText,
      restored,
      cause,
    });
  }
}

function replyText(r: ConfigureResult): string {
  return `${String(r.code).padStart(4, '0')} ${r.messages.join('; ')}`.trim();
}

/** After a scoped read-back: the scope's known routes with its changed prefixes replaced by `seen`, in place. */
function merge(scope: ApplyScope | undefined, seen: Map<string, ObservedRoute>): Map<string, ObservedRoute> {
  if (!scope) return seen;
  for (const prefix of scope.changed) scope.known.delete(prefix);
  for (const [key, route] of seen) scope.known.set(key, route);
  return scope.known;
}

function toObserved(r: RouteInfo): ObservedRoute {
  return {
    // Raw: indexObserved canonicalises it, and a read-back must never throw on BIRD's spelling.
    prefix: r.prefix,
    med: r.med,
    communities: r.communities,
    largeCommunities: r.largeCommunities,
    localPref: r.localPref,
  };
}

/**
 * The Announcer owns everything between "desired state" and "BIRD exports it to the fabric": the
 * include file, `configure timeout`, the read-back, confirm/undo, BIRD's pending-configuration state
 * and the view of what the fabric sessions are sent. Not re-entrant: the Reconciler's queue serialises.
 *
 *   rendered == file on disk && BIRD has desired && nothing unconfirmed  →  nothing sent
 *   else: [`configure status` (whose pending undo is it?) → marker] ‖ atomic write ‖ state staged
 *         → `configure timeout N` → read back → compare → durable → `configure confirm` → marker removed
 *
 * The runtime state the change came from is written side by side (StateWrite): `configure` waits
 * until the file system took its data (refused, e.g. a full disk: the include is put back and BIRD
 * never sees the change), `configure confirm` until it is on disk. Durable: the include's temp file
 * is fsynced before the rename; the directory fsync and the state file's run while BIRD
 * reconfigures. Both must succeed before `configure confirm`, or BIRD undoes the change and the
 * previous file is restored.
 *
 * Pending configurations (`configure status` says "Configuration unconfirmed, undo in N s"), asked
 * at every full read-back (start-up, reconnect, periodic verify, retry, reload) and before every
 * `configure`:
 * - ours: the marker file (written just before each `configure timeout`, removed once confirmed or
 *   undone) names a `configure timeout` whose undo falls when BIRD says, within MARKER_SLACK_MS. That
 *   is this process's or a crashed predecessor's unconfirmed apply: BIRD will revert it, so the
 *   next apply configures and confirms again even when file and routes already look right. The
 *   marker only has to survive a crash of the daemon (BIRD's pending undo does not survive a reboot
 *   either): it lives in the runtime directory (tmpfs), unsynced, off the disk's journal.
 * - anyone else's (an operator's safety net while editing bird.conf): any `configure` would make
 *   their untested change permanent (BIRD drops its undo copy and timer). Changes are held, answered
 *   with a transient error and retried every second, until they confirm or undo (or BIRD's timer
 *   does), for at most `operatorConfigureHoldMs`; after that the apply goes ahead and says so at
 *   error level — health-driven failover is never held longer than that (docs/bird.md).
 *
 * Export verification: besides our two static protocols (does BIRD have the routes we rendered?),
 * the read-back asks `show route export P protocol vipcontrolN` for every fabric protocol P (BGP
 * protocols; `bird.fabricProtocols` or all BGP protocols BIRD has). That is what BIRD's export
 * filter of P passes, for the best route only: a `protocol direct` route on lo that wins over ours,
 * a filter that rejects or rewrites the route, a session that is down all show up as "not exported"
 * with a reason. An eBGP session strips a MED the export filter did not set itself, which BIRD's CLI
 * cannot show: such VIPs carry `medUnverified`. The apply itself succeeds once BIRD's table has the
 * desired routes (re-configuring cannot fix an export problem); status reports the rest.
 *
 * BIRD's undo timer: the apply tracks the time left from its `configure timeout N`; a read-back that
 * outlives it (slow disk, huge fleet) fails with a clear error naming bird.configureTimeout, without
 * an automatic retry that would flap the routes again.
 *
 * A scoped apply (an operator's change to a few VIPs) reads back only the prefixes that changed and
 * takes the rest from the last full read-back (`ApplyScope.known`): at 10,000 VIPs a full read-back
 * costs more than BIRD's whole reconfiguration.
 *   mismatch / error after configure → `configure undo` + restore the previous file
 *   8002 (bird.conf or our file does not parse) → BIRD has ALREADY dropped its undo copy, so restore
 *         the previous file and send a plain `configure` to get back to a config that matches the disk.
 *
 * Before replacing the include on disk it checks the file is vipcontrol's own (include-guard.ts) and a
 * regular file (a FIFO there would hang every read).
 *
 * What others do to BIRD between applies (`watch`, every 2 s while no apply runs): another
 * configuration loaded, one of our static protocols or a fabric session gone up, down or away. Each is
 * a reason for a full read-back at once (bird-changes.ts), so status follows an operator's `birdc`
 * within seconds instead of at the next periodic verify. Before every `configure` the protocols are
 * looked at again (not `show status`: each command there delays the change's way to the router by
 * ~0.1-0.3 ms, measured); a configuration loaded less than one watch before ours is reloaded by ours
 * and seen at the next periodic verify.
 *
 * BIRD forgets `birdc disable` at every reconfiguration: it enables every protocol its config does
 * not disable. Our `configure` must not bring up a session an operator took down, so the protocols
 * BIRD had down before it are disabled again right after it (and after an undo). Our own static
 * protocols are the exception: they exist to announce what vipcontrol's state says (withdrawing is
 * `vipctl withdraw` / `drain --withdraw`), so a configure that enables them again is not undone.
 */
import { writeFileSync } from 'node:fs';
import { rm, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  bgpSessionInfo,
  BirdConfigError,
  BirdConnectionError,
  BirdReplyError,
  BirdTimeoutError,
  type BirdClient,
  type ConfigureResult,
  type ProtocolInfo,
  type ReconfigurationState,
  type RouteInfo,
} from '@vipcontrol/bird';
import {
  canonicalPrefix,
  compareObserved,
  indexObserved,
  type ApplyErrorKind,
  type EffectiveVip,
  type FabricProtocol,
  type Mismatch,
  type ObservedRoute,
  type PendingConfigure,
} from '@vipcontrol/core';
import {
  AtomicFileError,
  readRegularFileIfExists,
  removeFileDurably,
  sweepStaleTempFiles,
  sameText,
  syncParentDir,
  writeFileAtomic,
  type FileText,
} from './atomic-file.js';
import { includeRefusal } from './include-guard.js';
import { BirdLookBook, type TimedLook } from './bird-changes.js';
import type { StateWrite } from './daemon-types.js';

/** Transient: worth retrying soon (BIRD down, timeout). Permanent: needs a human (broken bird.conf). */
export type { ApplyErrorKind, FabricProtocol, PendingConfigure };
export type ApplyPhase = 'read' | 'write' | 'configure' | 'verify' | 'confirm';

/** An apply that did not end with BIRD having the desired state. */
export class ApplyError extends Error {
  readonly kind: ApplyErrorKind;
  readonly phase: ApplyPhase;
  /** BIRD's own error text, e.g. `/etc/bird/bird.conf:12:3 syntax error`, when BIRD said something. */
  readonly birdText?: string;
  /** True when the previous config was put back (file restored, BIRD undone or reconfigured). */
  readonly restored: boolean;
  /** When to retry: ms, or null for no automatic retry (a new change or reload retries); absent: backoff. */
  readonly retryAfterMs?: number | null;
  constructor(
    message: string,
    details: { kind: ApplyErrorKind; phase: ApplyPhase; birdText?: string; restored: boolean; cause?: unknown; retryAfterMs?: number | null },
  ) {
    super(message, { cause: details.cause });
    this.name = 'ApplyError';
    this.kind = details.kind;
    this.phase = details.phase;
    this.birdText = details.birdText;
    this.restored = details.restored;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

/** The runtime state this apply rendered never reached the file system (full disk): nothing was sent. */
export class StateNotWrittenError extends ApplyError {
  constructor(cause: unknown) {
    super(`runtime state not written (${(cause as Error).message}): nothing sent to BIRD, include file put back`, {
      kind: 'transient',
      phase: 'write',
      restored: true,
      cause,
    });
    this.name = 'StateNotWrittenError';
  }
}

/** The part of BirdClient the announcer uses. */
export type BirdPort = Pick<
  BirdClient,
  | 'configure'
  | 'configureConfirm'
  | 'configureUndo'
  | 'configureStatus'
  | 'showRoutes'
  | 'showProtocols'
  | 'showStatus'
  | 'disableProtocol'
  | 'waitForReconfiguration'
  | 'connected'
>;

/** What BIRD sends the fabric for one VIP (from the last read-back). */
export interface FabricExport {
  /** Fabric protocols that export our route for it. */
  readonly to: readonly string[];
  /** Fabric protocols of its family that do not. */
  readonly missing: readonly string[];
  /** The route as the first of `to` exports it (after its export filter). */
  readonly route?: ObservedRoute;
  /** Why it is not exported (or exported otherwise than desired), in words. */
  readonly reason?: string;
  /** Set when an eBGP session may strip the MED (see the module comment). */
  readonly medUnverified?: string;
}

export interface ApplyResult {
  /** False when the no-op check found everything in place and no `configure` was sent. */
  readonly configured: boolean;
  /** BIRD's routes in our two protocols, by canonical prefix (after a scoped apply: the scope's `known`, updated in place). */
  readonly observed: Map<string, ObservedRoute>;
  /** What the fabric protocols export, by canonical prefix; undefined when no fabric protocol is known. */
  readonly exports: Map<string, FabricExport> | undefined;
}

/** Limits an apply's read-back to the prefixes that can have changed. */
export interface ApplyScope {
  /** Canonical prefixes whose route in BIRD may differ from `known` (new, changed or withdrawn). */
  readonly changed: readonly string[];
  /** The desired VIPs among `changed`: what the read-back is compared with. */
  readonly desired: readonly EffectiveVip[];
  /** BIRD's routes at the last read-back, by canonical prefix; updated in place by a successful scoped apply. */
  readonly known: Map<string, ObservedRoute>;
  /** The fabric exports at the last read-back; updated in place likewise. */
  readonly knownExports: Map<string, FabricExport> | undefined;
}

export interface AnnouncerOptions {
  client: BirdPort;
  socket: string;
  includeFile: string;
  /**
   * The unconfirmed-apply marker: on a tmpfs that lives as long as the boot (default beside the API
   * socket in /run/vipcontrol), like BIRD's pending undo, so writing it costs no journal commit.
   */
  markerFile: string;
  protocol4: string;
  protocol6: string;
  configureTimeoutSec: number;
  operatorConfigureHoldMs: number;
  /** Absent: every BGP protocol BIRD has. */
  fabricProtocols?: readonly string[];
  logger: Logger;
  now?: () => number;
}

const CONFIGURE_OK = new Set(['reconfigured', 'in-progress', 'queued']);
/** Read-back retries after a mismatch: BIRD 2.1x/3 may still be reconfiguring (0004). ~0.8 s in all. */
const VERIFY_DELAYS_MS = [10, 25, 50, 100, 200, 400];
/** Per-prefix read-back only while cheaper than a full one (a round trip ~0.3 ms vs ~8 µs per route). */
const SCOPED_MAX = 16;
const SCOPED_ROUTES_PER_QUERY = 64;
/** Our marker's undo time and BIRD's may differ by the time between writing it and BIRD's commit. */
const MARKER_SLACK_MS = 2000;
/** Retry cadence while an operator's configuration is pending: applies within a second of their confirm. */
const HOLD_RETRY_MS = 1000;
/** Non-exported VIPs whose cause is looked up per read-back (one query each); the rest say "not exported". */
const REASONS_MAX = 16;

interface Marker {
  readonly pid: number;
  /** Just before `configure timeout` was sent (epoch ms). */
  readonly at: number;
  readonly timeoutSec: number;
}

/** The one component that writes the include file and reconfigures BIRD. */
export class Announcer {
  readonly #o: AnnouncerOptions;
  readonly #now: () => number;
  readonly #marker: string;
  /** A `configure timeout` of ours was sent and not confirmed (this process or a predecessor): BIRD may undo it. */
  #unconfirmed = false;
  /** The include file's content as we last wrote or read it (`value` undefined = no file); unset = unknown. */
  #file: { value: FileText | undefined } | undefined;
  #pending: PendingConfigure | undefined;
  #fabric: FabricProtocol[] | undefined;
  /**
   * The rendering whose apply outlived BIRD's undo timer: applying it again (periodic verify, BIRD's
   * own "Config timeout expired" notice) would only announce and undo it again, so it fails at once
   * until something else is desired or the daemon restarts (with a longer bird.configureTimeout).
   */
  #timedOut: { rendered: FileText; error: ApplyError } | undefined;
  /** The no-status-support notice is logged once (BIRD < 2.0.8 has no `configure status`). */
  #statusUnsupported = false;
  /** BIRD as last looked at (watch, or before a configure) and our reconfigurations since. */
  readonly #looks = new BirdLookBook();
  /** What changed in BIRD without us, seen before a configure: collected by `takeBirdChanges`. */
  #changes: string[] = [];
  /** Protocols other than ours that BIRD had down (disabled) before this apply's `configure`. */
  #downBefore: ReadonlySet<string> = new Set();
  /** Our static protocols that BIRD had down before it (someone's `birdc disable`): it enables them. */
  #ownDownBefore: readonly string[] = [];
  /** Protocols already logged at warn as kept down (once per episode, then debug). */
  readonly #keptDown = new Set<string>();

  constructor(opts: AnnouncerOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#marker = opts.markerFile;
  }

  /** BIRD's pending `configure timeout`, as last asked. */
  get pending(): PendingConfigure | undefined {
    return this.#pending;
  }

  /** The fabric protocols as of the last full read-back; undefined before it. */
  get fabric(): readonly FabricProtocol[] | undefined {
    return this.#fabric;
  }

  /**
   * Looks at BIRD (`show status`, `show protocols`) and says what changed since the last look that
   * vipcontrol did not do: [] when nothing did. The first look only sets the baseline. Call it while
   * no apply runs (the Reconciler's timer does); BIRD errors are thrown.
   */
  async watch(): Promise<string[]> {
    return this.#looks.compare(await this.#lookAtBird(true));
  }

  /** Changes seen by the look before this apply's `configure` (then forgotten): worth a full read-back. */
  takeBirdChanges(): string[] {
    const changes = this.#changes;
    this.#changes = [];
    return changes;
  }

  /** Start-up housekeeping: temp files a crashed predecessor left beside the include file. */
  async start(): Promise<void> {
    await sweepStaleTempFiles(this.#o.includeFile, this.#o.logger);
  }

  /**
   * See the module comment. Without `scope` (or with one too wide to be worth it) the file is read
   * from disk, BIRD's pending state and fabric protocols are asked, and every route is read back.
   * `state` is the write of the runtime state `desired` was computed from (taken in the same tick; it
   * runs beside this apply): nothing is configured before it is staged (else StateNotWrittenError),
   * nothing confirmed, and no no-op succeeds, before it is durable; if that fails, the change is
   * undone like a mismatch. Throws ApplyError.
   */
  async apply(rendered: FileText, desired: readonly EffectiveVip[], scope?: ApplyScope, state?: StateWrite): Promise<ApplyResult> {
    if (!this.#o.client.connected) {
      throw new ApplyError(`BIRD is not reachable at ${this.#o.socket}: nothing sent, include file untouched`, { kind: 'transient', phase: 'read', restored: true });
    }
    const narrow = scope && (scope.changed.length <= SCOPED_MAX || scope.changed.length * SCOPED_ROUTES_PER_QUERY <= scope.known.size) ? scope : undefined;
    if (!scope) {
      // `configure status` here decides whether a no-op is one (a crashed predecessor's unconfirmed
      // apply is not); #holdForOperator asks again right before `configure`, after the read-back
      // (~60 ms at 10,000 VIPs) during which an operator may have started a `configure timeout`.
      await this.#guard(async () => {
        const startedAt = this.#now();
        const rows = await this.#refreshFabric();
        await this.#refreshPending();
        // What this full read-back will see is the baseline the next looks are compared with.
        this.#looks.compare(await this.#lookAtBird(true, { rows, startedAt }));
      }, 'read');
    }
    const previous = scope && this.#file ? this.#file.value : await this.#readInclude();
    if (sameText(previous, rendered) && !this.#unconfirmed) {
      const seen = await this.#readForNoop(desired, narrow);
      if (seen && seen.mismatches.length === 0) {
        await this.#durableBeforeNoop(state?.durable);
        return { configured: false, observed: merge(narrow, seen.observed), exports: mergeExports(narrow, seen.exports) };
      }
    }
    if (this.#timedOut && sameText(this.#timedOut.rendered, rendered)) throw this.#timedOut.error;
    await this.#writeUnlessHeld(rendered, previous, state?.staged);
    try {
      const deadline = await this.#configureWithTimeout(previous);
      const seen = await this.#verify(desired, previous, narrow, deadline);
      await this.#durableBeforeConfirm(previous, state?.durable);
      await this.#confirm(previous, deadline);
      this.#timedOut = undefined;
      return { configured: true, observed: merge(narrow, seen.observed), exports: mergeExports(narrow, seen.exports) };
    } catch (error) {
      if (error instanceof ApplyError && error.retryAfterMs === null) this.#timedOut = { rendered, error };
      throw error;
    }
  }

  /** Runs `fn`, turning anything it throws into an ApplyError of `phase` (nothing was changed yet). */
  async #guard(fn: () => Promise<void>, phase: ApplyPhase): Promise<void> {
    try {
      await fn();
    } catch (cause) {
      throw this.#wrap(cause, phase, true);
    }
  }

  /** Asks `configure status` and decides whose pending configuration it is. */
  async #refreshPending(): Promise<PendingConfigure | undefined> {
    let state: ReconfigurationState;
    try {
      state = await this.#o.client.configureStatus();
    } catch (cause) {
      if (!(cause instanceof BirdReplyError)) throw cause;
      if (!this.#statusUnsupported) this.#o.logger.warn({ event: 'configureStatusUnsupported', err: cause }, 'BIRD has no `configure status` (< 2.0.8): pending configurations cannot be seen');
      this.#statusUnsupported = true;
      return undefined;
    }
    const was = this.#pending;
    if (state.undoInSec === undefined) {
      if (was?.owner === 'other') this.#o.logger.info({ event: 'operatorConfigureResolved' }, 'the pending BIRD configuration that was not ours is confirmed or undone; applying again');
      this.#pending = undefined;
      if (!this.#unconfirmed) await this.#removeMarker();
      return undefined;
    }
    const now = this.#now();
    const owner = this.#unconfirmed || (await this.#markerMatches(state.undoInSec, now)) ? 'vipcontrol' : 'other';
    const seenAt = was?.owner === owner ? was.seenAt : now;
    this.#pending = { owner, undoInSec: state.undoInSec, seenAt, ...(owner === 'other' ? { holdUntil: seenAt + this.#o.operatorConfigureHoldMs } : {}) };
    if (owner === 'vipcontrol' && !this.#unconfirmed) {
      // A predecessor died between `configure timeout` and `configure confirm`: BIRD will revert it.
      this.#unconfirmed = true;
      this.#o.logger.warn(
        { event: 'unconfirmedFromCrash', undoInSec: state.undoInSec },
        `BIRD holds an unconfirmed configuration of a previous vipcontrol (undo in ${state.undoInSec} s): configuring and confirming again`,
      );
    } else if (owner === 'other' && was?.owner !== 'other') {
      this.#o.logger.warn(
        { event: 'operatorConfigurePending', undoInSec: state.undoInSec, holdMs: this.#o.operatorConfigureHoldMs },
        `BIRD has an unconfirmed configuration that is not vipcontrol's (undo in ${state.undoInSec} s): holding changes for at most ${this.#o.operatorConfigureHoldMs / 1000} s`,
      );
    }
    return this.#pending;
  }

  /** Throws a transient error while an operator's `configure timeout` is pending and the hold lasts. */
  async #holdForOperator(): Promise<void> {
    let pending: PendingConfigure | undefined;
    await this.#guard(async () => {
      pending = await this.#refreshPending();
    }, 'configure');
    if (pending?.owner !== 'other') {
      await this.#lookBeforeConfigure();
      return;
    }
    const left = pending.holdUntil! - this.#now();
    if (left > 0) {
      throw new ApplyError(
        `BIRD has an unconfirmed configuration that is not vipcontrol's (someone's \`configure timeout\`, undo in ${pending.undoInSec} s); ` +
          `vipcontrol does not configure over it (that would make it permanent) until it is confirmed or undone, for at most ${Math.ceil(left / 1000)} s more`,
        { kind: 'transient', phase: 'configure', restored: true, retryAfterMs: Math.min(HOLD_RETRY_MS, left) },
      );
    }
    this.#o.logger.error(
      { event: 'operatorConfigureOverridden', undoInSec: pending.undoInSec, heldMs: this.#now() - pending.seenAt },
      `applying over a pending BIRD configuration that is not ours after holding ${Math.round((this.#now() - pending.seenAt) / 1000)} s: ` +
        'BIRD drops its undo, so that configuration (bird.conf as on disk) is now permanent',
    );
    await this.#lookBeforeConfigure();
  }

  /**
   * Right before a `configure`: which protocols BIRD has down (to keep them so), and whether one of
   * the watched ones changed since the last look. Runs beside the include's write.
   */
  async #lookBeforeConfigure(): Promise<void> {
    let seen: Look;
    try {
      seen = await this.#lookAtBird(false);
    } catch (cause) {
      throw this.#wrap(cause, 'configure', true);
    }
    this.#downBefore = seen.down;
    this.#ownDownBefore = [this.#o.protocol4, this.#o.protocol6].filter((name) => seen.look.protocols.get(name) === 'down');
    this.#changes.push(...this.#looks.compare(seen));
  }

  /**
   * `show protocols` (and with `status`, `show status`): the look compared between applies, and the
   * protocols down now (ours excepted). Without `status` the last look's reconfiguration time stands.
   * `given`: protocols a full read-back has just listed, and when it began. Watched: our two static
   * protocols and the fabric protocols as the last full read-back found them (#refreshFabric).
   */
  async #lookAtBird(status: boolean, given?: { rows: readonly ProtocolInfo[]; startedAt: number }): Promise<Look> {
    const startedAt = given?.startedAt ?? this.#now();
    const reconfiguredAt = status ? (await this.#o.client.showStatus()).lastReconfiguration : this.#looks.reconfiguredAt;
    const rows = given?.rows ?? (await this.#o.client.showProtocols());
    const { protocol4, protocol6 } = this.#o;
    const watched = new Set([protocol4, protocol6, ...(this.#fabric ?? []).map((f) => f.name)]);
    const protocols = new Map<string, string>();
    const down = new Set<string>();
    for (const p of rows) {
      if (watched.has(p.name)) protocols.set(p.name, p.state);
      if (p.state === 'down' && p.name !== protocol4 && p.name !== protocol6) down.add(p.name);
    }
    return { look: { reconfiguredAt, protocols }, down, startedAt, status };
  }

  /**
   * Sends one of our reconfigurations and waits (at most `waitMs`) until BIRD has finished it: 0004 /
   * 0005 (BIRD 2.1x/3) finish asynchronously, and until then neither a read-back nor `disable` sees its
   * outcome. Notes when it ran (see bird-changes.ts) and keeps down what was.
   */
  async #reconfigure(send: () => Promise<ConfigureResult>, waitMs: number): Promise<ConfigureResult> {
    const sentAt = this.#now();
    try {
      const result = await send();
      if (result.status === 'in-progress' || result.status === 'queued') await this.#o.client.waitForReconfiguration({ timeoutMs: Math.max(0, waitMs) });
      return result;
    } finally {
      this.#looks.ownReconfiguration({ sentAt, doneAt: this.#now() });
      await this.#keepDown();
    }
  }

  /**
   * After a reconfiguration: BIRD enabled every protocol its config does not disable, so those it had
   * down before go down again (`disable` of one that stayed down answers "already disabled"). Never
   * fails the apply: a protocol BIRD no longer has, or a lost connection, is logged.
   */
  async #keepDown(): Promise<void> {
    const log = this.#o.logger;
    if (!this.#o.client.connected) return; // nothing reconfigured, nothing can be sent
    for (const name of this.#ownDownBefore) {
      log.warn(
        { event: 'ownProtocolEnabled', protocol: name },
        `${name} was disabled at run time (birdc disable); vipcontrol's reconfiguration enabled it again: it announces what vipcontrol's state says. ` +
          'To stop announcing, use vipctl withdraw or vipctl drain --withdraw',
      );
    }
    this.#ownDownBefore = [];
    for (const name of this.#downBefore) {
      let result: 'disabled' | 'already';
      try {
        result = await this.#o.client.disableProtocol(name);
      } catch (cause) {
        log.warn({ event: 'protocolNotKeptDown', protocol: name, err: cause }, `cannot disable ${name} again after vipcontrol's reconfiguration: ${(cause as Error).message}`);
        continue;
      }
      if (result === 'already') {
        this.#keptDown.delete(name);
        continue;
      }
      const first = !this.#keptDown.has(name);
      this.#keptDown.add(name);
      log[first ? 'warn' : 'debug'](
        { event: 'protocolKeptDown', protocol: name },
        `${name} was disabled at run time (birdc disable); BIRD's reconfiguration enabled it and vipcontrol disabled it again at once. ` +
          'To keep it down for good, set `disabled;` on it in bird.conf',
      );
    }
  }

  /**
   * Writes the include while `configure status` says whether someone else's configuration is pending
   * (then the marker, once the old one has been read) and while the runtime state is being staged:
   * side by side, not one after the other. Held or not staged, the previous file goes back (and the
   * marker goes) before the error is thrown.
   */
  async #writeUnlessHeld(rendered: FileText, previous: FileText | undefined, staged: Promise<void> | undefined): Promise<void> {
    const [write, hold, state] = await Promise.allSettled([
      this.#write(rendered), // first: its file-system calls are queued before anything else's
      this.#holdForOperator().then(() => this.#writeMarker()),
      staged,
    ]);
    const failure =
      state.status === 'rejected' ? new StateNotWrittenError(state.reason)
      : hold.status === 'rejected' ? (hold.reason as ApplyError)
      : write.status === 'rejected' ? (write.reason as ApplyError)
      : undefined;
    if (failure === undefined) return;
    // Nothing configured: the marker goes (unless it stands for an earlier unconfirmed apply of ours).
    if (hold.status === 'fulfilled' && !this.#unconfirmed) await this.#removeMarker();
    // The atomic write leaves the old file in place when it fails: then there is nothing to put back.
    if (write.status === 'fulfilled' && !(await this.#restoreFile(previous))) {
      throw new ApplyError(`${failure.message}; the previous include could NOT be restored`, { ...details(failure), restored: false });
    }
    throw failure;
  }

  async #markerMatches(undoInSec: number, now: number): Promise<boolean> {
    let marker: Marker;
    try {
      marker = JSON.parse(await readFile(this.#marker, 'utf8')) as Marker;
    } catch {
      return false; // no marker (or a torn one): not provably ours
    }
    const ourUndoAt = marker.at + marker.timeoutSec * 1000;
    return Math.abs(ourUndoAt - (now + undoInSec * 1000)) <= MARKER_SLACK_MS;
  }

  /** Written just before `configure timeout` (its `at` leads BIRD's by the rest of the include write). */
  #writeMarker(): void {
    const marker: Marker = { pid: process.pid, at: this.#now(), timeoutSec: this.#o.configureTimeoutSec };
    try {
      // Synchronous: a tmpfs write of ~60 bytes takes microseconds, a thread-pool round trip longer.
      writeFileSync(this.#marker, `${JSON.stringify(marker)}\n`);
    } catch (cause) {
      // Before any configure: #writeUnlessHeld puts the include back.
      throw new ApplyError(`cannot write ${this.#marker}: ${(cause as Error).message}`, { kind: 'permanent', phase: 'write', restored: true, cause });
    }
  }

  async #removeMarker(): Promise<void> {
    try {
      await rm(this.#marker, { force: true });
    } catch (cause) {
      this.#o.logger.warn({ event: 'markerNotRemoved', file: this.#marker, err: cause }, 'cannot remove the unconfirmed-apply marker');
    }
  }

  /** Lists the fabric protocols: the configured names, or every BGP protocol. Returns every protocol BIRD listed. */
  async #refreshFabric(): Promise<ProtocolInfo[]> {
    const all = await this.#o.client.showProtocols({ all: true });
    const wanted = this.#o.fabricProtocols;
    const fabric: FabricProtocol[] = [];
    for (const p of all) {
      const bgp = bgpSessionInfo(p);
      if (!bgp || (wanted && !wanted.includes(p.name))) continue;
      for (const family of bgp.families) fabric.push({ name: p.name, family, state: bgp.state, ...(bgp.kind ? { session: bgp.kind } : {}) });
    }
    for (const name of wanted ?? []) if (!all.some((p) => p.name === name && p.proto === 'BGP')) fabric.push({ name, state: 'not in BIRD' });
    this.#fabric = fabric;
    return all;
  }

  async #readInclude(): Promise<FileText | undefined> {
    const known = this.#file;
    let text: string | undefined;
    try {
      this.#file = undefined;
      text = await readRegularFileIfExists(this.#o.includeFile);
    } catch (cause) {
      this.#o.logger.error({ event: 'includeUnreadable', file: this.#o.includeFile, err: cause }, (cause as Error).message);
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

  /** Reads back BIRD's table and the fabric exports, every route or only the scope's, and compares the table with `desired`. */
  async #readBack(desired: readonly EffectiveVip[], scope: ApplyScope | undefined): Promise<ReadBack> {
    const { client, protocol4, protocol6 } = this.#o;
    const protocolOf = (prefix: string): string => (canonicalPrefix(prefix).family === 4 ? protocol4 : protocol6);
    let routes: RouteInfo[] = [];
    if (!scope) {
      routes = [...(await client.showRoutes({ protocol: protocol4, all: true })), ...(await client.showRoutes({ protocol: protocol6, all: true }))];
    } else {
      // One short command at a time: BIRD's control socket drops a client that sends a burst.
      for (const prefix of scope.changed) routes.push(...(await client.showRoutes({ prefix, protocol: protocolOf(prefix), all: true })));
    }
    const observed = indexObserved(routes.map(toObserved));
    routes = []; // 10,000 parsed routes: not kept alive through the export queries
    const exports = this.#fabric && this.#fabric.length > 0 ? await this.#readExports(desired, scope, protocolOf, observed) : undefined;
    return { observed, exports, mismatches: compareObserved(scope ? scope.desired : desired, observed) };
  }

  /** What each fabric protocol exports of our routes (the best route after its export filter). */
  async #readExports(
    desired: readonly EffectiveVip[],
    scope: ApplyScope | undefined,
    protocolOf: (prefix: string) => string,
    table: ReadonlyMap<string, ObservedRoute>,
  ): Promise<Map<string, FabricExport>> {
    const { client, protocol4, protocol6 } = this.#o;
    const fabric = this.#fabric!;
    const byProtocol = new Map<string, Map<string, ObservedRoute>>();
    /** Fabric protocols whose export BIRD would not show, with its answer. */
    const refused = new Map<string, string>();
    for (const f of fabric) {
      if (f.family === undefined || byProtocol.has(`${f.name}/${f.family}`)) continue;
      const routes: RouteInfo[] = [];
      try {
        if (!scope) routes.push(...(await client.showRoutes({ exportOf: f.name, protocol: f.family === 4 ? protocol4 : protocol6, all: true })));
        else {
          for (const prefix of scope.changed) {
            if (canonicalPrefix(prefix).family !== f.family) continue;
            routes.push(...(await client.showRoutes({ prefix, exportOf: f.name, protocol: protocolOf(prefix), all: true })));
          }
        }
      } catch (cause) {
        // BIRD 3 refuses the query while the session exports nothing ("…aren't accepting exports at
        // all"): nothing goes to the fabric there, which is status's business, never the apply's.
        if (!(cause instanceof BirdReplyError)) throw cause;
        refused.set(f.name, cause.reply.text);
      }
      const exported = indexObserved(routes.map(toObserved));
      // Exported as in the table (the usual case): keep the table's object, not a second copy per VIP.
      for (const [prefix, route] of exported) {
        const inTable = table.get(prefix);
        if (inTable && sameRoute(route, inTable)) exported.set(prefix, inTable);
      }
      byProtocol.set(`${f.name}/${f.family}`, exported);
    }
    const vips = scope ? scope.desired : desired;
    const exports = new Map<string, FabricExport>();
    // 10,000 VIPs share a handful of protocol lists: one array each, not two per VIP.
    const lists = new Map<string, readonly string[]>();
    const shared = (names: string[]): readonly string[] => {
      const key = names.join(' ');
      let list = lists.get(key);
      if (!list) lists.set(key, (list = Object.freeze(names)));
      return list;
    };
    let explained = 0;
    // The fabric protocols of each family, once per read-back rather than once per VIP.
    const fabricOf = new Map(([4, 6] as const).map((family) => [family, fabric.filter((f) => f.family === family || f.family === undefined)]));
    for (const vip of vips) {
      const to: string[] = [];
      const external: string[] = [];
      const missing: FabricProtocol[] = [];
      let route: ObservedRoute | undefined;
      for (const f of fabricOf.get(vip.family)!) {
        const seen = f.family === undefined ? undefined : byProtocol.get(`${f.name}/${f.family}`)?.get(vip.prefix);
        if (seen) {
          to.push(f.name);
          if (f.session === 'external') external.push(f.name);
          route ??= seen;
        } else missing.push(f);
      }
      let reason: string | undefined;
      const notShown = missing.filter((f) => refused.has(f.name));
      if (vip.announced && notShown.length > 0) reason = notShown.map((f) => `${f.name}: BIRD does not export to it (${refused.get(f.name)!})`).join('; ');
      else if (vip.announced && missing.length > 0) reason = (explained++ < REASONS_MAX ? await this.#whyNotExported(vip.prefix, missing) : undefined) ?? `not exported to ${missing.map((f) => f.name).join(', ')}`;
      else if (vip.announced && route && route.med !== vip.med) reason = `the export filter of ${to[0]} sends MED ${route.med ?? 'none'}`;
      else if (!vip.announced && to.length > 0) reason = `still exported to ${to.join(', ')}`;
      exports.set(vip.prefix, {
        to: shared(to),
        missing: shared(missing.map((f) => f.name)),
        ...(route ? { route } : {}),
        ...(reason ? { reason } : {}),
        ...(vip.announced && external.length > 0
          ? { medUnverified: shared([`eBGP (${external.join(', ')}): BIRD sends the MED only if the export filter sets it (bgp_med = bgp_med), which its CLI cannot show`])[0]! }
          : {}),
      });
    }
    // Routes of VIPs no longer desired but still exported are the table's business (compareObserved).
    return exports;
  }

  /** Why BIRD does not export `prefix` to `missing`, from its routes for the prefix and the sessions' states. */
  async #whyNotExported(prefix: string, missing: readonly FabricProtocol[]): Promise<string> {
    const absent = missing.filter((f) => f.family === undefined);
    if (absent.length > 0) return `fabric protocol ${absent.map((f) => f.name).join(', ')} is not in BIRD`;
    const down = missing.filter((f) => f.state !== 'Established');
    if (down.length > 0) return `${down.map((f) => `${f.name} is ${f.state}`).join(', ')}`;
    const routes = await this.#o.client.showRoutes({ prefix, all: true });
    const ours = routes.find((r) => r.protocol === this.#o.protocol4 || r.protocol === this.#o.protocol6);
    const best = routes.find((r) => r.primary);
    if (!ours) return 'not in BIRD\'s table';
    if (best && best !== ours) {
      return `${best.protocol}'s route (preference ${best.preference ?? '?'}) is BIRD's best path, not ${ours.protocol}'s (${ours.preference ?? '?'}); only the best is exported`;
    }
    return `the export filter of ${missing.map((f) => f.name).join(', ')} rejects it`;
  }

  /** The read-back, or undefined when BIRD refuses the query (e.g. our protocols not loaded yet). */
  async #readForNoop(desired: readonly EffectiveVip[], scope: ApplyScope | undefined): Promise<ReadBack | undefined> {
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
      throw new ApplyError(`cannot write the BIRD include: ${(cause as Error).message}`, { kind: 'permanent', phase: 'write', restored: true, cause });
    }
  }

  /** A no-op apply succeeds only once the state it was computed from is on disk. */
  async #durableBeforeNoop(durable: Promise<void> | undefined): Promise<void> {
    try {
      await durable;
    } catch (cause) {
      throw new ApplyError(`runtime state not persisted (${(cause as Error).message})`, { kind: 'transient', phase: 'write', restored: true, cause });
    }
  }

  /** Nothing is confirmed that a power cut could lose: the include's rename and the runtime state. */
  async #durableBeforeConfirm(previous: FileText | undefined, durable: Promise<void> | undefined): Promise<void> {
    try {
      await Promise.all([syncParentDir(this.#o.includeFile), durable]);
    } catch (cause) {
      throw await this.#rollback(
        previous,
        new ApplyError(`change not durable, undone (${(cause as Error).message})`, { kind: 'transient', phase: 'write', restored: false, cause }),
      );
    }
  }

  /** Sends `configure timeout N`; resolves with the time BIRD will undo it by (no earlier than that). */
  async #configureWithTimeout(previous: FileText | undefined): Promise<number> {
    let result: ConfigureResult;
    const sentAt = this.#now();
    const deadline = sentAt + this.#o.configureTimeoutSec * 1000;
    try {
      this.#unconfirmed = true;
      result = await this.#reconfigure(() => this.#o.client.configure({ timeoutSec: this.#o.configureTimeoutSec }), deadline - sentAt);
    } catch (cause) {
      if (cause instanceof BirdConfigError) throw await this.#recoverFromParseError(previous, cause);
      throw await this.#rollback(previous, this.#wrap(cause, 'configure', false));
    }
    if (!CONFIGURE_OK.has(result.status)) {
      const text = replyText(result);
      throw await this.#rollback(
        previous,
        new ApplyError(`BIRD did not reconfigure: ${text}`, { kind: 'transient', phase: 'configure', birdText: text, restored: false }),
      );
    }
    return deadline;
  }

  /** Reads back until BIRD matches `desired`, the poll budget is spent or BIRD's undo timer runs out. */
  async #verify(desired: readonly EffectiveVip[], previous: FileText | undefined, scope: ApplyScope | undefined, deadline: number): Promise<ReadBack> {
    let mismatches: Mismatch[] = [];
    for (let attempt = 0; ; attempt += 1) {
      let seen: ReadBack;
      try {
        seen = await this.#readBack(desired, scope);
      } catch (cause) {
        throw await this.#rollback(previous, this.#wrap(cause, 'verify', false));
      }
      // What it read after BIRD's undo shows the previous config: no verdict on ours.
      if (this.#now() >= deadline) throw await this.#rollback(previous, this.#timerError(deadline));
      mismatches = seen.mismatches;
      if (mismatches.length === 0) return seen;
      const delay = VERIFY_DELAYS_MS[attempt];
      if (delay === undefined) break;
      if (this.#now() + delay >= deadline) throw await this.#rollback(previous, this.#timerError(deadline));
      await new Promise((r) => setTimeout(r, delay));
    }
    const text = JSON.stringify(mismatches.slice(0, 5));
    throw await this.#rollback(
      previous,
      new ApplyError(`BIRD does not have the desired routes after configure (${mismatches.length} mismatches): ${text}`, {
        kind: 'permanent',
        phase: 'verify',
        restored: false,
      }),
    );
  }

  #timerError(deadline: number): ApplyError {
    const took = (this.#now() - (deadline - this.#o.configureTimeoutSec * 1000)) / 1000;
    return new ApplyError(
      `the apply took ${took.toFixed(1)} s, longer than BIRD's undo timer (bird.configureTimeout ${this.#o.configureTimeoutSec} s): BIRD undid it. ` +
        'Raise bird.configureTimeout above the apply time; not retried automatically (a retry would announce and undo again)',
      { kind: 'permanent', phase: 'verify', restored: false, retryAfterMs: null },
    );
  }

  async #confirm(previous: FileText | undefined, deadline: number): Promise<void> {
    let result: ConfigureResult;
    try {
      if (this.#now() >= deadline) throw this.#timerError(deadline);
      result = await this.#o.client.configureConfirm();
    } catch (cause) {
      if (cause instanceof ApplyError) throw await this.#rollback(previous, cause);
      // Unconfirmed: BIRD undoes by itself after the timeout; #unconfirmed forces a full re-apply.
      throw this.#wrap(cause, 'confirm', false);
    }
    if (result.status !== 'confirmed') {
      // 0019 "Nothing to do": the timer fired first and BIRD already undid the change.
      throw await this.#rollback(previous, result.status === 'nothing' ? this.#timerError(deadline) : new ApplyError(`BIRD did not confirm the reconfiguration: ${replyText(result)}`, {
        kind: 'transient',
        phase: 'confirm',
        birdText: replyText(result),
        restored: false,
      }));
    }
    this.#unconfirmed = false;
    this.#pending = undefined;
    await this.#removeMarker();
  }

  /**
   * `configure undo`, then put the previous file back; if BIRD cannot undo (0019: already undone or
   * nothing kept), reload the restored file with a plain `configure`. With the connection gone nothing
   * can be sent: the file goes back and BIRD's own timer undoes. Returns `error` annotated for throwing.
   */
  async #rollback(previous: FileText | undefined, error: ApplyError): Promise<ApplyError> {
    const log = this.#o.logger;
    if (!this.#o.client.connected) {
      const restoredFile = await this.#restoreFile(previous);
      return new ApplyError(`${error.message}; include file restored${restoredFile ? '' : ' FAILED'}, BIRD undoes its unconfirmed change by itself`, { ...details(error), restored: false });
    }
    let undone = false;
    try {
      const r = await this.#reconfigure(() => this.#o.client.configureUndo(), this.#o.configureTimeoutSec * 1000);
      undone = CONFIGURE_OK.has(r.status);
      if (!undone && r.status !== 'nothing') log.warn({ event: 'undoRefused', reply: replyText(r) }, 'BIRD could not undo; reloading the previous file');
    } catch (cause) {
      log.warn({ event: 'undoFailed', err: cause }, 'configure undo failed; reloading the previous file');
    }
    const restored = (await this.#restoreFile(previous)) && (undone || (await this.#plainConfigure()));
    if (restored) {
      this.#unconfirmed = false;
      await this.#removeMarker();
    }
    log.warn({ event: 'applyRolledBack', phase: error.phase, restored, err: error }, 'apply failed and was rolled back');
    return new ApplyError(error.message, { ...details(error), restored });
  }

  /** After 8002: BIRD kept running its old config but has no undo copy any more. */
  async #recoverFromParseError(previous: FileText | undefined, cause: BirdConfigError): Promise<ApplyError> {
    const log = this.#o.logger;
    const birdText = cause.message.replace(/^BIRD configuration error: /, '');
    const restoredFile = await this.#restoreFile(previous);
    let configured = false;
    if (restoredFile) {
      try {
        configured = CONFIGURE_OK.has((await this.#reconfigure(() => this.#o.client.configure(), this.#o.configureTimeoutSec * 1000)).status);
      } catch (again) {
        log.error({ event: 'birdConfigBroken', err: again }, 'BIRD configuration is broken even with the previous include');
      }
    }
    this.#unconfirmed = false;
    await this.#removeMarker();
    // The previous file parses where the new one did not: the rendered include was at fault.
    const ours = configured;
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
      return CONFIGURE_OK.has((await this.#reconfigure(() => this.#o.client.configure(), this.#o.configureTimeoutSec * 1000)).status);
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

/** One look at BIRD (#lookAtBird), with the protocols down at the time (ours excepted). */
interface Look extends TimedLook {
  readonly down: ReadonlySet<string>;
}

interface ReadBack {
  observed: Map<string, ObservedRoute>;
  exports: Map<string, FabricExport> | undefined;
  mismatches: Mismatch[];
}

function details(e: ApplyError): ConstructorParameters<typeof ApplyError>[1] {
  return {
    kind: e.kind,
    phase: e.phase,
    restored: e.restored,
    cause: e.cause,
    ...(e.birdText !== undefined ? { birdText: e.birdText } : {}),
    ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
  };
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

/** Likewise for the fabric exports (undefined: no fabric protocol known). */
function mergeExports(scope: ApplyScope | undefined, seen: Map<string, FabricExport> | undefined): Map<string, FabricExport> | undefined {
  if (!scope || !seen || !scope.knownExports) return seen;
  for (const prefix of scope.changed) scope.knownExports.delete(prefix);
  for (const [key, exp] of seen) scope.knownExports.set(key, exp);
  return scope.knownExports;
}

function sameRoute(a: ObservedRoute, b: ObservedRoute): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.med === b.med && a.localPref === b.localPref && same(a.communities, b.communities) && same(a.largeCommunities, b.largeCommunities);
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

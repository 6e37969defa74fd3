/**
 * sd_notify(3) for Node: READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 to the service manager.
 *
 * Node has no Unix datagram sockets, so every message is sent by systemd's own `systemd-notify`
 * binary (one short-lived child per message; the unit sets NotifyAccess=all so systemd accepts a
 * child's message for the service). systemd-notify waits until the manager has processed the message
 * (sd_notify_barrier, systemd ≥ 246) before it exits, so a message from a process that is already gone
 * is never dropped. Why not an addon: a native module would tie the package to one Node ABI and need a
 * compiler at build time, for a few messages a minute. See docs/architecture.md, "systemd".
 *
 * Without NOTIFY_SOCKET (not started by systemd, tests, the lab) every method is a no-op.
 */
import { execFile } from 'node:child_process';

/** Minimum time between two coalesced STATUS= updates. */
const STATUS_SPACING_MS = 1000;

export interface NotifierOptions {
  /** Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default: `systemd-notify` from PATH. */
  readonly command?: string;
  /** Called when a message could not be delivered (never throws into the daemon). */
  readonly onError?: (error: Error, message: readonly string[]) => void;
  /** Process id that WATCHDOG_PID must name for the watchdog to be ours; default process.pid. */
  readonly pid?: number;
}

export class SystemdNotifier {
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #command: string;
  readonly #onError: (error: Error, message: readonly string[]) => void;
  readonly #pid: number;
  /** Messages go out one at a time, in order: a STATUS= never overtakes the READY=1 before it. */
  #queue: Promise<void> = Promise.resolve();
  #watchdog: NodeJS.Timeout | undefined;
  #pendingStatus: string | undefined;
  #statusSent: Promise<void> = Promise.resolve();
  #lastStatusAt = 0;

  constructor(opts: NotifierOptions = {}) {
    this.#env = opts.env ?? process.env;
    this.#command = opts.command ?? 'systemd-notify';
    this.#onError = opts.onError ?? (() => undefined);
    this.#pid = opts.pid ?? process.pid;
  }

  /** True when a service manager listens (NOTIFY_SOCKET is set). */
  get enabled(): boolean {
    return Boolean(this.#env['NOTIFY_SOCKET']);
  }

  /**
   * The watchdog interval the unit asks for (WatchdogSec=), in ms, when it is meant for this process;
   * undefined otherwise.
   */
  get watchdogMs(): number | undefined {
    const usec = Number(this.#env['WATCHDOG_USEC']);
    const pid = this.#env['WATCHDOG_PID'];
    if (!this.enabled || !Number.isInteger(usec) || usec <= 0) return undefined;
    if (pid !== undefined && Number(pid) !== this.#pid) return undefined;
    return usec / 1000;
  }

  ready(status: string): Promise<void> {
    return this.send(['READY=1', `STATUS=${oneLine(status)}`]);
  }

  /**
   * Sets the status line. Coalesced: at most one STATUS= per STATUS_SPACING_MS, with the latest text,
   * so a daemon that applies hundreds of times a second does not spawn as many processes.
   */
  status(text: string): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const first = this.#pendingStatus === undefined;
    this.#pendingStatus = oneLine(text);
    if (first) {
      const wait = Math.max(0, this.#lastStatusAt + STATUS_SPACING_MS - Date.now());
      this.#statusSent = new Promise<void>((resolve) => setTimeout(resolve, wait).unref()).then(() => {
        const line = this.#pendingStatus!;
        this.#pendingStatus = undefined;
        this.#lastStatusAt = Date.now();
        return this.send([`STATUS=${line}`]);
      });
    }
    return this.#statusSent;
  }

  stopping(status: string): Promise<void> {
    this.stopWatchdog();
    return this.send(['STOPPING=1', `STATUS=${oneLine(status)}`]);
  }

  /**
   * Pings WATCHDOG=1 at half the interval from a timer on the event loop: a daemon whose loop is
   * wedged (or SIGSTOPped) stops pinging and systemd restarts it after WatchdogSec=.
   */
  startWatchdog(): void {
    const ms = this.watchdogMs;
    if (ms === undefined || this.#watchdog) return;
    void this.send(['WATCHDOG=1']);
    this.#watchdog = setInterval(() => void this.send(['WATCHDOG=1']), Math.max(1, Math.floor(ms / 2)));
    this.#watchdog.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Sends one message (its fields together in one datagram); resolves once systemd has it, or it failed. */
  send(fields: readonly string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const sent = this.#queue.then(() => this.#exec(fields));
    this.#queue = sent;
    return sent;
  }

  #exec(fields: readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      execFile(this.#command, [...fields], { env: { ...this.#env }, timeout: 5000 }, (error, _stdout, stderr) => {
        if (error) this.#onError(new Error(`${this.#command} ${fields.join(' ')}: ${stderr.trim() || error.message}`, { cause: error }), fields);
        resolve();
      });
    });
  }
}

/** STATUS= is one line; a newline would end the field. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ');
}

import { EventEmitter } from 'node:events';
import { CommandQueue } from './command-queue.js';
import { BirdConnection } from './connection.js';
import { BirdConnectionError, BirdError, BirdReplyError, BirdTimeoutError } from './errors.js';
import { parseConfigureReply, parseReconfigurationState } from './parse/configure.js';
import { parseProtocols } from './parse/protocols.js';
import { parseBfdSessions } from './parse/bfd.js';
import { parseRoutes } from './parse/routes.js';
import { parseStatus } from './parse/status.js';
import type { ReconnectStrategy } from './reconnect-strategy.js';
import type { BfdSession, BirdReply, BirdStatus, ConfigureResult, ParseContext, ProtocolInfo, ReconfigurationState, RouteInfo } from './types.js';

/** Options of {@link BirdClient}. */
export interface BirdClientOptions {
  /** BIRD's control socket, e.g. /run/bird/bird.ctl. */
  socketPath: string;
  /** Default per-command timeout, from the moment the command is written. Default 5000. */
  commandTimeoutMs?: number;
  /** Per connection attempt, up to the 0001 banner. Default 2000. */
  connectTimeoutMs?: number;
  /** node-redis style: (retries, cause) => false (stop) | Error (fail) | ms to wait. Default: exp backoff 50ms..5s, forever. */
  reconnectStrategy?: ReconnectStrategy;
}

/** Events of {@link BirdClient}. */
export interface BirdClientEvents {
  /** Every time a connection is ready (banner received). */
  connect: [banner: string];
  /** Ready again after a drop: BIRD may have restarted, so anything read before may be stale. */
  reconnect: [banner: string];
  /** A ready connection was lost; commands pending at that moment were rejected. */
  disconnect: [cause: Error];
  /**
   * A connection attempt failed with no connection up; `retries` counts the attempts before it in
   * this series (0: BIRD was already down when connect() was called, or right after a drop).
   */
  unreachable: [cause: Error, retries: number];
  /** A `+` line, e.g. "Config timeout expired, starting undo". */
  spontaneous: [text: string];
  /** The reconnect strategy gave up after a drop. Emitted only when someone listens. */
  error: [error: Error];
}

/** Options of {@link BirdClient.configure}. */
export interface ConfigureOptions {
  /** `configure check`: parse only, change nothing (answer 0020 "Configuration OK"). */
  check?: boolean;
  /** `configure soft`: do not restart protocols whose filters changed. */
  soft?: boolean;
  /** `configure … timeout N`: BIRD undoes the change unless `configure confirm` comes within N s. */
  timeoutSec?: number;
  /** Config file to read instead of the one BIRD was started with. */
  file?: string;
}

/** Options of {@link BirdClient.showRoutes}. */
export interface ShowRoutesOptions {
  /** Exact network, e.g. "198.51.100.10/32" (`show route 198.51.100.10/32`). */
  prefix?: string;
  /** Longest-prefix match for an address (`show route for …`). */
  for?: string;
  table?: string;
  /** Routes of this protocol (`protocol P`). */
  protocol?: string;
  /** Routes this protocol exports (`export P`). */
  exportOf?: string;
  /** Adds `all` (attributes); default true. */
  all?: boolean;
}

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NETWORK = /^[0-9A-Fa-f.:]+(?:\/\d{1,3})?$/;

/**
 * Client for BIRD's Unix control socket (2.0.x, 2.1x and 3.x) (the one birdc uses), without birdc: a one-in-flight
 * command queue with timeouts over a self-reconnecting connection, plus typed helpers.
 *
 * Commands issued while BIRD is unreachable fail at once with {@link BirdConnectionError}
 * rather than wait for a reconnect, so callers decide when to retry.
 */
export class BirdClient extends EventEmitter<BirdClientEvents> {
  readonly #connection: BirdConnection;
  readonly #queue: CommandQueue;
  readonly #timeoutMs: number;

  constructor(opts: BirdClientOptions) {
    super();
    this.#timeoutMs = opts.commandTimeoutMs ?? 5000;
    this.#connection = new BirdConnection(opts);
    this.#queue = new CommandQueue(this.#connection);
    const c = this.#connection;
    c.on('ready', (banner, again) => {
      this.emit('connect', banner);
      if (again) this.emit('reconnect', banner);
    });
    c.on('down', (cause) => {
      this.#queue.failAll(new BirdConnectionError(`lost connection to BIRD: ${cause.message}`, { cause }));
      this.emit('disconnect', cause);
    });
    c.on('unreachable', (cause, retries) => this.emit('unreachable', cause, retries));
    c.on('failed', (error) => {
      this.#queue.failAll(error);
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    c.on('reply', (reply) => {
      // Unreachable while BIRD keeps its one-reply-per-command order; a stray reply is dropped, never
      // handed to a later command.
      this.#queue.onReply(reply);
    });
    c.on('spontaneous', (text) => this.emit('spontaneous', text));
  }

  /** True while connected (banner received and no drop since). */
  get connected(): boolean {
    return this.#connection.ready;
  }

  /** The last banner, e.g. "BIRD 2.0.12 ready.". */
  get banner(): string | undefined {
    return this.#connection.banner;
  }

  /** BIRD's version from the last banner, e.g. "3.3.2"; parse errors name it. */
  get version(): string | undefined {
    return versionOfBanner(this.#connection.banner);
  }

  #context(): ParseContext {
    const version = this.version;
    return version === undefined ? {} : { version };
  }

  /**
   * Resolves after BIRD's 0001 banner. Failed attempts are retried per the reconnect strategy; it
   * rejects with {@link BirdConnectionError} only when the strategy gives up or close() is called.
   */
  connect(): Promise<void> {
    return this.#connection.connect();
  }

  /** Stops for good: no reconnect, pending commands rejected with {@link BirdConnectionError}. */
  async close(): Promise<void> {
    this.#queue.failAll(new BirdConnectionError('BIRD client closed'));
    await this.#connection.close();
  }

  /**
   * Sends one command and resolves with its reply (terminal code 0xxx, 1xxx or 2xxx). Rejects with
   * {@link BirdReplyError} on 8xxx/9xxx ({@link BirdConfigError} for 8002), {@link BirdTimeoutError}
   * (the connection is then reset), {@link BirdConnectionError}, or {@link BirdError} for a command
   * that is empty, multi-line or over 900 bytes.
   */
  command(text: string, opts: { timeoutMs?: number } = {}): Promise<BirdReply> {
    return this.#queue.enqueue(text, opts.timeoutMs ?? this.#timeoutMs);
  }

  /**
   * `configure [check|soft] ["file"] [timeout N]` (that order is BIRD's grammar, nest/config.Y).
   * Resolves with the status by code; rejects with {@link BirdConfigError} when BIRD cannot read the
   * file. A `status: 'in-progress'` (0004, BIRD 2.1x/3) means BIRD is still applying it: see
   * {@link BirdClient.waitForReconfiguration}.
   */
  async configure(opts: ConfigureOptions = {}): Promise<ConfigureResult> {
    if (opts.check && (opts.soft || opts.timeoutSec !== undefined)) throw new BirdError('configure check takes neither soft nor timeout');
    const parts = ['configure'];
    if (opts.check) parts.push('check');
    if (opts.soft) parts.push('soft');
    if (opts.file !== undefined) parts.push(quoteFile(opts.file));
    if (opts.timeoutSec !== undefined) {
      if (!Number.isInteger(opts.timeoutSec) || opts.timeoutSec < 1 || opts.timeoutSec > 86400) {
        throw new BirdError(`configure timeout must be an integer 1..86400 s, got ${opts.timeoutSec}`);
      }
      parts.push('timeout', String(opts.timeoutSec));
    }
    return parseConfigureReply(await this.command(parts.join(' ')), this.#context());
  }

  /** `configure confirm`: keeps a `configure … timeout N` change (0018), or 0019 when nothing is pending. */
  async configureConfirm(): Promise<ConfigureResult> {
    return parseConfigureReply(await this.command('configure confirm'), this.#context());
  }

  /** `configure undo`: back to the config before the last `configure` (0019 after an 8002: nothing kept to undo). */
  async configureUndo(): Promise<ConfigureResult> {
    return parseConfigureReply(await this.command('configure undo'), this.#context());
  }

  /** `configure status` (BIRD >= 2.0.8): whether a reconfiguration is still running, and any pending undo. */
  async configureStatus(): Promise<ReconfigurationState> {
    return parseReconfigurationState(await this.command('configure status'), this.#context());
  }

  /**
   * Polls `configure status` until BIRD is no longer reconfiguring (after a 0004/0005 answer), or
   * rejects with {@link BirdTimeoutError} after `timeoutMs` (default 30000).
   */
  async waitForReconfiguration(opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<ReconfigurationState> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30000);
    for (;;) {
      const state = await this.configureStatus();
      if (state.state !== 'in-progress' && state.state !== 'queued') return state;
      if (Date.now() >= deadline) throw new BirdTimeoutError(`BIRD still reconfiguring: ${state.messages.join('; ')}`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
    }
  }

  /** `show protocols [all] ["name"]`; a name that matches nothing (8003) gives []. */
  async showProtocols(opts: { all?: boolean; name?: string } = {}): Promise<ProtocolInfo[]> {
    const parts = ['show protocols'];
    if (opts.all) parts.push('all');
    if (opts.name !== undefined) parts.push(quoteFile(opts.name));
    return parseProtocols(await this.#orEmpty(parts.join(' '), 8003), this.#context());
  }

  /** `show route [NET | for ADDR] [table T] [protocol P] [export P] [all]`; "Network not found" (8001) gives []. */
  async showRoutes(opts: ShowRoutesOptions = {}): Promise<RouteInfo[]> {
    const parts = ['show route'];
    if (opts.prefix !== undefined) parts.push(checked(opts.prefix, NETWORK, 'prefix'));
    if (opts.for !== undefined) parts.push('for', checked(opts.for, NETWORK, 'address'));
    if (opts.table !== undefined) parts.push('table', checked(opts.table, SYMBOL, 'table'));
    if (opts.protocol !== undefined) parts.push('protocol', checked(opts.protocol, SYMBOL, 'protocol'));
    if (opts.exportOf !== undefined) parts.push('export', checked(opts.exportOf, SYMBOL, 'protocol'));
    if (opts.all ?? true) parts.push('all');
    return parseRoutes(await this.#orEmpty(parts.join(' '), 8001), this.#context());
  }

  /**
   * `disable "name"`: stops a protocol until `enable` or BIRD's next reconfiguration (which enables
   * every protocol its config does not disable). 'already' when it was disabled; a name BIRD does not
   * have is a BirdReplyError (8003).
   */
  async disableProtocol(name: string): Promise<'disabled' | 'already'> {
    // Quoted: a name BIRD no longer has is 8003, not a syntax error; a symbol has no pattern characters.
    const reply = await this.command(`disable "${checked(name, SYMBOL, 'protocol')}"`);
    // nest/proto.c proto_cmd_disable: 0009 "name: disabled", 0008 "name: already disabled".
    return reply.lines.some((l) => l.code === 9) ? 'disabled' : 'already';
  }

  /** `show bfd sessions` (every BFD protocol's sessions). */
  async showBfdSessions(): Promise<BfdSession[]> {
    return parseBfdSessions(await this.command('show bfd sessions'));
  }

  /** `show status`. */
  async showStatus(): Promise<BirdStatus> {
    return parseStatus(await this.command('show status'), this.#context());
  }

  async #orEmpty(text: string, emptyCode: number): Promise<BirdReply> {
    try {
      return await this.command(text);
    } catch (e) {
      if (e instanceof BirdReplyError && e.code === emptyCode) return { code: e.code, lines: [], text: '', truncated: false };
      throw e;
    }
  }
}

/** "BIRD 3.3.2 ready." -> "3.3.2" (nest/cli.c cli_hello; the same in every line). */
export function versionOfBanner(banner: string | undefined): string | undefined {
  return banner === undefined ? undefined : /^BIRD (\S+) ready\.$/.exec(banner)?.[1];
}

/** BIRD strings are `"…"` with no escapes (conf/cf-lex.l), so a quote or newline cannot be passed. */
function quoteFile(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (value === '' || /["\x00-\x1f]/.test(value)) throw new BirdError(`cannot pass ${JSON.stringify(value)} to BIRD as a string`);
  return `"${value}"`;
}

function checked(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new BirdError(`invalid ${what} for BIRD: ${JSON.stringify(value)}`);
  return value;
}

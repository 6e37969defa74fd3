import { EventEmitter } from 'node:events';
import net from 'node:net';
import { BirdConnectionError } from './errors.js';
import { defaultReconnectStrategy, type ReconnectStrategy } from './reconnect-strategy.js';
import { ReplyDecoder } from './reply-decoder.js';
import type { BirdReply } from './types.js';

/** Options of {@link BirdConnection}. */
export interface ConnectionOptions {
  socketPath: string;
  /** Per attempt, from connect() to BIRD's 0001 banner. Default 2000. */
  connectTimeoutMs?: number;
  reconnectStrategy?: ReconnectStrategy;
}

/** Events of {@link BirdConnection}. */
export interface ConnectionEvents {
  /** Banner received; `again` is true when this follows a connection that was ready before. */
  ready: [banner: string, again: boolean];
  /** A ready connection was lost (or reset); reconnecting follows unless the strategy stops. */
  down: [cause: Error];
  /** The reconnect strategy stopped (or the first connect failed for good); the connection is dead. */
  failed: [error: Error];
  /** A connection attempt failed while no connection was up (BIRD down at start, or still down after a drop). */
  unreachable: [cause: Error, retries: number];
  reply: [reply: BirdReply];
  spontaneous: [text: string];
  garbage: [line: string];
}

type State = 'idle' | 'connecting' | 'ready' | 'waiting' | 'failed' | 'closed';

/**
 * The socket layer: one Unix-socket connection to BIRD at a time, greeted by `0001 BIRD x.y.z ready.`
 * (nest/cli.c cli_hello), replaced after any drop according to the reconnect strategy. A BIRD restart
 * shows up as a drop followed by a fresh banner. It knows nothing of commands: it passes replies up.
 */
export class BirdConnection extends EventEmitter<ConnectionEvents> {
  readonly #path: string;
  readonly #connectTimeoutMs: number;
  readonly #strategy: ReconnectStrategy;
  #state: State = 'idle';
  #socket: net.Socket | undefined;
  #decoder: ReplyDecoder | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retries = 0;
  #everReady = false;
  #banner: string | undefined;
  #waiters: { resolve(): void; reject(e: Error): void }[] = [];

  constructor(opts: ConnectionOptions) {
    super();
    this.#path = opts.socketPath;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.#strategy = opts.reconnectStrategy ?? defaultReconnectStrategy;
  }

  /** True between the banner and the next drop. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** The last banner text, e.g. "BIRD 2.0.12 ready.". */
  get banner(): string | undefined {
    return this.#banner;
  }

  /** Resolves once a banner was received; rejects when the reconnect strategy gives up or close() is called. */
  connect(): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new BirdConnectionError('BIRD client is closed'));
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#state === 'idle' || this.#state === 'failed') {
      this.#retries = 0;
      this.#attempt();
    }
    return p;
  }

  /** Writes one command line; the caller guarantees it is short and newline-free. */
  send(line: string): void {
    if (this.#state !== 'ready' || !this.#socket) throw new BirdConnectionError(`not connected to BIRD at ${this.#path}`);
    this.#socket.write(`${line}\n`);
  }

  /** Drops the current connection (e.g. after a timeout, when a late reply could still arrive) and reconnects. */
  reset(cause: Error): void {
    if (this.#state === 'ready' || this.#state === 'connecting') this.#lost(cause);
  }

  /** Closes the connection for good: no reconnect, pending connect() calls reject. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#drop();
    this.#settle(new BirdConnectionError('BIRD client closed'));
    if (socket && !socket.closed) await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  }

  #attempt(): void {
    this.#state = 'connecting';
    const socket = net.createConnection(this.#path);
    const decoder = new ReplyDecoder({
      reply: (r) => this.#onReply(socket, r),
      spontaneous: (t) => this.emit('spontaneous', t),
      garbage: (l) => this.emit('garbage', l),
    });
    this.#socket = socket;
    this.#decoder = decoder;
    let lastError: Error | undefined;
    socket.on('data', (chunk) => decoder.write(chunk));
    socket.on('error', (e) => {
      lastError = e;
    });
    socket.on('close', () => {
      if (socket !== this.#socket) return; // an old socket we already gave up on
      const why = lastError ? `: ${lastError.message}` : ' by BIRD';
      this.#lost(new BirdConnectionError(`connection to BIRD at ${this.#path} closed${why}`, { cause: lastError }));
    });
    this.#timer = setTimeout(() => {
      this.#lost(new BirdConnectionError(`no banner from BIRD at ${this.#path} within ${this.#connectTimeoutMs} ms`));
    }, this.#connectTimeoutMs);
  }

  #onReply(socket: net.Socket, reply: BirdReply): void {
    if (socket !== this.#socket) return;
    if (this.#state === 'connecting') {
      if (reply.code !== 1) {
        this.#lost(new BirdConnectionError(`unexpected greeting from ${this.#path}: ${reply.code} ${reply.text}`));
        return;
      }
      clearTimeout(this.#timer);
      const again = this.#everReady;
      this.#state = 'ready';
      this.#everReady = true;
      this.#retries = 0;
      this.#banner = reply.text;
      this.#settle();
      this.emit('ready', reply.text, again);
      return;
    }
    if (reply.code === 1) {
      // 0001 is only ever the greeting (doc/reply_codes): one mid-session means the other end started
      // over, and it must not be taken for the answer to the command in flight.
      this.#lost(new BirdConnectionError(`BIRD at ${this.#path} greeted again mid-session: ${reply.text}`));
      return;
    }
    this.emit('reply', reply);
  }

  /** The current socket failed (or was reset): tell listeners if it was up, then ask the strategy. */
  #lost(cause: Error): void {
    if (this.#state === 'closed') return;
    const wasReady = this.#state === 'ready';
    clearTimeout(this.#timer);
    this.#drop();
    if (wasReady) this.emit('down', cause);
    else this.emit('unreachable', cause, this.#retries);
    let decision: false | Error | number;
    try {
      decision = this.#strategy(this.#retries, cause);
    } catch (e) {
      decision = e instanceof Error ? e : new Error(String(e));
    }
    this.#retries += 1;
    if (typeof decision === 'number') {
      this.#state = 'waiting';
      this.#timer = setTimeout(() => this.#attempt(), Math.max(0, decision));
      return;
    }
    const error =
      decision === false
        ? new BirdConnectionError(`gave up connecting to BIRD at ${this.#path}: ${cause.message}`, { cause })
        : decision;
    this.#state = 'failed';
    this.#settle(error);
    this.emit('failed', error);
  }

  #drop(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#decoder?.reset();
    this.#decoder = undefined;
    socket?.destroy();
  }

  #settle(error?: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }
}

/**
 * The local API: HTTP/1.1 + JSON over a Unix socket (like Docker's), so `curl --unix-socket` works.
 * Routes live in api-routes.ts; this file is transport: socket lifecycle and permissions, body
 * limits, content type, actor header, and mapping errors onto `{"error": "..."}` answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { Actor } from '@vipcontrol/core';
import type { Controller } from './controller.js';
import { OperationError } from './errors.js';
import { matchRoute } from './api-routes.js';

const execFileAsync = promisify(execFile);

/** Request bodies above this are refused with 413 (the biggest legitimate one is a health report). */
export const MAX_BODY_BYTES = 64 * 1024;
const MAX_ACTOR = 200;
/** `#unread` is pruned once it holds this many sockets (then twice what survived). */
const PRUNE_MIN = 64;
/**
 * A connection silent for longer is not part of a burst being read: it no longer counts as intake,
 * so a client that connects and sends nothing delays an apply once, by at most this (the same
 * bound as the reconciler's burst hold).
 */
const UNREAD_WINDOW_MS = 200;

/** The socket cannot be served (another daemon is live on it, or the path is not a socket). */
export class ApiSocketError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiSocketError';
  }
}

export interface ApiServerOptions {
  socketPath: string;
  /** e.g. 0o660: the socket grants control over the node's announcements. */
  mode: number;
  /** Group name or gid given access (vipctl users, viphealth). */
  group?: string;
  controller: Controller;
  logger: Logger;
}

/** The HTTP server on the Unix socket. */
export class ApiServer {
  readonly #o: ApiServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  /** Connections whose first request has not reached its handler yet, with their accept time: see `intake`. */
  readonly #unread = new Map<Socket, number>();
  #pruneAt = PRUNE_MIN;

  constructor(opts: ApiServerOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    // No per-socket 'close' listener (measurably costly across a 1,000-connection burst): closed and
    // silent sockets are pruned when `intake` is read, and whenever the map has doubled since the
    // last pruning (amortised O(1) per connection, bounded memory).
    this.#server.on('connection', (socket: Socket) => {
      this.#unread.set(socket, performance.now());
      if (this.#unread.size >= this.#pruneAt) this.#pruneAt = Math.max(PRUNE_MIN, 2 * this.#pruneUnread());
    });
    // Mutations wait for BIRD; a slow apply must not be cut by Node's default request timeouts.
    this.#server.requestTimeout = 120_000;
    this.#server.headersTimeout = 10_000;
  }

  /**
   * Requests on their way in: new connections whose request has not reached its handler yet. The
   * reconciler holds an apply back while there are some (a burst being read), never for long.
   */
  get intake(): number {
    return this.#pruneUnread();
  }

  #pruneUnread(): number {
    const since = performance.now() - UNREAD_WINDOW_MS;
    for (const [socket, at] of this.#unread) if (socket.destroyed || at < since) this.#unread.delete(socket);
    return this.#unread.size;
  }

  /** Replaces a stale socket (previous run), refuses a live one, listens, sets mode and group. */
  async listen(): Promise<void> {
    const path = this.#o.socketPath;
    // Before listening: an unknown group must fail the start without leaving a server open.
    const gid = this.#o.group === undefined ? undefined : await resolveGid(this.#o.group);
    await removeStaleSocket(path);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      // A burst of 1,000 vipctl calls connects at once; Node's default backlog (511) would refuse some.
      this.#server.listen({ path, backlog: 2048 }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    await chmod(path, this.#o.mode);
    if (gid !== undefined) await chown(path, -1, gid);
    this.#log.info({ event: 'apiListening', socket: path, mode: this.#o.mode.toString(8), group: this.#o.group }, 'API listening');
  }

  /** Stops accepting, lets in-flight requests finish briefly, removes the socket file. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), 2000);
    await closed;
    clearTimeout(timer);
    await unlink(this.#o.socketPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.#log.warn({ event: 'apiSocketUnlinkFailed', err: error }, 'cannot remove API socket');
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    let status = 200;
    let payload: unknown;
    let actor: Actor = { source: 'api' };
    const url = new URL(req.url ?? '/', 'http://vipcontrol');
    try {
      actor = parseActor(req.headers['x-vipcontrol-actor']);
      const route = matchRoute(req.method ?? 'GET', url.pathname);
      if ('status' in route) {
        if (route.allow) res.setHeader('Allow', route.allow.join(', '));
        await drain(req);
        throw new OperationError(route.status as 404, route.status === 405 ? `method ${req.method} not allowed` : `no such endpoint ${url.pathname}`);
      }
      const body = await readJsonBody(req);
      this.#unread.delete(req.socket);
      payload = await route.handler({ params: route.params, body, actor, controller: this.#o.controller, query: url.searchParams });
    } catch (error) {
      this.#unread.delete(req.socket);
      status = error instanceof OperationError ? error.status : 500;
      payload = { error: (error as Error).message, ...(error instanceof OperationError && error.saved ? { saved: true } : {}) };
      if (status === 413) res.setHeader('Connection', 'close');
      if (status >= 500) this.#log.error({ event: 'apiError', method: req.method, path: url.pathname, err: error }, 'API request failed');
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    // Successful requests are debug: each change is logged at info by the apply that carries it, and
    // a burst of 1,000 calls must not write 1,000 more lines on its way to BIRD. Refusals stay visible.
    const level = status >= 400 && req.method !== 'GET' ? 'warn' : 'debug';
    if (!this.#log.isLevelEnabled(level)) return; // spares a burst 1,000 unused log objects
    this.#log[level](
      { event: 'apiRequest', method: req.method, path: url.pathname, status, actor, durationMs: Math.round(performance.now() - started) },
      `${req.method} ${url.pathname} ${status}`,
    );
  }
}

/** `X-Vipcontrol-Actor: user@host` → Actor; printable and short, since it lands in logs and state. */
function parseActor(header: string | string[] | undefined): Actor {
  if (header === undefined) return { source: 'api' };
  const value = Array.isArray(header) ? header[0]! : header;
  // eslint-disable-next-line no-control-regex
  if (value.length > MAX_ACTOR || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new OperationError(400, `X-Vipcontrol-Actor must be printable, at most ${MAX_ACTOR} characters`);
  }
  return value === '' ? { source: 'api' } : { source: 'api', user: value };
}

/** Reads the body: empty → undefined; > 64 KiB → 413; not JSON → 415 (content type) or 400 (syntax). */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new OperationError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
  }
  const body = await readBody(req);
  if (body.length === 0) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new OperationError(415, 'request body must be application/json');
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (cause) {
    throw new OperationError(400, `malformed JSON body: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The body, at most MAX_BODY_BYTES (else 413). Listeners rather than `for await`: the async
 * iterator costs a few objects and promises per request, which a burst of 1,000 feels.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.resume();
      reject(new OperationError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

async function drain(req: IncomingMessage): Promise<void> {
  req.resume();
  if (!req.complete) await new Promise((resolve) => req.once('end', resolve).once('error', resolve));
}

/**
 * A socket file left by a crashed daemon is removed; one a live daemon answers on is NOT (two
 * daemons driving one BIRD would fight), and neither is a path that is not a socket at all.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ApiSocketError(`cannot inspect API socket ${path}: ${(cause as Error).message}`, { cause });
  }
  if (!isSocket) throw new ApiSocketError(`API socket path ${path} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new ApiSocketError(`another vipcontrol is already serving ${path}; refusing to start`);
  await unlink(path);
}

/**
 * Group name or numeric gid → gid, through NSS (`getent group`, as getgrnam(3) would: /etc/group,
 * LDAP, sssd, systemd's dynamic groups — Node has no getgrnam).
 */
async function resolveGid(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  let line: string;
  try {
    line = (await execFileAsync('getent', ['group', group], { timeout: 10_000 })).stdout;
  } catch (err) {
    // getent exits 2 for "not found"; anything else (no getent, NSS timeout) is reported as it is.
    const code = (err as { code?: unknown }).code;
    if (code === 2) throw new ApiSocketError(`api.socketGroup ${group}: no such group`, { cause: err });
    throw new ApiSocketError(`api.socketGroup ${group}: cannot resolve the group: ${(err as Error).message}`, { cause: err });
  }
  const gid = line.split(':')[2];
  if (gid === undefined || !/^\d+$/.test(gid)) throw new ApiSocketError(`api.socketGroup ${group}: getent answered ${JSON.stringify(line.trim())}`);
  return Number(gid);
}

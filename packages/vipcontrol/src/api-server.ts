/**
 * The local API: HTTP/1.1 + JSON over a Unix socket (like Docker's), so `curl --unix-socket` works.
 * Routes live in api-routes.ts; this file is transport: socket lifecycle and permissions, body
 * limits, content type, actor header, and mapping errors onto `{"error": "..."}` answers.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, readFile, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { ACTOR_HEADER, ValidationError, parseActorHeader, type Actor, type ErrorAnswer } from '@vipcontrol/core';
import type { Controller } from './controller.js';
import { OperationError } from './errors.js';
import type { ApiRoutes } from './api-routes.js';

const execFileAsync = promisify(execFile);

/** Request bodies above this are refused with 413 (the biggest legitimate one is a health report). */
export const MAX_BODY_BYTES = 64 * 1024;
/** `#arriving` is pruned once it holds this many sockets (then twice what survived). */
const PRUNE_MIN = 64;
/** A connection must deliver a request's headers within this, or it is answered 408 and closed. */
const HEADERS_TIMEOUT_MS = 5_000;
/** A keep-alive connection idle for this long after an answer is closed. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often Node looks for connections past their headers/request timeout. */
const TIMEOUT_CHECK_MS = 1_000;
/** Most connections served at once; the rest are closed at accept (see `connectionCap`). */
const MAX_CONNECTIONS = 4_096;
/** File descriptors kept free beyond the API's connections: BIRD's socket, state and include writes, Redis. */
const RESERVED_FDS = 64;

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
  /** What the server answers; other components may add routes to the table while it runs. */
  routes: ApiRoutes;
  logger: Logger;
  /** Connection cap; default: 4,096, or fewer to keep 64 descriptors free below the open-files limit. */
  maxConnections?: number;
}

/** The HTTP server on the Unix socket. */
export class ApiServer {
  readonly #o: ApiServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  /** Connections whose first request has not reached its handler yet: see `intake`. */
  readonly #arriving = new Set<Socket>();
  #pruneAt = PRUNE_MIN;
  /** Connections refused at the cap since the last one accepted (logged once per episode). */
  #dropped = 0;

  constructor(opts: ApiServerOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    // Mutations wait for BIRD; a slow apply must not be cut by Node's default request timeout. Idle
    // connections are not welcome: headers within 5 s, keep-alive 5 s, checked every second.
    this.#server = createServer({
      requestTimeout: 120_000,
      headersTimeout: HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    });
    // A handler that throws past its own error path (a bug) answers 500; input never ends the daemon.
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => this.#lastResort(req, res, error));
    });
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.#clientError(error, socket));
    this.#server.on('drop', () => {
      if (this.#dropped++ === 0) {
        this.#log.warn({ event: 'apiConnectionCap', max: this.#server.maxConnections }, 'API connection cap reached; refusing new connections');
      }
    });
    // No per-socket 'close' listener (measurably costly across a 1,000-connection burst): closed
    // sockets are pruned when `intake` is read, and whenever the set has doubled since the last
    // pruning (amortised O(1) per connection, bounded memory).
    this.#server.on('connection', (socket: Socket) => {
      if (this.#dropped > 0) {
        this.#log.info({ event: 'apiConnectionCapCleared', refused: this.#dropped }, 'API accepting connections again');
        this.#dropped = 0;
      }
      this.#arriving.add(socket);
      if (this.#arriving.size >= this.#pruneAt) {
        this.#pruneArriving();
        this.#pruneAt = Math.max(PRUNE_MIN, 2 * this.#arriving.size);
      }
    });
  }

  /**
   * Requests on their way in: connections that have sent bytes whose request has not reached its
   * handler yet. The reconciler holds an apply back while there are some (a burst being read), never
   * for long. A connection that merely opened and sent nothing is not a request and holds nothing.
   */
  get intake(): number {
    return this.#pruneArriving();
  }

  /** Open connections (status and tests). */
  get connections(): Promise<number> {
    return new Promise((resolve, reject) => this.#server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
  }

  #pruneArriving(): number {
    let arrived = 0;
    for (const socket of this.#arriving) {
      if (socket.destroyed) this.#arriving.delete(socket);
      // bytesRead counts what the HTTP parser consumed too, so it says whether a request is coming.
      else if (socket.bytesRead > 0) arrived += 1;
    }
    return arrived;
  }

  /** Replaces a stale socket (previous run), refuses a live one, listens, sets mode and group. */
  async listen(): Promise<void> {
    const path = this.#o.socketPath;
    // Before listening: an unknown group must fail the start without leaving a server open.
    const gid = this.#o.group === undefined ? undefined : await resolveGid(this.#o.group);
    await removeStaleSocket(path);
    this.#server.maxConnections = this.#o.maxConnections ?? (await connectionCap());
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      // A burst of 1,000 vipctl calls connects at once; Node's default backlog (511) would refuse some.
      this.#server.listen({ path, backlog: 2048 }, () => {
        this.#server.off('error', reject);
        // Once listening, an accept that fails (EMFILE) is logged; unhandled, it would end the daemon.
        this.#server.on('error', (error: Error) => this.#log.error({ event: 'apiServerError', err: error }, 'API server error'));
        resolve();
      });
    });
    await chmod(path, this.#o.mode);
    if (gid !== undefined) await chown(path, -1, gid);
    this.#log.info(
      { event: 'apiListening', socket: path, mode: this.#o.mode.toString(8), group: this.#o.group, maxConnections: this.#server.maxConnections },
      'API listening',
    );
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
    let path = req.url ?? '';
    try {
      const url = requestUrl(path);
      path = url.pathname;
      actor = parseActorHeader(req.headers[ACTOR_HEADER]);
      const route = this.#o.routes.match(req.method ?? 'GET', path);
      if ('status' in route) {
        if (route.allow) res.setHeader('Allow', route.allow.join(', '));
        await drain(req);
        throw new OperationError(route.status as 404, route.status === 405 ? `method ${req.method} not allowed` : `no such endpoint ${path}`);
      }
      const body = await readJsonBody(req);
      this.#arriving.delete(req.socket);
      payload = await route.handler({ params: route.params, body, actor, controller: this.#o.controller, query: url.searchParams });
    } catch (error) {
      this.#arriving.delete(req.socket);
      status = error instanceof OperationError ? error.status : error instanceof ValidationError ? 400 : 500;
      payload = {
        error: (error as Error).message,
        ...(error instanceof OperationError && error.saved ? { saved: true } : {}),
        ...(error instanceof OperationError && error.details),
      } satisfies ErrorAnswer;
      if (status === 413) res.setHeader('Connection', 'close');
      if (status >= 500) this.#log.error({ event: 'apiError', method: req.method, path, err: error }, 'API request failed');
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    // Successful requests are debug: each change is logged at info by the apply that carries it, and
    // a burst of 1,000 calls must not write 1,000 more lines on its way to BIRD. Refusals stay visible.
    const level = status >= 400 && req.method !== 'GET' ? 'warn' : 'debug';
    if (!this.#log.isLevelEnabled(level)) return; // spares a burst 1,000 unused log objects
    this.#log[level](
      { event: 'apiRequest', method: req.method, path, status, actor, durationMs: Math.round(performance.now() - started) },
      `${req.method} ${path} ${status}`,
    );
  }

  /** A request whose handling threw outside its own error path: answer 500 if still possible, else drop it. */
  #lastResort(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    this.#log.error({ event: 'apiHandlerFailed', method: req.method, url: req.url, err: error }, 'API request handling failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify({ error: 'internal error' });
    res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), Connection: 'close' });
    res.end(text);
  }

  /**
   * Bytes that are not HTTP (a malformed request line, bad header bytes, headers too large or too
   * slow): one JSON 4xx, then the connection closes. Debug only: a flood of junk must not flood the log.
   */
  #clientError(error: NodeJS.ErrnoException, socket: Socket): void {
    this.#arriving.delete(socket);
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.#log.debug({ event: 'apiClientError', status, code: error.code, err: error }, 'malformed or incomplete request');
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const text = JSON.stringify({ error: status === 408 ? 'request not received in time' : `malformed request (${error.code ?? error.message})` });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
}

/** The request target as a URL: origin-form only ("/v1/status?x"), anything else is a 400. */
function requestUrl(target: string): URL {
  if (!target.startsWith('/')) throw new OperationError(400, `request target must be a path, got ${JSON.stringify(target.slice(0, 100))}`);
  try {
    // Prefixed rather than resolved against a base: "//host/x" stays a path instead of naming a host.
    return new URL(`http://vipcontrol${target}`);
  } catch (cause) {
    throw new OperationError(400, `malformed request target ${JSON.stringify(target.slice(0, 100))}`, { cause });
  }
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

/**
 * The connection cap: MAX_CONNECTIONS, or fewer so that RESERVED_FDS descriptors stay free below the
 * process's open-files limit (then viphealth's withdraw and the daemon's own files still get one).
 */
async function connectionCap(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  return soft === undefined ? MAX_CONNECTIONS : Math.max(16, Math.min(MAX_CONNECTIONS, Number(soft) - RESERVED_FDS));
}

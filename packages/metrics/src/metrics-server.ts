/**
 * The `/metrics` endpoint both daemons serve (Prometheus text exposition, rendered by prom-client).
 * Plain HTTP on a configured address — loopback by default in the docs — and nothing else: any other
 * path is a 404, any method but GET/HEAD a 405, so the listener exposes no control surface.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsListen {
  readonly host: string;
  readonly port: number;
}

/** The metrics listener could not be opened (address in use, not local, …). */
export class MetricsListenError extends Error {
  readonly listen: MetricsListen;
  constructor(listen: MetricsListen, cause: Error) {
    super(`cannot serve /metrics on ${formatListen(listen)}: ${cause.message}`, { cause });
    this.name = 'MetricsListenError';
    this.listen = listen;
  }
}

export interface MetricsServer {
  /** The bound address (port resolved when 0 was asked for). */
  readonly address: MetricsListen;
  close(): Promise<void>;
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatListen(listen: MetricsListen): string {
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

/**
 * Serves `registry` on `GET /metrics`. Resolves once listening; rejects with MetricsListenError.
 * A failing collector answers 500 with its message (and `onError` hears of it) — a scrape never
 * throws into the daemon.
 */
export async function startMetricsServer(opts: {
  listen: MetricsListen;
  registry: Registry;
  onError?: (error: Error) => void;
}): Promise<MetricsServer> {
  const { registry } = opts;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        const err = error instanceof Error ? error : new Error(String(error));
        opts.onError?.(err);
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${err.message}\n`);
      },
    );
  });
  // Scrapers keep connections alive; a slow or idle one must not pin sockets forever.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MetricsListenError(opts.listen, err)));
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  server.on('error', (err) => opts.onError?.(err));
  const bound = server.address();
  const address = bound !== null && typeof bound === 'object' ? { host: opts.listen.host, port: bound.port } : opts.listen;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The log lines `serveMetrics` writes (pino's Logger fits). */
export interface MetricsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * A daemon's `/metrics`: builds the registry, serves it, logs `metricsListening`, and never rejects —
 * a listener that cannot open is logged at error level (`metricsStartFailed`) and the daemon runs on
 * without it, since metrics must never stop VIP management or health checking.
 */
export async function serveMetrics(opts: {
  listen: MetricsListen;
  registry: () => Registry | Promise<Registry>;
  logger: MetricsLogger;
}): Promise<MetricsServer | undefined> {
  const { logger } = opts;
  try {
    const server = await startMetricsServer({
      listen: opts.listen,
      registry: await opts.registry(),
      onError: (err) => logger.warn({ event: 'metricsScrapeFailed', err }, 'a /metrics scrape failed'),
    });
    logger.info({ event: 'metricsListening', listen: formatListen(server.address) }, `serving /metrics on ${formatListen(server.address)}`);
    return server;
  } catch (err) {
    logger.error({ event: 'metricsStartFailed', err }, `/metrics not served: ${(err as Error).message}`);
    return undefined;
  }
}

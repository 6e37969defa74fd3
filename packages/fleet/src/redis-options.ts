/**
 * Turns the validated `redis:` config section into ioredis options: plain URL, TLS (`rediss://`,
 * with `redis.tls.ca`), ACL user/password from the URL, or Sentinel (`sentinels` + `name`).
 * The section's rules (e.g. Sentinel + rediss:// needs `tls.ca`) are core's config schema's: every
 * Sentinel config reaches this adapter through it (vipctl's --redis takes a URL only).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { exponentialBackoff, parseRedisUrl, RedisUrlError, type RedisConfig, type RedisUrl } from '@vipcontrol/core';
import { FleetConfigError } from './errors.js';

/** How a connection behaves while Redis is away. */
export interface ConnectionTuning {
  /** Per-command timeout: a slow Redis must not stall the caller (ms). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * Queue commands while disconnected? The daemon says no: a heartbeat must fail at once, not pile
   * up and replay stale state later. The subscriber connection says yes (its SUBSCRIBE waits).
   */
  offlineQueue?: boolean;
  /** Stop reconnecting after this many attempts (the CLI); default: forever (the daemon). */
  maxReconnects?: number;
  /** Shown in CLIENT LIST, so an operator can tell who is connected. */
  connectionName?: string;
}

/** A `redis:` section with its URL parsed once (core parseRedisUrl): its connections and its store take these values. */
export interface RedisTarget {
  readonly cfg: RedisConfig;
  /** Absent with Sentinel and no URL. */
  readonly url?: RedisUrl;
  /** The database the connections select (the URL's; 0 without one); channel names carry it (core fleetKeys). */
  readonly db: number;
}

/** Parses `cfg.url`; a URL core refuses is a FleetConfigError (vipctl's --redis is not schema-checked). */
export function redisTarget(cfg: RedisConfig): RedisTarget {
  if (cfg.url === undefined) return { cfg, db: 0 };
  try {
    const url = parseRedisUrl(cfg.url);
    return { cfg, url, db: url.db };
  } catch (cause) {
    if (!(cause instanceof RedisUrlError)) throw cause;
    throw new FleetConfigError(`redis.url: ${cause.message}`, { cause });
  }
}

/** The ioredis options for `target` (reads `redis.tls.ca` and the password files when set; otherwise pure). Exported for tests. */
export function redisOptions(target: RedisTarget, tuning: ConnectionTuning = {}): RedisOptions {
  const { cfg, url } = target;
  const base: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: tuning.offlineQueue ?? false,
    // One try per command: the fleet logic retries on its own schedule (next heartbeat).
    maxRetriesPerRequest: 1,
    commandTimeout: tuning.commandTimeoutMs ?? 2000,
    connectTimeout: tuning.connectTimeoutMs ?? 2000,
    connectionName: tuning.connectionName,
    // disconnect() keeps a timer to destroy the socket this long (default 2 s), and with it the process:
    // vipctl would sit 2 s after "cannot connect to Redis" before exiting.
    disconnectTimeout: 200,
    retryStrategy: (times: number) => (tuning.maxReconnects !== undefined && times > tuning.maxReconnects ? null : exponentialBackoff({ attempt: times, minMs: 100, maxMs: 5000 })),
  };
  const ca = url?.tls && cfg.tls?.ca !== undefined ? readCa(cfg.tls.ca) : undefined;
  const auth = url
    ? {
        ...(url.username !== undefined ? { username: url.username } : {}),
        ...(url.password !== undefined ? { password: url.password } : {}),
        ...(cfg.passwordFile !== undefined ? { password: readSecret('redis.passwordFile', cfg.passwordFile) } : {}),
        db: url.db,
      }
    : undefined;
  if (cfg.sentinels?.length) {
    if (!cfg.name) throw new FleetConfigError('redis.name: the Sentinel master name is required with redis.sentinels');
    const s = cfg.sentinel;
    return {
      ...base,
      ...auth,
      sentinels: cfg.sentinels.map((x) => ({ host: x.host, port: x.port })),
      name: cfg.name,
      // Sentinel's own credentials only: a Sentinel anyone may reconfigure (Debian's default has no
      // password) must never collect the password that controls every node.
      ...(s?.username !== undefined ? { sentinelUsername: s.username } : {}),
      ...(s?.passwordFile !== undefined ? { sentinelPassword: readSecret('redis.sentinel.passwordFile', s.passwordFile) } : {}),
      // Only the configured Sentinels: one that was reconfigured must not be able to add more.
      updateSentinels: s?.followAnnounced ?? false,
      // The server Sentinel names is checked against the name from the URL (or tls.servername), not
      // against the address Sentinel returned; each Sentinel against its own configured host.
      ...(url?.tls ? { tls: tlsOptions(cfg, ca, cfg.tls?.servername ?? url.host), enableTLSForSentinelMode: true, sentinelTLS: tlsOptions(cfg, ca) } : {}),
      // Reconnect to the new primary as soon as Sentinel announces a switch, not on the next error.
      failoverDetector: true,
      // Bounded like the connection itself: vipctl must fail, not wait forever on a Sentinel that refuses it.
      sentinelRetryStrategy: (times: number) => (tuning.maxReconnects !== undefined && times > tuning.maxReconnects ? null : Math.min(100 * times, 2000)),
    };
  }
  if (!url) throw new FleetConfigError('redis.url: required unless redis.sentinels is set');
  return { ...base, ...auth, host: url.host, port: url.port, ...(url.tls ? { tls: tlsOptions(cfg, ca, cfg.tls?.servername ?? url.host) } : {}) };
}

/**
 * TLS options: the CA from `redis.tls.ca` (else Node's default CAs); with `expectedName`, the
 * certificate must carry that name whatever address was dialled, and it is sent as SNI when it is a
 * host name (RFC 6066 forbids IP literals there).
 */
function tlsOptions(cfg: RedisConfig, ca: Buffer | undefined, expectedName?: string): ConnectionOptions {
  return {
    ...(expectedName !== undefined && isIP(expectedName) === 0 ? { servername: expectedName } : {}),
    ...(expectedName !== undefined ? { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(expectedName, cert) } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(cfg.tls?.insecure ? { rejectUnauthorized: false } : {}),
  };
}

/** A secret from a file: the first line, without its line end; an unreadable or empty file is a config error. */
function readSecret(field: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new FleetConfigError(`${field}: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  const secret = text.split(/\r?\n/, 1)[0] ?? '';
  if (secret === '') throw new FleetConfigError(`${field}: ${file} is empty`);
  return secret;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new FleetConfigError(`redis.tls.ca: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
}

/**
 * The URL with its password replaced, for logs, status and error messages. Parsed with the same WHATWG
 * URL parser as core `parseRedisUrl`, so both agree where the password ends (at the LAST "@"); text that does
 * not parse is not shown at all, since nobody can say which part of it is the secret.
 */
export function redactUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return '(unparsable URL, not shown)'; // not shown: it may hold a password we cannot locate
  }
  if (u.password !== '') u.password = '***';
  return u.href;
}

/** A new, not yet connected ioredis client for `target`. */
export function createRedis(target: RedisTarget, tuning?: ConnectionTuning): Redis {
  return new Redis(redisOptions(target, tuning));
}

/**
 * QUIT, then disconnect — never waiting on QUIT for long. A connection that is reconnecting (e.g.
 * mid-failover) would hold a queued QUIT forever, and ioredis's Sentinel failover detector keeps its
 * own Sentinel connections (and the process) alive after QUIT until disconnect() is called.
 */
export async function closeRedis(r: Redis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => { timer = setTimeout(resolve, 1000); });
  await Promise.race([r.quit().then(() => undefined, () => undefined), gaveUp]);
  clearTimeout(timer);
  r.disconnect();
}

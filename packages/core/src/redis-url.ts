/**
 * The one parser of Redis URLs (vipcontrol.yaml `redis.url`, vipctl --redis): the config schema
 * refuses what it refuses, and the fleet adapter connects to what it returns.
 */

/** A redis:// or rediss:// URL's parts; credentials decoded, IPv6 literals bare. */
export interface RedisUrl {
  readonly host: string;
  readonly port: number;
  /** The database the connection selects: the URL's path, 0 without one. */
  readonly db: number;
  /** rediss:// */
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
}

/** Why a text is not a usable Redis URL. The message never contains the URL (it may hold a password). */
export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
}

/** Parses a redis:// or rediss:// URL with a host and an optional database number; throws RedisUrlError. */
export function parseRedisUrl(text: string): RedisUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch (cause) {
    throw new RedisUrlError('must be a redis:// or rediss:// URL', { cause });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisUrlError(`must be a redis:// or rediss:// URL, got ${u.protocol}//`);
  // URL keeps IPv6 literals bracketed; connections want them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new RedisUrlError('needs a host, e.g. redis://127.0.0.1:6379/0');
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw new RedisUrlError(`database must be a number, got "${dbText}"`);
  return {
    host,
    port: u.port === '' ? 6379 : Number(u.port),
    db: dbText === '' ? 0 : Number(dbText),
    tls: u.protocol === 'rediss:',
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { ProcessError, spawnReady, type ManagedProcess } from './managed-process.js';
import { OwnedDir } from './owned-dir.js';
import { makeTempDir } from './temp-dir.js';

/** A real redis-server on a private port and dir, no persistence. */
export interface RedisInstance {
  /** `redis[s]://[:password@]<host>:<port>/0` */
  readonly url: string;
  /** The address it listens on (`bind`). */
  readonly host: string;
  readonly port: number;
  readonly password?: string;
  /** The network namespace it runs in, if any. */
  readonly netns?: string;
  readonly dir: string;
  readonly pid: number;
  /** Graceful shutdown (SIGTERM); removes an owned dir. `restart()` starts it again on the same port. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. `restart()` brings it back on the same port (empty: nothing is persisted). */
  kill(): Promise<void>;
  /** Stops it if running, starts it again on the same port. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** Sets `requirepass`. */
  password?: string;
  /** Working dir; default: a fresh temp dir removed by `stop()`. */
  dir?: string;
  /** Run inside this network namespace (e.g. the lab router's, so daemons in the nodes' namespaces reach it). */
  netns?: string;
  /** Listen address; default 127.0.0.1. With `netns`, typically the router's lab address. */
  bind?: string;
  /**
   * Serve TLS only (`--port 0 --tls-port`), so `url` is `rediss://`. PEM files; clients need no
   * certificate of their own (`--tls-auth-clients no`).
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/** One redis-sentinel monitoring a RedisInstance, in the same namespace and on the same address. */
export interface SentinelInstance {
  readonly host: string;
  readonly port: number;
  /** The master name Sentinel knows the primary by. */
  readonly name: string;
  readonly pid: number;
  /** SIGTERM; removes its dir. */
  stop(): Promise<void>;
}

export interface StartSentinelOptions {
  /** The primary to monitor (quorum 1). */
  master: RedisInstance;
  /** Master name, e.g. "vcfleet". */
  name: string;
  /** `down-after-milliseconds`; default 1000. */
  downAfterMs?: number;
  /** `failover-timeout`; default 5000. */
  failoverTimeoutMs?: number;
  /** Sets Sentinel's own `requirepass` (clients then need it, not the primary's password). */
  password?: string;
  /** Serve TLS only and reach the (TLS) primary over TLS; PEM files as for `startRedis`. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

const START_ATTEMPTS = 3;

/**
 * Starts `redis-server` with `--save '' --appendonly no` on a free port and waits for "Ready to accept
 * connections". The port is picked by the kernel; if another process grabs it between `freePort()` and
 * the bind, a new port is tried.
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisInstance> {
  const owned = opts.dir === undefined;
  const dir = opts.dir ?? (await makeTempDir('vc-redis-')).path;
  try {
    return await onFreePort((port) => new RedisProcess(port, dir, owned, opts));
  } catch (err) {
    if (owned) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts `redis-sentinel` monitoring `opts.master` and waits until it reports the monitor. Sentinel
 * rewrites its config file, so it lives in a temp dir of its own, removed by `stop()`.
 */
export async function startSentinel(opts: StartSentinelOptions): Promise<SentinelInstance> {
  const dir = (await makeTempDir('vc-sentinel-')).path;
  try {
    return await onFreePort((port) => new SentinelProcess(port, dir, opts));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Tries `create(port).start()` on fresh ports until one is not taken in the meantime. */
async function onFreePort<T extends { start(): Promise<void>; kill(): Promise<void> }>(create: (port: number) => T): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const server = create(await freePort());
    try {
      await server.start();
      return server;
    } catch (err) {
      lastError = err;
      await server.kill();
      if (!(err instanceof ProcessError && /Address already in use/i.test(err.output))) break;
    }
  }
  throw lastError;
}

/** Starts `file args` (in `netns`) and waits for a stdout line containing `readyLine`. */
function spawnUntilLine(file: string, args: string[], netns: string | undefined, what: string, readyLine: string): Promise<ManagedProcess> {
  return spawnReady(file, args, {
    netns, what, ready: (proc) => proc.stdoutLines().some((line) => line.includes(readyLine)), timeoutMs: 10_000,
  });
}

class RedisProcess implements RedisInstance {
  readonly port: number;
  readonly host: string;
  readonly dir: string;
  readonly password?: string;
  readonly netns?: string;
  /** Set when the dir is ours to remove. */
  readonly #ownedDir: OwnedDir | undefined;
  readonly #tls: StartRedisOptions['tls'];
  #proc: ManagedProcess | undefined;

  constructor(port: number, dir: string, owned: boolean, opts: StartRedisOptions) {
    this.port = port;
    this.dir = dir;
    this.host = opts.bind ?? '127.0.0.1';
    this.#ownedDir = owned ? new OwnedDir(dir) : undefined;
    this.#tls = opts.tls;
    if (opts.password !== undefined) this.password = opts.password;
    if (opts.netns !== undefined) this.netns = opts.netns;
  }

  get url(): string {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`;
    const host = isIPv6(this.host) ? `[${this.host}]` : this.host;
    return `${this.#tls ? 'rediss' : 'redis'}://${auth}${host}:${this.port}/0`;
  }

  get pid(): number {
    if (!this.#proc) throw new Error(`redis on port ${this.port}: not running`);
    return this.#proc.pid;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.#ownedDir?.keep();
    const tls = this.#tls;
    const ports = tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile,
        '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    // Protected mode refuses non-loopback clients without a password; the lab's namespaces are private.
    const args = [...ports, '--bind', this.host, '--protected-mode', 'no', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, '--daemonize', 'no', '--logfile', ''];
    if (this.password !== undefined) args.push('--requirepass', this.password);
    this.#proc = await spawnUntilLine('redis-server', args, this.netns, `redis-server on ${this.host}:${this.port}`, 'Ready to accept connections');
  }

  async stop(): Promise<void> {
    await this.#proc?.stop();
    this.#proc = undefined;
    await this.#ownedDir?.remove();
  }

  async kill(): Promise<void> {
    await this.#proc?.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.#proc?.stop();
    await this.start();
  }
}

class SentinelProcess implements SentinelInstance {
  readonly port: number;
  readonly host: string;
  readonly name: string;
  readonly #dir: OwnedDir;
  readonly #opts: StartSentinelOptions;
  #proc: ManagedProcess | undefined;

  constructor(port: number, dir: string, opts: StartSentinelOptions) {
    this.port = port;
    this.host = opts.master.host;
    this.name = opts.name;
    this.#dir = new OwnedDir(dir);
    this.#dir.keep();
    this.#opts = opts;
  }

  get pid(): number {
    if (!this.#proc) throw new Error(`redis-sentinel on port ${this.port}: not running`);
    return this.#proc.pid;
  }

  async start(): Promise<void> {
    const { master, name } = this.#opts;
    const conf = join(this.#dir.path, 'sentinel.conf');
    const tls = this.#opts.tls;
    await writeFile(conf, [
      ...(tls
        ? ['port 0', `tls-port ${this.port}`, `tls-cert-file ${tls.certFile}`, `tls-key-file ${tls.keyFile}`, `tls-ca-cert-file ${tls.caFile}`, 'tls-auth-clients no', 'tls-replication yes']
        : [`port ${this.port}`]),
      ...(this.#opts.password !== undefined ? [`requirepass ${this.#opts.password}`] : []),
      `bind ${this.host}`, 'protected-mode no', `dir ${this.#dir.path}`, 'logfile ""',
      `sentinel monitor ${name} ${master.host} ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} ${this.#opts.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${name} ${this.#opts.failoverTimeoutMs ?? 5000}`,
      ...(master.password !== undefined ? [`sentinel auth-pass ${name} ${master.password}`] : []),
      '',
    ].join('\n'));
    this.#proc = await spawnUntilLine('redis-sentinel', [conf], master.netns, `redis-sentinel on ${this.host}:${this.port}`, `+monitor master ${name}`);
  }

  async kill(): Promise<void> {
    await this.#proc?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.#proc?.stop();
    this.#proc = undefined;
    await this.#dir.remove();
  }
}

import { mkdir, rm } from 'node:fs/promises';
import { registerCleanup, syncCleanup } from './cleanup-registry.js';
import { freePort } from './free-port.js';
import { ProcessError, spawnManaged, waitUntilReady, type ManagedProcess } from './managed-process.js';
import { makeTempDir } from './temp-dir.js';

/** A real redis-server on 127.0.0.1, private port and dir, no persistence. */
export interface RedisInstance {
  /** `redis://[:password@]127.0.0.1:<port>/0` */
  readonly url: string;
  readonly port: number;
  readonly password?: string;
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
}

const START_ATTEMPTS = 3;

/**
 * Starts `redis-server` with `--save '' --appendonly no` on a free loopback port and waits for
 * "Ready to accept connections". The port is picked by the kernel; if another process grabs it between
 * `freePort()` and the bind, a new port is tried.
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisInstance> {
  const owned = opts.dir === undefined;
  const dir = opts.dir ?? (await makeTempDir('vc-redis-')).path;
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const redis = new RedisProcess(await freePort(), dir, owned, opts.password);
    try {
      await redis.start();
      return redis;
    } catch (err) {
      lastError = err;
      await redis.kill();
      if (!(err instanceof ProcessError && /Address already in use/i.test(err.output))) break;
    }
  }
  if (owned) await rm(dir, { recursive: true, force: true });
  throw lastError;
}

class RedisProcess implements RedisInstance {
  readonly port: number;
  readonly dir: string;
  readonly password?: string;
  readonly #owned: boolean;
  #proc: ManagedProcess | undefined;
  #unregisterDir: (() => void) | undefined;

  constructor(port: number, dir: string, owned: boolean, password: string | undefined) {
    this.port = port;
    this.dir = dir;
    this.#owned = owned;
    if (password !== undefined) this.password = password;
  }

  get url(): string {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`;
    return `redis://${auth}127.0.0.1:${this.port}/0`;
  }

  get pid(): number {
    if (!this.#proc) throw new Error(`redis on port ${this.port}: not running`);
    return this.#proc.pid;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (this.#owned && !this.#unregisterDir) {
      const dir = this.dir;
      this.#unregisterDir = registerCleanup({
        async: () => rm(dir, { recursive: true, force: true }),
        sync: () => syncCleanup.removeDir(dir),
      });
    }
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, '--daemonize', 'no', '--logfile', ''];
    if (this.password !== undefined) args.push('--requirepass', this.password);
    const proc = spawnManaged('redis-server', args);
    this.#proc = proc;
    await waitUntilReady(proc, `redis-server on port ${this.port}`,
      () => proc.stdoutLines().some((line) => line.includes('Ready to accept connections')), 10_000);
  }

  async stop(): Promise<void> {
    await this.#proc?.stop();
    this.#proc = undefined;
    if (this.#owned) {
      await rm(this.dir, { recursive: true, force: true });
      this.#unregisterDir?.();
      this.#unregisterDir = undefined;
    }
  }

  async kill(): Promise<void> {
    await this.#proc?.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.#proc?.stop();
    await this.start();
  }
}

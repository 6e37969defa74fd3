import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BirdClient } from '@vipcontrol/bird';
import { atomicWrite } from './atomic-write.js';
import { birdBinaries, selectedBirdVersion, type BirdBinaries } from './bird-version.js';
import { ProcessError, spawnManaged, unlessExited, waitUntilReady, type ManagedProcess } from './managed-process.js';
import { OwnedDir } from './owned-dir.js';
import { makeTempDir } from './temp-dir.js';

/** A real `bird` process with its own config, control socket and pid file. */
export interface BirdInstance {
  readonly name: string;
  readonly dir: string;
  readonly configPath: string;
  readonly socketPath: string;
  readonly netns?: string;
  /** The BIRD version running, e.g. "3.3.2" (as asked for; BIRD's own banner says the same). */
  readonly version: string;
  /** The binaries of that version (`birdc` for humans poking at a kept lab). */
  readonly binaries: BirdBinaries;
  /**
   * Connected control-socket client. Replaced by `restart()` (a fresh client connects faster than a
   * reconnecting one sitting in its backoff), so read it from the instance each time.
   */
  readonly client: BirdClient;
  readonly pid: number;
  /** BIRD's own log (`log "<dir>/bird.log" all`) is here when the config says so; stderr lines are kept too. */
  stderrLines(): string[];
  /** Atomically replaces bird.conf. Does not reconfigure: send `client.configure()` for that. */
  writeConfig(text: string): Promise<void>;
  /** Graceful shutdown (SIGTERM: BIRD sends Cease to its peers), closes the client, removes an owned dir. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, no Cease sent; the client is closed. `restart()` brings BIRD back. */
  kill(): Promise<void>;
  /** Stops BIRD if it runs (gracefully), starts it again with the current bird.conf, connects a new client. */
  restart(): Promise<void>;
}

export interface StartBirdOptions {
  /** Used in messages and the temp dir name. */
  name: string;
  /** Full bird.conf text. */
  config: string;
  /** Directory for bird.conf, bird.ctl, bird.pid; default: a fresh temp dir removed by `stop()`. */
  dir?: string;
  /** Run BIRD inside this network namespace. The socket stays in `dir`, reachable from the host. */
  netns?: string;
  /** How long to wait for the control socket; default 10 s. */
  startTimeoutMs?: number;
  /** BIRD version to run (see TESTED_BIRD_VERSIONS); default `$VIPCONTROL_BIRD`, else the system's 2.0.12. */
  birdVersion?: string;
}

/**
 * Starts `bird -f -c <dir>/bird.conf -s <dir>/bird.ctl -P <dir>/bird.pid` (optionally inside `netns`),
 * waits for its control socket and connects a `BirdClient`. A config BIRD rejects makes this reject
 * with BIRD's own message (file:line:col) in the error.
 */
export async function startBird(opts: StartBirdOptions): Promise<BirdInstance> {
  const binaries = await birdBinaries(opts.birdVersion ?? selectedBirdVersion());
  const owned = opts.dir === undefined;
  const dir = opts.dir ?? (await makeTempDir(`vc-bird-${opts.name}-`)).path;
  const instance = new BirdProcess(opts.name, dir, owned, opts.netns, opts.startTimeoutMs ?? 10_000, binaries);
  try {
    await instance.writeConfig(opts.config);
    await instance.start();
  } catch (err) {
    await instance.stop();
    throw err;
  }
  return instance;
}

class BirdProcess implements BirdInstance {
  readonly name: string;
  readonly dir: string;
  readonly configPath: string;
  readonly socketPath: string;
  readonly netns?: string;
  readonly binaries: BirdBinaries;
  /** Set when the dir is ours to remove. */
  readonly #ownedDir: OwnedDir | undefined;
  readonly #startTimeoutMs: number;
  #proc: ManagedProcess | undefined;
  #client: BirdClient | undefined;
  /** Last config written, so a restart after `stop()` removed an owned dir can recreate it. */
  #configText = '';

  constructor(name: string, dir: string, owned: boolean, netns: string | undefined, startTimeoutMs: number, binaries: BirdBinaries) {
    this.name = name;
    this.binaries = binaries;
    this.dir = dir;
    this.configPath = join(dir, 'bird.conf');
    this.socketPath = join(dir, 'bird.ctl');
    if (netns !== undefined) this.netns = netns;
    this.#ownedDir = owned ? new OwnedDir(dir) : undefined;
    this.#startTimeoutMs = startTimeoutMs;
  }

  get version(): string {
    return this.binaries.version;
  }

  get client(): BirdClient {
    if (!this.#client) throw new Error(`bird ${this.name}: not running (stopped or killed)`);
    return this.#client;
  }

  get pid(): number {
    if (!this.#proc) throw new Error(`bird ${this.name}: not running`);
    return this.#proc.pid;
  }

  stderrLines(): string[] {
    return this.#proc?.stderrLines() ?? [];
  }

  async writeConfig(text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.#ownedDir?.keep();
    await atomicWrite(this.configPath, text);
    this.#configText = text;
  }

  async start(): Promise<void> {
    // A SIGKILLed BIRD leaves its socket file behind; waiting for the file must not see the stale one.
    await rm(this.socketPath, { force: true });
    if (!(await stat(this.configPath).then(() => true, () => false))) await this.writeConfig(this.#configText);
    const args = ['-f', '-c', this.configPath, '-s', this.socketPath, '-P', join(this.dir, 'bird.pid')];
    const proc = spawnManaged(this.binaries.bird, args, this.netns === undefined ? {} : { netns: this.netns });
    this.#proc = proc;
    await waitUntilReady(proc, `bird ${this.name}`,
      () => stat(this.socketPath).then(() => true, () => false), this.#startTimeoutMs);
    // BIRD creates its control socket before it parses bird.conf, so a config error shows up as a
    // socket that exists for a moment and a process that exits: connect, but give up when it does.
    const client = new BirdClient({ socketPath: this.socketPath });
    try {
      await unlessExited(proc, `bird ${this.name}`, client.connect());
    } catch (err) {
      await client.close();
      // A refused connection is usually BIRD going down on a config error: report that if it is so.
      if (!(err instanceof ProcessError)) await unlessExited(proc, `bird ${this.name}`, sleep(300));
      throw err;
    }
    // The banner is BIRD's word on what runs: a wrong binary behind a version is caught here.
    if (client.version !== this.version) {
      await client.close();
      throw new ProcessError(`bird ${this.name}: asked for BIRD ${this.version}, ${this.binaries.bird} says "${client.banner}"`, this.binaries.bird, '');
    }
    this.#client = client;
  }

  async #closeClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }

  async stop(): Promise<void> {
    await this.#closeClient();
    await this.#proc?.stop();
    this.#proc = undefined;
    await this.#ownedDir?.remove();
  }

  async kill(): Promise<void> {
    await this.#closeClient();
    await this.#proc?.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.#closeClient();
    await this.#proc?.stop();
    await this.start();
  }
}

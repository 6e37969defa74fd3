// A tiny local stand-in for @vipcontrol/testlab's startBird (testlab depends on this package, so
// these tests cannot import it): one real `bird` in a private temp dir with its own control socket.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The BIRD version these tests run: $VIPCONTROL_BIRD, else Debian 12's 2.0.12 (testlab's
 * selectedBirdVersion, which this package cannot import; testlab's bird-matrix test runs this file
 * once per other tested line).
 */
export const BIRD_VERSION = process.env.VIPCONTROL_BIRD || '2.0.12';

/**
 * The `bird` binary of BIRD `version` (testlab's birdBinaries, which this package cannot import):
 * scripts/bird-sbin.sh maps a version to its directory and builds it once per machine when needed.
 */
export function birdBinary(version: string): string {
  const script = fileURLToPath(new URL('../../../../scripts/bird-sbin.sh', import.meta.url));
  return path.join(execFileSync('bash', [script, version], { encoding: 'utf8' }).trim(), 'bird');
}

/** Polls `fn` until it returns something truthy, or throws after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  message: string | (() => string),
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof message === 'string' ? message : message()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A running (or stopped) test BIRD. */
export interface TestBird {
  dir: string;
  configPath: string;
  socketPath: string;
  readonly pid: number | undefined;
  writeConfig(text: string): Promise<void>;
  /** Starts bird and waits until its socket answers. */
  start(): Promise<void>;
  /** Sends a signal; for SIGKILL/SIGTERM waits for the exit. */
  signal(sig: NodeJS.Signals): Promise<void>;
  /** Kills bird and removes the temp dir. Safe to call twice. */
  cleanup(): Promise<void>;
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Creates a temp dir with `config` and starts {@link BIRD_VERSION}'s `bird -f` on a unique socket there. */
export async function startTestBird(config: string): Promise<TestBird> {
  const binary = birdBinary(BIRD_VERSION);
  const dir = await mkdtemp(path.join(tmpdir(), `vcbird-${randomBytes(3).toString('hex')}-`));
  const configPath = path.join(dir, 'bird.conf');
  const socketPath = path.join(dir, 'bird.ctl');
  let child: ChildProcess | undefined;
  let stderr = '';
  const bird: TestBird = {
    dir,
    configPath,
    socketPath,
    get pid() {
      return child?.pid;
    },
    writeConfig: (text) => writeFile(configPath, text),
    async start() {
      stderr = '';
      const proc = spawn(binary, ['-f', '-c', configPath, '-s', socketPath, '-P', path.join(dir, 'bird.pid')], {
        cwd: dir, // relative paths in the config (e.g. `log "bird.log"`) stay in the temp dir
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child = proc;
      await waitFor(
        async () => {
          if (proc.exitCode !== null) throw new Error(`bird exited with ${proc.exitCode}: ${stderr}`);
          return canConnect(socketPath);
        },
        () => `bird on ${socketPath} (stderr: ${stderr})`,
      );
    },
    async signal(sig) {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(sig);
      if (sig === 'SIGKILL' || sig === 'SIGTERM') await exited;
    },
    async cleanup() {
      await bird.signal('SIGCONT');
      await bird.signal('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
  await bird.writeConfig(config);
  await bird.start();
  return bird;
}

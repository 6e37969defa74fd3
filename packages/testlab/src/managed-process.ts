import { execa, type ResultPromise } from 'execa';
import { registerCleanup, syncCleanup } from './cleanup-registry.js';
import { waitFor } from './wait-for.js';

/** A child process failed to start or ended unexpectedly; carries its output for the test log. */
export class ProcessError extends Error {
  override readonly name = 'ProcessError';
  readonly command: string;
  readonly output: string;
  constructor(message: string, command: string, output: string, options?: ErrorOptions) {
    super(output ? `${message}\n--- output of ${command} ---\n${output}` : message, options);
    this.command = command;
    this.output = output;
  }
}

export interface ManagedProcess {
  readonly pid: number;
  readonly command: string;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. Never rejects. */
  readonly exited: Promise<number | null>;
  readonly running: boolean;
  /** Complete stdout lines so far (capped to the last `maxLines`). */
  stdoutLines(): string[];
  /** Complete stderr lines so far (capped). */
  stderrLines(): string[];
  /** Calls `fn` for each new stdout line. */
  onStdoutLine(fn: (line: string) => void): void;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3000); resolves once exited. */
  stop(graceMs?: number): Promise<void>;
  /** Sends `signal` (default SIGKILL) and resolves once exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnOptions {
  /** Run inside this network namespace (`ip netns exec NS …`, which execs in place: same pid). */
  netns?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Lines of stdout/stderr kept in memory; default 5000. */
  maxLines?: number;
}

/**
 * Spawns a long-running child with execa, captures its output line by line without buffering it all,
 * and registers it for last-resort cleanup. The one place the lab starts processes, so BIRD, redis,
 * vipcontrol, viphealth and exabgp share stop/kill/exit semantics.
 */
export function spawnManaged(file: string, args: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, file, ...args]] : [file, [...args]];
  const command = [cmd, ...argv].join(' ');
  const child: ResultPromise = execa(cmd, argv, {
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cwd: opts.cwd,
    env: opts.env,
    // execa's own exit hook kills the child if we die; our registry also covers SIGKILL-free exits.
    cleanup: true,
  });
  if (child.pid === undefined) {
    throw new ProcessError(`failed to spawn ${command}`, command, '');
  }
  const pid = child.pid;
  const maxLines = opts.maxLines ?? 5000;
  const out = lineCollector(maxLines);
  const err = lineCollector(maxLines);
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  let running = true;
  const unregister = registerCleanup({
    async: () => proc.stop(1000),
    sync: () => syncCleanup.killPid(running ? pid : undefined),
  });
  const exited: Promise<number | null> = child.then(
    (result) => {
      running = false;
      unregister();
      out.flush();
      err.flush();
      return result.exitCode ?? null;
    },
  );
  const waitExit = async (graceMs: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const done = await Promise.race([exited.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  };
  const proc: ManagedProcess = {
    pid,
    command,
    exited,
    get running() {
      return running;
    },
    stdoutLines: () => out.lines(),
    stderrLines: () => err.lines(),
    onStdoutLine: (fn) => out.listeners.push(fn),
    async stop(graceMs = 3000) {
      if (!running) return;
      child.kill('SIGTERM');
      if (!(await waitExit(graceMs))) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!running) return;
      child.kill(signal);
      if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') await exited;
    },
  };
  return proc;
}

function lineCollector(maxLines: number) {
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  let partial = '';
  const add = (line: string) => {
    lines.push(line);
    if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
    for (const fn of listeners) fn(line);
  };
  return {
    listeners,
    lines: () => [...lines],
    push(chunk: Buffer) {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) add(line);
    },
    flush() {
      if (partial) add(partial);
      partial = '';
    },
  };
}

/**
 * Settles like `work`, unless the child exits first: then rejects with a ProcessError carrying its
 * output (a bad config makes BIRD exit at once: no point waiting out a timeout, nor connecting to it).
 */
export async function unlessExited<T>(proc: ManagedProcess, what: string, work: Promise<T>): Promise<T> {
  const early = proc.exited.then((code): never => {
    throw new ProcessError(`${what} exited during start-up (exit code ${String(code)})`, proc.command,
      [...proc.stdoutLines(), ...proc.stderrLines()].join('\n'));
  });
  const result = await Promise.race([work, early]);
  // `work` may have won only because it noticed the exit itself (see waitUntilReady).
  if (!proc.running) await early;
  return result;
}

export interface SpawnReadyOptions extends SpawnOptions {
  /** Names the process in errors, e.g. "redis-server on 127.0.0.1:6379". */
  what: string;
  /** Polled until true: the process is ready for use. */
  ready: (proc: ManagedProcess) => Promise<boolean> | boolean;
  timeoutMs: number;
}

/**
 * `spawnManaged` + `waitUntilReady`. A child that does not become ready is SIGKILLed before this
 * rejects, so a failed start leaves nothing running for the caller to clean up.
 */
export async function spawnReady(file: string, args: readonly string[], opts: SpawnReadyOptions): Promise<ManagedProcess> {
  const proc = spawnManaged(file, args, opts);
  try {
    await waitUntilReady(proc, opts.what, () => opts.ready(proc), opts.timeoutMs);
  } catch (err) {
    await proc.kill('SIGKILL');
    throw err;
  }
  return proc;
}

/** Polls `ready()` until truthy, failing fast (ProcessError) if the child exits meanwhile. */
export async function waitUntilReady(
  proc: ManagedProcess,
  what: string,
  ready: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  await unlessExited(proc, what, waitFor(async () => !proc.running || (await ready()) || undefined, {
    timeoutMs,
    intervalMs: 10,
    message: what,
  }));
}

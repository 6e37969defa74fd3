/**
 * Runs a command for an exec check or a hook, and settles on time whatever the command does.
 *
 * - Own process group (detached): the timeout SIGKILLs the whole group, so a shell script's children
 *   do not pile up one generation per interval (ExaBGP's healthcheck does the same with killpg).
 * - The run ends at the timeout even if something outside the group (`setsid`, a self-daemonising
 *   helper, GNU `timeout` in a script) still holds the output pipes: the pipes are closed on our side
 *   and the result is returned; waiting for them to close is what let a 500 ms timeout take 15 s.
 * - After the command exits, its output is read for at most OUTPUT_GRACE_MS more, then the same.
 * - Output is always read (so a command printing 600 KB never blocks or dies of SIGPIPE); only the
 *   last KEEP_OUTPUT_BYTES are kept as evidence, the rest is discarded as it arrives.
 * - A clean environment (COMMAND_ENV plus the caller's variables), not viphealth's (NODE_OPTIONS…).
 * - Without viphealth's supplementary groups (`bird`, `vipcontrol`): the command is started through
 *   `setpriv --clear-groups` when the daemon has any (see exec-identity.ts).
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { execWrapper } from './exec-identity.js';
import { elapsed, errorText } from './probe.js';

/** Evidence kept from a command's output (the last bytes); the rest is read and dropped. */
export const KEEP_OUTPUT_BYTES = 64 * 1024;

/** How long output is still read after the command exited, before the pipes are closed on our side. */
const OUTPUT_GRACE_MS = 100;

/** The environment of every exec check and hook (documented in docs/health.md). */
export const COMMAND_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
};

export interface CommandResult {
  /** Exit code of the command (absent when killed by a signal, timed out or never started). */
  readonly exitCode?: number;
  readonly signal?: string;
  readonly timedOut: boolean;
  /** Could not be started (ENOENT, EACCES). */
  readonly error?: string;
  /** The last KEEP_OUTPUT_BYTES of stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  readonly latencyMs: number;
}

export function runCommand(opts: { argv: readonly string[]; timeoutMs: number; env?: Readonly<Record<string, string>> }): Promise<CommandResult> {
  const start = performance.now();
  const [file, ...args] = [...execWrapper(), ...opts.argv];
  return new Promise((resolve) => {
    const child = spawn(file!, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...COMMAND_ENV, ...opts.env } });
    let kept: Buffer[] = [];
    let keptBytes = 0;
    const keep = (chunk: Buffer) => {
      kept.push(chunk);
      keptBytes += chunk.length;
      while (keptBytes - kept[0]!.length >= KEEP_OUTPUT_BYTES) keptBytes -= kept.shift()!.length;
    };
    const streams = [child.stdout, child.stderr] as Readable[];
    for (const s of streams) s.on('data', keep);
    let open = streams.length;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;

    const finish = (result: Omit<CommandResult, 'output' | 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      // Whatever still holds the pipes (a setsid grandchild) gets EPIPE from now on; it is not ours to wait for.
      for (const s of streams) s.destroy();
      const all = Buffer.concat(kept);
      kept = [];
      resolve({ ...result, output: all.subarray(Math.max(0, all.length - KEEP_OUTPUT_BYTES)).toString('utf8'), latencyMs: elapsed(start) });
    };
    const exited = () => {
      const { code, signal } = exit!;
      finish({ timedOut: false, ...(code !== null && { exitCode: code }), ...(signal !== null && { signal }) });
    };
    for (const s of streams) {
      s.once('close', () => {
        if (--open === 0 && exit) exited();
      });
    }
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      if (open === 0) exited();
      else grace = setTimeout(exited, OUTPUT_GRACE_MS);
    });
    child.once('error', (err) => {
      killGroup(child.pid);
      finish({ timedOut: false, error: errorText(err) });
    });
    const deadline = setTimeout(() => {
      killGroup(child.pid);
      if (exit) exited();
      else finish({ timedOut: true });
    }, opts.timeoutMs);
  });
}

/** SIGKILLs a whole process group; the group may already be gone, which is fine. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * `exec`: runs an argv (no shell unless the config says `shell: true`) and passes on exit code 0.
 *
 * The command runs in its own process group (detached) so that a timeout kills everything it started:
 * a shell script's children would otherwise outlive the kill, keep the output pipes open and pile up
 * one generation per interval (ExaBGP's healthcheck does the same with setpgrp + killpg).
 *
 * execa is imported only when a config has an exec check (or a hook): it costs ~15 MB of RSS, a
 * quarter of viphealth's footprint, which a config of tcp/process checks never needs.
 */
import type { execa } from 'execa';
import { elapsed, errorText, lastLine, type Probe, type ProbeResult } from './probe.js';

/** Output beyond this is dropped: the detail line is all we keep. */
const MAX_OUTPUT = 64 * 1024;

type ExecaModule = { readonly execa: typeof execa };
let execaModule: Promise<ExecaModule> | undefined;

/** execa, loaded once on first need (see above). */
export function loadExeca(): Promise<ExecaModule> {
  execaModule ??= import('execa');
  return execaModule;
}

export class ExecProbe implements Probe {
  readonly #file: string;
  readonly #args: readonly string[];

  constructor(opts: { command: readonly string[]; shell: boolean }) {
    const [file, ...args] = opts.command;
    if (file === undefined) throw new TypeError('exec probe needs a command');
    [this.#file, this.#args] = opts.shell ? ['/bin/sh', ['-c', file]] : [file, args];
    // Loading now, not on the first run, keeps the import's ~50 ms out of the first result's latency.
    void loadExeca();
  }

  async run(timeoutMs: number): Promise<ProbeResult> {
    const { execa: run } = await loadExeca();
    const start = performance.now();
    const child = run(this.#file, this.#args, {
      detached: true,
      reject: false,
      stdin: 'ignore',
      all: true,
      maxBuffer: MAX_OUTPUT,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    const result = await child;
    clearTimeout(timer);
    const latencyMs = elapsed(start);
    const output = lastLine(typeof result.all === 'string' ? result.all : '');
    if (timedOut) {
      return { ok: false, latencyMs, error: 'timeout', detail: `killed after ${timeoutMs} ms${output ? `: ${output}` : ''}` };
    }
    if (result.failed && result.exitCode === undefined) {
      // Never started (ENOENT, EACCES), too much output (execa killed the leader only), or killed
      // by a signal from elsewhere: make sure nothing of the group lingers.
      killGroup(child.pid);
      const why = result.signal ?? errorText(result.cause ?? result.shortMessage);
      return { ok: false, latencyMs, error: why, detail: why };
    }
    const exitCode = result.exitCode ?? -1;
    return { ok: exitCode === 0, latencyMs, exitCode, detail: output || `exit code ${exitCode}` };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
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

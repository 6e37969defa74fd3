/**
 * `exec`: runs an argv (no shell unless the config says `shell: true`) and passes on exit code 0.
 * run-command.ts bounds the run by the timeout whatever the command does, reads all its output and
 * keeps the last line as evidence, and gives it a clean environment without viphealth's groups.
 */
import { lastLine, type Probe, type ProbeResult } from './probe.js';
import { runCommand } from './run-command.js';

export class ExecProbe implements Probe {
  readonly #argv: readonly string[];
  readonly #env: Readonly<Record<string, string>>;

  constructor(opts: { name?: string; command: readonly string[]; shell: boolean }) {
    const [file] = opts.command;
    if (file === undefined) throw new TypeError('exec probe needs a command');
    this.#argv = opts.shell ? ['/bin/sh', '-c', file] : opts.command;
    this.#env = opts.name === undefined ? {} : { VIPHEALTH_CHECK: opts.name };
  }

  async run(timeoutMs: number): Promise<ProbeResult> {
    const r = await runCommand({ argv: this.#argv, timeoutMs, env: this.#env });
    const output = lastLine(r.output);
    if (r.timedOut) return { ok: false, latencyMs: r.latencyMs, error: 'timeout', detail: `killed after ${timeoutMs} ms${output ? `: ${output}` : ''}` };
    if (r.exitCode === undefined) {
      // Never started (ENOENT, EACCES) or killed by a signal from elsewhere.
      const why = r.error ?? `killed by ${r.signal ?? 'a signal'}`;
      return { ok: false, latencyMs: r.latencyMs, error: why, detail: output ? `${why}: ${output}` : why };
    }
    return { ok: r.exitCode === 0, latencyMs: r.latencyMs, exitCode: r.exitCode, detail: output || `exit code ${r.exitCode}` };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

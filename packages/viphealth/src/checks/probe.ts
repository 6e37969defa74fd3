import { readFileSync } from 'node:fs';

/**
 * A probe runs one check once. The scheduler owns timing, hysteresis and reporting; a probe only
 * answers "did it pass, how long did it take, and why" — the evidence logged with every transition.
 */

/** The outcome of one probe run. */
export interface ProbeResult {
  readonly ok: boolean;
  /** Wall time of the run, in milliseconds. */
  readonly latencyMs: number;
  /** One printable line: what was seen ("connected", "status 503", "pid 42 is a zombie"). */
  readonly detail: string;
  /** exec checks: the exit code (absent when killed by a signal or never started). */
  readonly exitCode?: number;
  /** Set when the probe could not complete (timeout, refused, ENOENT…). */
  readonly error?: string;
}

export interface Probe {
  /** Runs the check once; never rejects (a failure is a result), and settles within about `timeoutMs`. */
  run(timeoutMs: number): Promise<ProbeResult>;
  /** Releases long-lived resources (a BIRD connection). */
  close(): Promise<void>;
  /** Files the probe read when it was built (an HTTP check's CA); absent when it reads none. */
  readonly setupFiles?: SetupFiles;
}

/**
 * The files a probe read at set-up, with the content it uses, so that a reload can tell a file rotated
 * in place (same path, new content) and build the probe afresh — without knowing which probe reads what.
 */
export class SetupFiles {
  readonly #read = new Map<string, Buffer>();

  /** Reads `path` (throws as readFileSync does: a missing file is a config error at (re)load). */
  read(path: string): Buffer {
    const content = readFileSync(path);
    this.#read.set(path, content);
    return content;
  }

  /** Whether a file's content is no longer what the probe uses, or the file can no longer be read. */
  changed(): boolean {
    for (const [path, content] of this.#read) {
      try {
        if (!readFileSync(path).equals(content)) return true;
      } catch {
        return true; // unreadable now: the rebuild reads it again and fails the reload with the reason
      }
    }
    return false;
  }
}

/** Milliseconds since `start` (from performance.now()), rounded to 0.01 ms. */
export function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
}

/** A short error description: the code when there is one ("ECONNREFUSED"), else the message. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Keeps the last non-empty line of command output, at most 200 characters. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.at(-1) ?? '').slice(0, 200);
}

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

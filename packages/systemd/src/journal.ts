/**
 * journald priorities for pino's JSON lines: with stdout connected to the journal, systemd reads a
 * `<N>` prefix on each line as its syslog priority (SyslogLevelPrefix=, on by default) and strips it,
 * so `journalctl -p err -u vipcontrol` finds error and fatal lines. Only when JOURNAL_STREAM says stdout
 * is the journal: a terminal or a test capturing stdout sees plain JSON.
 */
import { fstatSync } from 'node:fs';

/** pino level label → syslog priority (sd-daemon.h's SD_* values). */
const PRIORITY: Readonly<Record<string, number>> = {
  fatal: 2, // SD_CRIT
  error: 3, // SD_ERR
  warn: 4, // SD_WARNING
  info: 6, // SD_INFO
  debug: 7, // SD_DEBUG
  trace: 7,
};

/** The `<N>` prefix for a pino line whose level is written as a label first (`{"level":"error",…`). */
export function journalPriorityPrefix(line: string): string {
  const label = /^\{"level":"([a-z]+)"/.exec(line)?.[1];
  const priority = label === undefined ? undefined : PRIORITY[label];
  return priority === undefined ? '' : `<${priority}>`;
}

/** Where lines go: pino's own destination (SonicBoom) or any stream with write(). */
export interface LineSink {
  write(chunk: string): unknown;
}

/**
 * A pino destination: each line written through as is, prefixed with its priority. pino writes whole
 * lines, one per call.
 */
export class JournalPriorityStream implements LineSink {
  readonly #out: LineSink;

  constructor(out: LineSink) {
    this.#out = out;
  }

  write(line: string): void {
    this.#out.write(journalPriorityPrefix(line) + line);
  }

  /**
   * True when `fd` is the journal stream systemd connected: JOURNAL_STREAM holds its "device:inode"
   * (systemd.exec(5)), so a redirected stdout is told apart.
   */
  static wanted(env: Readonly<Record<string, string | undefined>> = process.env, fd = 1): boolean {
    const stream = env['JOURNAL_STREAM'];
    if (!stream) return false;
    try {
      const st = fstatSync(fd);
      return stream === `${st.dev}:${st.ino}`;
    } catch {
      return false; // fd closed: nothing to prefix for
    }
  }
}

/** `out` itself, or `out` with priority prefixes when it is stdout and stdout is the journal. */
export function forJournal(out: LineSink, env: Readonly<Record<string, string | undefined>> = process.env): LineSink {
  return JournalPriorityStream.wanted(env, 1) ? new JournalPriorityStream(out) : out;
}

/** The daemon's one root logger: pino JSON lines on stdout; components take `child({ component })`. */
import { forJournal } from '@vipcontrol/systemd';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Creates the root logger. `event` keys are stable (operators alert on them); `msg` is for humans.
 * Tests pass their own destination to capture lines.
 */
export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, program: 'vipcontrol' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Under systemd each line carries its journald priority (journalctl -p err finds failed applies).
    opts.destination ?? forJournal(pino.destination({ dest: 1, sync: true })),
  );
}

/** viphealth's one root logger: pino JSON lines on stdout; schedulers take `child({ component, check })`. */
import { forJournal } from '@vipcontrol/systemd';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Creates the root logger; tests pass their own destination to capture lines. */
export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, program: 'viphealth' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Under systemd each line carries its journald priority (journalctl -p err finds failed applies).
    opts.destination ?? forJournal(pino.destination({ dest: 1, sync: true })),
  );
}

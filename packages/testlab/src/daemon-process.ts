import { spawnReady, type ManagedProcess } from './managed-process.js';
import { unixHttpRequest } from './unix-http.js';

/** vipcontrol or viphealth, running in a lab node's namespace (or on the host: `startLoopbackVipcontrol`). */
export interface DaemonProcess {
  readonly pid: number;
  /** vipcontrol: its API socket. viphealth: the vipcontrol API socket it reports to. */
  readonly apiSocket: string;
  readonly configPath: string;
  /** The daemon's stdout (pino JSON lines), oldest first. */
  logs(): string[];
  /** Calls `fn` for each new stdout line (e.g. to tee the log to a file). */
  onLogLine(fn: (line: string) => void): void;
  /** `logs()` parsed; lines that are not JSON are skipped. */
  logEntries(): Record<string, unknown>[];
  /** The daemon's stderr lines (a crash's stack trace lands here). */
  stderr(): string[];
  /** SIGTERM, SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Default SIGKILL. For SIGKILL/SIGTERM/SIGINT resolves once exited; for others (SIGHUP) once sent. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Exit code, or null when it died of a signal. */
  readonly exited: Promise<number | null>;
}

export interface StartDaemonOptions {
  /** Absolute path of the program's bin shim. */
  bin: string;
  configPath: string;
  apiSocket: string;
  /** The network namespace to run in; none: the host's (a daemon on loopback, as the benchmarks run it). */
  netns?: string;
  /** Resolves true once the daemon is ready. */
  ready: (proc: ManagedProcess) => Promise<boolean> | boolean;
  what: string;
  startTimeoutMs?: number;
  /** Argv the daemon is started through, e.g. `['setpriv', '--groups', '1,2', '--']` (tests of its identity). */
  wrapper?: readonly string[];
}

/** Spawns `[ip netns exec NS] node BIN --config FILE` and waits for `ready`. */
export async function startDaemon(opts: StartDaemonOptions): Promise<DaemonProcess> {
  const [cmd, ...args] = [...(opts.wrapper ?? []), process.execPath, opts.bin, '--config', opts.configPath];
  const proc = await spawnReady(cmd!, args, {
    netns: opts.netns, what: opts.what, ready: opts.ready, timeoutMs: opts.startTimeoutMs ?? 15_000,
  });
  return {
    pid: proc.pid,
    apiSocket: opts.apiSocket,
    configPath: opts.configPath,
    logs: () => proc.stdoutLines(),
    onLogLine: (fn) => proc.onStdoutLine(fn),
    logEntries: () => proc.stdoutLines().flatMap((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        return parsed !== null && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
      } catch {
        return []; // a non-JSON line (e.g. a warning printed by node itself) is not a log entry
      }
    }),
    stderr: () => proc.stderrLines(),
    stop: () => proc.stop(5000),
    kill: (signal) => proc.kill(signal),
    exited: proc.exited,
  };
}

/** Readiness of vipcontrol: its API socket answers `GET /v1/status` with 200. */
export async function apiAnswers(socket: string): Promise<boolean> {
  try {
    const res = await unixHttpRequest(socket, { path: '/v1/status', timeoutMs: 2000 });
    return res.status === 200;
  } catch {
    return false; // socket not there yet, or not accepting: keep polling
  }
}

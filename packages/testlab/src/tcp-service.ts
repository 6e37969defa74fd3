import { spawnReady } from './managed-process.js';

/**
 * A stand-in for a node's BGP-terminating service: a TCP listener on `[::]:port` (dual-stack, so
 * 127.0.0.1 and the VIPs reach it too) in a lab namespace, for viphealth's `tcp` checks to probe.
 * Accepted connections are closed at once: a check only needs the handshake.
 */
export interface TcpService {
  readonly pid: number;
  readonly netns: string;
  readonly port: number;
  /** Default SIGKILL ("the service crashed"); resolves once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM, SIGKILL after 1 s; resolves once it is gone. */
  stop(): Promise<void>;
  /** Exit code, or null when it died of a signal. */
  readonly exited: Promise<number | null>;
}

// CommonJS (`node -e`): argv[1] is the port. "listening" on stdout is the readiness signal.
const SCRIPT = [
  "const server = require('node:net').createServer((c) => { c.on('error', () => c.destroy()); c.end(); });",
  "server.listen({ host: '::', port: Number(process.argv[1]) }, () => console.log('listening'));",
].join('\n');

/** Starts the listener in `netns` (a lab host's namespace) and resolves once it accepts connections. */
export async function startTcpService(opts: { netns: string; port: number; startTimeoutMs?: number }): Promise<TcpService> {
  const proc = await spawnReady(process.execPath, ['-e', SCRIPT, String(opts.port)], {
    netns: opts.netns,
    what: `tcp service on port ${opts.port} in ${opts.netns}`,
    ready: (p) => p.stdoutLines().includes('listening'),
    timeoutMs: opts.startTimeoutMs ?? 10_000,
  });
  return {
    pid: proc.pid,
    netns: opts.netns,
    port: opts.port,
    kill: (signal) => proc.kill(signal),
    stop: () => proc.stop(1000),
    exited: proc.exited,
  };
}

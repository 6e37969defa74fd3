/**
 * A stand-in for a node's BGP-terminating service, for the lab tests and the benchmark: an HTTP server
 * (so tcp, http and process checks can all watch it) in a lab namespace, writing its pid to a pidfile
 * once it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { waitFor } from './wait-for.js';

export interface Service {
  readonly pid: number;
  /** When it started listening (the pidfile's mtime, epoch ms). */
  readonly readyAt: number;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(): Promise<void>;
}

const SCRIPT = `
const [port, pidfile] = process.argv.slice(1);
require('node:http').createServer((req, res) => res.end('ok\\n')).listen(Number(port), '127.0.0.1', () => {
  require('node:fs').writeFileSync(pidfile, String(process.pid));
});`;

/** Starts the service in `netns` (`ip netns exec` execs into node, so the pid is the service itself). */
export async function startService(host: { netns: string }, port: number, pidfile: string): Promise<Service> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', host.netns, process.execPath, '-e', SCRIPT, String(port), pidfile], {
    stdio: 'ignore',
  });
  const exited = once(child, 'exit');
  const pid = child.pid!;
  await waitFor(async () => Number(await readFile(pidfile, 'utf8').catch(() => '')) === pid, {
    intervalMs: 2,
    message: `service listening on ${port} in ${host.netns}`,
  });
  const readyAt = (await stat(pidfile)).mtimeMs;
  return {
    pid,
    readyAt,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

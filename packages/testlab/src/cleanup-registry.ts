/**
 * Last-resort cleanup when a test process dies without calling `destroy()`: a failed assertion that
 * skips `after()`, Ctrl-C, or the test runner's SIGTERM on timeout. Every lab, BIRD, redis and daemon
 * registers here; on SIGINT/SIGTERM the async cleanups run (bounded), and on `exit` the synchronous
 * ones (SIGKILL the pids, `ip netns del`, rm -rf) so nothing outlives the run.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface CleanupEntry {
  /** Orderly teardown, used on SIGINT/SIGTERM. */
  async(): Promise<void>;
  /** Must not throw and must not wait: runs inside process.on('exit'). */
  sync(): void;
}

const entries = new Set<CleanupEntry>();
let hooksInstalled = false;
const SIGNAL_CLEANUP_BUDGET_MS = 5_000;

/** Registers `entry`; the returned function unregisters it (call it once the resource is gone). */
export function registerCleanup(entry: CleanupEntry): () => void {
  installHooks();
  entries.add(entry);
  return () => {
    entries.delete(entry);
  };
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => {
    // Newest first: daemons registered after their lab die before the lab's namespaces go.
    for (const entry of [...entries].reverse()) entry.sync();
    entries.clear();
  });
  let exiting = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // `on`, not `once`: execa's signal-exit re-raises the signal (killing us before any cleanup) when
    // it finds itself the only listener left, which a spent `once` listener would make it believe.
    process.on(signal, () => {
      if (exiting) return;
      exiting = true;
      const code = signal === 'SIGINT' ? 130 : 143;
      const all = Promise.allSettled([...entries].reverse().map((entry) => entry.async()));
      const budget = new Promise((resolve) => setTimeout(resolve, SIGNAL_CLEANUP_BUDGET_MS).unref());
      // Whatever the async path left behind, the exit hook's sync pass removes.
      void Promise.race([all, budget]).finally(() => process.exit(code));
    });
  }
}

/** Synchronous helpers for `CleanupEntry.sync` implementations. Each swallows "already gone" only. */
export const syncCleanup = {
  killPid(pid: number | undefined): void {
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') reportSyncFailure(`kill ${pid}`, err);
    }
  },
  deleteNetns(name: string): void {
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
    } catch (err) {
      // Exit status 1 with "No such file" means it is already gone; anything else is reported.
      if ((err as { status?: number }).status !== 1) reportSyncFailure(`ip netns delete ${name}`, err);
    }
  },
  removeDir(path: string): void {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (err) {
      reportSyncFailure(`rm -rf ${path}`, err);
    }
  },
};

function reportSyncFailure(what: string, err: unknown): void {
  // An exit hook cannot throw usefully; stderr is the only place left to say what leaked.
  process.stderr.write(`testlab cleanup: ${what} failed: ${err instanceof Error ? err.message : String(err)}\n`);
}

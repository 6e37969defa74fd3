import { rm } from 'node:fs/promises';
import { registerCleanup, syncCleanup } from './cleanup-registry.js';

/**
 * A directory an instance (BIRD, redis-server, redis-sentinel) created and must remove: kept in the
 * last-resort cleanup registry while it exists, so a test process that dies before `stop()` leaves
 * nothing behind. Can be kept again after `remove()` (a restart after `stop()` recreates the dir).
 */
export class OwnedDir {
  readonly path: string;
  #unregister: (() => void) | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Registers the dir for last-resort cleanup; a no-op while it is registered. */
  keep(): void {
    const path = this.path;
    this.#unregister ??= registerCleanup({
      async: () => rm(path, { recursive: true, force: true }),
      sync: () => syncCleanup.removeDir(path),
    });
  }

  /** Removes the dir and everything in it, then its registration; safe to call twice. */
  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
    this.#unregister?.();
    this.#unregister = undefined;
  }
}

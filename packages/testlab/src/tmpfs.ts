import { execFileSync } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { registerCleanup } from './cleanup-registry.js';
import { runChecked, run } from './netns.js';

/**
 * A small tmpfs mounted on a directory of a test's own (a node's state dir), for disk-full faults:
 * `fill()` writes a filler file until the kernel says ENOSPC, `free()` removes it. Mounted in the
 * host's mount namespace, so daemons started afterwards in a lab namespace (`ip netns exec` keeps the
 * host's mounts) see it. Unmounted by `unmount()`, or by the last-resort cleanup on any exit.
 */
export class Tmpfs {
  readonly path: string;
  readonly #filler: string;
  #unregister: (() => void) | undefined;

  private constructor(path: string) {
    this.path = path;
    this.#filler = join(path, '.soak-filler');
  }

  /** Creates `path` if needed and mounts a tmpfs of `sizeKiB` on it. */
  static async mount(path: string, sizeKiB: number): Promise<Tmpfs> {
    await mkdir(path, { recursive: true });
    const fs = new Tmpfs(path);
    // Registered first: a crash between mount and return must not leave the mount behind.
    fs.#unregister = registerCleanup({ async: () => fs.unmount(), sync: () => lazyUnmountSync(path) });
    try {
      await runChecked('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', path]);
    } catch (err) {
      fs.#unregister();
      throw err;
    }
    return fs;
  }

  /** Fills the filesystem: big writes, then smaller ones, until even one byte gets ENOSPC. */
  async fill(): Promise<void> {
    const handle = await open(this.#filler, 'a');
    try {
      for (const size of [65_536, 4096, 1]) {
        const chunk = Buffer.alloc(size, 0x5a);
        for (;;) {
          try {
            await handle.write(chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      }
    } finally {
      await handle.close();
    }
  }

  /** Removes the filler: the space is back. */
  async free(): Promise<void> {
    await rm(this.#filler, { force: true });
  }

  /** Unmounts (lazily if something still holds it open); safe to call twice. */
  async unmount(): Promise<void> {
    if (!this.#unregister) return;
    const result = await run('umount', [this.path]);
    if (result.exitCode !== 0 && !/not mounted/.test(result.stderr)) await runChecked('umount', ['-l', this.path]);
    this.#unregister();
    this.#unregister = undefined;
  }
}

function lazyUnmountSync(path: string): void {
  try {
    execFileSync('umount', ['-l', path], { stdio: 'ignore' });
  } catch (err) {
    // Exit status 32 = not mounted (already gone); anything else leaked a mount: say so.
    if ((err as { status?: number }).status !== 32) {
      process.stderr.write(`testlab cleanup: umount -l ${path} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

/**
 * Crash-safe file replacement, shared by the state file and the BIRD include file.
 *
 * A reader (BIRD on `configure`, the daemon on start-up) must only ever see the old or the new
 * content, never a torn write: write a temp file in the SAME directory (rename is atomic only within
 * one filesystem), fsync it, rename over the target, then fsync the directory so the rename itself
 * survives a power cut.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Failure to read or replace a managed file; `path` names it. */
export class AtomicFileError extends Error {
  readonly path: string;
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AtomicFileError';
    this.path = path;
  }
}

/**
 * Atomically replaces `path` with `data` (mode applies to the new file). With `syncDir: false` the
 * rename is visible but not yet durable: the caller must `syncParentDir(path)` before relying on it
 * surviving a power cut (the BIRD include: BIRD reads it at once, durability is needed only before
 * the apply is confirmed). Readers see the old or the new content either way.
 */
export async function writeFileAtomic(path: string, data: string, opts: { mode?: number; syncDir?: boolean } = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx', opts.mode ?? 0o644);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (cause) {
    await unlink(temp).catch(() => undefined); // best effort: the temp file may not exist yet
    throw new AtomicFileError(`cannot write ${path}: ${(cause as Error).message}`, path, { cause });
  }
  if (opts.syncDir ?? true) await syncParentDir(path);
}

/** Removes `path` (absent is fine) and makes the removal durable. */
export async function removeFileDurably(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new AtomicFileError(`cannot remove ${path}: ${(cause as Error).message}`, path, { cause });
  }
  await syncParentDir(path);
}

/** Reads a UTF-8 file; `undefined` when it does not exist (first run). */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AtomicFileError(`cannot read ${path}: ${(cause as Error).message}`, path, { cause });
  }
}

/** Makes a rename or removal of `path` durable: fsync of its directory. */
export async function syncParentDir(path: string): Promise<void> {
  try {
    const handle = await open(dirname(path), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new AtomicFileError(`cannot fsync directory of ${path}: ${(cause as Error).message}`, path, { cause });
  }
}

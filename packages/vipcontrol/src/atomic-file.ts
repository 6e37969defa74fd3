/**
 * Crash-safe file replacement, shared by the state file and the BIRD include file.
 *
 * A reader (BIRD on `configure`, the daemon on start-up) must only ever see the old or the new
 * content, never a torn write: write a temp file in the SAME directory (rename is atomic only within
 * one filesystem), fsync it, rename over the target, then fsync the directory so the rename itself
 * survives a power cut.
 */
import { constants } from 'node:fs';
import { open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
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
 * A file's content: one string, or pieces that concatenated are it (e.g. core's
 * renderBirdIncludeParts), written as they are rather than first flattened into one string.
 */
export type FileText = string | readonly string[];

/** Whether `a` and `b` are the same content (undefined: no file). Pieces are compared piece by piece. */
export function sameText(a: FileText | undefined, b: FileText | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (typeof a === 'string' || typeof b === 'string') return textOf(a) === textOf(b);
  return a.length === b.length ? a.every((part, i) => part === b[i]) : textOf(a) === textOf(b);
}

/** The content as one string. */
export function textOf(text: FileText): string {
  return typeof text === 'string' ? text : text.join('');
}

/** Options of writeFileAtomic. */
export interface AtomicWriteOptions {
  /** Mode of the new file (default 0644), set with fchmod: the process umask does not cut it. */
  readonly mode?: number;
  /**
   * Keep the replaced file's mode and group when it exists (`mode` applies only to a new file): an
   * operator's `chgrp bird` / `chmod 0640` on a file another daemon reads survives every rewrite.
   */
  readonly keepAttributes?: boolean;
  /** False: the caller fsyncs the directory itself (see writeFileAtomic). Default true. */
  readonly syncDir?: boolean;
  /**
   * Called once the file system has taken the data (a full disk fails before), while the fsync and
   * rename are still to come: a caller may then act on the content, holding back what needs it durable.
   */
  readonly onWritten?: () => void;
}

/**
 * Atomically replaces `path` with `data`. With `syncDir: false` the rename is visible but not yet
 * durable: the caller must `syncParentDir(path)` before relying on it surviving a power cut (the BIRD
 * include: BIRD reads it at once, durability is needed only before the apply is confirmed). Readers
 * see the old or the new content either way.
 */
export async function writeFileAtomic(path: string, data: FileText, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    // The target's attributes are read while the temp file is made (one round trip less per write).
    const [attributes, opened] = await Promise.allSettled([targetAttributes(path, opts), open(temp, 'wx', opts.mode ?? 0o644)]);
    if (opened.status === 'rejected') throw opened.reason;
    const handle = opened.value;
    try {
      if (attributes.status === 'rejected') throw attributes.reason;
      const target = attributes.value;
      // open()'s mode is cut by the umask (the unit's UMask=0027 turns 0644 into 0640, which BIRD,
      // another user, may not read): set it explicitly. Group before mode: chown may clear setgid bits.
      // Each only when needed: fstat costs nothing, chown and chmod are journalled metadata writes.
      const made = await handle.stat();
      const regroup = target.gid !== undefined && target.gid !== made.gid;
      if (regroup) await handle.chown(-1, target.gid!);
      if (regroup || (made.mode & 0o7777) !== target.mode) await handle.chmod(target.mode);
      if (typeof data === 'string') await handle.writeFile(data, 'utf8');
      else await writeParts(handle, data);
      opts.onWritten?.();
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

/** Writes the pieces with one writev; a short write (possible, if rare) is finished with plain writes. */
async function writeParts(handle: FileHandle, parts: readonly string[]): Promise<void> {
  const buffers = parts.map((part) => Buffer.from(part, 'utf8'));
  const total = buffers.reduce((n, b) => n + b.length, 0);
  let written = (await handle.writev(buffers)).bytesWritten;
  if (written === total) return;
  const rest = Buffer.concat(buffers).subarray(written);
  for (let at = 0; at < rest.length; at += written) written = (await handle.write(rest, at)).bytesWritten;
}

/** The mode (and, kept from the replaced file, the group) the new file gets. */
async function targetAttributes(path: string, opts: AtomicWriteOptions): Promise<{ mode: number; gid?: number }> {
  const mode = opts.mode ?? 0o644;
  if (!opts.keepAttributes) return { mode };
  try {
    const old = await stat(path);
    return { mode: old.mode & 0o7777, gid: old.gid };
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { mode };
    throw cause;
  }
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

/**
 * Like readFileIfExists, for a file another program may have replaced by anything: opened
 * non-blocking (a FIFO would block the open, and every apply and SIGTERM after it, forever) and
 * refused unless it is a regular file.
 */
export async function readRegularFileIfExists(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AtomicFileError(`cannot read ${path}: ${(cause as Error).message}`, path, { cause });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new AtomicFileError(`${path} is not a regular file (${fileKind(info)}); remove it or point the setting elsewhere`, path);
    return await handle.readFile('utf8');
  } catch (cause) {
    if (cause instanceof AtomicFileError) throw cause;
    throw new AtomicFileError(`cannot read ${path}: ${(cause as Error).message}`, path, { cause });
  } finally {
    await handle.close();
  }
}

function fileKind(info: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return info.isCharacterDevice() || info.isBlockDevice() ? 'a device' : 'not a plain file';
}

/**
 * Removes the temp files writeFileAtomic leaves for `path` when the process dies between creating
 * and renaming one; returns their names. Only this process writes `path`, so none is in use at start.
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.tmp-`;
  const stale = (await readdir(dirname(path))).filter((name) => name.startsWith(prefix));
  for (const name of stale) await unlink(join(dirname(path), name));
  return stale;
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

/**
 * Crash-safe file replacement, shared by the state file and the BIRD include file.
 *
 * A reader (BIRD on `configure`, the daemon on start-up) must only ever see the old or the new
 * content, never a torn write: write a temp file in the SAME directory (rename is atomic only within
 * one filesystem), fsync it, rename over the target, then fsync the directory so the rename itself
 * survives a power cut.
 *
 * The replacement's calls that only touch the page cache and metadata (open, fstat, fchmod, write,
 * close, rename) are synchronous: each takes microseconds, while a round trip through libuv's thread
 * pool costs ~0.1 ms and, several in flight, threads competing for the CPU — on the path from an
 * operator's request to BIRD's `configure` (core benchmark: 1-VIP p99 ~15 % lower). The fsyncs, which
 * wait for the disk, stay asynchronous.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsync, openSync, renameSync, statSync, unlinkSync, writeSync, writevSync } from 'node:fs';
import { open, readFile, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

const fsyncFd = promisify(fsync);

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
  let fd: number | undefined;
  try {
    const target = targetAttributes(path, opts);
    fd = openSync(temp, 'wx', opts.mode ?? 0o644);
    // open()'s mode is cut by the umask (the unit's UMask=0027 turns 0644 into 0640, which BIRD,
    // another user, may not read): set it explicitly. Group before mode: chown may clear setgid bits.
    // Each only when needed: fstat costs nothing, chown and chmod are journalled metadata writes.
    const made = fstatSync(fd);
    const regroup = target.gid !== undefined && target.gid !== made.gid;
    if (regroup) fchownSync(fd, -1, target.gid!);
    if (regroup || (made.mode & 0o7777) !== target.mode) fchmodSync(fd, target.mode);
    writeAll(fd, data);
    opts.onWritten?.();
    await fsyncFd(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (cause) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // best effort: the temp file may not exist (open failed) or be gone already
    }
    throw new AtomicFileError(`cannot write ${path}: ${(cause as Error).message}`, path, { cause });
  }
  if (opts.syncDir ?? true) await syncParentDir(path);
}

/** Writes all of `data` (pieces with one writev); a short write (possible, if rare) is finished with plain writes. */
function writeAll(fd: number, data: FileText): void {
  const buffers = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data.map((part) => Buffer.from(part, 'utf8'));
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const written = buffers.length === 1 ? writeSync(fd, buffers[0]!) : writevSync(fd, buffers);
  if (written === total) return;
  const rest = Buffer.concat(buffers).subarray(written);
  for (let at = 0; at < rest.length; ) at += writeSync(fd, rest, at);
}

/** The mode (and, kept from the replaced file, the group) the new file gets. */
function targetAttributes(path: string, opts: AtomicWriteOptions): { mode: number; gid?: number } {
  const mode = opts.mode ?? 0o644;
  if (!opts.keepAttributes) return { mode };
  try {
    const old = statSync(path);
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
 * Removes the temp files writeFileAtomic left for `path` when a process died between creating and
 * renaming one; returns their names. A temp file whose writer (the pid in its name) is still alive
 * is kept: a second daemon started by mistake on the same files must not pull a write from under the
 * running one before it is refused at the API socket.
 */
async function removeStaleTempFiles(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.tmp-`;
  const stale = (await readdir(dirname(path))).filter((name) => name.startsWith(prefix) && !writerAlive(name.slice(prefix.length)));
  for (const name of stale) await unlink(join(dirname(path), name));
  return stale;
}

/**
 * Start-up housekeeping for one file (the include, the state file): removes its stale temp files and
 * logs what it did; a failure is a warning, never a failed start (the files are only clutter).
 */
export async function sweepStaleTempFiles(path: string, logger: Logger): Promise<void> {
  try {
    const removed = await removeStaleTempFiles(path);
    if (removed.length > 0) logger.info({ event: 'staleTempFilesRemoved', file: path, files: removed }, `removed ${removed.length} temp file(s) a crash left beside ${path}`);
  } catch (cause) {
    logger.warn({ event: 'staleTempFilesKept', file: path, err: cause }, `cannot clean temp files beside ${path}`);
  }
}

/** Whether the process named in a temp file's suffix (`<pid>-<hex>`) is alive and not this one. */
function writerAlive(suffix: string): boolean {
  const pid = Number(/^(\d+)-/.exec(suffix)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
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

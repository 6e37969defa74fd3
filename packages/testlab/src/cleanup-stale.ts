import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_NETNS_PATTERN } from './lab-topology.js';
import { deleteNetns, listNetns } from './netns.js';

/** What `cleanupStale` removed. */
export interface StaleCleanup {
  namespaces: string[];
  dirs: string[];
}

/**
 * Removes what dead lab runs left behind: `vc<id>…` namespaces (and the processes in them) and
 * `vc-lab-<id>-*` temp dirs whose owner process (owner.json) is gone. A namespace without an owner
 * record counts as stale too. Labs of running processes are left alone, so this is safe while tests run.
 */
export async function cleanupStale(): Promise<StaleCleanup> {
  const owners = new Map<string, { pid: number; dirs: string[] }>();
  const labDirs = (await readdir(tmpdir())).filter((name) => name.startsWith('vc-lab-'));
  for (const name of labDirs) {
    const id = name.slice('vc-lab-'.length, 'vc-lab-'.length + 6);
    const pid = await readOwnerPid(join(tmpdir(), name));
    const entry = owners.get(id) ?? { pid, dirs: [] };
    entry.dirs.push(join(tmpdir(), name));
    owners.set(id, entry);
  }
  const removed: StaleCleanup = { namespaces: [], dirs: [] };
  const staleIds = new Set<string>();
  for (const [id, owner] of owners) if (!isAlive(owner.pid)) staleIds.add(id);
  for (const ns of await listNetns()) {
    const id = LAB_NETNS_PATTERN.exec(ns)?.[1];
    if (id === undefined) continue;
    const owner = owners.get(id);
    if (owner && isAlive(owner.pid)) continue;
    await deleteNetns(ns);
    removed.namespaces.push(ns);
  }
  for (const id of staleIds) {
    for (const dir of owners.get(id)?.dirs ?? []) {
      await rm(dir, { recursive: true, force: true });
      removed.dirs.push(dir);
    }
  }
  return removed;
}

/** The owner pid from a lab dir's owner.json; 0 (never alive) when the record is missing or unreadable. */
async function readOwnerPid(dir: string): Promise<number> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as { pid?: unknown };
    return typeof parsed.pid === 'number' ? parsed.pid : 0;
  } catch (err) {
    // A lab dir created a moment ago may not have its record yet: treat as alive, never as stale.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return process.pid;
    return 0;
  }
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A SIGKILLed owner can linger as a zombie until its parent (or a slow init) reaps it: it is dead all the same. */
function isZombie(pid: number): boolean {
  try {
    // "pid (comm) S …": the state follows the last ')', since comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true; // reaped since kill(0)
    throw err;
  }
}

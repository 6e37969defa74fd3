import { readFile } from 'node:fs/promises';

/**
 * The "Name:   1234 kB" fields `keys` of `/proc/<pid>/<file>` (status: VmRSS, VmHWM; smaps_rollup: Rss,
 * Pss), in KiB. Rejects naming the field when one is missing (a kernel thread, a process that is gone).
 */
export async function procKiB<K extends string>(pid: number, file: 'status' | 'smaps_rollup', keys: readonly K[]): Promise<Record<K, number>> {
  const path = `/proc/${pid}/${file}`;
  const text = await readFile(path, 'utf8');
  const fields = {} as Record<K, number>;
  for (const key of keys) {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!m) throw new Error(`${path} has no ${key}`);
    fields[key] = Number(m[1]);
  }
  return fields;
}

import { rename, writeFile } from 'node:fs/promises';

/** Temp file + rename in the same directory, so BIRD never reads a half-written config. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * The floor vipcontrol is measured against: the include file rewritten the way the daemon writes it
 * (temp file, fsync, rename, fsync of the directory — the durability the daemon owes its operators)
 * and a plain `configure` sent straight to the node's BIRD. No read-back, no confirm, no API.
 */
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BirdClient } from '@vipcontrol/bird';

/** BIRD's "0003 Reconfigured". */
const RECONFIGURED = 3;

/**
 * Same steps as the daemon's atomic write (vipcontrol's writer is not part of its library API),
 * so the comparison is of everything else.
 */
export async function durableWrite(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.bench-${process.pid}`);
  const file = await open(temp, 'w');
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** A plain `configure`; throws unless BIRD says 0003 Reconfigured. */
export async function configureOk(client: BirdClient): Promise<void> {
  const result = await client.configure();
  if (result.code !== RECONFIGURED) {
    throw new Error(`bare BIRD configure answered ${result.code}: ${result.messages.join('; ')}`);
  }
}

/** Writes `text` to `includeFile` and reconfigures BIRD. */
export async function bareApply(client: BirdClient, includeFile: string, text: string): Promise<void> {
  await durableWrite(includeFile, text);
  await configureOk(client);
}

/**
 * The floor vipcontrol is measured against: the include file rewritten the way the daemon writes it
 * (temp file, fsync, rename, fsync of the directory — the durability the daemon owes its operators)
 * and a plain `configure` sent straight to the node's BIRD. No read-back, no confirm, no API.
 */
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BirdClient } from '@vipcontrol/bird';


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

/**
 * A plain `configure`, done when BIRD is: 0003 Reconfigured, or 0004 "Reconfiguration in progress"
 * (BIRD 3 reconfigures a changed static protocol on its own thread) followed by `configure status`
 * until it is over — the least any client must do before it may call the change made. Anything
 * else throws.
 */
export async function configureOk(client: BirdClient): Promise<void> {
  const result = await client.configure();
  if (result.status === 'in-progress' || result.status === 'queued') {
    await client.waitForReconfiguration({ intervalMs: 1 });
  } else if (result.status !== 'reconfigured') {
    throw new Error(`bare BIRD configure answered ${result.code}: ${result.messages.join('; ')}`);
  }
}

/** Writes `text` to `includeFile` and reconfigures BIRD. */
export async function bareApply(client: BirdClient, includeFile: string, text: string): Promise<void> {
  await durableWrite(includeFile, text);
  await configureOk(client);
}

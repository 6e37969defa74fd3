// The soak's disk-full fault: a real tmpfs, really full, then really freed, and unmounted after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '../src/index.js';
import { run } from '../src/netns.js';
import { Tmpfs } from '../src/tmpfs.js';

test('Tmpfs: fill makes every write fail with ENOSPC, free gives the space back, unmount leaves a plain dir', async () => {
  const dir = await makeTempDir('vc-tmpfs-');
  try {
    const fs = await Tmpfs.mount(join(dir.path, 'state'), 256);
    try {
      await writeFile(join(fs.path, 'state.json'), '{}');
      await fs.fill();
      await assert.rejects(writeFile(join(fs.path, 'new.json'), '{"x":1}'), { code: 'ENOSPC' });
      await fs.free();
      await writeFile(join(fs.path, 'new.json'), '{"x":1}');
    } finally {
      await fs.unmount();
    }
    const mounts = await run('findmnt', ['-n', join(dir.path, 'state')]);
    assert.notEqual(mounts.exitCode, 0, 'no longer mounted');
    await fs.unmount(); // twice is fine
  } finally {
    await dir.cleanup();
  }
});

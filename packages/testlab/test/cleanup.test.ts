import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { cleanupStale, pidExists, uniqueId, waitFor } from '../src/index.js';

const INDEX = new URL('../src/index.js', import.meta.url).href;

/** Starts a child node process that builds a 1-node lab, prints its id, pids and dir, then `then`s. */
function childLab(then: string) {
  const script = `
    import { Lab } from ${JSON.stringify(INDEX)};
    const lab = await Lab.create({ nodes: 1, bfd: false });
    console.log(JSON.stringify({ id: lab.id, dir: lab.dir, pids: [lab.router.bird.pid, lab.nodes[0].bird.pid] }));
    ${then}`;
  return execa(process.execPath, ['--input-type=module', '-e', script], { reject: false, buffer: { stdout: true } });
}

async function assertGone(info: { id: string; dir: string; pids: number[] }): Promise<void> {
  const netns = (await execa('ip', ['netns', 'list'])).stdout;
  assert.ok(!netns.includes(`vc${info.id}`), `namespaces of ${info.id} left behind:\n${netns}`);
  // SIGKILL from an exit hook is delivered, not awaited: give the kernel a moment to reap.
  await waitFor(() => info.pids.every((pid) => !pidExists(pid)), { timeoutMs: 3000, message: `bird processes ${info.pids.join(', ')} to be gone` });
  await assert.rejects(stat(info.dir), { code: 'ENOENT' });
}

describe('teardown without destroy()', () => {
  it('SIGTERM to the test process removes its lab (async cleanup)', async () => {
    const child = childLab('setInterval(() => {}, 1000);');
    let line = '';
    child.stdout?.on('data', (c: Buffer) => { line += c.toString(); });
    const info = await waitFor(() => (line.includes('\n') ? JSON.parse(line) as { id: string; dir: string; pids: number[] } : undefined),
      { timeoutMs: 20_000, message: 'child lab to come up' });
    child.kill('SIGTERM');
    const result = await child;
    assert.equal(result.exitCode, 143, result.stderr);
    await assertGone(info);
  });

  it('process.exit() without destroy removes its lab (sync exit hook)', async () => {
    const result = await childLab('process.exit(3);');
    assert.equal(result.exitCode, 3, result.stderr);
    await assertGone(JSON.parse(String(result.stdout)) as { id: string; dir: string; pids: number[] });
  });
});

describe('cleanupStale', () => {
  it('removes a lab namespace whose owner is gone and leaves other namespaces alone', async () => {
    const id = uniqueId();
    const stale = `vc${id}r`;
    const unrelated = `vctest${id}`;
    await execa('ip', ['netns', 'add', stale]);
    await execa('ip', ['netns', 'add', unrelated]);
    try {
      const removed = await cleanupStale();
      // Another cleanupStale running at the same time (the lab demo's, in a parallel test file) may be
      // the one that removed it: what matters is that it is gone and the unrelated one is not.
      assert.ok(!removed.namespaces.includes(unrelated));
      const netns = (await execa('ip', ['netns', 'list'])).stdout;
      assert.ok(!netns.includes(stale));
      assert.ok(netns.includes(unrelated));
    } finally {
      await execa('ip', ['netns', 'delete', unrelated]);
      await execa('ip', ['netns', 'delete', stale], { reject: false });
    }
  });
});

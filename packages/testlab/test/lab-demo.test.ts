import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { pidExists, waitFor } from '../src/index.js';

const DEMO = new URL('../src/lab-demo.js', import.meta.url).pathname;


describe('lab demo (README command 1)', () => {
  it('runs the whole story — traffic shift, live failover and back, drain — and leaves nothing behind', async () => {
    // SIGTERM on timeout: the demo's cleanup registry still tears its lab down.
    const res = await execa(process.execPath, [DEMO], { reject: false, timeout: 60_000, all: true });
    const out = res.all ?? '';
    assert.equal(res.exitCode, 0, `demo failed:\n${out}`);

    for (const expected of [
      /Router view: both nodes announce, n1 \(MED 100\) is best/,
      /router's best path for 198\.51\.100\.10\/32 moved to n2 \d+ ms/,
      /router's best path for 2001:db8::10\/128 back on n1 \d+ ms/,
      /router's best path moved to n2: 198\.51\.100\.10\/32 after \d+ ms \(n1's MED now 1100\), 2001:db8::10\/128 after \d+ ms \(n1's MED now 1100\)/,
      /198\.51\.100\.10\/32 +yes +1100 +1100 +yes +100 configured \+ 1000 health\(bgp-service\) = 1100/,
      /rise met, router's best path back on n1: 198\.51\.100\.10\/32 after \d+ ms \(MED 100\), 2001:db8::10\/128 after \d+ ms \(MED 100\)/,
      /router has only n2's paths/,
      /Router's sessions with n1: Established, Since [\d.]+ \(unchanged\), import updates \+\d+, withdraws \+\d+: never reset/,
      /Router's sessions with n2: Established, Since [\d.]+ \(unchanged\), .*: never reset/,
      /lab torn down/,
    ]) assert.match(out, expected);

    const id = /^lab ([a-z][a-z0-9]{5}):/m.exec(out)?.[1];
    assert.ok(id, `no lab id in:\n${out}`);
    const netns = (await execa('ip', ['netns', 'list'])).stdout;
    assert.ok(!netns.includes(`vc${id}`), `namespaces of ${id} left behind:\n${netns}`);
    assert.deepEqual((await readdir(tmpdir())).filter((name) => name.startsWith(`vc-lab-${id}-`)), []);
    // Both incarnations of n1's stand-in service are gone (the restarted one was killed at teardown).
    const pids = [...out.matchAll(/n1's service \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 2, 'the demo names the killed and the restarted service');
    await waitFor(() => pids.every((pid) => !pidExists(pid)), { timeoutMs: 3000, message: `service pids ${pids.join(', ')} to be gone` });
  });
});

// A full state disk (issue 7 item 7), on a real small tmpfs with a real BIRD: an override whose TTL
// runs out while state.json cannot be written still leaves BIRD (and status) at once; the write is
// retried with backoff and logged once per episode; a set-med that cannot be saved is refused with
// an error naming the file and changes nothing; once space is back the file catches up.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { waitFor } from '@vipcontrol/testlab';
import type { DaemonStatus } from '@vipcontrol/core';
import { enc, singleBird, V4, V4B, VIPS, type SingleBird } from './single-bird.js';

describe('state disk full', () => {
  let f: SingleBird;
  let mnt: string;
  let mounted = false;
  const status = async (): Promise<DaemonStatus> => (await f.api('GET', '/v1/status')).json as DaemonStatus;
  const writeFailures = () => f.logs.filter((l) => l['event'] === 'stateWriteFailed');

  before(async () => {
    f = await singleBird('diskfull');
    mnt = join(f.dir, 'statefs');
    await mkdir(mnt);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'vipcontrol-test', mnt]);
    mounted = true;
    await f.writeConfig(VIPS, { stateFile: join(mnt, 'state.json') });
    await f.startDaemon();
  });
  after(async () => {
    await f.stopDaemon();
    if (mounted) await execa('umount', [mnt]).catch(() => execa('umount', ['-l', mnt]));
    await f.cleanup();
  });

  it('expiry reaches BIRD while the state cannot be written; a set-med is refused; the file catches up', async () => {
    const set = await f.api('PUT', `/v1/vips/${enc(V4)}/med`, { med: 150, ttl: '3s', reason: 'short' });
    assert.equal(set.status, 200, set.text);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 150);

    // Fill the file system: the next state write fails with ENOSPC.
    const filler = join(mnt, 'filler');
    await assert.rejects(writeFile(filler, Buffer.alloc(1024 * 1024)), { code: 'ENOSPC' });

    const configuresBefore = await f.reconfigurations();
    const refused = await f.api('PUT', `/v1/vips/${enc(V4B)}/med`, { med: 300 });
    assert.equal(refused.status, 503, refused.text);
    const message = (refused.json as { error: string }).error;
    assert.ok(message.includes(join(mnt, 'state.json')), `names the state file: ${message}`);
    assert.match(message, /no space left on device/i);
    assert.match(message, /nothing changed/);
    assert.equal((await f.birdRoutes()).get(V4B)!.med, 100, 'the refused change is not in BIRD');
    assert.equal(await f.reconfigurations(), configuresBefore, 'not even for a moment: BIRD was not reconfigured');
    assert.equal((await status()).vips.find((v) => v.prefix === V4B)!.med, 100);

    // The TTL runs out with the disk still full: BIRD and status follow anyway.
    await waitFor(async () => (await f.birdRoutes()).get(V4)!.med === 100, { timeoutMs: 10_000, message: 'the expired MED to leave BIRD' });
    const during = await status();
    const v4 = during.vips.find((v) => v.prefix === V4)!;
    assert.equal(v4.med, 100);
    assert.equal(v4.override, undefined, 'status no longer shows the expired override');
    assert.match(during.state.error ?? '', /no space left on device/i);
    assert.ok(during.state.retryAt !== undefined, 'status says when the write is retried');

    // Give the retry a couple of rounds: one error line for the episode, no tight loop.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(writeFailures().filter((l) => l['level'] === 'error').length, 1, 'logged once per episode');
    assert.ok(writeFailures().length <= 5, `retried with backoff, not in a loop (${writeFailures().length} attempts)`);
    assert.match(await readFile(join(mnt, 'state.json'), 'utf8'), /"med": 150/, 'the file still lags behind');

    await rm(filler);
    await waitFor(() => f.logs.some((l) => l['event'] === 'stateWriteRecovered'), { timeoutMs: 20_000, message: 'the retried write to succeed' });
    const saved = JSON.parse(await readFile(join(mnt, 'state.json'), 'utf8')) as { overrides: Record<string, unknown> };
    assert.deepEqual(saved.overrides, {}, 'the expiry is on disk');
    assert.equal((await status()).state.error, undefined);

    await f.stopDaemon();
    await f.startDaemon();
    const restarted = await status();
    assert.equal(restarted.state.corrupt, undefined);
    assert.deepEqual(
      restarted.vips.map((v) => [v.prefix, v.med]),
      VIPS.map((v) => [v.prefix, 100]),
    );
    const routes = await f.birdRoutes();
    assert.deepEqual([routes.get(V4)!.med, routes.get(V4B)!.med], [100, 100]);
  });
});

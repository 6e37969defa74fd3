// The daemon replaces only its own include file, under the configured protocol names: a foreign file
// at bird.includeFile, or a rename of bird.protocol4/6 (which would withdraw every VIP from the
// fabric through bird.conf's `proto = "vipcontrol4"` filters), is refused and nothing is written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { EMPTY_VIPCONTROL_INCLUDE, waitFor } from '@vipcontrol/testlab';
import type { DaemonStatus } from '../src/daemon-types.js';
import { OperationError } from '../src/errors.js';
import { singleBird, V4, V4B, V6, VIPS, type SingleBird } from './single-bird.js';

const api = { source: 'api', user: 'test@host' } as const;
const FOREIGN = [
  '# hand-written by an operator',
  'protocol static vipcontrol4 { ipv4; route 203.0.113.0/24 blackhole; }',
  'protocol static vipcontrol6 { ipv6; }',
  '',
].join('\n');

describe('include file ownership with a real BIRD', async () => {
  let f: SingleBird;
  before(async () => {
    f = await singleBird('incown');
    await f.writeConfig(VIPS);
  });
  after(() => f.cleanup());

  const status = async (): Promise<DaemonStatus> => (await f.api('GET', '/v1/status')).json as DaemonStatus;
  const renamedConfig = (): Promise<void> =>
    f.writeConfig(VIPS, { bird: { socket: f.bird.socketPath, includeFile: f.includeFile, protocol4: 'vc4', protocol6: 'vc6' } });

  it('a file vipcontrol did not write is not overwritten; status says so; once moved away, the retry applies', async () => {
    await writeFile(f.includeFile, FOREIGN);
    const reconfigurations = await f.reconfigurations();
    const d = await f.startDaemon({ waitStarted: false });
    await assert.rejects(d.started, /refusing to overwrite .*vipcontrol\.conf: it was not written by vipcontrol/);
    assert.equal(await readFile(f.includeFile, 'utf8'), FOREIGN, 'nothing written');
    assert.equal(await f.reconfigurations(), reconfigurations, 'BIRD not reconfigured');
    const s = await status(); // the daemon keeps running and serving its API
    assert.match(s.bird.error ?? '', /refusing to overwrite .*move it away or point bird\.includeFile elsewhere/);
    assert.equal(s.bird.lastApply?.errorKind, 'permanent');
    assert.equal((await f.birdRoutes()).size, 0);
    // The operator moves the file away and puts the placeholder back: the retry (backoff) applies.
    await writeFile(f.includeFile, EMPTY_VIPCONTROL_INCLUDE);
    await waitFor(async () => (await f.birdRoutes()).size === 3, { timeoutMs: 15_000, message: 'retry applied the VIPs' });
    await waitFor(() => d.controller.status().bird.error === undefined, { message: 'error cleared' });
  });

  it('a reload renaming bird.protocol4/6 is rejected like an invalid config; the running state stays', async () => {
    const controller = f.daemon!.controller;
    const include = await readFile(f.includeFile, 'utf8');
    const before = controller.status();
    await renamedConfig();
    await assert.rejects(controller.reload(api), (e: unknown) => {
      assert.ok(e instanceof OperationError);
      assert.equal(e.status, 422);
      assert.match(e.message, /config rejected, running config unchanged: refusing to rename the BIRD protocols vipcontrol4\/vipcontrol6 .* to vc4\/vc6/);
      return true;
    });
    const after = controller.status();
    assert.match(after.config.error ?? '', /refusing to rename/);
    assert.equal(after.bird.applies, before.bird.applies, 'no apply attempted');
    assert.equal(await readFile(f.includeFile, 'utf8'), include);
  });

  it('a restart with renamed protocols refuses the apply: BIRD keeps announcing every VIP under the old names', async () => {
    const include = await readFile(f.includeFile, 'utf8');
    await f.stopDaemon();
    const reconfigurations = await f.reconfigurations();
    const d = await f.startDaemon({ waitStarted: false });
    await assert.rejects(d.started, /refusing to rename the BIRD protocols vipcontrol4\/vipcontrol6 .* would stop matching/);
    assert.equal(await readFile(f.includeFile, 'utf8'), include, 'nothing written');
    assert.equal(await f.reconfigurations(), reconfigurations, 'BIRD not reconfigured');
    assert.deepEqual([...(await f.birdRoutes()).keys()].sort(), [V4, V4B, V6].sort(), 'still announced under vipcontrol4/6');
    assert.match((await status()).bird.error ?? '', /refusing to rename.*docs\/operations\.md/);
  });
});

// The state file is written while BIRD reconfigures, not before: no change is confirmed (or
// answered) before the state it came from is on disk, and a refused state write changes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { waitFor } from '@vipcontrol/testlab';
import { computeEffective, renderBirdInclude, type RuntimeState } from '@vipcontrol/core';
import { Announcer, ApplyError, StateNotWrittenError } from '../src/announcer.js';
import { loadConfig } from '../src/config-loader.js';
import { OperationError } from '../src/errors.js';
import { singleBird, V4, VIPS, type SingleBird } from './single-bird.js';

const api = { source: 'api', user: 'test@host' } as const;
const logger = pino({ level: 'silent' });

describe('state persisted before a change is confirmed', async () => {
  let f: SingleBird;
  let stateDir: string;
  before(async () => {
    f = await singleBird('sdur');
    stateDir = join(f.dir, 'state');
    await mkdir(stateDir);
    await f.writeConfig(VIPS, { stateFile: join(stateDir, 'state.json') });
  });
  after(() => f.cleanup());

  it('the announcer: confirm waits for the state write; if it fails, BIRD undoes and the include goes back', async () => {
    await f.startDaemon(); // renders and applies the configured state
    await f.stopDaemon(); // the applier below is then the only writer
    const include = await readFile(f.includeFile, 'utf8');
    const config = await loadConfig(f.configFile);
    const runtime: RuntimeState = { version: 1, overrides: { [V4]: { med: 555, setAt: 1 } }, withdrawn: {} };
    const desired = computeEffective({ config, runtime, health: { checks: [], leaseExpired: false }, now: Date.now() });
    const rendered = renderBirdInclude(desired, { protocol4: config.bird.protocol4, protocol6: config.bird.protocol6 });
    let fail!: (error: Error) => void;
    const persisted = new Promise<void>((_, reject) => (fail = reject));
    const applier = new Announcer({
      client: f.bird.client, socket: f.bird.socketPath, includeFile: f.includeFile, markerFile: `${f.includeFile}.unconfirmed`, protocol4: 'vipcontrol4', protocol6: 'vipcontrol6',
      configureTimeoutSec: 30, operatorConfigureHoldMs: 30_000, logger,
    });
    let settled = false;
    const apply = applier.apply(rendered, desired, undefined, { staged: Promise.resolve(), durable: persisted }).finally(() => (settled = true));
    apply.catch(() => undefined); // asserted below
    // BIRD runs the change (unconfirmed) while the state write is still pending; the apply waits.
    await waitFor(async () => (await f.birdRoutes()).get(V4)?.med === 555, { message: 'BIRD reconfigured while the state write is pending' });
    assert.equal(await readFile(f.includeFile, 'utf8'), rendered);
    assert.equal(settled, false, 'the apply waits for the state write before confirming');
    fail(new Error('disk full'));
    await assert.rejects(apply, (e: unknown) => {
      assert.ok(e instanceof ApplyError);
      assert.equal(e.phase, 'write');
      assert.equal(e.restored, true);
      assert.match(e.message, /change not durable, undone \(disk full\)/);
      return true;
    });
    assert.equal(await readFile(f.includeFile, 'utf8'), include, 'previous include restored');
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100, 'BIRD undid the change');

    // A state the file system refused (full disk): BIRD is never configured, the include goes back.
    const reconfigurations = await f.reconfigurations();
    const refused = Promise.reject(new Error('ENOSPC: no space left on device'));
    refused.catch(() => undefined); // as the store does: an apply that is refused never awaits `durable`
    await assert.rejects(applier.apply(rendered, desired, undefined, { staged: refused, durable: refused }), (e: unknown) => {
      assert.ok(e instanceof StateNotWrittenError);
      assert.equal(e.restored, true);
      assert.match(e.message, /runtime state not written \(ENOSPC.*\): nothing sent to BIRD/);
      return true;
    });
    assert.equal(await f.reconfigurations(), reconfigurations, 'no configure sent');
    assert.equal(await readFile(f.includeFile, 'utf8'), include, 'previous include put back');
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100);

    // Persisted: the same apply goes through and is confirmed.
    const ok = await applier.apply(rendered, desired, undefined, { staged: Promise.resolve(), durable: Promise.resolve() });
    assert.equal(ok.configured, true);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 555);
  });

  it('the daemon: a refused state write answers 503, changes nothing, and later changes work again', async () => {
    await f.startDaemon(); // BIRD has 555 from the test above, the state file no override: start-up puts 100 back
    const controller = f.daemon!.controller;
    await waitFor(async () => (await f.birdRoutes()).get(V4)?.med === 100, { message: 'daemon applied its persisted state' });
    const include = await readFile(f.includeFile, 'utf8');
    const reconfigurations = await f.reconfigurations();
    // The directory disappearing makes the temp-file open fail even for root.
    await rm(stateDir, { recursive: true });
    await assert.rejects(controller.setMed(V4, { med: 321 }, api), (e: unknown) => {
      assert.ok(e instanceof OperationError);
      assert.equal(e.status, 503);
      assert.match(e.message, /cannot persist runtime state .*nothing changed/);
      return true;
    });
    assert.equal(controller.status().vips.find((v) => v.prefix === V4)!.med, 100, 'desired state unchanged');
    assert.equal(await readFile(f.includeFile, 'utf8'), include, 'include unchanged');
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100, 'BIRD unchanged');
    assert.equal(await f.reconfigurations(), reconfigurations, 'BIRD never configured with the refused change');
    assert.equal(controller.status().bird.lastApply?.ok, true, 'the refusal is not a failed apply');
    await mkdir(stateDir);
    const r = await controller.setMed(V4, { med: 322 }, api);
    assert.deepEqual(r.vips.map((v) => [v.prefix, v.med, v.inSync]), [[V4, 322, true]]);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 322);
    const onDisk = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as { overrides: Record<string, { med: number }> };
    assert.equal(onDisk.overrides[V4]!.med, 322);
  });
});

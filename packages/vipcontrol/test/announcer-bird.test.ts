// The announcer against one real BIRD under faults: an operator's pending `configure timeout`, an undo
// timer shorter than the apply, an empty include, a FIFO at the include path, temp files left by a
// crash, BIRD down at start.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@vipcontrol/testlab';
import { OperationError } from '../src/errors.js';
import { birdSocketProxy, type BirdSocketProxy } from './bird-socket-proxy.js';
import { singleBird, V4, VIPS, type SingleBird } from './single-bird.js';

const api = { source: 'api', user: 'test@host' } as const;
const fixtures: SingleBird[] = [];
const proxies: BirdSocketProxy[] = [];

async function fixture(name: string, bird: object = {}, socket?: (f: SingleBird) => Promise<string>): Promise<SingleBird> {
  const f = await singleBird(name);
  fixtures.push(f);
  await f.writeConfig(VIPS, { bird: { socket: socket ? await socket(f) : f.bird.socketPath, includeFile: f.includeFile, ...bird } });
  return f;
}

const since = (f: SingleBird, from: number): Record<string, unknown>[] => f.logs.slice(from);
/** pino's level labels (the daemon logs labels, not numbers), ranked. */
const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const atLeast = (l: Record<string, unknown>, label: string): boolean => (RANK[l.level as string] ?? 0) >= RANK[label]!;

afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
  for (const f of fixtures.splice(0)) await f.cleanup();
});
after(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
});

describe('watching BIRD between applies', () => {
  it("many applies of ours between two looks are still ours: no 'changed outside', no extra read-back", async () => {
    // A look every 5 s here: 60 applies 40 ms apart (~2.5 s) fall into at most two intervals, so one
    // holds 30 or more, spread wider than BIRD's time jitter (200 ms) beyond the 16 the announcer keeps.
    const f = await fixture('ownmany', { watchInterval: '5s' });
    await f.startDaemon();
    const controller = f.daemon!.controller;
    await sleep(5_300); // past the first look (the baseline)
    for (let i = 0; i < 60; i += 1) {
      await controller.setMed(V4, { med: 500 + i }, api);
      await sleep(40);
    }
    await sleep(5_500); // at least one more look
    assert.deepEqual(f.logs.filter((l) => l.event === 'birdChangedOutside'), []);
    // Someone else's configure after that is seen.
    assert.equal((await f.bird.client.configure()).status, 'reconfigured');
    await waitFor(() => f.logs.find((l) => l.event === 'birdChangedOutside'), { message: "the operator's configure seen", timeoutMs: 8_000 });
  });
});

describe("an operator's pending `configure timeout`", () => {
  it('holds changes with a clear error, applies once they confirm, and applies over it (loudly) when the hold ends', async () => {
    const f = await fixture('opcfg', { operatorConfigureHold: '3s' });
    await f.startDaemon();
    const controller = f.daemon!.controller;
    const operator = f.bird.client;

    // The operator edits bird.conf and tries it with BIRD's safety net.
    const pending = await operator.configure({ timeoutSec: 120 });
    assert.equal(pending.status, 'reconfigured');
    const include = await readFile(f.includeFile, 'utf8');
    await assert.rejects(controller.setMed(V4, { med: 321 }, api), (e: unknown) => {
      assert.ok(e instanceof OperationError);
      assert.equal(e.status, 503);
      assert.match(e.message, /unconfirmed configuration that is not vipcontrol's .*configure timeout.*undo in \d/);
      return true;
    });
    assert.notEqual((await operator.configureStatus()).undoInSec, undefined, "the operator's undo timer still runs: no configure was sent over it");
    assert.equal(await readFile(f.includeFile, 'utf8'), include, 'include file untouched');
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100);
    const status = controller.status();
    assert.equal(status.bird.pendingConfigure?.owner, 'other');
    assert.ok(status.bird.pendingConfigure!.holdUntil! > Date.now());
    assert.ok(f.logs.some((l) => l.event === 'operatorConfigurePending' && atLeast(l, 'warn')), 'logged at warn');

    // They confirm: the held change goes out within about a second.
    assert.equal((await operator.configureConfirm()).status, 'confirmed');
    await waitFor(async () => (await f.birdRoutes()).get(V4)?.med === 321, { message: 'held change applied after the confirm', timeoutMs: 10_000 });
    await waitFor(() => controller.status().vips.find((v) => v.prefix === V4)?.inSync === true || undefined, { message: 'in sync (confirmed)' });
    assert.equal(controller.status().bird.pendingConfigure, undefined);

    // Left pending past the hold: vipcontrol applies over it and says so at error level.
    await operator.configure({ timeoutSec: 120 });
    await assert.rejects(controller.setMed(V4, { med: 400 }, api), /not vipcontrol's/);
    await waitFor(async () => (await f.birdRoutes()).get(V4)?.med === 400, { message: 'applied after the hold', timeoutMs: 15_000 });
    const overridden = f.logs.find((l) => l.event === 'operatorConfigureOverridden');
    assert.ok(overridden && atLeast(overridden, 'error'), 'logged at error');
    // BIRD has the route from our `configure timeout` on; the confirm follows the read-back.
    await waitFor(async () => (await operator.configureStatus()).undoInSec === undefined || undefined, { message: 'our confirm ended the pending configuration' });
  });
});

describe("BIRD's undo timer shorter than the apply", () => {
  it('fails once with an error naming bird.configureTimeout, routes back as before, no retry flapping them', async () => {
    let proxy!: BirdSocketProxy;
    const f = await fixture('slowrb', { configureTimeout: '1s' }, async (s) => {
      proxy = await birdSocketProxy(s.dir, s.bird.socketPath);
      proxies.push(proxy);
      return proxy.path;
    });
    await f.startDaemon();
    const controller = f.daemon!.controller;
    proxy.slow(/^show route/, 1500); // a slow read-back: huge fleet, loaded BIRD
    await assert.rejects(controller.setMed(V4, { med: 321 }, api), (e: unknown) => {
      assert.ok(e instanceof OperationError);
      assert.match(e.message, /longer than BIRD's undo timer \(bird\.configureTimeout 1 s\)/);
      assert.doesNotMatch(e.message, /mismatch/);
      return true;
    });
    proxy.release();
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100, 'BIRD runs the previous configuration');
    const include = await readFile(f.includeFile, 'utf8');
    assert.match(include, /198\.51\.100\.10\/32 blackhole \{ bgp_med = 100;/, 'the include on disk matches what BIRD runs');
    const status = controller.status();
    assert.equal(status.bird.retryAt, undefined, 'no automatic retry');
    assert.equal(status.vips.find((v) => v.prefix === V4)!.inSync, false, 'status does not claim the new MED');
    const reconfigurations = await f.reconfigurations();
    await sleep(2500);
    assert.equal(await f.reconfigurations(), reconfigurations, 'no retry reconfigured BIRD');
  });
});

describe('the include file', () => {
  it('an empty file (touch, Puppet ensure => file) is adopted and replaced', async () => {
    const f = await fixture('emptyinc');
    await writeFile(f.includeFile, '');
    await f.startDaemon();
    assert.match(await readFile(f.includeFile, 'utf8'), /^# Managed by vipcontrol/);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100);
  });

  it('a comments-only file is adopted; a file with foreign content is still refused', async () => {
    const f = await fixture('cmtinc');
    await writeFile(f.includeFile, '# created by puppet\n\n');
    await f.startDaemon();
    assert.match(await readFile(f.includeFile, 'utf8'), /^# Managed by vipcontrol/);
    await f.stopDaemon();
    await writeFile(f.includeFile, 'protocol static mine { ipv4; route 203.0.113.0/24 blackhole; }\n');
    const d = await f.startDaemon({ waitStarted: false });
    await assert.rejects(d.started, /refusing to overwrite/);
  });

  it('a FIFO at the include path fails the apply at once with a clear error, and stop() still returns', async () => {
    const f = await fixture('fifoinc');
    await rm(f.includeFile);
    await promisify(execFile)('mkfifo', [f.includeFile]);
    const d = await f.startDaemon({ waitStarted: false });
    const outcome = await Promise.race([d.started.then(() => 'ok', (e: Error) => e.message), sleep(5000).then(() => 'hung')]);
    assert.match(outcome, /is not a regular file \(a FIFO\)/);
    const stopped = await Promise.race([f.stopDaemon().then(() => 'stopped'), sleep(5000).then(() => 'hung')]);
    assert.equal(stopped, 'stopped');
  });

  it("temp files a crash left beside the include are removed at start", async () => {
    const f = await fixture('tmpinc');
    // Above Linux's highest pid (2^22): its writer cannot be alive.
    const stale = join(f.dir, '.vipcontrol.conf.tmp-4194305-deadbeef');
    await writeFile(stale, 'half a file');
    await f.startDaemon();
    assert.deepEqual((await readdir(f.dir)).filter((n) => n.includes('.tmp-')), []);
    assert.ok(f.logs.some((l) => l.event === 'staleTempFilesRemoved'));
  });
});

describe('BIRD down', () => {
  it('at start: birdDisconnected is logged; a change while down logs one line, no "rolled back"', async () => {
    const f = await fixture('birddown');
    await f.bird.kill();
    const d = await f.startDaemon({ waitStarted: false });
    await waitFor(() => f.logs.some((l) => l.event === 'birdDisconnected') || undefined, { message: 'birdDisconnected logged', timeoutMs: 5000 });
    const from = f.logs.length;
    await assert.rejects(d.controller.setMed(V4, { med: 321 }, api), /BIRD is not reachable at .*nothing sent/);
    // The outage was said once (birdDisconnected, error); while it lasts the failed apply is logged at
    // debug (issue 10: one line per outage, not one per retry) and the caller gets the error above.
    assert.equal(f.logs.filter((l) => l.event === 'birdDisconnected').length, 1);
    const loud = since(f, from).filter((l) => atLeast(l, 'warn'));
    assert.deepEqual(loud.map((l) => l.msg), []);
    assert.ok(since(f, from).some((l) => l.event === 'applyFailed'), 'the failed apply is still logged (debug)');
    assert.ok(!since(f, from).some((l) => l.event === 'applyRolledBack'), 'nothing was rolled back: nothing was sent');
    assert.match(await readFile(f.includeFile, 'utf8'), /# Placeholder written by the lab/, 'include untouched');
  });
});

// The daemon against one real BIRD: no-op applies, restarts, BIRD dying, broken bird.conf (8002),
// state file trouble and TTL expiry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { waitFor } from '@vipcontrol/testlab';
import type { DaemonStatus } from '../src/daemon-types.js';
import { OperationError } from '../src/errors.js';
import { birdConf, enc, singleBird, V4, V4B, V6, VIPS, type SingleBird } from './single-bird.js';

const api = { source: 'api', user: 'test@host' } as const;

describe('daemon with a real BIRD', async () => {
  let f: SingleBird;
  before(async () => {
    f = await singleBird('dbird');
    await f.writeConfig(VIPS);
  });
  after(() => f.cleanup());

  it('start-up renders and applies; BIRD exports every VIP with its MED and communities', async () => {
    await f.startDaemon();
    const routes = await f.birdRoutes();
    assert.deepEqual([...routes.keys()].sort(), [V4, V4B, V6].sort());
    assert.equal(routes.get(V4)!.med, 100);
    assert.deepEqual(routes.get(V4)!.communities, ['65000:100']);
    assert.deepEqual(routes.get(V4B)!.largeCommunities, ['65000:1:2']);
    assert.deepEqual(routes.get(V6)!.communities, ['65000:600']);
    const status = f.daemon!.controller.status();
    assert.ok(status.vips.every((v) => v.inSync && v.exported?.present));
    // Controller.summary (what the fleet agent reads): status()'s projection, only the VIPs asked for.
    const all = f.daemon!.controller.summary('all');
    const one = f.daemon!.controller.summary(new Set([V6, '192.0.2.99/32']));
    assert.deepEqual(all.vips, status.vips);
    assert.deepEqual([all.version, all.bird, all.guarded, all.drain], [status.version, { connected: true, lastApply: status.bird.lastApply }, status.guarded, undefined]);
    assert.deepEqual(one.vips, status.vips.filter((v) => v.prefix === V6));
  });

  it('status and the log name the BIRD version the daemon talks to', () => {
    assert.equal(f.daemon!.controller.status().bird.version, f.bird.version);
    const connected = f.logs.find((l) => l.event === 'birdConnected');
    assert.equal(connected?.birdVersion, f.bird.version);
    assert.equal(connected?.msg, `connected to BIRD ${f.bird.version}`);
  });

  it('an apply that changes nothing sends no configure', async () => {
    const before = await f.reconfigurations();
    const applies = f.daemon!.controller.status().bird.applies;
    const r = await f.daemon!.controller.announce(V4, api); // already announced: state unchanged
    assert.equal(r.ok, true);
    await f.daemon!.controller.reload(api); // same file: same rendering
    assert.equal(f.daemon!.controller.status().bird.applies, applies + 2, 'two applies ran');
    assert.equal(f.daemon!.controller.status().bird.lastApply?.configured, false);
    assert.equal(await f.reconfigurations(), before, 'BIRD was not reconfigured');
  });

  it('set-med changes exactly that route, persisted before answering', async () => {
    const before = await f.reconfigurations();
    const r = await f.daemon!.controller.setMed(V6, { med: 250, reason: 'shift' }, api);
    assert.deepEqual(r.vips.map((v) => [v.prefix, v.med, v.inSync]), [[V6, 250, true]]);
    assert.equal((await f.birdRoutes()).get(V6)!.med, 250);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100);
    assert.equal(await f.reconfigurations(), before + 1, 'exactly one configure');
    const state = JSON.parse(await readFile(f.stateFile, 'utf8')) as { overrides: Record<string, { med: number; setBy: string }> };
    assert.equal(state.overrides[V6]!.med, 250);
    assert.equal(state.overrides[V6]!.setBy, 'test@host');
    const applied = f.logs.filter((l) => l.event === 'applied').at(-1)!;
    assert.deepEqual(applied.changes, [{ prefix: V6, from: { announced: true, med: 100 }, to: { announced: true, med: 250 } }]);
    assert.equal(applied.configureSkipped, false);
  });

  it('a daemon restart with unchanged config and state sends no configure at all', async () => {
    const before = await f.reconfigurations();
    await f.stopDaemon();
    assert.equal((await f.birdRoutes()).get(V6)!.med, 250, 'stopping withdrew nothing');
    await f.startDaemon();
    assert.equal(await f.reconfigurations(), before);
    const status = f.daemon!.controller.status();
    assert.equal(status.bird.lastApply?.configured, false);
    assert.equal(status.vips.find((v) => v.prefix === V6)!.med, 250, 'override survived the restart');
  });

  it('BIRD killed under the daemon: changes answer 503 and stay desired; BIRD back → re-applied', async () => {
    const controller = f.daemon!.controller;
    await f.bird.kill();
    await waitFor(() => !controller.status().bird.connected, { message: 'daemon notices BIRD is gone' });
    await assert.rejects(controller.setMed(V4, { med: 321 }, api), (e: unknown) => {
      assert.ok(e instanceof OperationError);
      assert.equal(e.status, 503);
      assert.match(e.message, /saved and stays desired/);
      return true;
    });
    assert.match(controller.status().bird.error ?? '', /retrying/);
    await f.bird.restart();
    await waitFor(async () => (await f.birdRoutes()).get(V4)?.med === 321, { message: 'BIRD got MED 321 after its restart' });
    await waitFor(() => controller.status().bird.lastApply?.ok === true, { message: 'status recovered' });
    assert.equal(controller.status().bird.connected, true);
  });

  it('broken bird.conf (8002): previous include restored, error in status, daemon alive, recovers once fixed', async () => {
    const controller = f.daemon!.controller;
    const includeBefore = await readFile(f.includeFile, 'utf8');
    await f.bird.writeConfig(birdConf(f.dir, f.includeFile, true));
    const res = await f.api('PUT', `/v1/vips/${enc(V4B)}/med`, { med: 777 });
    assert.equal(res.status, 500);
    assert.match((res.json as { error: string }).error, /bird\.conf:\d+/);
    assert.match((res.json as { error: string }).error, /saved and stays desired/);
    assert.equal(await readFile(f.includeFile, 'utf8'), includeBefore, 'previous include restored');
    assert.equal((await f.birdRoutes()).get(V4B)!.med, 100, 'BIRD kept running its last good config');
    const status = (await f.api('GET', '/v1/status')).json as DaemonStatus;
    assert.match(status.bird.error ?? '', /does not parse/);
    assert.equal(status.bird.lastApply?.errorKind, 'permanent');
    assert.equal(status.vips.find((v) => v.prefix === V4B)!.med, 777, 'desired keeps the change');
    assert.equal(status.vips.find((v) => v.prefix === V4B)!.inSync, false);
    // Fixed by the operator: the retry (backoff) applies the change without anyone asking again.
    await f.bird.writeConfig(birdConf(f.dir, f.includeFile));
    await waitFor(async () => (await f.birdRoutes()).get(V4B)?.med === 777, { timeoutMs: 15_000, message: 'retry applied' });
    await waitFor(() => controller.status().bird.error === undefined, { message: 'error cleared' });
  });

  it('an invalid config on reload is rejected with file and line; the running state stays exactly as it was', async () => {
    const controller = f.daemon!.controller;
    const good = await readFile(f.configFile, 'utf8');
    const include = await readFile(f.includeFile, 'utf8');
    const before = controller.status();
    await writeFile(f.configFile, good.replace('"med": 100', '"med": "high"'));
    try {
      await assert.rejects(controller.reload(api), (e: unknown) => {
        assert.ok(e instanceof OperationError);
        assert.equal(e.status, 422);
        assert.match(e.message, /vipcontrol\.yaml:\d+:\d+: vips\[0\]\.med/);
        return true;
      });
      const after = controller.status();
      assert.match(after.config.error ?? '', /vips\[0\]\.med/);
      assert.deepEqual(after.vips, before.vips);
      assert.equal(after.bird.applies, before.bird.applies, 'no apply attempted');
      assert.equal(await readFile(f.includeFile, 'utf8'), include);
    } finally {
      await writeFile(f.configFile, good);
    }
    await controller.reload(api);
    assert.equal(controller.status().config.error, undefined, 'a good reload clears the error');
  });

  it('a MED override with a TTL expires by itself', async () => {
    await f.daemon!.controller.setMed(V4, { med: 5, ttlMs: 300, reason: 'brief' }, api);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 5);
    await waitFor(async () => (await f.birdRoutes()).get(V4)?.med === 100, { message: 'override expired in BIRD' });
    await waitFor(async () => !Object.hasOwn((JSON.parse(await readFile(f.stateFile, 'utf8')) as { overrides: object }).overrides, V4), {
      message: 'expired override removed from the state file',
    });
    assert.ok(f.logs.some((l) => l.event === 'overridesExpired'));
  });

  it('an override that expired while the daemon was down is gone at start-up', async () => {
    await f.daemon!.controller.setMed(V4B, { med: 9, ttlMs: 60_000 }, api);
    await f.stopDaemon();
    const state = JSON.parse(await readFile(f.stateFile, 'utf8')) as { overrides: Record<string, { expiresAt: number }> };
    state.overrides[V4B]!.expiresAt = Date.now() - 1000;
    await writeFile(f.stateFile, JSON.stringify(state));
    await f.startDaemon();
    assert.equal((await f.birdRoutes()).get(V4B)!.med, 100);
    assert.equal(f.daemon!.controller.status().vips.find((v) => v.prefix === V4B)!.override, undefined);
  });

  it('a corrupt state file: kept aside, reported in status, daemon runs on the configured state', async () => {
    await f.stopDaemon();
    await writeFile(f.stateFile, '{"version": 1, "overrides": {"198.51');
    await f.startDaemon();
    const status = f.daemon!.controller.status();
    assert.ok(status.state.corrupt, 'status says the state file was corrupt');
    assert.match(await readFile(status.state.corrupt.movedTo, 'utf8'), /198\.51$/);
    assert.ok((await readdir(f.dir)).some((n) => n.startsWith('state.json.corrupt-')));
    assert.ok(f.logs.some((l) => l.event === 'stateCorrupt' && l.level === 'error'));
    assert.deepEqual(status.vips.map((v) => v.med), [100, 100, 100], 'configured MEDs, no overrides');
    assert.equal((await f.birdRoutes()).get(V6)!.med, 100);
  });
});

describe('first start of a fresh node that no viphealth reports to', () => {
  let f: SingleBird;
  before(async () => (f = await singleBird('dfresh')));
  after(() => f.cleanup());

  it('announces nothing (and says so) until health.firstReportWait passes, then everything; a restart does not wait', async () => {
    await f.writeConfig(VIPS, { health: { firstReportWait: '1s' } });
    await f.startDaemon();
    const waiting = f.daemon!.controller.status();
    assert.ok(waiting.health.awaitingFirstReport, 'status: health not known yet');
    assert.deepEqual(waiting.vips.map((v) => [v.announced, v.withdrawReasons.map((r) => r.kind), v.inSync]), VIPS.map(() => [false, ['awaiting-health'], true]));
    assert.equal((await f.birdRoutes()).size, 0, 'nothing in BIRD');
    const routes = await waitFor(async () => {
      const r = await f.birdRoutes();
      return r.size === VIPS.length ? r : undefined;
    }, { timeoutMs: 10_000, message: 'every VIP announced once the wait is over' });
    assert.ok([...routes.values()].every((r) => r.med === 100), 'configured MEDs');
    assert.ok(f.logs.some((l) => l.event === 'healthFirstReportMissing' && l.level === 'warn'));
    assert.equal(f.daemon!.controller.status().health.awaitingFirstReport, undefined);

    // Restart with a long wait: BIRD already has our routes, so nothing waits and nothing is sent.
    await f.writeConfig(VIPS, { health: { firstReportWait: '60s' } });
    await f.stopDaemon();
    const before = await f.reconfigurations();
    await f.startDaemon();
    assert.equal(f.daemon!.controller.status().health.awaitingFirstReport, undefined);
    assert.equal(await f.reconfigurations(), before, 'no configure');
    assert.equal((await f.birdRoutes()).size, VIPS.length);
  });
});

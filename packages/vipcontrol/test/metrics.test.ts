// /metrics of the real daemon against a real BIRD: the gauges follow a real change, the counters count
// applies, the protocol states come from BIRD, and a listener that cannot open never stops the daemon.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { readFile } from 'node:fs/promises';
import { freePort, promSample, repoPath, waitFor } from '@vipcontrol/testlab';
import { enc, singleBird, V4, V6, VIPS, type SingleBird } from './single-bird.js';


describe('vipcontrol /metrics', () => {
  let f: SingleBird;
  let port: number;
  const scrape = async (path = '/metrics', method = 'GET') => fetch(`http://127.0.0.1:${port}${path}`, { method });
  const metrics = async () => (await scrape()).text();

  before(async () => {
    f = await singleBird('metrics');
    port = await freePort();
    await f.writeConfig(VIPS, { metrics: { listen: `127.0.0.1:${port}` } });
    await f.startDaemon();
  });
  after(() => f.cleanup());

  it('shows each VIP as status does, and follows a set-med', async () => {
    let text = await metrics();
    assert.equal(promSample(text, 'vipcontrol_vip_med', `prefix="${V4}"`), 100);
    assert.equal(promSample(text, 'vipcontrol_vip_announced', `prefix="${V6}"`), 1);
    assert.equal(promSample(text, 'vipcontrol_vip_in_sync', `prefix="${V4}"`), 1);
    assert.equal(promSample(text, 'vipcontrol_vip_override_active', `prefix="${V4}"`), 0);
    assert.equal(promSample(text, 'vipcontrol_bird_connected'), 1);
    const appliesBefore = promSample(text, 'vipcontrol_applies_total', 'result="ok",configured="true"') ?? 0;

    const r = await f.api('PUT', `/v1/vips/${enc(V4)}/med`, { med: 250, reason: 'metrics test' });
    assert.equal(r.status, 200);
    text = await metrics();
    assert.equal(promSample(text, 'vipcontrol_vip_med', `prefix="${V4}"`), 250);
    assert.equal(promSample(text, 'vipcontrol_vip_exported_med', `prefix="${V4}"`), 250);
    assert.equal(promSample(text, 'vipcontrol_vip_override_active', `prefix="${V4}"`), 1);
    assert.equal(promSample(text, 'vipcontrol_applies_total', 'result="ok",configured="true"'), appliesBefore + 1);
    assert.ok((promSample(text, 'vipcontrol_apply_duration_seconds_count') ?? 0) >= 1);
    // The router side of the same change, read from BIRD itself.
    assert.equal((await f.birdRoutes()).get(V4)?.med, 250);
  });

  it("counts what others change in BIRD (an operator's `birdc configure`)", async () => {
    // Past the next look: a configure within 200 ms of the last set-med's would pass for vipcontrol's own (docs/bird.md).
    await new Promise((r) => setTimeout(r, 2_500));
    const before = promSample(await metrics(), 'vipcontrol_bird_changed_outside_total') ?? 0;
    assert.equal((await f.bird.client.configure()).status, 'reconfigured');
    // The watch looks every 2 s.
    await waitFor(async () => ((promSample(await metrics(), 'vipcontrol_bird_changed_outside_total') ?? 0) > before) || undefined, {
      message: 'the counter moved',
      timeoutMs: 8_000,
    });
  });

  it("reports BIRD's protocol states from BIRD", async () => {
    const text = await metrics();
    assert.equal(promSample(text, 'vipcontrol_bird_protocol_up', 'protocol="vipcontrol4",proto="Static"'), 1);
    assert.equal(promSample(text, 'vipcontrol_bird_protocol_up', 'protocol="device1",proto="Device"'), 1);
  });

  it('drain shows as vipcontrol_drained and in the MED', async () => {
    assert.equal((await f.api('POST', '/v1/drain', { withdraw: false })).status, 200);
    let text = await metrics();
    assert.equal(promSample(text, 'vipcontrol_drained'), 1);
    assert.ok((promSample(text, 'vipcontrol_vip_med', `prefix="${V6}"`) ?? 0) > 100);
    assert.equal((await f.api('POST', '/v1/undrain')).status, 200);
    text = await metrics();
    assert.equal(promSample(text, 'vipcontrol_drained'), 0);
  });

  it('every vipcontrol_* metric it exposes is in docs/metrics.md', async () => {
    const names = [...(await metrics()).matchAll(/^# HELP (vipcontrol_\w+) /gm)].map((m) => m[1]!);
    assert.ok(names.length >= 20, `only ${names.length} metrics exposed`);
    const doc = await readFile(repoPath('docs/metrics.md'), 'utf8');
    assert.deepEqual(names.filter((n) => !doc.includes(`\`${n}\``)), []);
  });

  it('serves /metrics only, GET and HEAD only', async () => {
    assert.equal((await scrape('/')).status, 404);
    assert.equal((await scrape('/v1/status')).status, 404);
    assert.equal((await scrape('/metrics', 'POST')).status, 405);
    const head = await scrape('/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
  });
});

describe('vipcontrol /metrics address in use', () => {
  let f: SingleBird;
  let blocker: Server;
  before(async () => {
    f = await singleBird('metrics-busy');
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await f.cleanup();
    blocker.close();
  });

  it('logs one error and manages the VIPs all the same', async () => {
    const port = (blocker.address() as { port: number }).port;
    await f.writeConfig(VIPS, { metrics: { listen: `127.0.0.1:${port}` } });
    await f.startDaemon();
    const failed = f.logs.filter((l) => l['event'] === 'metricsStartFailed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!['level'], 'error');
    await waitFor(async () => (await f.birdRoutes()).get(V4)?.med === 100, { timeoutMs: 10_000 });
    assert.equal((await f.api('GET', '/v1/status')).status, 200);
  });
});

// The helpers tests and benchmarks share instead of writing them again: /proc memory fields, the
// router's best path, GET /v1/status, and a vipcontrol beside its own BIRD on loopback.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RouteInfo } from '@vipcontrol/bird';
import { bestPath, daemonStatus, makeTempDir, pidExists, procKiB, startLoopbackVipcontrol, waitFor } from '../src/index.js';

describe('procKiB', () => {
  it('reads VmRSS / VmHWM from status and Rss / Pss from smaps_rollup, in KiB', async () => {
    const s = await procKiB(process.pid, 'status', ['VmRSS', 'VmHWM']);
    assert.ok(s.VmRSS > 1024 && s.VmHWM >= s.VmRSS, JSON.stringify(s));
    const r = await procKiB(process.pid, 'smaps_rollup', ['Rss', 'Pss']);
    assert.ok(r.Rss > 1024 && r.Pss > 0 && r.Pss <= r.Rss, JSON.stringify(r));
  });

  it('rejects naming a field the file does not have (no NaN slips into a table)', async () => {
    await assert.rejects(procKiB(process.pid, 'status', ['VmRSS', 'NoSuchField']), /\/proc\/\d+\/status has no NoSuchField/);
  });
});

describe('bestPath', () => {
  it('is the path BIRD marks primary, undefined when none is', () => {
    const route = (med: number, primary: boolean) => ({ prefix: '198.51.100.10/32', med, primary }) as unknown as RouteInfo;
    assert.equal(bestPath([route(200, false), route(100, true)])?.med, 100);
    assert.equal(bestPath([route(200, false)]), undefined);
    assert.equal(bestPath([]), undefined);
  });
});

describe('daemonStatus', () => {
  it('rejects with the status code and the reply when the API does not answer 200', async (t) => {
    const dir = await makeTempDir('vc-status-');
    t.after(() => dir.cleanup());
    const socket = join(dir.path, 'api.sock');
    const server = createServer((_req, res) => res.writeHead(503).end('{"error":"starting"}'));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await assert.rejects(daemonStatus(socket), /GET \/v1\/status on .*api\.sock: HTTP 503 \{"error":"starting"\}/);
  });
});

describe('startLoopbackVipcontrol', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  it('runs vipcontrol on loopback beside its own BIRD, with the config merged over the defaults; stop removes it all', async () => {
    const vc = await startLoopbackVipcontrol({ node: 'helper1', config: { vips: [{ prefix: '198.18.0.1/32', med: 120 }] } });
    stops.push(() => vc.stop());
    const status = await daemonStatus(vc.apiSocket);
    assert.equal(status.node, 'helper1');
    assert.deepEqual(status.vips.map((v) => [v.prefix, v.med]), [['198.18.0.1/32', 120]]);
    assert.equal(status.bird.socket, vc.bird.socketPath);
    await vc.stop();
    assert.notEqual(await vc.daemon.exited, undefined);
    await assert.rejects(stat(vc.dir), { code: 'ENOENT' });
    await vc.stop(); // twice is fine
  });

  it('with redis: true, runs a redis-server the daemon registers with (fleet mode), stopped with it', async () => {
    const vc = await startLoopbackVipcontrol({ node: 'helper2', redis: true, config: { vips: [{ prefix: '198.18.0.2/32', med: 100 }], redis: { heartbeat: '200ms', ttl: '2s' } } });
    stops.push(() => vc.stop());
    const redis = vc.redis;
    assert.ok(redis);
    await waitFor(async () => ((await daemonStatus(vc.apiSocket)).fleet as { connected?: boolean } | undefined)?.connected, { message: 'daemon connected to its Redis' });
    const redisPid = redis.pid;
    await vc.stop();
    assert.equal(pidExists(redisPid), false, 'redis-server stopped with the daemon');
  });
});

// The local API over its Unix socket: bad input of every kind gets a clear 4xx and changes nothing;
// socket lifecycle (mode, stale socket, live daemon).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { startDaemon } from '../src/daemon.js';
import { createLogger } from '../src/logger.js';
import { OperationError } from '../src/errors.js';
import type { DaemonStatus } from '../src/daemon-types.js';
import { enc, singleBird, V4, V6, VIPS, type SingleBird } from './single-bird.js';

describe('API', async () => {
  let f: SingleBird;
  before(async () => {
    f = await singleBird('api');
    await f.writeConfig(VIPS);
    await f.startDaemon();
    // A state file exists from here on, so "unchanged" below compares real bytes.
    await f.api('PUT', `/v1/vips/${enc(V4)}/med`, { med: 150, reason: 'baseline' });
  });
  after(() => f.cleanup());

  /** Everything a bad request must leave alone. */
  async function snapshot() {
    const status = (await f.api('GET', '/v1/status')).json as DaemonStatus;
    return {
      state: await readFile(f.stateFile, 'utf8'),
      include: await readFile(f.includeFile, 'utf8'),
      applies: status.bird.applies,
      vips: status.vips.map((v) => [v.prefix, v.med, v.announced]),
    };
  }

  const big = JSON.stringify({ med: 1, reason: 'x'.repeat(70 * 1024) });
  const bad: [string, string, string, unknown, Record<string, string> | undefined, number, RegExp][] = [
    ['malformed JSON', 'PUT', `/v1/vips/${enc(V4)}/med`, '{"med": 1', undefined, 400, /malformed JSON/],
    ['oversized body', 'PUT', `/v1/vips/${enc(V4)}/med`, big, undefined, 413, /larger than 65536/],
    ['not JSON', 'PUT', `/v1/vips/${enc(V4)}/med`, 'med=1', { 'content-type': 'application/x-www-form-urlencoded' }, 415, /application\/json/],
    ['unknown VIP', 'PUT', `/v1/vips/${enc('198.51.100.99/32')}/med`, { med: 1 }, undefined, 404, /unknown VIP 198\.51\.100\.99\/32/],
    ['MED above 2^32-1', 'PUT', `/v1/vips/${enc(V4)}/med`, { med: 4294967296 }, undefined, 400, /med/],
    ['negative MED', 'PUT', `/v1/vips/${enc(V4)}/med`, { med: -1 }, undefined, 400, /med/],
    ['MED as a string', 'PUT', `/v1/vips/${enc(V4)}/med`, { med: '100; }' }, undefined, 400, /med/],
    ['unknown field', 'PUT', `/v1/vips/${enc(V4)}/med`, { med: 1, bgp_med: 2 }, undefined, 400, /bgp_med/],
    ['bad TTL', 'PUT', `/v1/vips/${enc(V4)}/med`, { med: 1, ttl: 'forever' }, undefined, 400, /ttl/],
    ['array body', 'PUT', `/v1/vips/${enc(V4)}/med`, [1], undefined, 400, /JSON object/],
    ['newline in reason', 'POST', `/v1/vips/${enc(V4)}/withdraw`, { reason: 'a\n}; protocol static x {' }, undefined, 400, /reason/],
    ['injection in prefix', 'PUT', `/v1/vips/${enc(`${V4}; } protocol static evil {`)}/med`, { med: 1 }, undefined, 400, /prefix/],
    ['prefix with host bits', 'POST', `/v1/vips/${enc('198.51.100.10/24')}/withdraw`, undefined, undefined, 400, /prefix/],
    ['bad percent-encoding', 'POST', '/v1/vips/%E0%A4%A/announce', undefined, undefined, 400, /URL encoding/],
    ['drain with a non-boolean', 'POST', '/v1/drain', { withdraw: 'yes' }, undefined, 400, /withdraw/],
    ['body on a body-less route', 'POST', '/v1/undrain', { now: true }, undefined, 400, /no body/],
    ['unknown endpoint', 'GET', '/v1/nope', undefined, undefined, 404, /no such endpoint/],
    ['wrong method', 'DELETE', '/v1/status', undefined, undefined, 405, /not allowed/],
    ['oversized actor header', 'POST', '/v1/undrain', undefined, { 'x-vipcontrol-actor': 'e'.repeat(201) }, 400, /Actor/],
    ['invalid health report', 'POST', '/v1/health/report', { version: 2, instance: 'x', checks: 'all good' }, undefined, 400, /checks/],
    ['old-format health report', 'POST', '/v1/health/report', { instance: 'x', startedAt: 1, checks: [] }, undefined, 400, /format 1 .*not supported.*format 2/],
  ];
  for (const [name, method, path, body, headers, status, message] of bad) {
    it(`${name} → ${status}, nothing changed`, async () => {
      const before = await snapshot();
      const res = await f.api(method, path, body, headers);
      assert.equal(res.status, status, res.text);
      assert.match(res.headers['content-type'] as string, /^application\/json/);
      assert.match((res.json as { error: string }).error, message);
      assert.deepEqual(await snapshot(), before);
    });
  }

  it('an injection attempt in a reason is stored as text and never reaches the BIRD include', async () => {
    const reason = '"; } protocol static evil { ipv4; route 0.0.0.0/0 blackhole; } #';
    const res = await f.api('PUT', `/v1/vips/${enc(V6)}/med`, { med: 120, reason });
    assert.equal(res.status, 200, res.text);
    const include = await readFile(f.includeFile, 'utf8');
    assert.doesNotMatch(include, /evil|0\.0\.0\.0/);
    assert.match(include, /2001:db8::10\/128 blackhole \{ bgp_med = 120;/);
    const status = (await f.api('GET', '/v1/status')).json as DaemonStatus;
    assert.equal(status.vips.find((v) => v.prefix === V6)!.override?.reason, reason);
  });

  it('unencoded prefixes work too (curl users), and answers carry the affected VIP only', async () => {
    const res = await f.api('PUT', `/v1/vips/${V6}/med`, { med: 130 }, { 'x-vipcontrol-actor': 'ops@bastion' });
    assert.equal(res.status, 200, res.text);
    const body = res.json as { ok: boolean; vips: { prefix: string; med: number }[]; applyId: number };
    assert.equal(body.ok, true);
    assert.deepEqual(body.vips.map((v) => [v.prefix, v.med]), [[V6, 130]]);
    assert.ok(body.applyId > 0);
    assert.ok(f.logs.some((l) => l.event === 'apiRequest' && (l.actor as { user?: string }).user === 'ops@bastion'));
  });

  it('withdraw / announce / drain / undrain / reset-med round trip', async () => {
    const w = await f.api('POST', `/v1/vips/${enc(V4)}/withdraw`, { reason: 'maintenance' });
    assert.equal(w.status, 200, w.text);
    assert.equal((await f.birdRoutes()).has(V4), false);
    assert.equal((await f.api('POST', `/v1/vips/${enc(V4)}/announce`)).status, 200);
    assert.equal((await f.birdRoutes()).has(V4), true);
    const d = await f.api('POST', '/v1/drain', { withdraw: false, reason: 'patching' });
    assert.equal(d.status, 200, d.text);
    const drained = (await f.birdRoutes()).get(V4)!.med!;
    assert.ok(drained > 150, `drain adds a penalty (got ${drained})`);
    assert.equal((await f.api('POST', '/v1/undrain')).status, 200);
    assert.equal((await f.api('DELETE', `/v1/vips/${enc(V4)}/med`)).status, 200);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 100);
  });

  it('the socket has mode 0660', async () => {
    assert.equal((await stat(f.apiSocket)).mode & 0o777, 0o660);
  });

  it('routes registered by other components are served', async () => {
    const remove = f.daemon!.routes.add('POST', '/v1/maintenance/skip', ({ body }) => {
      if (body !== undefined) throw new OperationError(400, 'no body please');
      return { ok: true, skipped: true };
    });
    try {
      const res = await f.api('POST', '/v1/maintenance/skip');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { ok: true, skipped: true });
    } finally {
      remove();
    }
    assert.equal((await f.api('POST', '/v1/maintenance/skip')).status, 404);
  });

  it('a second daemon refuses the live socket; a stale socket from a crash is replaced', async () => {
    const logger = createLogger({ level: 'silent' });
    await assert.rejects(startDaemon({ configFile: f.configFile, logger, verifyIntervalMs: 0 }), /already serving/);
    assert.equal((await f.api('GET', '/v1/status')).status, 200, 'the running daemon is untouched');
    await f.stopDaemon();
    // A process that dies while listening leaves its socket file behind.
    const stale = await execa(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(f.apiSocket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ], { reject: false });
    assert.equal(stale.signal, 'SIGKILL');
    assert.ok((await stat(f.apiSocket)).isSocket(), 'stale socket present');
    await f.startDaemon();
    assert.equal((await f.api('GET', '/v1/status')).status, 200);
  });
});

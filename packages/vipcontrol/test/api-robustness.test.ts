// The API socket against hostile and careless clients (issue 7 items 5-6, issue 12 item 5), with a
// real BIRD and the real socket: malformed request lines and header bytes get a 4xx and never end
// the daemon; a UTF-8 actor survives a restart; idle connections are closed and capped; only
// requests that really arrived hold the burst window, and a health report is never held.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { healthReportBody, makeTempDir, unixHttpRequest, waitFor } from '@vipcontrol/testlab';
import { encodeActorHeader, type DaemonStatus } from '@vipcontrol/core';
import { ApiServer } from '../src/api-server.js';
import { apiRoutes } from '../src/api-routes.js';
import type { Controller } from '../src/controller.js';
import { createLogger } from '../src/logger.js';
import { enc, singleBird, V4, V4B, VIPS, type SingleBird } from './single-bird.js';

/** Long enough that a held apply shows as a timed-out request, not as a slow one. */
const BURST_HOLD_MS = 20_000;
const ANSWER_TIMEOUT_MS = 8_000;

/** Sends raw bytes, returns everything answered until the server closes (requests say Connection: close). */
function rawExchange(socketPath: string, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms to ${JSON.stringify(bytes.toString('latin1').slice(0, 80))}`));
    }, ANSWER_TIMEOUT_MS);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after the answer (the server closes a connection it refused) still carries the answer.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);

/** Opens a connection that sends `bytes` (nothing by default) and then stays silent. */
function openSilent(socketPath: string, bytes?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.on('error', () => undefined); // closed by the server: expected
    socket.resume(); // read the server's 408 and end, so `readableEnded` tells the connection was closed
    socket.once('connect', () => {
      if (bytes !== undefined) socket.write(bytes);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

describe('API robustness', () => {
  let f: SingleBird;
  const status = async (): Promise<DaemonStatus> => (await f.api('GET', '/v1/status')).json as DaemonStatus;
  before(async () => {
    f = await singleBird('apirobust');
    await f.writeConfig(VIPS);
    await f.startDaemon({ burstHoldMs: BURST_HOLD_MS });
  });
  after(() => f.cleanup());

  it('malformed request lines are answered 4xx and the daemon lives on', async () => {
    const lines = [
      'GET //[ HTTP/1.1',
      'GET //[::1 HTTP/1.1',
      'GET http://[ HTTP/1.1',
      'GET * HTTP/1.1',
      'GET v1/status HTTP/1.1',
      'GET /v1/%ZZ HTTP/1.1',
      'GET /v1/status HTTP/9.9',
      'GET  HTTP/1.1',
      'G\u0000T /v1/status HTTP/1.1',
      '\u0016\u0003\u0001\u0002\u0000\u0001', // a TLS ClientHello
      'PUT /v1/vips/%E0%A4%A/med HTTP/1.1',
    ];
    for (const line of lines) {
      const answer = await rawExchange(f.apiSocket, Buffer.from(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1'));
      const code = statusOf(answer);
      assert.ok(code >= 400 && code < 500, `${JSON.stringify(line)} → ${JSON.stringify(answer.slice(0, 120))}`);
    }
    assert.equal((await f.api('GET', '/v1/status')).status, 200);
  });

  it('fuzz: request targets and header bytes never cost more than a 4xx', async () => {
    const targetChar = fc.constantFrom(...'/[]%@:?#\\.aZ0 \t\u0000\u007f\u0080\u00ff{}|^`"<>'.split(''));
    const target = fc.array(targetChar, { maxLength: 16 }).map((cs) => `/${cs.join('')}`);
    const method = fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'TRACE', 'BREW', 'get', '');
    const headerBytes = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
    const requests = fc.sample(
      fc.tuple(method, fc.oneof(target, fc.constant('/v1/status')), fc.constantFrom('X-A', 'X-Vipcontrol-Actor'), headerBytes),
      { numRuns: 250, seed: 7 },
    );
    for (const [m, t, name, value] of requests) {
      const bytes = Buffer.concat([
        Buffer.from(`${m} ${t} HTTP/1.1\r\nHost: x\r\n${name}: `, 'latin1'),
        value,
        Buffer.from('\r\nConnection: close\r\n\r\n', 'latin1'),
      ]);
      const answer = await rawExchange(f.apiSocket, bytes);
      const code = statusOf(answer);
      assert.ok(code >= 200 && code < 500, `${JSON.stringify(bytes.toString('latin1'))} → ${JSON.stringify(answer.slice(0, 120))}`);
    }
    assert.equal((await f.api('GET', '/v1/status')).status, 200);
  });

  it('an answer that cannot be sent (a handler bug) is a 500, never the end of the daemon', async () => {
    // JSON.stringify throws on a BigInt: outside the handler's own error path, as `new URL` was.
    const remove = f.daemon!.routes.add('GET', '/v1/test/unserialisable', () => ({ n: 1n }));
    try {
      const res = await f.api('GET', '/v1/test/unserialisable');
      assert.equal(res.status, 500, res.text);
      assert.deepEqual(res.json, { error: 'internal error' });
    } finally {
      remove();
    }
    assert.ok(f.logs.some((l) => l['event'] === 'apiHandlerFailed'));
    assert.equal((await f.api('GET', '/v1/status')).status, 200);
  });

  it('a UTF-8 actor is recorded as sent, and the override survives a restart', async () => {
    const actor = 'Jürgen Ćosić 渡辺@host'; // "Ć" is C4 86 in UTF-8: read as latin1 it carried a C1 control
    const res = await f.api('PUT', `/v1/vips/${enc(V4)}/med`, { med: 240, reason: 'ünïcode' }, { 'x-vipcontrol-actor': encodeActorHeader(actor) });
    assert.equal(res.status, 200, res.text);
    assert.equal((await status()).vips.find((v) => v.prefix === V4)!.override?.setBy, actor);

    // Bytes that are not UTF-8 (a latin1 "ü") are one clear 400; nothing changes.
    const before = await status();
    const bad = await f.api('PUT', `/v1/vips/${enc(V4B)}/med`, { med: 1 }, { 'x-vipcontrol-actor': 'J\u00fcrgen@host' });
    assert.equal(bad.status, 400, bad.text);
    assert.match((bad.json as { error: string }).error, /X-Vipcontrol-Actor is not valid UTF-8/);
    assert.equal((await status()).vips.find((v) => v.prefix === V4B)!.med, before.vips.find((v) => v.prefix === V4B)!.med);

    await f.stopDaemon();
    await f.startDaemon({ burstHoldMs: BURST_HOLD_MS });
    const after = await status();
    assert.equal(after.state.corrupt, undefined, 'the state file written with a UTF-8 actor reads back');
    const vip = after.vips.find((v) => v.prefix === V4)!;
    assert.equal(vip.override?.setBy, actor);
    assert.equal(vip.med, 240);
    assert.equal((await f.birdRoutes()).get(V4)!.med, 240);
  });

  it('idle connections are closed; only a request that arrived counts as intake', async () => {
    const api = f.daemon!.api;
    const idle = await Promise.all(Array.from({ length: 20 }, () => openSilent(f.apiSocket)));
    const partial = await openSilent(f.apiSocket, `PUT /v1/vips/${enc(V4B)}/med HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"med"`);
    try {
      await waitFor(() => api.intake === 1, { timeoutMs: 2_000, message: 'the partial request to count as intake' });
      assert.equal(api.intake, 1, 'twenty silent connections hold nothing; the one that sent a request does');
      // Headers 5 s, checked every second: every silent connection is gone well before Node's old 40 s.
      await waitFor(() => idle.every((s) => s.destroyed || s.readableEnded), { timeoutMs: 9_000, message: 'idle connections closed by the daemon' });
    } finally {
      partial.destroy();
      for (const s of idle) s.destroy();
    }
    await waitFor(() => api.intake === 0, { timeoutMs: 2_000, message: 'intake back to 0' });
  });

  it('connections opened and left idle do not hold an operator change', async () => {
    // Ten new silent connections a second, as in issue 12: each used to hold every apply for the burst window.
    const opened: Socket[] = [];
    const timer = setInterval(() => void openSilent(f.apiSocket).then((s) => opened.push(s)), 100);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const res = await unixHttpRequest(f.apiSocket, { method: 'PUT', path: `/v1/vips/${enc(V4B)}/med`, body: { med: 333 }, timeoutMs: ANSWER_TIMEOUT_MS });
      assert.equal(res.status, 200, res.text);
      assert.equal((await f.birdRoutes()).get(V4B)!.med, 333);
    } finally {
      clearInterval(timer);
      for (const s of opened) s.destroy();
    }
  });

  it('a health report is never held, even while requests are arriving', async () => {
    const partial = await openSilent(f.apiSocket, `PUT /v1/vips/${enc(V4B)}/med HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"med"`);
    // New connections too (what held every apply before): a health failover waits for none of them.
    const opened: Socket[] = [];
    const timer = setInterval(() => void openSilent(f.apiSocket).then((s) => opened.push(s)), 100);
    try {
      await waitFor(() => f.daemon!.api.intake === 1, { timeoutMs: 2_000, message: 'the partial request to count as intake' });
      const base = (await f.birdRoutes()).get(V4)!.med!;
      const now = Date.now();
      const report = healthReportBody('robustness-1', now, [{ name: 'web', status: 'down', vips: [V4], effect: { penalty: 1000 }, since: now }]);
      const res = await unixHttpRequest(f.apiSocket, { method: 'POST', path: '/v1/health/report', body: report, timeoutMs: ANSWER_TIMEOUT_MS });
      assert.equal(res.status, 200, res.text);
      assert.equal((await f.birdRoutes()).get(V4)!.med, base + 1000);
      assert.equal(f.daemon!.api.intake, 1, 'the arriving request was still there: the apply did not wait for it');
    } finally {
      clearInterval(timer);
      partial.destroy();
      for (const s of opened) s.destroy();
    }
  });
});

describe('API connection cap', () => {
  it('connections beyond the cap are closed at once; the ones within are served', async () => {
    const dir = await makeTempDir('vc-apicap-');
    const socketPath = `${dir.path}/api.sock`;
    const controller = { status: () => ({ node: 'cap' }) } as unknown as Controller;
    const server = new ApiServer({ socketPath, mode: 0o600, controller, routes: apiRoutes(), logger: createLogger({ level: 'silent' }), maxConnections: 5 });
    await server.listen();
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 5; i++) held.push(await openSilent(socketPath));
      await waitFor(async () => (await server.connections) === 5, { timeoutMs: 2_000, message: 'five connections accepted' });
      const refused = await rawExchange(socketPath, Buffer.from('GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      assert.equal(refused, '', 'the sixth connection is closed without an answer');
      held.pop()!.destroy();
      await waitFor(async () => (await server.connections) === 4, { timeoutMs: 2_000, message: 'a slot freed' });
      const served = await rawExchange(socketPath, Buffer.from('GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      assert.equal(statusOf(served), 200, served);
    } finally {
      for (const s of held) s.destroy();
      await server.close();
      await dir.cleanup();
    }
  });
});

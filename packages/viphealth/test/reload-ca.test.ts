/**
 * `systemctl reload viphealth` after a CA rotation: the viphealth process, an HTTPS check against a local
 * TLS server with a private CA. The server moves to a certificate from CA B (the check fails: the CA file
 * still holds A), the CA file is rewritten in place with B, SIGHUP: the check passes again, in the same
 * process. What the daemon says comes through STATUS= (a stand-in notify socket; vipcontrol is absent).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeTempDir, makeTlsCerts, repoPath, startNotifyListener, waitFor, type NotifyListener, type TempDir, type TlsCerts } from '@vipcontrol/testlab';

describe('SIGHUP after the HTTP check CA file was rotated in place', () => {
  let tmp: TempDir;
  let notify: NotifyListener;
  let server: Server;
  let a: TlsCerts;
  let b: TlsCerts;
  let viphealth: ChildProcess;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    tmp = await makeTempDir('viphealth-reload-ca-');
    [a, b, notify] = await Promise.all([makeTlsCerts(tmp.path, 'a'), makeTlsCerts(tmp.path, 'b'), startNotifyListener(tmp.path)]);
    server = createHttpsServer({ key: await readFile(a.key), cert: await readFile(a.cert) }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(async () => {
    if (viphealth?.exitCode === null) {
      viphealth.kill('SIGTERM');
      await once(viphealth, 'exit');
    }
    server?.close();
    await notify?.close();
    await tmp?.cleanup();
  });

  /** The latest STATUS= text. */
  const status = () => notify.messages().filter((m) => m.includes('STATUS=')).at(-1)?.replace(/^(READY=1\n)?STATUS=/, '');

  it('uses the new CA after the reload', async () => {
    const ca = join(tmp.path, 'ca.pem');
    await copyFile(a.ca, ca);
    const config = join(tmp.path, 'viphealth.yaml');
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await writeFile(config, `vipcontrol: { socket: ${join(tmp.path, 'absent.sock')} }\nheartbeat: 200ms\nchecks:\n  - { name: h, type: http, url: '${url}', tls: { ca: ${ca} }, interval: 50ms, rise: 1, fall: 1, vips: [192.0.2.1/32], penalty: 10 }\n`);
    viphealth = spawn(process.execPath, [repoPath('packages/viphealth/bin/viphealth.js'), '--config', config], {
      env: { ...process.env, NOTIFY_SOCKET: notify.socketPath },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: viphealth.stdout! }).on('line', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
    const undelivered = `; verdicts not delivered: vipcontrol unreachable at ${join(tmp.path, 'absent.sock')} (ENOENT); retrying`;
    await waitFor(() => status() === `1 checks: 1 up, 0 down, 0 unknown, 0 disabled${undelivered}`, { timeoutMs: 10_000, message: `up with CA A: ${status()}` });

    server.setSecureContext({ key: await readFile(b.key), cert: await readFile(b.cert) });
    await waitFor(() => status() === `1 checks: 0 up, 1 down, 0 unknown, 0 disabled (down: h)${undelivered}`, { timeoutMs: 10_000, message: `down: CA A does not verify certificate B: ${status()}` });

    await copyFile(b.ca, ca);
    viphealth.kill('SIGHUP');
    await waitFor(() => logs.find((l) => l['event'] === 'reloaded'), { timeoutMs: 10_000, message: 'reloaded' });
    assert.deepStrictEqual(logs.find((l) => l['event'] === 'reloaded')!['refreshed'], ['h'], 'the reload says which probe it built again');
    await waitFor(() => status() === `1 checks: 1 up, 0 down, 0 unknown, 0 disabled${undelivered}`, { timeoutMs: 10_000, message: `up with CA B: ${status()}` });
    assert.equal(viphealth.exitCode, null, 'the same process');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, makeTlsCerts, pidExists, waitFor, type TempDir } from '@vipcontrol/testlab';
import { ExecProbe } from '../src/checks/exec-probe.js';
import { HttpProbe } from '../src/checks/http-probe.js';
import { ProcessProbe } from '../src/checks/process-probe.js';
import { TcpProbe } from '../src/checks/tcp-probe.js';

let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('viphealth-probes-');
});
after(() => tmp.cleanup());


async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('tcp probe', () => {
  it('passes while a listener accepts, fails once it is closed', async () => {
    const server = createTcpServer((s) => s.end());
    const port = await listen(server);
    const probe = new TcpProbe({ host: '127.0.0.1', port });
    const up = await probe.run(500);
    assert.equal(up.ok, true, up.detail);
    server.close();
    await once(server, 'close');
    const down = await probe.run(500);
    assert.equal(down.ok, false);
    assert.match(down.error ?? '', /ECONNREFUSED/);
  });

  it('connects over IPv6', async (t) => {
    const server = createTcpServer((s) => s.end());
    server.listen(0, '::1');
    await once(server, 'listening');
    t.after(() => server.close());
    const r = await new TcpProbe({ host: '::1', port: (server.address() as AddressInfo).port }).run(500);
    assert.equal(r.ok, true, r.detail);
  });
});

describe('http probe', () => {
  let port: number;
  let status = 200;
  const server = createHttpServer((req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(req.url === '/slow' ? undefined : `state=${status === 200 ? 'ok' : 'bad'}\n`);
  });
  before(async () => (port = await listen(server)));
  after(() => server.close());

  it('judges the status range and the body', async () => {
    const url = `http://127.0.0.1:${port}/health`;
    const plain = new HttpProbe({ url, status: { min: 200, max: 299 }, tls: { insecure: false } });
    const body = new HttpProbe({ url, status: { min: 200, max: 299 }, bodyMatch: '^state=ok\n', tls: { insecure: false } });
    assert.equal((await plain.run(1000)).ok, true);
    assert.equal((await body.run(1000)).ok, true);
    status = 503;
    const r = await plain.run(1000);
    assert.deepStrictEqual([r.ok, r.detail], [false, 'status 503, expected 200-299']);
    status = 200;
    const wrongBody = new HttpProbe({ url, status: { min: 200, max: 299 }, bodyMatch: 'ready', tls: { insecure: false } });
    assert.equal((await wrongBody.run(1000)).ok, false);
  });

  it('times out a server that never answers', async (t) => {
    const silent = createTcpServer(() => undefined);
    const silentPort = await listen(silent);
    t.after(() => {
      silent.close();
    });
    const r = await new HttpProbe({ url: `http://127.0.0.1:${silentPort}/`, status: { min: 200, max: 299 }, tls: { insecure: false } }).run(150);
    assert.equal(r.ok, false);
    assert.match(r.detail, /within 150 ms/);
    assert.ok(r.latencyMs < 1000, `settled after ${r.latencyMs} ms`);
  });

  it('speaks TLS with a private CA, and refuses an unknown one unless insecure', async (t) => {
    const certs = await makeTlsCerts(tmp.path);
    const tls = createHttpsServer({ key: await readFile(certs.key), cert: await readFile(certs.cert) }, (_req, res) => res.end('ok'));
    const tlsPort = await listen(tls);
    t.after(() => tls.close());
    const url = `https://127.0.0.1:${tlsPort}/`;
    const status = { min: 200, max: 299 };
    const strict = await new HttpProbe({ url, status, tls: { insecure: false } }).run(1000);
    assert.equal(strict.ok, false, 'a private CA is not trusted by default');
    assert.match(strict.detail, /unable to verify the first certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE/i);
    assert.equal((await new HttpProbe({ url, status, tls: { insecure: false, ca: certs.ca } }).run(1000)).ok, true);
    assert.equal((await new HttpProbe({ url, status, tls: { insecure: true } }).run(1000)).ok, true);
  });
});

describe('exec probe', () => {
  it('passes on exit 0 and reports the exit code otherwise', async () => {
    assert.deepStrictEqual(
      await new ExecProbe({ command: ['/bin/true'], shell: false }).run(2000).then((r) => [r.ok, r.exitCode]),
      [true, 0],
    );
    const r = await new ExecProbe({ command: ['sh', '-c', 'echo broken >&2; exit 3'], shell: false }).run(2000);
    assert.deepStrictEqual([r.ok, r.exitCode, r.detail], [false, 3, 'broken']);
    const missing = await new ExecProbe({ command: ['/nonexistent/check'], shell: false }).run(2000);
    assert.deepStrictEqual([missing.ok, missing.exitCode], [false, undefined]);
    assert.match(missing.detail, /ENOENT/);
  });

  it('uses no shell unless asked to', async () => {
    const argv = await new ExecProbe({ command: ['echo', '$HOME;', 'true'], shell: false }).run(2000);
    assert.equal(argv.detail, '$HOME; true');
    const shell = await new ExecProbe({ command: ['echo "$((40+2))"'], shell: true }).run(2000);
    assert.equal(shell.detail, '42');
  });

  it('on timeout kills the whole process group', async () => {
    const pidFile = join(tmp.path, 'grandchild.pid');
    const probe = new ExecProbe({ command: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; sleep 30`], shell: false });
    const r = await probe.run(300);
    assert.deepStrictEqual([r.ok, r.error], [false, 'timeout']);
    assert.ok(r.latencyMs < 2000, `took ${r.latencyMs} ms`);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    // The backgrounded sleep was in the group: it is gone too (reparented to init, which reaps it).
    await waitFor(() => !pidExists(grandchild), { timeoutMs: 2000, message: `grandchild ${grandchild} killed` });
  });
});

describe('process probe', () => {
  it('sees a SIGKILLed process by pidfile and by name', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pidfile = join(tmp.path, 'svc.pid');
    await writeFile(pidfile, `${child.pid}\n`);
    const byPid = new ProcessProbe({ pidfile });
    const byName = new ProcessProbe({ processName: 'sleep' });
    assert.equal((await byPid.run()).ok, true);
    const named = await byName.run();
    assert.equal(named.ok, true, named.detail);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const gone = await byPid.run();
    assert.deepStrictEqual([gone.ok, gone.detail], [false, `pid ${child.pid} from ${pidfile} does not exist`]);
    const noName = await new ProcessProbe({ processName: 'no-such-proc' }).run();
    assert.deepStrictEqual([noName.ok, noName.detail], [false, 'no process named no-such-proc']);
  });

  it('counts a zombie as dead', async (t) => {
    // `sleep 100` is backgrounded, then the shell execs `sleep 1000`, which never reaps it: after a
    // SIGKILL the first sleep stays a zombie, exactly as a service whose parent is slow to reap.
    const pidfile = join(tmp.path, 'zombie.pid');
    const parent = spawn('sh', ['-c', `sleep 100 & echo $! > ${pidfile}; exec sleep 1000`], { stdio: 'ignore' });
    t.after(() => parent.kill('SIGKILL'));
    const pid = await waitFor(async () => Number(await readFile(pidfile, 'utf8')) || undefined);
    const probe = new ProcessProbe({ pidfile });
    assert.equal((await probe.run()).ok, true);
    process.kill(pid, 'SIGKILL');
    const r = await waitFor(async () => {
      const res = await probe.run();
      return res.ok ? undefined : res;
    });
    assert.equal(pidExists(pid), true, 'still in the process table');
    assert.equal(r.detail, `pid ${pid} from ${pidfile} is dead (state Z)`);
  });
});

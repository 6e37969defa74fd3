// BIRD behaviours that cannot be made to show on demand (a configure status caught mid-reconfiguration,
// a spontaneous line inside a reply, a reply arriving after its timeout, a bad greeting, a line no BIRD
// version prints), replayed
// from fixtures by a scripted Unix-socket server. Everything else is tested against a real bird.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BirdClient } from '../src/client.js';
import { BirdConnectionError, BirdParseError, BirdReplyError, BirdTimeoutError } from '../src/errors.js';
import { waitFor } from './bird-process.js';
import { fixture } from './fixture-files.js';

type Script = (command: string, socket: net.Socket) => void;

/** A server that greets like BIRD and answers each command line through `script`. */
async function scriptedServer(dir: string, script: Script, greeting = fixture('banner')) {
  const socketPath = path.join(dir, `s-${randomBytes(3).toString('hex')}.ctl`);
  const stats = { connections: 0, maxOutstanding: 0, commands: [] as string[] };
  const server = net.createServer((socket) => {
    stats.connections++;
    socket.write(greeting);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      // More than one complete line at once would mean the client pipelined.
      stats.maxOutstanding = Math.max(stats.maxOutstanding, lines.length);
      for (const l of lines) {
        stats.commands.push(l);
        script(l, socket);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  return { socketPath, stats, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('BirdClient against scripted replies', { timeout: 20000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vcbird-scripted-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('configure answers 0004 (recorded from BIRD 3.3.2), waitForReconfiguration polls until done', async (t) => {
    let polls = 0;
    const server = await scriptedServer(dir, (cmd, s) => {
      if (cmd.startsWith('configure "')) s.write(fixture('3.3.2/configure-remove-protocol'));
      else if (cmd === 'configure status') s.write(fixture(++polls < 3 ? 'synthetic/configure-status-in-progress' : '3.3.2/configure-status-unconfirmed'));
    });
    const client = new BirdClient({ socketPath: server.socketPath });
    t.after(async () => {
      await client.close();
      await server.close();
    });
    await client.connect();
    const r = await client.configure({ file: '/etc/bird/bird.conf', timeoutSec: 30 });
    assert.deepEqual([r.status, r.undoTimeoutSec], ['in-progress', 30]);
    const done = await client.waitForReconfiguration({ intervalMs: 5 });
    assert.equal(done.state, 'running');
    assert.equal(polls, 3);
    assert.deepEqual(server.stats.commands, ['configure "/etc/bird/bird.conf" timeout 30', 'configure status', 'configure status', 'configure status']);
  });

  it('spontaneous and garbage lines inside and between replies; never pipelines', async (t) => {
    const server = await scriptedServer(dir, (cmd, s) => {
      if (cmd === 'show status') s.write(fixture('synthetic/spontaneous-mid-reply'));
      else s.write(fixture('eval'));
    });
    const client = new BirdClient({ socketPath: server.socketPath });
    const seen: string[] = [];
    client.on('spontaneous', (l) => seen.push(l));
    t.after(async () => {
      await client.close();
      await server.close();
    });
    await client.connect();
    const results = await Promise.all([client.showStatus(), client.command('eval 1+2'), client.showStatus()]);
    assert.equal(results[0].hostname, 'vm');
    assert.equal(results[1].text, '3');
    assert.deepEqual(seen, ['Config timeout expired, starting undo', 'Reconfigured', 'Config timeout expired, starting undo', 'Reconfigured']);
    assert.equal(server.stats.maxOutstanding, 1);
  });

  it('an 8000 terminal line is an error; a mid-reply 8000 only marks the reply truncated', async (t) => {
    const server = await scriptedServer(dir, (cmd, s) => s.write(fixture(cmd === 'show route all' ? 'synthetic/overflow-8000-terminal' : 'synthetic/overflow-8000')));
    const client = new BirdClient({ socketPath: server.socketPath });
    t.after(async () => {
      await client.close();
      await server.close();
    });
    await client.connect();
    await assert.rejects(client.showRoutes(), (e) => e instanceof BirdReplyError && e.code === 8000);
    const [route] = await client.showRoutes({ protocol: 'node1' });
    assert.equal(route?.med, 100);
  });

  it('a route line no BIRD prints is a BirdParseError naming the line and the version from the banner', async (t) => {
    const recorded = fixture('3.3.2/show-route-node').toString('latin1');
    const server = await scriptedServer(
      dir,
      (_cmd, s) => s.write(Buffer.from(recorded.replace('\tbgp_med: 100\n', '\tbgp_multi_exit_disc: 100\n'), 'latin1')),
      fixture('3.3.2/banner'),
    );
    const client = new BirdClient({ socketPath: server.socketPath });
    t.after(async () => {
      await client.close();
      await server.close();
    });
    await client.connect();
    assert.equal(client.version, '3.3.2');
    await assert.rejects(client.showRoutes({ protocol: 'vip4' }), (e) => {
      assert.ok(e instanceof BirdParseError);
      assert.equal(e.version, '3.3.2');
      assert.equal(e.line, '\tbgp_multi_exit_disc: 100');
      assert.match(e.message, /BIRD 3\.3\.2: unknown BGP attribute bgp_multi_exit_disc/);
      return true;
    });
  });

  it('a reply that comes after the timeout is dropped with its connection', async (t) => {
    const server = await scriptedServer(dir, (cmd, s) => {
      if (cmd === 'eval 1') setTimeout(() => s.writable && s.write('0023 1\n'), 150);
      else s.write(`0023 ${cmd.slice(5)}\n`);
    });
    const client = new BirdClient({ socketPath: server.socketPath, reconnectStrategy: () => 0 });
    t.after(async () => {
      await client.close();
      await server.close();
    });
    await client.connect();
    await assert.rejects(client.command('eval 1', { timeoutMs: 50 }), BirdTimeoutError);
    await waitFor(() => client.connected, 'reconnect');
    assert.equal(server.stats.connections, 2);
    await new Promise((r) => setTimeout(r, 150)); // let the late "0023 1" be written to the old socket
    assert.equal((await client.command('eval 2')).text, '2');
  });

  it('a second 0001 greeting mid-session is a restart, not an answer', async (t) => {
    const server = await scriptedServer(dir, (cmd, s) => s.write(cmd === 'eval 1' ? fixture('banner') : '0023 2\n'));
    const client = new BirdClient({ socketPath: server.socketPath, reconnectStrategy: () => 0 });
    const reconnected = new Promise((r) => client.once('reconnect', r));
    t.after(async () => {
      await client.close();
      await server.close();
    });
    await client.connect();
    await assert.rejects(client.command('eval 1'), BirdConnectionError);
    await reconnected;
    assert.equal((await client.command('eval 2')).text, '2');
  });

  it('a server that does not greet with 0001 is not BIRD: retried, then given up', async (t) => {
    const server = await scriptedServer(dir, () => undefined, Buffer.from('0000 hello\n'));
    const causes: string[] = [];
    const client = new BirdClient({ socketPath: server.socketPath, reconnectStrategy: (retries, cause) => (causes.push(cause.message), retries < 2 ? 0 : false) });
    t.after(async () => {
      await client.close();
      await server.close();
    });
    await assert.rejects(client.connect(), /gave up connecting to BIRD/);
    assert.equal(causes.length, 3);
    assert.match(causes[0]!, /unexpected greeting/);
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { BirdClient } from '../src/client.js';
import { parseBirdTime } from '../src/parse/time.js';
import { BirdConfigError, BirdConnectionError, BirdError, BirdReplyError, BirdTimeoutError } from '../src/errors.js';
import { BIRD_VERSION as version, startTestBird, waitFor, type TestBird } from './bird-process.js';

const config = (med: number, extra = '') => `
router id 192.0.2.99;
log "bird.log" all;
protocol device { }
protocol static vip4 {
  ipv4;
  route 198.51.100.10/32 blackhole { bgp_med = ${med}; bgp_community.add((65000,100)); bgp_large_community.add((65000,1,2)); };
${extra}}
`;

describe(`BirdClient against a real BIRD ${version}`, { timeout: 30000 }, () => {
  let bird: TestBird;
  let client: BirdClient;
  const events: string[] = [];
  const spontaneous: string[] = [];

  before(async () => {
    bird = await startTestBird(config(100));
    client = new BirdClient({ socketPath: bird.socketPath, commandTimeoutMs: 3000, connectTimeoutMs: 300, reconnectStrategy: () => 25 });
    for (const e of ['connect', 'reconnect', 'disconnect'] as const) client.on(e, () => events.push(e));
    client.on('spontaneous', (t) => spontaneous.push(t));
  });
  after(async () => {
    await client?.close();
    await bird?.cleanup();
  });

  const medOf = async () => (await client.showRoutes({ protocol: 'vip4' }))[0]?.med;

  it('connects and reads the banner', async () => {
    await client.connect();
    assert.equal(client.connected, true);
    assert.equal(client.banner, `BIRD ${version} ready.`);
    assert.equal(client.version, version);
    assert.equal((await client.showStatus()).version, version);
    assert.deepEqual(events, ['connect']);
  });

  it('queues many concurrent commands and gives each its own answer', async () => {
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => client.command(`eval ${i} * 3`)));
    assert.deepEqual(
      answers.map((a) => [a.code, a.text]),
      Array.from({ length: 60 }, (_, i) => [23, String(i * 3)]),
    );
    const [status, protocols] = await Promise.all([client.showStatus(), client.showProtocols({ all: true })]);
    assert.equal(status.routerId, '192.0.2.99');
    assert.deepEqual(protocols.map((p) => [p.name, p.state]), [['device1', 'up'], ['vip4', 'up']]);
    assert.deepEqual(protocols[1]!.channels[0]?.routes, { imported: 1, exported: 0, preferred: 1 });
  });

  it('reads routes with their BGP attributes; unknown network gives []', async () => {
    const [r] = await client.showRoutes({ protocol: 'vip4' });
    assert.deepEqual([r?.prefix, r?.med, r?.communities, r?.largeCommunities, r?.table], ['198.51.100.10/32', 100, ['65000:100'], ['65000:1:2'], 'master4']);
    assert.deepEqual(await client.showRoutes({ prefix: '203.0.113.0/24' }), []);
    assert.deepEqual(await client.showProtocols({ name: 'nosuch*' }), []);
  });

  it('rejects bad commands up front and BIRD parse errors as 9001, staying usable', async () => {
    await assert.rejects(client.command(`eval ${'1+'.repeat(600)}1`), (e) => e instanceof BirdError && /900-byte/.test(e.message));
    await assert.rejects(client.command('show status\nshutdown'), BirdError);
    await assert.rejects(client.showRoutes({ protocol: 'vip4; shutdown' }), BirdError);
    await assert.rejects(client.command('show rooute'), (e) => e instanceof BirdReplyError && e.code === 9001);
    assert.equal((await client.command('eval 7')).text, '7');
  });

  it('configure check / timeout / confirm / undo cycle', async () => {
    assert.equal((await client.configure({ check: true })).status, 'ok');
    await bird.writeConfig(config(250));
    const applied = await client.configure({ timeoutSec: 30 });
    assert.deepEqual([applied.status, applied.undoTimeoutSec], ['reconfigured', 30]);
    assert.equal(await medOf(), 250);
    assert.equal((await client.configureConfirm()).status, 'confirmed');
    assert.equal((await client.configureConfirm()).status, 'nothing');

    await bird.writeConfig(config(300));
    assert.equal((await client.configure({ timeoutSec: 30, file: bird.configPath })).status, 'reconfigured');
    assert.equal(await medOf(), 300);
    const undone = await client.configureUndo();
    assert.deepEqual([undone.status, undone.messages], ['reconfigured', ['Undo requested', 'Reconfigured']]);
    assert.equal(await medOf(), 250);
  });

  it("disableProtocol: 'disabled', then 'already'; BIRD's next configure enables it again (why vipcontrol disables it after its own); an unknown name is 8003", async () => {
    const state = async (): Promise<string | undefined> => (await client.showProtocols({ name: 'vip4' }))[0]?.state;
    assert.equal(await client.disableProtocol('vip4'), 'disabled');
    assert.equal(await state(), 'down');
    assert.equal(await client.disableProtocol('vip4'), 'already');
    await bird.writeConfig(config(250)); // what BIRD runs since the undo above
    assert.equal((await client.configure()).status, 'reconfigured');
    // BIRD 3 restarts it asynchronously ("flush" first).
    await waitFor(async () => (await state()) === 'up', 'a reconfiguration forgets `disable`');
    assert.equal(await client.disableProtocol('vip4'), 'disabled');
    assert.equal((await client.command('enable vip4')).lines[0]?.text, 'vip4: enabled');
    await waitFor(async () => (await state()) === 'up', 'enabled again');
    await assert.rejects(client.disableProtocol('nosuch'), (e) => e instanceof BirdReplyError && e.code === 8003);
    await assert.rejects(client.disableProtocol('vip*'), BirdError, 'a name, never a pattern');
    const statusNow = await client.showStatus();
    assert.ok(statusNow.lastReconfiguration !== undefined && parseBirdTime(statusNow.lastReconfiguration) !== undefined, statusNow.lastReconfiguration);
    assert.ok(Math.abs(parseBirdTime(statusNow.lastReconfiguration)! - Date.now()) < 60_000, 'BIRD prints local time, read as such');
  });

  it('BIRD undoes an unconfirmed config by itself and says so with a spontaneous line', async () => {
    await bird.writeConfig(config(400));
    assert.equal((await client.configure({ timeoutSec: 1 })).status, 'reconfigured');
    assert.equal(await medOf(), 400);
    await waitFor(() => spontaneous.includes('Config timeout expired, starting undo'), 'the undo notice', 5000);
    await waitFor(async () => (await medOf()) === 250, 'MED back to 250');
  });

  it('a broken config is 8002 with file:line:column, and undo then has nothing left', async () => {
    await bird.writeConfig(config(250));
    await client.configure({ timeoutSec: 30 });
    const broken = config(500, '  route 198.51.100.11/32 blackhole { bgp_med = ; };\n');
    await bird.writeConfig(broken);
    const err: unknown = await client.configure().catch((e: unknown) => e);
    await bird.writeConfig(config(250));
    assert.ok(err instanceof BirdConfigError, String(err));
    const line = broken.split('\n').findIndex((l) => l.includes('= ;')) + 1;
    assert.deepEqual([err.code, err.file, err.line, err.detail], [8002, bird.configPath, line, "syntax error, unexpected ';'"]);
    assert.ok(err.column! > 40);
    assert.equal((await client.configureUndo()).status, 'nothing');
    assert.equal(await medOf(), 250, 'the running config is untouched');
    await assert.rejects(client.configure({ file: `${bird.dir}/missing.conf` }), (e) => e instanceof BirdConfigError && e.detail === 'No such file or directory');
  });

  it('a command that times out resets the connection; the late reply never reaches the next command', async () => {
    await bird.signal('SIGSTOP');
    try {
      const slow = client.command('eval 111', { timeoutMs: 200 });
      const queued = client.command('eval 222');
      await assert.rejects(slow, BirdTimeoutError);
      await assert.rejects(queued, (e) => e instanceof BirdConnectionError && e.cause instanceof BirdTimeoutError);
      await assert.rejects(client.command('eval 333'), BirdConnectionError, 'fails fast while reconnecting');
    } finally {
      await bird.signal('SIGCONT');
    }
    await waitFor(() => client.connected, 'reconnect after the reset');
    assert.equal((await client.command('eval 444')).text, '444');
    assert.equal((await client.command('eval 555')).text, '555');
  });

  it('survives BIRD being killed and restarted: commands fail fast meanwhile, then reconnect', async () => {
    events.length = 0;
    const down = once(client, 'disconnect');
    await bird.signal('SIGKILL');
    await down;
    const started = Date.now();
    await assert.rejects(client.showStatus(), BirdConnectionError);
    assert.ok(Date.now() - started < 500, 'no hang during the outage');
    const back = once(client, 'reconnect');
    await bird.start();
    const [banner] = await back;
    assert.equal(banner, `BIRD ${version} ready.`);
    assert.deepEqual(events, ['disconnect', 'connect', 'reconnect']);
    assert.equal((await client.showStatus()).message, 'Daemon is up and running');
  });

  it('close() stops reconnecting for good', async (t) => {
    let attempts = 0;
    const c2 = new BirdClient({ socketPath: bird.socketPath, connectTimeoutMs: 300, reconnectStrategy: () => (attempts++, 10) });
    t.after(() => c2.close());
    await c2.connect();
    const down = once(c2, 'disconnect');
    await bird.signal('SIGKILL');
    await down;
    await waitFor(() => attempts >= 2, 'reconnect attempts while BIRD is down');
    await c2.close();
    assert.equal(c2.connected, false);
    const frozen = attempts;
    await bird.start();
    await waitFor(() => client.connected, 'the other client to reconnect');
    assert.equal(attempts, frozen, 'no attempt after close()');
    assert.equal(c2.connected, false);
    await assert.rejects(c2.command('show status'), BirdConnectionError);
    await assert.rejects(c2.connect(), BirdConnectionError);
  });
});

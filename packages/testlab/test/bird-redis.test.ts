import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { ProcessError, startBird, startRedis, type BirdInstance, type RedisInstance } from '../src/index.js';

const MINIMAL = 'router id 192.0.2.1;\nprotocol device { }\n';

describe('startBird (no namespace)', () => {
  let bird: BirdInstance | undefined;
  after(() => bird?.stop());

  it('starts BIRD on a private socket with a connected client; restart and kill+restart work', async () => {
    bird = await startBird({ name: 'plain', config: MINIMAL });
    assert.match((await bird.client.command('show status')).text, /BIRD 2\./);
    const firstPid = bird.pid;

    await bird.writeConfig(`${MINIMAL}protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; }\n`);
    assert.equal((await bird.client.configure()).status, 'reconfigured');
    assert.ok((await bird.client.showProtocols()).some((p) => p.name === 's4'));

    await bird.restart();
    assert.notEqual(bird.pid, firstPid);
    assert.ok((await bird.client.showProtocols()).some((p) => p.name === 's4'), 'restart keeps the config');

    const killedPid = bird.pid;
    await bird.kill();
    assert.throws(() => process.kill(killedPid, 0), { code: 'ESRCH' });
    await bird.restart();
    assert.match((await bird.client.command('show status')).text, /Daemon is up and running/);

    const dir = bird.dir;
    await bird.stop();
    await assert.rejects(stat(dir), { code: 'ENOENT' }, 'an owned temp dir is removed by stop()');
    bird = undefined;
  });

  it('rejects a config BIRD refuses with BIRD\'s own file:line message', async () => {
    await assert.rejects(startBird({ name: 'broken', config: 'router id 192.0.2.1;\nprotocol nonsense { }\n' }), (err: unknown) => {
      assert.ok(err instanceof ProcessError, String(err));
      assert.match(err.message, /bird\.conf:2:/);
      return true;
    });
  });
});

/** Sends raw RESP commands (inline form) and returns the raw reply text. */
async function redisRaw(port: number, commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (chunk) => {
      data += chunk.toString();
      if (data.split('\r\n').length > commands.length) sock.end();
    });
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
    sock.write(commands.map((c) => `${c}\r\n`).join(''));
  });
}

describe('startRedis', () => {
  let redis: RedisInstance | undefined;
  after(() => redis?.stop());

  it('runs a password-protected redis on loopback; stop, kill and restart keep the port', async () => {
    redis = await startRedis({ password: 'p@ss word' });
    assert.equal(redis.url, `redis://:p%40ss%20word@127.0.0.1:${redis.port}/0`);
    assert.match(await redisRaw(redis.port, ['PING']), /NOAUTH/);
    assert.equal(await redisRaw(redis.port, ['AUTH "p@ss word"', 'PING']), '+OK\r\n+PONG\r\n');
    const port = redis.port;

    await redis.kill();
    await assert.rejects(redisRaw(port, ['PING']), { code: 'ECONNREFUSED' });
    await redis.restart();
    assert.equal(redis.port, port);
    assert.equal(await redisRaw(port, ['AUTH "p@ss word"', 'CONFIG GET save']), '+OK\r\n*2\r\n$4\r\nsave\r\n$0\r\n\r\n');

    await redis.stop();
    await assert.rejects(redisRaw(port, ['PING']), { code: 'ECONNREFUSED' });
    await redis.restart();
    assert.match(await redisRaw(port, ['AUTH "p@ss word"', 'PING']), /\+PONG/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandQueue, MAX_COMMAND_BYTES, type CommandTransport } from '../src/command-queue.js';
import { BirdConfigError, BirdConnectionError, BirdError, BirdReplyError, BirdTimeoutError } from '../src/errors.js';
import type { BirdReply } from '../src/types.js';

/** Records what the queue sends and resets; replies are pushed by the test. */
class FakeTransport implements CommandTransport {
  ready = true;
  sent: string[] = [];
  resets: Error[] = [];
  send(line: string): void {
    this.sent.push(line);
  }
  reset(cause: Error): void {
    this.resets.push(cause);
  }
}

const reply = (code: number, text = ''): BirdReply => ({ code, lines: [{ code, text }], text, truncated: false });

describe('CommandQueue', () => {
  it('keeps one command in flight and answers in order', async () => {
    const t = new FakeTransport();
    const q = new CommandQueue(t);
    const a = q.enqueue('eval 1', 1000);
    const b = q.enqueue('eval 2', 1000);
    assert.deepEqual(t.sent, ['eval 1']);
    assert.equal(q.size, 2);
    q.onReply(reply(23, '1'));
    assert.deepEqual(t.sent, ['eval 1', 'eval 2']);
    q.onReply(reply(23, '2'));
    assert.equal((await a).text, '1');
    assert.equal((await b).text, '2');
    assert.equal(q.onReply(reply(0)), false, 'a reply nobody asked for is refused');
  });

  it('resolves 0xxx/1xxx/2xxx terminals and rejects 8xxx/9xxx with typed errors', async () => {
    const t = new FakeTransport();
    const q = new CommandQueue(t);
    const ok = q.enqueue('show symbols node1', 1000);
    q.onReply(reply(1010, 'node1 protocol'));
    assert.equal((await ok).code, 1010);
    const bad = q.enqueue('configure', 1000);
    q.onReply(reply(8002, '/etc/bird.conf:3:1 syntax error'));
    await assert.rejects(bad, (e) => e instanceof BirdConfigError && e.line === 3);
    const parse = q.enqueue('show rooute', 1000);
    q.onReply(reply(9001, 'syntax error'));
    await assert.rejects(parse, (e) => e instanceof BirdReplyError && e.code === 9001);
  });

  it('rejects newlines, control characters, empty and over-long commands before sending', async () => {
    const t = new FakeTransport();
    const q = new CommandQueue(t);
    for (const text of ['show status\nshow route', 'show\rstatus', 'eval\x001', '', '   ', `eval ${'1+'.repeat(MAX_COMMAND_BYTES)}1`]) {
      await assert.rejects(q.enqueue(text, 1000), BirdError);
    }
    const longest = q.enqueue('x'.repeat(MAX_COMMAND_BYTES), 1000);
    assert.deepEqual(t.sent, ['x'.repeat(MAX_COMMAND_BYTES)]);
    q.onReply(reply(9001));
    await assert.rejects(longest, BirdReplyError);
  });

  it('fails at once while disconnected', async () => {
    const t = new FakeTransport();
    t.ready = false;
    await assert.rejects(new CommandQueue(t).enqueue('show status', 1000), BirdConnectionError);
    assert.deepEqual(t.sent, []);
  });

  it('a timeout rejects the command and resets the connection; a late reply is not given to the next command', async () => {
    const t = new FakeTransport();
    const q = new CommandQueue(t);
    const slow = q.enqueue('show route all', 20);
    await assert.rejects(slow, BirdTimeoutError);
    assert.equal(t.resets.length, 1);
    assert.ok(t.resets[0] instanceof BirdTimeoutError);
    assert.equal(q.onReply(reply(0, 'late')), false);
  });

  it('failAll rejects what is queued and in flight', async () => {
    const t = new FakeTransport();
    const q = new CommandQueue(t);
    const all = [q.enqueue('a', 1000), q.enqueue('b', 1000)];
    q.failAll(new BirdConnectionError('gone'));
    for (const p of all) await assert.rejects(p, /gone/);
    assert.equal(q.size, 0);
  });
});

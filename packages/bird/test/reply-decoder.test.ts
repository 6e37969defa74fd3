import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplyDecoder } from '../src/reply-decoder.js';
import type { BirdReply } from '../src/types.js';
import { allFixtures, bytes, decode, fixture, RECORDED_VERSIONS, recorded, type DecodedEvent } from './fixture-files.js';

/**
 * Expected shape of each transcript: terminal codes of its replies, spontaneous and garbage lines. The
 * recorded ones are the same for every BIRD version (same capture script), so they are keyed by name.
 */
const EXPECTED: Record<string, { codes: number[]; spontaneous?: string[]; garbage?: string[]; truncated?: boolean }> = {
  banner: { codes: [1] },
  configure: { codes: [3] },
  'configure-check': { codes: [20] },
  'configure-soft': { codes: [3] },
  'configure-timeout': { codes: [3] },
  'configure-timeout-1': { codes: [3] },
  'configure-timeout-ok': { codes: [3] },
  'configure-timeout-undo': { codes: [3] },
  'configure-confirm': { codes: [18] },
  'configure-confirm-nothing': { codes: [19] },
  'configure-undo': { codes: [3] },
  'configure-undo-after-8002': { codes: [19] },
  'configure-8002': { codes: [8002] },
  'configure-8002-missing': { codes: [8002] },
  'configure-status': { codes: [0] },
  'configure-remove-protocol': { codes: [4] },
  'configure-status-unconfirmed': { codes: [0] },
  'configure-confirm-after-remove': { codes: [18] },
  'configure-status-settled': { codes: [0] },
  'configure-add-protocol': { codes: [3] },
  'configure-change-route': { codes: [3] },
  'configure-status-after-change': { codes: [0] },
  'parse-error': { codes: [9001] },
  eval: { codes: [23] },
  'show-symbol': { codes: [1010] },
  'show-memory': { codes: [0] },
  'show-protocols': { codes: [0] },
  'show-protocols-all': { codes: [0] },
  'show-protocols-all-bgp': { codes: [0] },
  'show-protocols-nomatch': { codes: [8003] },
  'show-route-all': { codes: [0] },
  'show-route-all-v4': { codes: [0] },
  'show-route-for': { codes: [0] },
  'show-route-node': { codes: [0] },
  'show-route-export': { codes: [0] },
  'show-route-long-communities': { codes: [0] },
  'show-route-notfound': { codes: [8001] },
  'show-route-count': { codes: [14] },
  'show-status': { codes: [13] },
  'show-status-after-undo': { codes: [13] },
  'spontaneous-undo': { codes: [], spontaneous: ['Config timeout expired, starting undo'] },
  'synthetic/configure-status-in-progress': { codes: [0] },
  'synthetic/configure-queued': { codes: [5] },
  'synthetic/overflow-8000': { codes: [0], truncated: true },
  'synthetic/overflow-8000-terminal': { codes: [8000], truncated: true },
  'synthetic/spontaneous-mid-reply': {
    codes: [13],
    spontaneous: ['Config timeout expired, starting undo', 'Reconfigured'],
    garbage: ['<3 messages lost>'],
  },
};

function summary(events: DecodedEvent[]) {
  return {
    codes: events.flatMap((e) => ('reply' in e ? [e.reply.code] : [])),
    spontaneous: events.flatMap((e) => ('spontaneous' in e ? [e.spontaneous] : [])),
    garbage: events.flatMap((e) => ('garbage' in e ? [e.garbage] : [])),
    truncated: events.some((e) => 'reply' in e && e.reply.truncated),
  };
}

describe('ReplyDecoder over recorded transcripts', () => {
  const recordedNames = Object.keys(EXPECTED).filter((n) => !n.startsWith('synthetic/'));
  const names = [...RECORDED_VERSIONS.flatMap((v) => recordedNames.map((n) => recorded(v, n))), ...Object.keys(EXPECTED).filter((n) => n.startsWith('synthetic/'))];

  it('knows every fixture file, and every version has every recording', () => {
    assert.deepEqual(allFixtures().sort(), names.sort());
  });

  for (const name of names) {
    it(`${name}: one chunk and byte by byte agree`, () => {
      const raw = fixture(name);
      const whole = decode([raw]);
      assert.deepEqual(decode(bytes(raw)), whole);
      const want = EXPECTED[name.replace(/^\d+\.\d+\.\d+\//, '')]!;
      assert.deepEqual(summary(whole), {
        codes: want.codes,
        spontaneous: want.spontaneous ?? [],
        garbage: want.garbage ?? [],
        truncated: want.truncated ?? false,
      });
    });
  }

  it('decodes all transcripts back to back, one chunk or byte by byte', () => {
    const names = Object.keys(EXPECTED);
    const stream = Buffer.concat(names.map(fixture));
    const whole = decode([stream]);
    assert.deepEqual(decode(bytes(stream)), whole);
    assert.deepEqual(
      summary(whole).codes,
      names.flatMap((n) => EXPECTED[n]!.codes),
    );
  });
});

describe('ReplyDecoder line rules', () => {
  it('gives continuation lines the previous code and joins the text', () => {
    const [event] = decode(['1000-BIRD 2.0.12\n1011-Router ID is 1.2.3.4\n Hostname is vm\n0013 Daemon is up and running\n']);
    assert.deepEqual(event, {
      reply: {
        code: 13,
        lines: [
          { code: 1000, text: 'BIRD 2.0.12' },
          { code: 1011, text: 'Router ID is 1.2.3.4' },
          { code: 1011, text: 'Hostname is vm' },
          { code: 13, text: 'Daemon is up and running' },
        ],
        text: 'BIRD 2.0.12\nRouter ID is 1.2.3.4\nHostname is vm\nDaemon is up and running',
        truncated: false,
      },
    });
  });

  it('ends a reply on a table code too (1010), and on an empty terminal text (0000 )', () => {
    assert.deepEqual(summary(decode(['1010 node1 \tprotocol\n0003-Daemon is up and running\n0000 \n'])).codes, [1010, 0]);
  });

  it('tolerates CRLF and keeps a UTF-8 character split across chunks', () => {
    const text = Buffer.from('1007-Table maßter4:\r\n0000 \r\n');
    const [first] = decode(bytes(text));
    assert.ok(first && 'reply' in first);
    assert.deepEqual(first.reply.lines[0], { code: 1007, text: 'Table maßter4:' });
  });

  it('reports a space continuation outside any reply as garbage instead of inventing a code', () => {
    assert.deepEqual(summary(decode([' stray\n\nhello\n0000 ok\n'])), { codes: [0], spontaneous: [], garbage: [' stray', '', 'hello'], truncated: false });
  });

  it('cuts over-long lines, marks the reply truncated and keeps decoding', () => {
    const small: DecodedEvent[] = [];
    const d = new ReplyDecoder({ reply: (reply) => small.push({ reply }) }, { maxLineBytes: 64 });
    d.write(`1007-${'x'.repeat(500)}\n0000 done\n`);
    assert.equal(small.length, 1);
    const reply = 'reply' in small[0]! ? small[0].reply : undefined;
    assert.equal(reply?.truncated, true);
    assert.equal(reply?.lines[0]?.text.length, 64 - 5);
    assert.equal(d.bufferedBytes, 0);
  });

  it('counts what short lines cost in memory, not their text: a flood of them stops at the limit', () => {
    // Measured on Node 20 (scripts/bench.sh trust, "decoder" rows): a kept line costs at least ~75 bytes
    // besides twice its text. Counting text alone let 94 MiB of short lines grow the heap by ~1 GiB.
    const REAL_MIN_COST = (text: number) => 2 * text + 75;
    const limit = 1024 * 1024;
    let reply: BirdReply | undefined;
    const d = new ReplyDecoder({ reply: (r) => { reply = r; } }, { maxReplyBytes: limit });
    const line = Buffer.from(`1007-${'x'.repeat(10)}\n`);
    const chunk = Buffer.concat(Array.from({ length: 1000 }, () => line));
    for (let i = 0; i < 200; i++) d.write(chunk); // 200,000 lines, 3 MB on the wire
    assert.ok(d.bufferedBytes <= limit, `accounted ${d.bufferedBytes} > ${limit}`);
    d.write('0000 \n');
    assert.equal(reply?.truncated, true);
    const kept = reply.lines.length;
    assert.ok(kept > 0);
    assert.ok(kept * REAL_MIN_COST(10) <= limit, `${kept} lines kept: at least ${kept * REAL_MIN_COST(10)} bytes of heap for a ${limit}-byte limit`);
  });

  it('reset() forgets a half-received reply', () => {
    const events: DecodedEvent[] = [];
    const d = new ReplyDecoder({ reply: (reply) => events.push({ reply }) });
    d.write('1007-Table master4:\n 198.51');
    assert.equal(d.inReply, true);
    d.reset();
    d.write('0019 Nothing to do\n');
    assert.deepEqual(summary(events).codes, [19]);
    assert.equal('reply' in events[0]! && events[0].reply.lines.length, 1);
  });
});

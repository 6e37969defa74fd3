import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ReplyDecoder } from '../src/reply-decoder.js';
import { allFixtures, decode, fixture } from './fixture-files.js';

/** Cuts a buffer at the given (sorted, deduplicated) offsets. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
}

const transcript = Buffer.concat(allFixtures().map(fixture));

/** Lines in every form BIRD uses, plus noise, so the generator reaches each decoder branch. */
const line = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.constantFrom('-', ' '), fc.string({ maxLength: 40 })).map(
    ([c, sep, t]) => `${String(c).padStart(4, '0')}${sep}${t}`,
  ),
  fc.string({ maxLength: 40 }).map((t) => ` ${t}`),
  fc.string({ maxLength: 40 }).map((t) => `+${t}`),
  fc.string({ maxLength: 40 }),
);

describe('ReplyDecoder properties', () => {
  it('arbitrary bytes in arbitrary chunks: never throws, same events as one chunk', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 20 }), (data, cuts) => {
        const buf = Buffer.from(data);
        assert.deepEqual(decode(split(buf, cuts)), decode([buf]));
      }),
      { numRuns: 300 },
    );
  });

  it('line-shaped input: one reply per terminal line, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 20 }), (lines, cuts) => {
        const text = lines.map((l) => l.replace(/[\r\n]/g, '')).join('\n') + '\n';
        const events = decode(split(Buffer.from(text), cuts));
        // A terminal line is one whose code is followed by a space, unless it is a "+" line.
        const terminals = text.split('\n').filter((l) => /^\d{4} /.test(l)).length;
        assert.equal(events.filter((e) => 'reply' in e).length, terminals);
      }),
      { numRuns: 300 },
    );
  });

  it('a truncated transcript yields a prefix of the full one and nothing else', () => {
    const full = decode([transcript]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: transcript.length }), fc.array(fc.nat(), { maxLength: 10 }), (end, cuts) => {
        const part = decode(split(transcript.subarray(0, end), cuts));
        assert.ok(part.length <= full.length);
        assert.deepEqual(part, full.slice(0, part.length));
      }),
      { numRuns: 200 },
    );
  });

  it('memory stays bounded by the limits, even for a reply that never ends', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 500 }), fc.constant(new Uint8Array(400).fill(0x41))), { maxLength: 40 }), (chunks) => {
        const d = new ReplyDecoder({ reply: () => {} }, { maxLineBytes: 128, maxReplyBytes: 1024 });
        for (const c of chunks) {
          d.write(Buffer.from(c));
          d.write('1007-'); // keep a reply open
          assert.ok(d.bufferedBytes <= 128 + 1024, `buffered ${d.bufferedBytes}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

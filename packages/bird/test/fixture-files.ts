import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ReplyDecoder } from '../src/reply-decoder.js';
import type { BirdReply } from '../src/types.js';

/** test/fixtures in the source tree (tests run from dist/test). */
export const fixturesDir = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** Raw bytes of a fixture: "show-status" or "synthetic/overflow-8000". */
export function fixture(name: string): Buffer {
  return readFileSync(`${fixturesDir}${name}.txt`);
}

/** Every fixture name, real ones first. */
export function allFixtures(): string[] {
  const real = readdirSync(fixturesDir).filter((f) => f.endsWith('.txt'));
  const synthetic = readdirSync(`${fixturesDir}synthetic`).filter((f) => f.endsWith('.txt'));
  return [...real.map((f) => f.slice(0, -4)), ...synthetic.map((f) => `synthetic/${f.slice(0, -4)}`)];
}

/** Everything a decoder reported, in order. */
export type DecodedEvent = { reply: BirdReply } | { spontaneous: string } | { garbage: string };

/** Runs a decoder over the given chunks and returns its events. */
export function decode(chunks: Iterable<Buffer | string>): DecodedEvent[] {
  const events: DecodedEvent[] = [];
  const decoder = new ReplyDecoder({
    reply: (reply) => events.push({ reply }),
    spontaneous: (spontaneous) => events.push({ spontaneous }),
    garbage: (garbage) => events.push({ garbage }),
  });
  for (const c of chunks) decoder.write(c);
  return events;
}

/** The one reply of a single-reply fixture. */
export function replyOf(name: string): BirdReply {
  const replies = decode([fixture(name)]).flatMap((e) => ('reply' in e ? [e.reply] : []));
  if (replies.length !== 1) throw new Error(`${name}: expected one reply, got ${replies.length}`);
  return replies[0]!;
}

/** Splits a buffer into one-byte chunks. */
export function* bytes(buf: Buffer): Generator<Buffer> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
}

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ReplyDecoder } from '../src/reply-decoder.js';
import type { BirdReply } from '../src/types.js';

/** test/fixtures in the source tree (tests run from dist/test). */
export const fixturesDir = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/**
 * The BIRD versions fixtures were recorded from (scripts/capture-fixtures.sh): Debian 12's 2.0.12 at
 * the top of fixtures/, the others in a directory named after the version.
 */
export const RECORDED_VERSIONS = ['2.0.12', '2.19.2', '3.3.2'] as const;
export type RecordedVersion = (typeof RECORDED_VERSIONS)[number];

/** The fixture name of a recording from `version`: "show-status" (2.0.12) or "3.3.2/show-status". */
export function recorded(version: RecordedVersion, name: string): string {
  return version === '2.0.12' ? name : `${version}/${name}`;
}

/** Raw bytes of a fixture: "show-status", "3.3.2/show-status" or "synthetic/overflow-8000". */
export function fixture(name: string): Buffer {
  return readFileSync(`${fixturesDir}${name}.txt`);
}

/** Every fixture name, recorded ones first (by version), then the hand-made ones. */
export function allFixtures(): string[] {
  const names = (dir: string): string[] =>
    readdirSync(`${fixturesDir}${dir}`)
      .filter((f) => f.endsWith('.txt'))
      .map((f) => `${dir}${f.slice(0, -4)}`);
  return [...RECORDED_VERSIONS.flatMap((v) => names(v === '2.0.12' ? '' : `${v}/`)), ...names('synthetic/')];
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

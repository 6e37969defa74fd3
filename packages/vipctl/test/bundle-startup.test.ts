// The packaged vipctl starts fast because `vipctl status` loads only a small part of the bundle
// (docs/benchmarks.md, "vipctl start-up"): no config validation (zod, yaml), no ioredis. A static
// import added in the wrong place pulls them back in on every command; this walks the bundle's static
// import graph from the entry and the status noun's chunk and fails when that happens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const BUNDLE_SCRIPT = fileURLToPath(new URL('../../../../scripts/bundle.mjs', import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vipctl-bundle-'));
  await promisify(execFile)(process.execPath, [BUNDLE_SCRIPT, dir], { timeout: 120_000 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every file reachable from `file` through static imports, with its text. */
async function staticClosure(file: string, seen = new Map<string, string>()): Promise<Map<string, string>> {
  if (seen.has(file)) return seen;
  const text = await readFile(join(dir, file), 'utf8');
  seen.set(file, text);
  for (const m of text.matchAll(/(?:\bimport|\bfrom)\s*"\.\/(chunk-[A-Z0-9]+\.mjs)"/g)) await staticClosure(m[1]!, seen);
  return seen;
}

test('vipctl status loads neither config validation nor ioredis', async () => {
  const entry = await readFile(join(dir, 'vipctl.mjs'), 'utf8');
  const status = /commands:\["status"\],load:\(\)=>import\("\.\/(chunk-[A-Z0-9]+\.mjs)"\)/.exec(entry)?.[1];
  assert.ok(status, 'the status noun is loaded on demand from its own chunk');
  const loaded = await staticClosure('vipctl.mjs');
  await staticClosure(status, loaded);
  const text = [...loaded.values()].join('\n');
  assert.doesNotMatch(text, /\bZodError\b/, 'zod is not loaded');
  assert.doesNotMatch(text, /\bparseDocument\b/, 'yaml is not loaded');
  assert.doesNotMatch(text, /\bRedis\b.*\bsentinel/i, 'ioredis is not loaded');
  const kib = Buffer.byteLength(text) / 1024;
  assert.ok(kib < 200, `vipctl status loads ${kib.toFixed(0)} KiB of the bundle (commander is ~55)`);
});

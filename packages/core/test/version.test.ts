// The product version lives in core (pure, no file reads at start-up) and in the root package.json
// (npm, scripts/package.sh): they must not drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PRODUCT_VERSION } from '../src/index.js';

test('PRODUCT_VERSION is the root package.json version', async () => {
  const root = JSON.parse(await readFile(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(PRODUCT_VERSION, root.version);
});

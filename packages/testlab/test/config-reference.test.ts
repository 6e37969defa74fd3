// docs/configuration.md is generated from the config schemas: it must describe every key the schemas
// have (and none they do not), and the committed file must be exactly what the generator writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { repoPath } from '../src/repo-path.js';
import { configReferenceProblems, renderConfigurationDoc } from '../src/docs/config-reference.js';

test('every config key has a description, and every description a key', () => {
  assert.deepEqual(configReferenceProblems(), []);
});

test('docs/configuration.md is what the schemas generate (run bash scripts/gen-docs.sh)', async () => {
  assert.equal(await readFile(repoPath('docs/configuration.md'), 'utf8'), renderConfigurationDoc());
});

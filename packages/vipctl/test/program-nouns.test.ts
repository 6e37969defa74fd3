// vipctl loads only the noun file its command line names: each noun's declared command words must be
// exactly the commands its file registers, or a command would be missing from its own light program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgram, NOUNS } from '../src/program.js';

const io = { stdout: () => undefined, stderr: () => undefined, env: {} };

test('each noun declares exactly the top-level commands its file registers', async () => {
  for (const noun of NOUNS) {
    const { program } = createProgram(io, [await noun.load()]);
    assert.deepEqual(program.commands.map((c) => c.name()).sort(), [...noun.commands].sort());
  }
});

test('no command word belongs to two nouns', () => {
  const words = NOUNS.flatMap((n) => n.commands);
  assert.equal(new Set(words).size, words.length);
});

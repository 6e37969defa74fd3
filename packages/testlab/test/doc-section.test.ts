import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, replaceDocSection, type TempDir } from '../src/index.js';

const DOC = [
  '# Benchmarks',
  '',
  'Header, last updated 2026-01-01.',
  '',
  '## A',
  '',
  '<!-- a-bench:start -->',
  'old A',
  '<!-- a-bench:end -->',
  '',
  '## B',
  '',
  '<!-- b-bench:start -->',
  'old B',
  '<!-- b-bench:end -->',
  '',
].join('\n');

describe('replaceDocSection', () => {
  let tmp: TempDir;
  let n = 0;
  before(async () => {
    tmp = await makeTempDir('vc-doc-');
  });
  after(() => tmp?.cleanup());
  /** A fresh file path, written with `text` unless undefined. */
  const doc = async (text?: string): Promise<string> => {
    const file = join(tmp.path, `doc-${++n}.md`);
    if (text !== undefined) await writeFile(file, text);
    return file;
  };

  it('replaces only the body between its own markers', async () => {
    const file = await doc(DOC);
    await replaceDocSection(file, { marker: 'a-bench', title: 'A', markdown: 'new A\n\n| t |' });
    assert.equal(await readFile(file, 'utf8'), DOC.replace('old A', 'new A\n\n| t |'));
  });

  it('appends a missing section last, or inserts it first, and creates a missing file', async () => {
    const last = await doc(DOC);
    await replaceDocSection(last, { marker: 'c-bench', title: 'C', markdown: 'C' });
    assert.equal(await readFile(last, 'utf8'), `${DOC}\n## C\n\n<!-- c-bench:start -->\nC\n<!-- c-bench:end -->\n`);

    const first = await doc(DOC);
    await replaceDocSection(first, { marker: 'c-bench', title: 'C', markdown: 'C', position: 'first' });
    assert.equal(await readFile(first, 'utf8'), DOC.replace('## A', '## C\n\n<!-- c-bench:start -->\nC\n<!-- c-bench:end -->\n\n## A'));

    const missing = await doc();
    await replaceDocSection(missing, { marker: 'c-bench', title: 'C', markdown: 'C' });
    assert.equal(await readFile(missing, 'utf8'), '# Benchmarks\n\n## C\n\n<!-- c-bench:start -->\nC\n<!-- c-bench:end -->\n');
  });

  it('replaces the header above the first section when given one', async () => {
    const file = await doc(DOC);
    await replaceDocSection(file, { marker: 'b-bench', title: 'B', markdown: 'new B', header: '# Benchmarks\n\nUpdated.\n' });
    assert.equal(await readFile(file, 'utf8'), DOC.replace('Header, last updated 2026-01-01.', 'Updated.').replace('old B', 'new B'));
  });
});

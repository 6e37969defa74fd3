// File modes of atomically replaced files: the unit's UMask=0027 must not make the BIRD include
// unreadable for BIRD (another user), and an operator's group/mode on the include survive rewrites.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, type TempDir } from '@vipcontrol/testlab';
import { sameText, writeFileAtomic } from '../src/atomic-file.js';

/** Not a group the test runner is in: only the explicit chown can give the new file this group. */
const OTHER_GID = 54_321;

describe('writeFileAtomic modes', async () => {
  let tmp: TempDir;
  let umask: number;
  before(async () => {
    tmp = await makeTempDir('vc-atomic-');
    umask = process.umask(0o027); // the systemd unit's UMask (this test file runs in its own process)
  });
  after(async () => {
    process.umask(umask);
    await tmp.cleanup();
  });

  const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;

  it('a new file gets the asked mode, not the mode cut by the umask', async () => {
    const file = join(tmp.path, 'new.conf');
    await writeFileAtomic(file, 'x\n');
    assert.equal(await modeOf(file), 0o644);
    const state = join(tmp.path, 'state.json');
    await writeFileAtomic(state, '{}\n', { mode: 0o640 });
    assert.equal(await modeOf(state), 0o640);
  });

  it('keepAttributes: a new include is 0644; a replaced one keeps its mode and group', async () => {
    const include = join(tmp.path, 'vipcontrol.conf');
    await writeFileAtomic(include, 'first\n', { keepAttributes: true });
    assert.equal(await modeOf(include), 0o644, 'no previous file: 0644 despite the umask');

    await chown(include, process.getuid!(), OTHER_GID); // the operator's `chgrp bird`
    await chmod(include, 0o664);
    await writeFileAtomic(include, 'second\n', { keepAttributes: true, syncDir: false });
    assert.equal(await readFile(include, 'utf8'), 'second\n');
    assert.equal(await modeOf(include), 0o664);
    assert.equal((await stat(include)).gid, OTHER_GID);

    // Without keepAttributes (the state file) the file gets the asked mode and the writer's group.
    await writeFileAtomic(include, 'third\n', { mode: 0o640 });
    assert.equal(await modeOf(include), 0o640);
    assert.equal((await stat(include)).gid, process.getgid!());
  });

  it('the include keeps a group-readable mode across a rewrite even when the umask would drop it', async () => {
    const include = join(tmp.path, 'restrictive.conf');
    await writeFile(include, 'old\n', { mode: 0o600 });
    await chmod(include, 0o640);
    process.umask(0o077);
    try {
      await writeFileAtomic(include, 'new\n', { keepAttributes: true });
    } finally {
      process.umask(0o027);
    }
    assert.equal(await modeOf(include), 0o640);
  });
});

describe('writeFileAtomic with the content in pieces', async () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir('vc-atomic-parts-');
  });
  after(async () => {
    await tmp.cleanup();
  });

  it('writes the pieces concatenated, multi-byte characters and empty pieces included', async () => {
    const file = join(tmp.path, 'parts.conf');
    const parts = ['# head\n', '', 'protocol static p {\n', 'é→✓\n'.repeat(5000), '}\n'];
    await writeFileAtomic(file, parts);
    assert.equal(await readFile(file, 'utf8'), parts.join(''));
  });

  it('sameText: equal content is the same whether given as pieces or as one string', () => {
    assert.ok(sameText(['a', 'b'], ['a', 'b']));
    assert.ok(sameText(['a', 'b'], 'ab'));
    assert.ok(sameText('ab', ['ab']));
    assert.ok(sameText(undefined, undefined));
    assert.ok(!sameText(['a', 'b'], ['a', 'c']));
    assert.ok(!sameText(['a', 'b'], undefined));
    assert.ok(!sameText('', undefined), 'an empty file is not no file');
  });
});

// The program itself: `vipcontrol --config FILE` refuses an invalid config with file, line and field.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeTempDir, repoPath } from '@vipcontrol/testlab';

describe('vipcontrol --config', async () => {
  const tmp = await makeTempDir('vc-main-');
  after(() => tmp.cleanup());
  const bin = repoPath('packages/vipcontrol/bin/vipcontrol.js');

  it('exits 1 with one fatal JSON log line naming file:line and the field', async () => {
    const file = join(tmp.path, 'bad.yaml');
    await writeFile(file, 'node: n1\nvips:\n  - prefix: 198.51.100.10/32\n    med: 99999999999\n');
    const r = await execa(process.execPath, [bin, '--config', file], { reject: false, timeout: 10_000 });
    assert.equal(r.exitCode, 1);
    const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { level: string; event: string; msg: string };
    assert.equal(line.level, 'fatal');
    assert.equal(line.event, 'configInvalid');
    assert.match(line.msg, /bad\.yaml:4:\d+: vips\[0\]\.med/);
  });

  it('exits 1 when the config file cannot be read', async () => {
    const r = await execa(process.execPath, [bin, '--config', join(tmp.path, 'missing.yaml')], { reject: false, timeout: 10_000 });
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /cannot read config .*missing\.yaml/);
  });
});

/**
 * Issue 12 item 4 under the real unit: systemd/viphealth.service in a booted systemd container
 * (DynamicUser, SupplementaryGroups=vipcontrol bird, NoNewPrivileges, the system-call filter). An exec
 * check reports its own groups, capabilities and NODE_OPTIONS as its evidence: none of viphealth's.
 * Without CAP_SETGID (a drop-in clearing it) viphealth refuses to start, saying why. No vipcontrol runs
 * here: `systemctl start viphealth` still returns (READY=1 after the first verdicts), the status saying
 * the verdicts are not delivered.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTAINER_ROOT, ensureContainerRoot, longTier, makeTempDir, repoPath, systemdContainerTool, uniqueId, waitFor, type TempDir } from '@vipcontrol/testlab';

const run = promisify(execFile);
const TOOL = systemdContainerTool();
const missing = TOOL === undefined ? 'needs shared/tools/systemd-container' : false;

const CHECK = `vipcontrol: { socket: /run/vipcontrol/vipcontrol.sock }
checks:
  - name: who
    type: exec
    shell: true
    command: ['echo "$(grep ^Groups: /proc/self/status | tr -s "\\t" " ") $(grep ^CapEff: /proc/self/status | tr -s "\\t" " ") NODE_OPTIONS=\${NODE_OPTIONS:-unset}"; exit 1']
    rise: 1
    fall: 1
    vips: [192.0.2.1/32]
    penalty: 10
`;

describe('exec checks under systemd/viphealth.service', { ...longTier('boots a systemd container'), ...(missing ? { skip: missing } : {}) }, () => {
  const name = `vh-groups-${uniqueId()}`;
  let tmp: TempDir;
  let booted = false;
  const inside = async (...cmd: string[]) => (await run(TOOL!, ['exec', name, ...cmd])).stdout;
  const journal = () => inside('journalctl', '-u', 'viphealth', '--no-pager', '-o', 'cat');

  before(async () => {
    tmp = await makeTempDir('viphealth-unit-');
    await ensureContainerRoot(TOOL!);
    await run(TOOL!, ['boot', CONTAINER_ROOT, name, '--bind', `${repoPath('.')}:/opt/vipcontrol`, '--bind', `${process.execPath}:/usr/local/bin/node`]);
    booted = true;
    const bin = join(tmp.path, 'viphealth');
    await writeFile(bin, '#!/bin/sh\nexec /usr/local/bin/node /opt/vipcontrol/packages/viphealth/bin/viphealth.js "$@"\n', { mode: 0o755 });
    await writeFile(join(tmp.path, 'viphealth.yaml'), CHECK);
    await inside('sh', '-c', 'groupadd -f vipcontrol && mkdir -p /etc/vipcontrol');
    await run(TOOL!, ['cp', name, bin, '/usr/sbin/viphealth']); // where the unit (and the package) has it
    await run(TOOL!, ['cp', name, join(tmp.path, 'viphealth.yaml'), '/etc/vipcontrol/viphealth.yaml']);
    await run(TOOL!, ['cp', name, repoPath('systemd/viphealth.service'), '/etc/systemd/system/viphealth.service']);
    await inside('systemctl', 'daemon-reload');
  });
  after(async () => {
    if (booted) await run(TOOL!, ['stop', name]);
    await tmp?.cleanup();
  });

  it('the check runs without viphealth\'s groups, capabilities or environment', async () => {
    // Type=notify with no vipcontrol here: `systemctl start` returns once the check has a first verdict,
    // and the status says the verdicts are not reaching vipcontrol (it used to hang until TimeoutStartSec).
    await run(TOOL!, ['exec', name, 'systemctl', 'start', 'viphealth'], { timeout: 30_000 });
    assert.equal((await inside('systemctl', 'is-active', 'viphealth')).trim(), 'active');
    assert.equal(
      (await inside('systemctl', 'show', '-p', 'StatusText', '--value', 'viphealth')).trim(),
      '1 checks: 0 up, 1 down, 0 unknown, 0 disabled (down: who); verdicts not delivered: vipcontrol unreachable at /run/vipcontrol/vipcontrol.sock (ENOENT); retrying',
    );
    // MainPID is set while systemd's fork is still setting up credentials (comm "(iphealth)", not yet in
    // the supplementary groups): wait until it has exec'd viphealth itself.
    const pid = await waitFor(async () => {
      const main = (await inside('systemctl', 'show', '-p', 'MainPID', '--value', 'viphealth')).trim();
      if (main === '0' || main === '') return undefined;
      const cmdline = await inside('cat', `/proc/${main}/cmdline`).catch(() => '');
      return cmdline.includes('viphealth.js') ? main : undefined;
    }, { timeoutMs: 15_000, message: 'viphealth running' });
    const own = await inside('grep', '^Groups:', `/proc/${pid}/status`);
    const bird = (await inside('getent', 'group', 'bird')).split(':')[2]!;
    const vipcontrol = (await inside('getent', 'group', 'vipcontrol')).split(':')[2]!;
    const groups = own.replace(/^Groups:/, '').trim().split(/\s+/);
    assert.ok(groups.includes(bird) && groups.includes(vipcontrol), `viphealth itself is in both groups: ${own}`);
    const evidence = await waitFor(async () => /"detail":"(Groups:[^"]*)"/.exec(await journal())?.[1], { timeoutMs: 15_000, message: 'the check ran' });
    assert.deepStrictEqual(evidence.replace(/\s+/g, ' '), 'Groups: CapEff: 0000000000000000 NODE_OPTIONS=unset');
  });

  it('without CAP_SETGID viphealth refuses to start instead of running checks with the groups', async () => {
    await inside('sh', '-c', 'mkdir -p /etc/systemd/system/viphealth.service.d && printf "[Service]\\nCapabilityBoundingSet=\\nAmbientCapabilities=\\n" > /etc/systemd/system/viphealth.service.d/nocap.conf && systemctl daemon-reload && systemctl restart --no-block viphealth || true');
    await waitFor(async () => (await journal()).includes("exec checks and hooks would run with viphealth's supplementary groups"), {
      timeoutMs: 15_000,
      message: 'the refusal is in the journal',
    });
  });
});

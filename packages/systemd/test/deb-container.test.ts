// The packaged product under a real systemd and a real Puppet: build the .deb, boot a Debian 12
// container (systemd as PID 1) whose network namespace is joined over a veth to a router namespace
// running its own BIRD, install the package, apply the Puppet module's example as is, then change it.
// Every step is checked at the router: its RIB, its session's Since and its update counters.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProtocolInfo } from '@vipcontrol/bird';
import {
  bestPathMed, CONTAINER_ROOT, ensureContainerRoot, longTier, QUICK_MODE, repoPath, startBird, systemdContainerTool, uniqueId, SinceTracker, waitFor, type BirdInstance,
} from '@vipcontrol/testlab';

const exec = promisify(execFile);
const ROOT = CONTAINER_ROOT;
const TOOL = systemdContainerTool();
const VIP1 = '198.51.100.10/32';
const VIP2 = '198.51.100.11/32';
const MODULES = '/usr/share/doc/vipcontrol/puppet';
const EXAMPLE = `${MODULES}/vipcontrol/examples/init.pp`;

const id = uniqueId();
const container = `vc9${id}`;
const routerNs = `vc9r${id}`;
const nodeNs = `vc9n${id}`;
let router: BirdInstance | undefined;
let booted = false;
let work: string;
const skip = TOOL === undefined ? 'systemd-container tool not found (shared/tools)' : false;

async function sh(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return (await exec(cmd, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** Runs a shell command inside the container; resolves with stdout and the exit code. */
async function inside(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(TOOL!, ['exec', container, 'sh', '-c', script], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function insideOk(script: string): Promise<string> {
  const r = await inside(script);
  assert.equal(r.code, 0, `in the container: ${script}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function session(): Promise<ProtocolInfo> {
  const [p] = await router!.client.showProtocols({ all: true, name: 'node1' });
  assert.ok(p, 'router has its session with the node');
  return p;
}

/** The session's Since across BIRD's clock jitter (testlab's session-since.ts). */
const sinceTracker = new SinceTracker();

/** What the router has heard from the node: updates and withdraws received, and the session's Since. */
async function routerView(): Promise<{ since: string; received: number; established: boolean }> {
  const readAt = Date.now();
  const p = await session();
  const ch = p.channels.find((c) => c.name === 'ipv4');
  return {
    since: sinceTracker.stable(p.name, p.since, readAt),
    received: (ch?.importUpdates?.received ?? 0) + (ch?.importWithdraws?.received ?? 0),
    established: p.bgpState === 'Established',
  };
}

function routerMed(prefix: string): Promise<number | undefined> {
  return bestPathMed(router!.client, prefix);
}

async function mainPid(unit: string): Promise<string> {
  return (await insideOk(`systemctl show -p MainPID --value ${unit}`)).trim();
}

/** puppet apply of a manifest inside the container; --detailed-exitcodes: 0 no change, 2 changes, 4/6 failures. */
async function puppetApply(manifest: string): Promise<{ code: number; output: string }> {
  const r = await inside(`puppet apply --detailed-exitcodes --color=false --modulepath=${MODULES} ${manifest} 2>&1`);
  return { code: r.code, output: r.stdout };
}

before(async () => {
  if (skip || QUICK_MODE) return; // nothing to set up for a skipped test
  await ensureContainerRoot(TOOL!);
  work = await mkdtemp(join(tmpdir(), 'vc-deb-'));
  await sh('ip', ['netns', 'add', routerNs]);
  await sh('ip', ['netns', 'add', nodeNs]);
  const [a, b] = [`v9a${id}`, `v9b${id}`];
  await sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  await sh('ip', ['link', 'set', a, 'netns', routerNs]);
  await sh('ip', ['link', 'set', b, 'netns', nodeNs]);
  for (const [ns, ifc, addr] of [[routerNs, a, '10.255.9.1/24'], [nodeNs, b, '10.255.9.2/24']] as const) {
    await sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', ifc]);
    await sh('ip', ['-n', ns, 'link', 'set', ifc, 'up']);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  router = await startBird({
    name: `r${id}`,
    netns: routerNs,
    config: [
      'router id 10.255.9.1;',
      'timeformat protocol "%s.%3f";',
      'protocol device {}',
      'protocol bgp node1 {',
      '  local 10.255.9.1 as 65000; neighbor 10.255.9.2 as 65000; direct; passive on; rr client;',
      '  ipv4 { import all; export none; };',
      '}',
      '',
    ].join('\n'),
  });
});

after(async () => {
  if (skip || QUICK_MODE) return;
  if (booted) await sh(TOOL!, ['stop', container]).catch((err: unknown) => console.error(`stopping ${container}: ${String(err)}`));
  await router?.stop();
  for (const ns of [routerNs, nodeNs]) await sh('ip', ['netns', 'delete', ns]).catch(() => undefined); // may not exist if before() failed early
  if (work) await rm(work, { recursive: true, force: true });
});

test('the .deb under systemd and Puppet: notify, reload, validate, watchdog, journal priorities, upgrade', { ...longTier('systemd container'), ...(skip ? { skip } : {}) }, async (t) => {
  const deb = (await sh('bash', [repoPath('scripts/package.sh')], 600_000)).trim().split('\n').pop()!;
  const debPath = repoPath(deb);

  await sh(TOOL!, ['boot', ROOT, container, '--netns', `/run/netns/${nodeNs}`]);
  booted = true;
  await sh(TOOL!, ['cp', container, debPath, '/tmp/vipcontrol.deb']);
  await insideOk('apt-get install -y -q /tmp/vipcontrol.deb >/dev/null');

  await t.test('first Puppet run on a fresh node: services active (notify), VIPs exported, at the router', async () => {
    const first = await puppetApply(EXAMPLE);
    assert.equal(first.code, 2, first.output);
    assert.equal((await insideOk('systemctl is-active vipcontrol viphealth')).trim(), 'active\nactive');
    // Type=notify: `active` is only reached after READY=1, i.e. after the first apply.
    assert.match(await insideOk('systemctl show -p StatusText --value vipcontrol'), /^apply #\d+ ok/);
    // viphealth's first verdicts may still be moving the MEDs: wait for status to settle (it exits 6
    // while a VIP is out of sync), then it must say what the router has.
    type Status = { vips: { prefix: string; inSync: boolean; exported?: { med?: number } }[] };
    await waitFor(async () => {
      const status = JSON.parse((await inside('vipctl --json status')).stdout) as Status;
      return [VIP1, VIP2].every((prefix) => {
        const v = status.vips.find((x) => x.prefix === prefix);
        return v?.inSync && v.exported?.med === 100;
      });
    }, { timeoutMs: 30_000, intervalMs: 500, message: 'vipctl status shows both VIPs exported with MED 100' });
    await waitFor(async () => (await routerMed(VIP1)) === 100 && (await routerMed(VIP2)) === 100, { timeoutMs: 30_000, message: 'router RIB has both VIPs with MED 100' });
    // A fresh node announces each VIP once, with its final MED: not before viphealth's first verdicts
    // (VIP1's never-proven check), so the router heard no penalty first and no withdraw (docs/health.md).
    assert.equal((await routerView()).received, 2, 'one UPDATE per VIP from the fresh node');
    const again = await puppetApply(EXAMPLE);
    assert.equal(again.code, 0, `a second identical run changes nothing:\n${again.output}`);
  });

  const pid = await mainPid('vipcontrol');
  await t.test('a changed MED reloads: new MED at the router, same session, no restart', async () => {
    const before = await routerView();
    await insideOk(`sed "s|'med' => 100, 'communities'|'med' => 200, 'communities'|" ${EXAMPLE} > /tmp/med200.pp`);
    const r = await puppetApply('/tmp/med200.pp');
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /Service\[vipcontrol\]: Triggered 'refresh'/);
    await waitFor(async () => (await routerMed(VIP1)) === 200, { timeoutMs: 20_000, message: 'router RIB shows MED 200' });
    const afterView = await routerView();
    assert.equal(afterView.since, before.since, 'the BGP session was not reset');
    assert.equal(await mainPid('vipcontrol'), pid, 'vipcontrol was reloaded, not restarted');
    const journal = await insideOk('journalctl -b -u vipcontrol --no-pager -o cat');
    assert.match(journal, /Reloaded vipcontrol\.service|Reloading vipcontrol\.service/);
    assert.equal(journal.match(/Started vipcontrol\.service/g)?.length, 1, 'one start in the journal');
  });

  await t.test('an invalid config fails at validate_cmd and changes nothing', async () => {
    const sum = await insideOk('md5sum /etc/vipcontrol/vipcontrol.yaml');
    await insideOk(`sed "s|'med' => 100, 'communities'|'med' => -5, 'communities'|" ${EXAMPLE} > /tmp/bad.pp`);
    const r = await puppetApply('/tmp/bad.pp');
    assert.ok(r.code === 4 || r.code === 6, `expected a failed run, got ${r.code}:\n${r.output}`);
    assert.match(r.output, /validate/i);
    assert.equal(await insideOk('md5sum /etc/vipcontrol/vipcontrol.yaml'), sum);
    assert.equal(await routerMed(VIP1), 200);
    assert.equal(await mainPid('vipcontrol'), pid);
  });

  await t.test('journalctl -p err shows a failed apply', async () => {
    // The include file's directory unwritable: the next apply fails (and is retried once it is back).
    await insideOk('chmod 0550 /etc/bird');
    const r = await inside(`vipctl set-med ${VIP2} 300 --reason deb-test`);
    assert.notEqual(r.code, 0, 'set-med reports the failed apply');
    const errors = await insideOk('journalctl -b -u vipcontrol -p err --no-pager -o cat');
    assert.match(errors, /"event":"applyFailed"/);
    assert.doesNotMatch(errors, /"event":"applied"/, 'info lines are not at priority err');
    await insideOk('chmod 2770 /etc/bird');
    await insideOk(`vipctl reset-med ${VIP2}`);
    await waitFor(async () => (await routerMed(VIP2)) === 100, { timeoutMs: 20_000, message: 'router back at MED 100 for VIP2' });
  });

  await t.test('SIGSTOP: the watchdog restarts vipcontrol, nothing changes at the router', async () => {
    const before = await routerView();
    await insideOk(`kill -STOP ${pid}`);
    await waitFor(async () => {
      const now = await mainPid('vipcontrol');
      return now !== pid && now !== '0' && (await inside('systemctl is-active vipcontrol')).stdout.trim() === 'active';
    }, { timeoutMs: 60_000, intervalMs: 500, message: 'vipcontrol restarted by the watchdog' });
    assert.match(await insideOk('journalctl -b -u vipcontrol --no-pager -o cat'), /[Ww]atchdog timeout/);
    const afterView = await routerView();
    assert.equal(afterView.since, before.since, 'the BGP session was not reset');
    assert.equal(afterView.received, before.received, 'no BGP update reached the router');
  });

  await t.test('upgrade: a newer .deb over the running one restarts both daemons, no BGP update', async () => {
    const newer = join(work, 'vipcontrol_newer.deb');
    const tree = join(work, 'tree');
    await sh('dpkg-deb', ['-R', debPath, tree]);
    await sh('sed', ['-i', 's/^Version: .*/&+upgrade1/', join(tree, 'DEBIAN/control')]);
    await sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '-b', tree, newer], 300_000);
    await sh(TOOL!, ['cp', container, newer, '/tmp/vipcontrol-newer.deb']);
    const before = await routerView();
    const [vc, vh] = [await mainPid('vipcontrol'), await mainPid('viphealth')];
    await insideOk('apt-get install -y -q /tmp/vipcontrol-newer.deb >/dev/null');
    assert.match(await insideOk('dpkg-query -W -f=\'${Version}\' vipcontrol'), /\+upgrade1$/);
    assert.equal((await insideOk('systemctl is-active vipcontrol viphealth')).trim(), 'active\nactive');
    assert.notEqual(await mainPid('vipcontrol'), vc, 'vipcontrol restarted');
    assert.notEqual(await mainPid('viphealth'), vh, 'viphealth restarted');
    await new Promise((r) => setTimeout(r, 2000)); // anything the restart sent would have arrived
    const afterView = await routerView();
    assert.equal(afterView.since, before.since, 'the BGP session was not reset');
    assert.equal(afterView.received, before.received, 'no BGP update reached the router');
    assert.equal(await routerMed(VIP1), 200);
  });
});

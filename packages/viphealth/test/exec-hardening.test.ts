/**
 * Issue 11 items 2-4 and 6, issue 12 item 4, with real processes: exec checks end on time whatever the
 * command left behind, large output is drained, a recycled pid is not the service, damping survives an
 * edit, a rotated CA is used after a reload, hooks are ordered and their children killed, and commands
 * run with a clean environment and without viphealth's supplementary groups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseViphealthConfig, type HealthTransition } from '@vipcontrol/core';
import { makeTempDir, makeTlsCerts, pidExists, repoPath, waitFor, type TempDir } from '@vipcontrol/testlab';
import { ExecProbe } from '../src/checks/exec-probe.js';
import { ProcessProbe } from '../src/checks/process-probe.js';
import { HookRunner } from '../src/hooks.js';
import { createLogger } from '../src/logger.js';
import { Viphealth } from '../src/viphealth.js';

const silent = createLogger({ level: 'silent' });
let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('viphealth-exec-');
});
after(() => tmp.cleanup());

/** Kills the pids a command wrote to `file` (the processes it deliberately left behind). */
async function killListed(file: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const pid of text.split(/\s+/).map(Number).filter((p) => p > 0)) if (pidExists(pid)) process.kill(pid, 'SIGKILL');
}

describe('exec check timeout ends the run on time', () => {
  const cases: [string, (f: string) => string][] = [
    ['a setsid child holding the output pipe', (f) => `setsid sleep 30 & echo $! > ${f}; sleep 30`],
    ['GNU timeout (its own process group) in the script', (f) => `timeout 30 sleep 30 & echo $! > ${f}; wait`],
  ];
  for (const [name, script] of cases) {
    it(name, async (t) => {
      const left = join(tmp.path, `left-${Math.random()}`);
      t.after(() => killListed(left));
      const r = await new ExecProbe({ command: [script(left)], shell: true }).run(300);
      assert.deepStrictEqual([r.ok, r.error], [false, 'timeout']);
      // The old probe waited for the pipe to close: 30 s. Anything near the timeout is the fix.
      assert.ok(r.latencyMs < 1500, `settled after ${r.latencyMs} ms for a 300 ms timeout`);
    });
  }

  it('a self-daemonising helper that keeps the pipe does not hold the verdict (exit 0 counts)', async (t) => {
    const left = join(tmp.path, 'daemon.pid');
    t.after(() => killListed(left));
    const r = await new ExecProbe({ command: [`(setsid sleep 30 & echo $! > ${left}); echo fine`], shell: true }).run(5000);
    assert.deepStrictEqual([r.ok, r.exitCode, r.detail], [true, 0, 'fine']);
    assert.ok(r.latencyMs < 2000, `settled after ${r.latencyMs} ms; the helper lives 30 s`);
  });

  it('a SIGHUP reload does not wait for a hung run', async (t) => {
    const yaml = (timeout: string) =>
      `vipcontrol: { socket: ${join(tmp.path, 'absent.sock')} }\nchecks:\n  - { name: hang, type: exec, command: [sleep, '30'], timeout: ${timeout}, vips: [192.0.2.1/32], penalty: 10 }\n`;
    const vh = new Viphealth({ config: parseViphealthConfig(yaml('3s'), 'v.yaml'), logger: silent });
    vh.start();
    t.after(() => vh.stop());
    await new Promise((r) => setTimeout(r, 200)); // the first run is in progress
    const started = performance.now();
    await vh.reload(parseViphealthConfig(yaml('2500ms'), 'v.yaml'));
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 1500, `reload took ${Math.round(tookMs)} ms behind a run with a 3 s timeout`);
  });
});

describe('exec check output', () => {
  it('a healthy command printing ~600 KB passes (output drained, not cut)', async () => {
    const r = await new ExecProbe({ command: ['head -c 600000 /dev/zero | tr "\\0" x; echo; echo healthy'], shell: true }).run(5000);
    assert.deepStrictEqual([r.ok, r.exitCode, r.detail], [true, 0, 'healthy']);
  });
});

describe('pidfile check identity', () => {
  it('refuses a recycled pid (private pid namespace, pid reused via ns_last_pid)', async (t) => {
    const dir = tmp.path;
    const pidfile = join(dir, 'svc.pid');
    const recycled = join(dir, 'recycled.pid');
    const go = join(dir, 'go');
    const done = join(dir, 'done');
    const script = [
      `sleep 1000 & svc=$!; echo $svc > ${pidfile}`,
      `while [ ! -e ${go} ]; do sleep 0.02; done`,
      'kill -9 $svc; wait $svc',
      // The next fork in this namespace gets the dead service's pid.
      'echo $((svc - 1)) > /proc/sys/kernel/ns_last_pid; sleep 1000 & echo $! > ' + recycled,
      `while [ ! -e ${done} ]; do sleep 0.02; done; kill -9 $!`,
    ].join('\n');
    const ns = spawn('unshare', ['-pf', '--mount-proc', 'sh', '-c', script], { stdio: 'ignore' });
    t.after(async () => {
      await writeFile(done, '');
      if (ns.exitCode === null) await once(ns, 'exit');
    });
    // The namespace's pid 1 (sh) is unshare's child; its /proc mount is reachable through its root.
    const init = await waitFor(async () => Number((await readFile(`/proc/${ns.pid}/task/${ns.pid}/children`, 'utf8')).trim()) || undefined);
    const procRoot = `/proc/${init}/root/proc`;
    const pid = await waitFor(async () => Number(await readFile(pidfile, 'utf8').catch(() => '')) || undefined);
    const probe = new ProcessProbe({ pidfile }, procRoot);
    const healthy = await probe.run();
    assert.equal(healthy.ok, true, healthy.detail);

    await writeFile(go, '');
    const reused = await waitFor(async () => Number(await readFile(recycled, 'utf8').catch(() => '')) || undefined);
    assert.equal(reused, pid, 'the test did recycle the pid');
    const same = await probe.run();
    assert.equal(same.ok, false, 'the probe that saw the service knows its start time');
    assert.match(same.detail, /recycled/);

    // A probe without that memory (viphealth restarted) goes by the pidfile's mtime.
    const older = new Date(Date.now() - 5000);
    await utimes(pidfile, older, older);
    const fresh = await new ProcessProbe({ pidfile }, procRoot).run();
    assert.equal(fresh.ok, false, 'a process started after its pidfile was written is not the writer');
    assert.match(fresh.detail, /after the pidfile was written/);
  });
});

describe('damping and TLS across a reload', () => {
  it('an edit of a damped check keeps its hold-down', async (t) => {
    const flag = join(tmp.path, 'flag');
    const yaml = (timeout: string) =>
      `vipcontrol: { socket: ${join(tmp.path, 'absent.sock')} }\nchecks:\n  - { name: d, type: exec, command: [test, -e, ${flag}], interval: 20ms, fastInterval: 20ms, timeout: ${timeout}, rise: 1, fall: 1, damping: { flaps: 2, window: 1m, holdDown: 1m }, vips: [192.0.2.1/32], penalty: 10 }\n`;
    const vh = new Viphealth({ config: parseViphealthConfig(yaml('1s'), 'v.yaml'), logger: silent });
    vh.start();
    t.after(() => vh.stop());
    const status = () => vh.snapshot().checks[0]!;
    for (let flap = 0; flap < 2; flap++) {
      await writeFile(flag, '');
      await waitFor(() => status().status === 'up', { message: `up before flap ${flap}` });
      await rm(flag);
      await waitFor(() => status().status === 'down', { message: `flap ${flap}` });
    }
    assert.ok(status().damping?.holdDownUntil !== undefined, 'damped');
    await writeFile(flag, '');
    await vh.reload(parseViphealthConfig(yaml('900ms'), 'v.yaml'));
    await new Promise((r) => setTimeout(r, 300)); // ~15 passing runs; rise is 1
    assert.notEqual(status().status, 'up', 'the edited check is still held down');
    assert.ok(status().damping?.holdDownUntil !== undefined, 'and reports its hold-down');
  });

  it('a reload builds the HTTP probe again when its CA file changed in place, and only then, keeping the state', async (t) => {
    const [a, b] = await Promise.all([makeTlsCerts(tmp.path, 'rotate-a'), makeTlsCerts(tmp.path, 'rotate-b')]);
    const server = createHttpsServer({ key: await readFile(a.key), cert: await readFile(a.cert) }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const ca = join(tmp.path, 'rotate-ca.pem');
    await copyFile(a.ca, ca);
    const yaml = `vipcontrol: { socket: ${join(tmp.path, 'absent.sock')} }\nchecks:\n  - { name: h, type: http, url: 'https://127.0.0.1:${(server.address() as AddressInfo).port}/', tls: { ca: ${ca} }, interval: 20ms, fastInterval: 20ms, rise: 1, fall: 1, vips: [192.0.2.1/32], penalty: 10 }\n`;
    const vh = new Viphealth({ config: parseViphealthConfig(yaml, 'v.yaml'), logger: silent });
    const transitions: string[] = [];
    vh.on('transition', (_name: string, tr: HealthTransition) => transitions.push(`${tr.from}->${tr.to}`));
    vh.start();
    t.after(() => vh.stop());
    const status = () => vh.snapshot().checks[0]!.status;
    await waitFor(() => status() === 'up', { message: 'CA A verifies server certificate A' });
    server.setSecureContext({ key: await readFile(b.key), cert: await readFile(b.cert) });
    await waitFor(() => status() === 'down', { message: 'CA A does not verify server certificate B' });
    const same = await vh.reload(parseViphealthConfig(yaml, 'v.yaml'));
    assert.deepStrictEqual(same, { added: [], removed: [], changed: [], kept: ['h'], refreshed: [] }, 'an unchanged CA file: the probe stays');
    await copyFile(b.ca, ca); // rotated in place, then SIGHUP
    const rotated = await vh.reload(parseViphealthConfig(yaml, 'v.yaml'));
    assert.deepStrictEqual(rotated, { added: [], removed: [], changed: [], kept: ['h'], refreshed: ['h'] });
    await waitFor(() => status() === 'up', { message: 'CA B is used after the reload' });
    assert.deepStrictEqual(transitions, ['unknown->up', 'up->down', 'down->up'], 'the same check went on: no fresh start as unknown');
    await rm(ca);
    await assert.rejects(vh.reload(parseViphealthConfig(yaml, 'v.yaml')), /ENOENT.*rotate-ca\.pem/, 'a CA file gone fails the reload');
    await new Promise((r) => setTimeout(r, 100)); // ~5 runs with the probe that holds CA B
    assert.equal(status(), 'up', 'and the running probe stays');
  });
});

describe('hooks', () => {
  const transition = (from: 'up' | 'down', to: 'up' | 'down'): HealthTransition => ({ from, to, reason: to === 'up' ? 'rise-met' : 'fall-met', at: Date.now() });

  it('run one at a time per check, in order: up never before the earlier down has finished', async () => {
    const log = join(tmp.path, 'hooks.log');
    const hook = ['sh', '-c', `echo "start $VIPHEALTH_STATE" >> ${log}; [ "$VIPHEALTH_STATE" = down ] && sleep 0.3; echo "end $VIPHEALTH_STATE" >> ${log}`];
    const hooks = new HookRunner(silent);
    hooks.run({ argv: hook, timeoutMs: 5000, check: 'c', transition: transition('up', 'down'), logger: silent });
    hooks.run({ argv: hook, timeoutMs: 5000, check: 'c', transition: transition('down', 'up'), logger: silent });
    await hooks.idle();
    assert.deepStrictEqual((await readFile(log, 'utf8')).trim().split('\n'), ['start down', 'end down', 'start up', 'end up']);
  });

  it('a hook timeout kills the hook and its children', async () => {
    const pidFile = join(tmp.path, 'hook-child.pid');
    const hooks = new HookRunner(silent);
    hooks.run({ argv: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; sleep 30`], timeoutMs: 300, check: 'c', transition: transition('up', 'down'), logger: silent });
    await hooks.idle();
    const child = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => !pidExists(child), { timeoutMs: 2000, message: `the hook's child ${child} is killed with it` });
  });
});

describe('what an exec check runs with', () => {
  it('no supplementary groups of viphealth and a clean environment (real viphealth under setpriv --groups)', async (t) => {
    const out = join(tmp.path, 'identity.txt');
    const config = join(tmp.path, 'identity.yaml');
    await writeFile(
      config,
      `vipcontrol: { socket: ${join(tmp.path, 'absent.sock')} }\nchecks:\n  - name: who\n    type: exec\n    shell: true\n` +
        `    command: ['grep ^Groups: /proc/self/status > ${out}.tmp; env | sort >> ${out}.tmp; mv ${out}.tmp ${out}']\n` +
        '    vips: [192.0.2.1/32]\n    penalty: 10\n',
    );
    const daemon = spawn(
      'env',
      ['NODE_OPTIONS=--max-semi-space-size=1', 'VIPHEALTH_TEST_LEAK=1', 'setpriv', '--groups', '4242,4343', '--', process.execPath, repoPath('packages/viphealth/bin/viphealth.js'), '--config', config],
      { stdio: 'ignore' },
    );
    t.after(async () => {
      if (daemon.exitCode === null) {
        daemon.kill('SIGKILL');
        await once(daemon, 'exit');
      }
    });
    const seen = await waitFor(async () => (await readFile(out, 'utf8').catch(() => '')) || undefined, { timeoutMs: 10_000 });
    const groups = seen.split('\n')[0]!;
    assert.deepStrictEqual(groups.replace(/^Groups:\s*/, '').trim().split(/\s+/).filter((g) => g === '4242' || g === '4343'), [], groups);
    assert.doesNotMatch(seen, /^NODE_OPTIONS=/m, "viphealth's NODE_OPTIONS is not passed on");
    assert.doesNotMatch(seen, /^VIPHEALTH_TEST_LEAK=/m, "viphealth's environment is not passed on");
    assert.match(seen, /^PATH=\/usr\/local\/sbin:/m);
    assert.match(seen, /^VIPHEALTH_CHECK=who$/m);
  });
});

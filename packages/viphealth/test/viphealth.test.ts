import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseViphealthConfig, vipSetParts, type HealthReportBody as HealthReport } from '@vipcontrol/core';
import { makeTempDir, repoPath, waitFor, type TempDir } from '@vipcontrol/testlab';
import type { Probe, ProbeResult } from '../src/checks/probe.js';
import { createLogger } from '../src/logger.js';
import { Reporter } from '../src/reporter.js';
import { CheckScheduler } from '../src/scheduler.js';
import { Viphealth } from '../src/viphealth.js';

const silent = createLogger({ level: 'silent' });
let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('viphealth-unit-');
});
after(() => tmp.cleanup());

/** A stand-in for vipcontrol's API: records every report POSTed to its Unix socket. */
async function fakeVipcontrol(socket: string): Promise<{ reports: HealthReport[]; server: Server; close(): Promise<void> }> {
  const reports: HealthReport[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      assert.equal(`${req.method} ${req.url}`, 'POST /v1/health/report');
      reports.push(JSON.parse(body) as HealthReport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.listen(socket);
  await once(server, 'listening');
  return { reports, server, close: () => new Promise((r) => server.close(() => r())) };
}

/** A probe whose answers the test sets; counts concurrent runs. */
class ScriptedProbe implements Probe {
  ok = true;
  delayMs = 0;
  runs: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  async run(): Promise<ProbeResult> {
    this.runs.push(performance.now());
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight--;
    return { ok: this.ok, latencyMs: this.delayMs, detail: this.ok ? 'fine' : 'broken', ...(this.ok ? {} : { exitCode: 1 }) };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function checkYaml(extra = ''): string {
  return `checks:\n  - { name: c, type: exec, command: [/bin/true], vips: [192.0.2.1/32], penalty: 100, ${extra} }\n`;
}
const oneCheck = (extra: string) => parseViphealthConfig(checkYaml(extra), 't.yaml').checks[0]!;

describe('CheckScheduler', () => {
  it('goes fast while a transition is in progress and never overlaps runs', async (t) => {
    const probe = new ScriptedProbe();
    probe.delayMs = 30;
    const s = new CheckScheduler({ config: oneCheck('interval: 10ms, fastInterval: 10ms, rise: 2, fall: 2'), probe, logger: silent });
    t.after(() => s.stop());
    s.start();
    await waitFor(() => probe.runs.length >= 6);
    assert.equal(probe.maxInFlight, 1, 'a slow probe never runs twice at once');
    assert.equal(s.state.status, 'up');
  });

  it('uses fastInterval after a failure, interval otherwise', async (t) => {
    const probe = new ScriptedProbe();
    const s = new CheckScheduler({ config: oneCheck('interval: 400ms, fastInterval: 20ms, rise: 1, fall: 3'), probe, logger: silent });
    t.after(() => s.stop());
    const transitions: string[] = [];
    s.on('transition', (tr) => transitions.push(`${tr.from}>${tr.to}`));
    s.start();
    await waitFor(() => s.state.status === 'up');
    probe.ok = false;
    const failingFrom = probe.runs.length;
    await waitFor(() => s.state.status === 'down', { timeoutMs: 3000 });
    // Run 1 of the failure came on the 400 ms interval; runs 2 and 3 on the 20 ms fast interval.
    const [first, second, third] = probe.runs.slice(failingFrom);
    assert.ok(second! - first! < 200 && third! - second! < 200, `fast runs ${second! - first!} ${third! - second!} ms apart`);
    assert.deepStrictEqual(transitions, ['unknown>up', 'up>down']);
    assert.deepStrictEqual(s.verdict().lastResult?.ok, false);
  });

  it('reports disabled while the disable file exists, without running the probe', async (t) => {
    const disableFile = join(tmp.path, 'maint');
    const probe = new ScriptedProbe();
    const s = new CheckScheduler({
      config: oneCheck(`interval: 20ms, fastInterval: 10ms, rise: 2, fall: 2, disableFile: ${disableFile}`),
      probe,
      logger: silent,
    });
    t.after(() => s.stop());
    const reasons: string[] = [];
    s.on('transition', (tr) => reasons.push(`${tr.to}:${tr.reason}`));
    s.start();
    await waitFor(() => s.state.status === 'up');
    await writeFile(disableFile, '');
    await waitFor(() => s.state.status === 'disabled');
    const runs = probe.runs.length;
    await waitFor(() => s.verdict().since < Date.now() - 100);
    assert.ok(probe.runs.length <= runs + 1, 'no runs while disabled');
    await rm(disableFile);
    await waitFor(() => s.state.status === 'up');
    assert.deepStrictEqual(reasons, ['up:rise-met', 'disabled:disabled', 'down:enabled', 'up:rise-met']);
  });
});

describe('Reporter', () => {
  it('reports at once on notify, as a heartbeat, and retries while vipcontrol is down', async () => {
    const socket = join(tmp.path, 'vc1.sock');
    const parts = vipSetParts(['192.0.2.1/32']);
    let n = 0;
    const reporter = new Reporter({
      socketPath: socket,
      heartbeatMs: 200,
      logger: silent,
      snapshot: () => ({
        report: { version: 2, instance: 'i1', startedAt: 1, checks: [{ name: `n${++n}`, status: 'up', vipSet: parts[0]!.set, effect: { penalty: 1 }, since: 1 }] },
        vipSets: new Map([[parts[0]!.set, parts]]),
      }),
    });
    reporter.start(); // nobody listens yet: retried with backoff
    await waitFor(() => n >= 2, { message: 'retries while down' });
    const vc = await fakeVipcontrol(socket);
    try {
      await waitFor(() => vc.reports.length >= 1, { timeoutMs: 2000, message: 'first report after vipcontrol came up' });
      await waitFor(() => vc.reports.length >= 3, { timeoutMs: 2000, message: 'heartbeats' });
      const before = vc.reports.length;
      const t0 = performance.now();
      reporter.notify();
      await waitFor(() => vc.reports.length > before);
      assert.ok(performance.now() - t0 < 150, 'a notify does not wait for the heartbeat');
    } finally {
      await reporter.stop();
      await vc.close();
    }
  });
});

describe('Viphealth', () => {
  it('reloads keeping the state of unchanged checks and runs hooks with the change', async (t) => {
    const listener = createTcpServer((s) => s.end());
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    t.after(() => listener.close());
    const port = (listener.address() as AddressInfo).port;
    const socket = join(tmp.path, 'vc2.sock');
    const vc = await fakeVipcontrol(socket);
    t.after(() => vc.close());
    const hookOut = join(tmp.path, 'hook.log');
    const yaml = (keptRise: number, changedRise: number, extra = '') => `vipcontrol: { socket: ${socket} }
heartbeat: 5s
checks:
  - name: kept
    type: tcp
    target: 127.0.0.1:${port}
    interval: 50ms
    fastInterval: 10ms
    rise: ${keptRise}
    vips: [192.0.2.1/32]
    penalty: 100
    hooks: { onChange: [sh, -c, 'echo "$VIPHEALTH_CHECK $VIPHEALTH_PREVIOUS $VIPHEALTH_STATE" >> ${hookOut}'] }
  - { name: changed, type: tcp, target: "127.0.0.1:${port}", interval: 50ms, fastInterval: 10ms, rise: ${changedRise}, vips: [192.0.2.2/32], withdraw: true }
${extra}`;
    const vh = new Viphealth({ config: parseViphealthConfig(yaml(2, 2, '  - { name: gone, type: exec, command: [/bin/true], vips: [192.0.2.3/32], penalty: 1 }'), 'a.yaml'), logger: silent });
    t.after(() => vh.stop());
    vh.start();
    const allUp = (r: HealthReport | undefined) => r !== undefined && r.checks.every((c) => c.status === 'up');
    await waitFor(() => allUp(vc.reports.at(-1)), { message: 'all checks up at vipcontrol' });
    assert.ok(vc.reports.length <= 4, `a report per transition, not per run (${vc.reports.length})`);
    const keptSince = vh.snapshot().checks.find((c) => c.name === 'kept')!.since;

    const summary = await vh.reload(
      parseViphealthConfig(yaml(2, 3, '  - { name: added, type: exec, command: [/bin/true], vips: [192.0.2.4/32], penalty: 1 }'), 'b.yaml'),
    );
    assert.deepStrictEqual(summary, { added: ['added'], removed: ['gone'], changed: ['changed'], kept: ['kept'], refreshed: [] });
    const now = vh.snapshot();
    assert.deepStrictEqual(
      now.checks.map((c) => `${c.name}=${c.status}`),
      ['kept=up', 'changed=unknown', 'added=unknown'],
    );
    assert.equal(now.checks[0]!.since, keptSince, 'the unchanged check kept its state');
    await waitFor(() => vc.reports.at(-1)?.checks.map((c) => c.name).join() === 'kept,changed,added', { message: 'removed check reported at once' });
    await waitFor(() => allUp(vc.reports.at(-1)));
    assert.equal(vc.reports.at(-1)!.instance, vh.instance);

    listener.close();
    await waitFor(() => vh.snapshot().checks[0]!.status === 'down');
    const hooks = await waitFor(async () => {
      const lines = (await readFile(hookOut, 'utf8').catch(() => '')).trim().split('\n');
      return lines.length >= 2 ? lines : undefined;
    });
    assert.deepStrictEqual(hooks, ['kept unknown up', 'kept up down']);
  });
});

describe('viphealth CLI', () => {
  const bin = repoPath('packages/viphealth/bin/viphealth.js');
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [bin, ...args]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('--check validates without running', async () => {
    const good = join(tmp.path, 'good.yaml');
    const bad = join(tmp.path, 'bad.yaml');
    await writeFile(good, checkYaml());
    await writeFile(bad, 'checks:\n  - { name: c, type: tcp, target: "nope", vips: [192.0.2.1/32], penalty: 1 }\n');
    assert.deepStrictEqual(await run(['--config', good, '--check']), { code: 0, stdout: `${good}: OK (1 checks)\n`, stderr: '' });
    const r = await run(['--config', bad, '--check']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `viphealth: ${bad}:2:35: checks[0].target: must be host:port or [ipv6]:port with port 1-65535\n`);
    const missing = await run(['--config', join(tmp.path, 'none.yaml'), '--check']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.yaml: cannot read: ENOENT/);
  });
});

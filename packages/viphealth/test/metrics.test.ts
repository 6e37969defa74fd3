// /metrics of the real viphealth process: a check's state, transitions and the reports it could not
// deliver (no vipcontrol is listening) follow what really happened.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { freePort, makeTempDir, promSample, repoPath, waitFor, type TempDir } from '@vipcontrol/testlab';


describe('viphealth /metrics', () => {
  let tmp: TempDir;
  let service: Server;
  let child: ChildProcess;
  let port: number;
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  before(async () => {
    tmp = await makeTempDir('viphealth-metrics-');
    // The stand-in service: accepts and closes; closing the listener is "the service died".
    service = createServer((c) => c.destroy());
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const servicePort = (service.address() as AddressInfo).port;
    port = await freePort();
    const config = {
      vipcontrol: { socket: join(tmp.path, 'absent.sock') },
      metrics: { listen: `127.0.0.1:${port}` },
      checks: [
        {
          name: 'svc', type: 'tcp', target: `127.0.0.1:${servicePort}`,
          interval: '100ms', fastInterval: '50ms', timeout: '200ms', rise: 1, fall: 1,
          vips: ['198.51.100.10/32'], penalty: 1000,
        },
      ],
    };
    const file = join(tmp.path, 'viphealth.yaml');
    await writeFile(file, JSON.stringify(config));
    child = spawn(process.execPath, [repoPath('packages/viphealth/bin/viphealth.js'), '--config', file], { stdio: 'ignore' });
  });
  after(async () => {
    child.kill('SIGKILL');
    service.close();
    await tmp.cleanup();
  });

  it('shows the check up, then down after the service dies, with the transition counted', async () => {
    await waitFor(async () => promSample(await metrics().catch(() => ''), 'viphealth_check_state', 'check="svc",state="up"') === 1, {
      timeoutMs: 15_000,
      message: 'check up in /metrics',
    });
    service.close();
    const text = await waitFor(async () => {
      const t = await metrics();
      return promSample(t, 'viphealth_check_state', 'check="svc",state="down"') === 1 ? t : undefined;
    }, { timeoutMs: 10_000, message: 'check down in /metrics' });
    assert.equal(promSample(text, 'viphealth_check_state', 'check="svc",state="up"'), 0);
    assert.equal(promSample(text, 'viphealth_check_last_success', 'check="svc"'), 0);
    assert.equal(promSample(text, 'viphealth_check_transitions_total', 'check="svc",to="down"'), 1);
    assert.ok((promSample(text, 'viphealth_check_latency_seconds', 'check="svc"') ?? -1) >= 0);
    // Nothing listens on the vipcontrol socket: every report failed, none was sent.
    assert.ok((promSample(text, 'viphealth_reports_failed_total') ?? 0) >= 1);
    assert.equal(promSample(text, 'viphealth_reports_sent_total'), 0);
    // Every viphealth_* metric exposed is documented.
    const names = [...text.matchAll(/^# HELP (viphealth_\w+) /gm)].map((m) => m[1]!);
    const doc = await readFile(repoPath('docs/metrics.md'), 'utf8');
    assert.deepEqual(names.filter((n) => !doc.includes(`\`${n}\``)), []);
  });
});

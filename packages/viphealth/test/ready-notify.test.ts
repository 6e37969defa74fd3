/**
 * READY=1 does not wait for vipcontrol: viphealth started while vipcontrol's API socket is absent runs
 * its checks, tells systemd it is ready once every check has a first verdict, and its STATUS= says the
 * verdicts are not delivered and why. When vipcontrol comes up, the reporter's retry delivers the report
 * and the status says so. A real lab node (BIRD, vipcontrol) and a stand-in systemd notification socket
 * (the real systemd-notify binary sends the messages); systemd/viphealth.service's own start is proven in
 * unit-groups-container.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir, startNotifyListener, waitFor, type DaemonProcess, type Lab, type LabHost, type NotifyListener, type Service, type TempDir } from '@vipcontrol/testlab';
import { startServiceLab, waitVerdicts } from './service-lab.js';

const VIP = '198.51.100.40/32';

describe('viphealth READY=1 and STATUS= while vipcontrol is down', () => {
  let lab: Lab;
  let node: LabHost;
  let port: number;
  let service: Service;
  let tmp: TempDir;
  let notify: NotifyListener;
  let viphealth: DaemonProcess;
  let apiSocket: string;

  before(async () => {
    ({ lab, node, port, service } = await startServiceLab());
    tmp = await makeTempDir('viphealth-ready-');
    notify = await startNotifyListener(tmp.path);
  });
  after(async () => {
    await service?.kill();
    await lab?.destroy();
    await notify?.close();
    await tmp?.cleanup();
  });

  /** The STATUS= text of each message, READY=1 marked. */
  const statuses = () => notify.messages().filter((m) => m.includes('STATUS=')).map((m) => m.replace(/^READY=1\nSTATUS=/, 'READY ').replace(/^STATUS=/, ''));

  it('is ready after its first verdicts, saying they are not delivered', async () => {
    viphealth = await lab.startViphealth(node, {
      heartbeat: '200ms',
      checks: [{ name: 'svc-tcp', type: 'tcp', target: `127.0.0.1:${port}`, interval: '100ms', timeout: '500ms', rise: 2, fall: 2, vips: [VIP], penalty: 1000 }],
    }, { wrapper: ['env', `NOTIFY_SOCKET=${notify.socketPath}`] });
    apiSocket = viphealth.apiSocket;
    const ready = await waitFor(() => notify.messages().find((m) => m.startsWith('READY=1')), { timeoutMs: 10_000, message: 'READY=1 with vipcontrol down' });
    const line = ready.replace('READY=1\nSTATUS=', '');
    assert.match(line, /^1 checks: [01] up, 0 down, [01] unknown, 0 disabled; verdicts not delivered: vipcontrol unreachable at (\S+) \(ENOENT\); retrying$/);
    assert.equal(/unreachable at (\S+) /.exec(line)![1], apiSocket, 'names the socket it reports to');
    // The checks keep running: rise 2 is met without vipcontrol.
    await waitFor(() => statuses().includes(`1 checks: 1 up, 0 down, 0 unknown, 0 disabled; verdicts not delivered: vipcontrol unreachable at ${apiSocket} (ENOENT); retrying`), {
      timeoutMs: 10_000, message: `the check comes up, still undelivered: ${JSON.stringify(statuses())}`,
    });
    assert.equal(notify.messages().filter((m) => m.startsWith('READY=1')).length, 1, 'READY=1 once');
  });

  it('delivers once vipcontrol comes up, and the status says so', async () => {
    const vipcontrol = await lab.startVipcontrol(node, { vips: [{ prefix: VIP, med: 100 }] });
    assert.equal(vipcontrol.apiSocket, apiSocket);
    await waitFor(() => statuses().at(-1) === '1 checks: 1 up, 0 down, 0 unknown, 0 disabled; reported to vipcontrol', {
      timeoutMs: 10_000, message: `the status says the verdicts are delivered: ${JSON.stringify(statuses())}`,
    });
    await waitVerdicts(apiSocket, { 'svc-tcp': 'up' }, 'vipcontrol holds viphealth\'s verdict');
    assert.equal(await Promise.race([viphealth.exited, Promise.resolve('running')]), 'running', 'the same viphealth process, never restarted');
  });
});

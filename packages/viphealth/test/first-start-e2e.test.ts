/**
 * First start of a fresh node (no state file, no health snapshot, BIRD with the empty include), with
 * vipcontrol's production default `health.firstReportWait`: each VIP reaches the fabric router once,
 * with its final attributes — not announced, then moved or withdrawn by viphealth's never-proven
 * checks, then moved back. Both start orders, a failing check, and a restart afterwards. Real router +
 * nodes (BIRD, vipcontrol, viphealth) in network namespaces; the router's per-session route counters
 * (`Import updates` / `Import withdraws`, one per route change) are the proof.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, routerProtocolNames, startService, unixHttpRequest, waitFor, type DaemonProcess, type LabHost, type Service, type SessionStats } from '@vipcontrol/testlab';

const VIP = '198.51.100.40/32'; // penalty check
const VIPW = '198.51.100.41/32'; // withdraw check
const MED = 100;
const PENALTY = 1000;

interface StatusJson {
  health: { awaitingFirstReport?: { until: number }; held: string[]; pending?: string[]; checks: { name: string; status: string }[] };
  vips: { prefix: string; announced: boolean; withdrawReasons: { kind: string }[]; inSync: boolean }[];
}

describe('first start of a fresh node', () => {
  let lab: Lab;
  const services: Service[] = [];
  // vipcontrol waits for viphealth's first report (the lab's own default is 0s); longer than the
  // production default (10s) so that a loaded machine cannot run the wait out before viphealth reports.
  const vipcontrolConfig = { vips: [{ prefix: VIP, med: MED }, { prefix: VIPW, med: MED }], health: { firstReportWait: '30s', lease: '60s' } };
  /** `undecided`: a failing check takes 100 runs (10 s) to be judged down, so it stays unknown until the service starts. */
  const viphealthConfig = (port: number, pidfile: string, undecided = false) => {
    const timing = undecided ? { interval: '100ms', fastInterval: '100ms', rise: 2, fall: 100 } : { interval: '100ms', fastInterval: '50ms', rise: 2, fall: 2 };
    return {
      heartbeat: '200ms',
      checks: [
        { name: 'svc-tcp', type: 'tcp', target: `127.0.0.1:${port}`, timeout: '100ms', ...timing, vips: [VIP], penalty: PENALTY },
        { name: 'svc-proc', type: 'process', pidfile, ...timing, vips: [VIPW], withdraw: true },
      ],
    };
  };

  before(async () => {
    lab = await Lab.create({ nodes: 3, bfd: false });
  });
  after(async () => {
    await Promise.allSettled(services.map((s) => s.kill()));
    await lab?.destroy();
  });

  async function serviceOn(node: LabHost, running: boolean): Promise<{ port: number; pidfile: string }> {
    const port = 7000 + Math.floor(Math.random() * 1000);
    const pidfile = join(node.dir, 'svc.pid');
    const service = await startService(node, port, pidfile);
    services.push(service);
    if (!running) await service.kill();
    return { port, pidfile };
  }
  const routerMed = async (node: LabHost, prefix: string): Promise<number | 'absent'> =>
    (await lab.routerRoutes(prefix)).find((r) => r.protocol === routerProtocolNames(node.name)[0])?.med ?? 'absent';
  async function status(daemon: DaemonProcess): Promise<StatusJson> {
    return (await unixHttpRequest(daemon.apiSocket, { path: '/v1/status' })).json as StatusJson;
  }
  const wire = (s: SessionStats) => ({ updates: s.importUpdates, withdraws: s.importWithdraws, since: s.since });
  const delta = (a: ReturnType<typeof wire>, b: ReturnType<typeof wire>) => ({ updates: b.updates - a.updates, withdraws: b.withdraws - a.withdraws, sessionKept: a.since === b.since });

  /** Waits for viphealth's own verdicts, the router's routes, and status in sync; then a moment for a late UPDATE. */
  async function settle(node: LabHost, vipcontrol: DaemonProcess, verdict: 'up' | 'down', want: Record<string, number | 'absent'>): Promise<void> {
    await waitFor(async () => {
      const s = await status(vipcontrol);
      const h = s.health;
      return !h.awaitingFirstReport && h.held.length === 0 && (h.pending ?? []).length === 0 && h.checks.length === 2 &&
        h.checks.every((c) => c.status === verdict) && s.vips.every((v) => v.inSync);
    }, { timeoutMs: 15_000, message: `viphealth's verdicts (${verdict}) applied and in sync` });
    await waitFor(async () => {
      const seen = { [VIP]: await routerMed(node, VIP), [VIPW]: await routerMed(node, VIPW) };
      return JSON.stringify(seen) === JSON.stringify(want);
    }, { timeoutMs: 10_000, intervalMs: 20, message: `router holds ${JSON.stringify(want)}` });
    await new Promise((r) => setTimeout(r, 1000));
  }

  it('vipcontrol first: nothing announced before viphealth reports (and status says so), then one UPDATE per VIP; a restart sends none', async () => {
    const node = lab.nodes[0]!;
    const { port, pidfile } = await serviceOn(node, true);
    const start = wire(await lab.sessionStats(node));
    let vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig);
    await waitFor(async () => (await status(vipcontrol)).vips.every((v) => v.inSync), { message: 'first apply' });
    const waiting = await status(vipcontrol);
    const routerWhileWaiting = [await routerMed(node, VIP), await routerMed(node, VIPW)];

    await lab.startViphealth(node, viphealthConfig(port, pidfile));
    await settle(node, vipcontrol, 'up', { [VIP]: MED, [VIPW]: MED });
    assert.deepStrictEqual(delta(start, wire(await lab.sessionStats(node))), { updates: 2, withdraws: 0, sessionKept: true }, 'one UPDATE per VIP, no withdraw');
    // Before viphealth's first report: nothing at the router, and status says why.
    assert.deepStrictEqual(routerWhileWaiting, ['absent', 'absent'], 'nothing at the router before viphealth reported');
    assert.ok(waiting.health.awaitingFirstReport, 'status says health is not known yet');
    assert.deepStrictEqual(
      waiting.vips.map((v) => [v.prefix, v.announced, v.withdrawReasons.map((r) => r.kind)]),
      [[VIP, false, ['awaiting-health']], [VIPW, false, ['awaiting-health']]],
    );

    // A restart (state and snapshot present, viphealth running): nothing on the wire.
    const beforeRestart = wire(await lab.sessionStats(node));
    await vipcontrol.stop();
    vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig);
    await settle(node, vipcontrol, 'up', { [VIP]: MED, [VIPW]: MED });
    assert.deepStrictEqual(delta(beforeRestart, wire(await lab.sessionStats(node))), { updates: 0, withdraws: 0, sessionKept: true }, 'a restart sends nothing');
  });

  it('viphealth first, vipcontrol hearing its never-proven checks: one UPDATE per VIP', async () => {
    const node = lab.nodes[1]!;
    // The service starts only once vipcontrol holds viphealth's first report: no verdict before that.
    const { port, pidfile } = await serviceOn(node, false);
    const start = wire(await lab.sessionStats(node));
    await lab.startViphealth(node, viphealthConfig(port, pidfile, true));
    const vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig);
    await waitFor(async () => ((await status(vipcontrol)).health.pending ?? []).length === 2, { message: 'vipcontrol took the report with both checks pending' });
    const routerWhilePending = [await routerMed(node, VIP), await routerMed(node, VIPW)];
    services.push(await startService(node, port, pidfile));
    await settle(node, vipcontrol, 'up', { [VIP]: MED, [VIPW]: MED });
    assert.deepStrictEqual(delta(start, wire(await lab.sessionStats(node))), { updates: 2, withdraws: 0, sessionKept: true }, 'one UPDATE per VIP, no withdraw');
    assert.deepStrictEqual(routerWhilePending, ['absent', 'absent'], 'pending checks withheld their VIPs');
  });

  it('a failing check: the penalised VIP is announced once with its penalty, the withdrawn one never', async () => {
    const node = lab.nodes[2]!;
    const { port, pidfile } = await serviceOn(node, false);
    const start = wire(await lab.sessionStats(node));
    const vipcontrol = await lab.startVipcontrol(node, vipcontrolConfig);
    await lab.startViphealth(node, viphealthConfig(port, pidfile));
    await settle(node, vipcontrol, 'down', { [VIP]: MED + PENALTY, [VIPW]: 'absent' });
    assert.deepStrictEqual(delta(start, wire(await lab.sessionStats(node))), { updates: 1, withdraws: 0, sessionKept: true }, 'one UPDATE (with the penalty), no withdraw');
  });
});

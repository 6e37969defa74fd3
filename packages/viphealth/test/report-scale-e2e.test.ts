/**
 * Issue 11 items 1, 5 and 6 end to end (router + node: real BIRD, vipcontrol, viphealth):
 * - thousands of VIPs behind several checks: every verdict arrives (reports name VIP lists by digest,
 *   the lists go in parts) and a failing `withdraw` check empties the router; an old-format report
 *   and a report naming an unknown list get clear answers, and a vipcontrol restart without its
 *   snapshot makes viphealth send the lists again;
 * - a check added by a reload moves nothing before its own verdict;
 * - a hold-down survives a viphealth restart (vipcontrol keeps the damping memory with the verdict).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vipSetDigest, type HealthStatus } from '@vipcontrol/core';
import { daemonStatus, Lab, longTier, unixHttpRequest, waitFor, type DaemonProcess, type LabHost } from '@vipcontrol/testlab';

const MED = 100;


/** `count` /32s from 198.18.0.0 (the benchmarking range). */
const vipList = (count: number) => Array.from({ length: count }, (_, i) => `198.18.${i >> 8}.${i & 255}/32`);

/** A lab whose node announces `vips`, gated by `checks` passing checks plus a `gate` (withdraw) and a `flappy` (damped) check. */
async function scaleLab(vipCount: number, checks: number) {
  const lab = await Lab.create({ nodes: 1, bfd: false });
  const node = lab.nodes[0]!;
  const vips = vipList(vipCount);
  const gateFlag = join(node.dir, 'gate-ok');
  const flappyFlag = join(node.dir, 'flappy-ok');
  await Promise.all([writeFile(gateFlag, ''), writeFile(flappyFlag, '')]);
  const vipcontrolConfig = {
    vips: vips.map((prefix) => ({ prefix, med: MED })),
    loopback: { interface: 'lo', manage: false },
    health: { lease: '10s', leasePolicy: { penalty: 5000 } },
  };
  const viphealthConfig = (extra: object[] = []) => ({
    heartbeat: '500ms',
    checks: [
      ...Array.from({ length: checks - 2 }, (_, i) => ({ name: `pass${i}`, type: 'exec', command: ['true'], interval: '1s', rise: 1, vips, penalty: 1000 })),
      { name: 'gate', type: 'exec', command: ['test', '-e', gateFlag], interval: '100ms', fastInterval: '50ms', rise: 1, fall: 1, vips, withdraw: true },
      {
        name: 'flappy', type: 'exec', command: ['test', '-e', flappyFlag], interval: '100ms', fastInterval: '50ms', rise: 1, fall: 1,
        damping: { flaps: 2, window: '1m', holdDown: '1m' }, vips: [vips[0]!], penalty: 7,
      },
      ...extra,
    ],
  });
  return { lab, node, vips, gateFlag, flappyFlag, vipcontrolConfig, viphealthConfig };
}

/** The router's view of `vips`: how many it holds, by MED. */
async function routerMeds(lab: Lab, vips: readonly string[]): Promise<Record<string, number>> {
  const wanted = new Set(vips);
  const seen: Record<string, number> = {};
  for (const r of await lab.router.bird.client.showRoutes()) {
    if (!r.primary || !wanted.has(r.prefix)) continue;
    const key = String(r.med ?? 'none');
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

function suite(vipCount: number, checks: number, tier: { skip: string | false }) {
  describe(`health reports at ${vipCount} VIPs x ${checks} checks`, tier, () => {
    let ctx: Awaited<ReturnType<typeof scaleLab>>;
    let vipcontrol: DaemonProcess;
    let viphealth: DaemonProcess;
    let node: LabHost;
    before(async () => {
      ctx = await scaleLab(vipCount, checks);
      node = ctx.node;
      vipcontrol = await ctx.lab.startVipcontrol(node, ctx.vipcontrolConfig, { startTimeoutMs: 60_000 });
      viphealth = await ctx.lab.startViphealth(node, ctx.viphealthConfig(), { startTimeoutMs: 60_000 });
    });
    after(() => ctx?.lab.destroy());

    const health = async (): Promise<HealthStatus> => (await daemonStatus(vipcontrol.apiSocket)).health;
    const waitRouter = (want: Record<string, number>, message: string) =>
      waitFor(async () => {
        const seen = await routerMeds(ctx.lab, ctx.vips);
        return JSON.stringify(seen) === JSON.stringify(want) ? seen : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200, message });
    /** Rewrites viphealth's checks (keeping what the lab put in its file) and sends SIGHUP. */
    async function reloadViphealth(extra: object[]): Promise<void> {
      const file = JSON.parse(await readFile(viphealth.configPath, 'utf8')) as object;
      await writeFile(viphealth.configPath, `${JSON.stringify({ ...file, checks: ctx.viphealthConfig(extra).checks })}\n`);
      await viphealth.kill('SIGHUP');
    }
    // Every VIP at its MED, the first one also carrying nothing (flappy passes).
    const healthy = () => ({ [String(MED)]: vipCount });

    it('every verdict arrives: a failing withdraw check empties the router, and recovery restores it', async () => {
      await waitRouter(healthy(), 'all VIPs announced once every check passed');
      const h = await health();
      assert.equal(h.reportsRefused, 0);
      assert.deepStrictEqual(h.checks.map((c) => c.vips.length), Array(checks).fill(vipCount).map((n, i) => (i === checks - 1 ? 1 : n)));
      await rm(ctx.gateFlag);
      await waitRouter({}, `the failing gate check withdraws all ${vipCount} VIPs`);
      await writeFile(ctx.gateFlag, '');
      await waitRouter(healthy(), 'all back after the gate passes again');
    });

    it('an old-format report and a report naming an unknown VIP list get clear answers; a refusal is counted', async () => {
      const before = await health();
      const old = await unixHttpRequest(vipcontrol.apiSocket, {
        method: 'POST', path: '/v1/health/report', body: { instance: 'old', startedAt: 1, checks: [] },
      });
      assert.equal(old.status, 400);
      assert.match((old.json as { error: string }).error, /format 1 .*not supported.*format 2/);
      const unknownSet = vipSetDigest(['192.0.2.99/32']);
      const missing = await unixHttpRequest(vipcontrol.apiSocket, {
        method: 'POST', path: '/v1/health/report',
        body: { version: 2, instance: 'probe', startedAt: 1, checks: [{ name: 'x', status: 'up', vipSet: unknownSet, effect: { penalty: 1 }, since: 1 }] },
      });
      assert.deepStrictEqual([missing.status, (missing.json as { missingVipSets: string[] }).missingVipSets], [409, [unknownSet]]);
      const after = await health();
      assert.equal(after.reportsRefused, before.reportsRefused + 1, 'the old-format report is counted (the 409 is protocol, not a refusal)');
      assert.match(after.lastRefusal?.error ?? '', /format 1/);
      assert.ok(vipcontrol.logEntries().some((e) => e.event === 'healthReportRefused' && e.level === 'error'), 'logged at error level');
      assert.deepStrictEqual(await routerMeds(ctx.lab, ctx.vips), healthy(), 'neither changed anything');
    });

    it('a vipcontrol restart without its snapshot: viphealth sends the VIP lists again', async () => {
      await vipcontrol.stop();
      await rm(join(node.dir, 'state.health.json'));
      const restartedAt = Date.now();
      vipcontrol = await ctx.lab.startVipcontrol(node, ctx.vipcontrolConfig, { startTimeoutMs: 60_000 });
      const h = await waitFor(async () => {
        const s = await health();
        return s.lastReportAt !== undefined && s.lastReportAt >= restartedAt && s.checks.length === checks ? s : undefined;
      }, { timeoutMs: 20_000, message: 'reports accepted again after the restart' });
      assert.equal(h.checks.find((c) => c.name === 'gate')!.vips.length, vipCount);
      await rm(ctx.gateFlag);
      await waitRouter({}, 'the gate still acts after the restart');
      await writeFile(ctx.gateFlag, '');
      await waitRouter(healthy(), 'and recovers');
    });

    it('a check added by a reload changes no announcement before its own verdict', async () => {
      const added = { name: 'added', type: 'exec', command: ['false'], interval: '1s', fastInterval: '1s', rise: 3, fall: 3, vips: ctx.vips, withdraw: true };
      await reloadViphealth([added]);
      await waitFor(async () => (await health()).awaitingVerdict?.includes('added'), { timeoutMs: 5000, message: 'vipcontrol lists the new check as awaiting its verdict' });
      assert.deepStrictEqual(await routerMeds(ctx.lab, ctx.vips), healthy(), 'nothing withdrawn for a check without a verdict');
      await waitRouter({}, 'once the new check has its own (failing) verdict, it withdraws');
      await reloadViphealth([]);
      await waitRouter(healthy(), 'the check removed again');
    });

    it('a hold-down survives a viphealth restart', async () => {
      const first = ctx.vips[0]!;
      for (let flap = 0; flap < 2; flap++) {
        await rm(ctx.flappyFlag);
        await waitFor(async () => (await health()).checks.find((c) => c.name === 'flappy')?.status === 'down', { message: `flap ${flap}` });
        await writeFile(ctx.flappyFlag, '');
        if (flap === 0) await waitFor(async () => (await health()).checks.find((c) => c.name === 'flappy')?.status === 'up', { message: 'up again' });
      }
      const damped = await health();
      assert.ok(damped.checks.find((c) => c.name === 'flappy')!.damping?.holdDownUntil !== undefined, 'vipcontrol holds the hold-down');
      await viphealth.stop();
      viphealth = await ctx.lab.startViphealth(node, ctx.viphealthConfig(), { startTimeoutMs: 60_000 });
      const instance = await waitFor(() => viphealth.logEntries().find((e) => e.event === 'started')?.instance);
      await waitFor(async () => (await health()).instance === instance, { message: 'the new instance reports' });
      await new Promise((r) => setTimeout(r, 1000)); // ~10 passing runs of a rise-1 check
      const meds = await routerMeds(ctx.lab, [first]);
      assert.deepStrictEqual(meds, { [String(MED + 7)]: 1 }, 'the penalty stays: the restart did not lift the hold-down');
      assert.notEqual((await health()).checks.find((c) => c.name === 'flappy')!.status, 'up');
    });
  });
}

// Past the old 64 KiB limit (~1,300 VIPs x 3 checks): refused with 413 before, every VIP ungated.
suite(2000, 3, { skip: false });
suite(10_000, 5, longTier('10,000 VIPs x 5 checks in BIRD and vipcontrol'));

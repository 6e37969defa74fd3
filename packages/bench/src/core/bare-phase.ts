/** The bare-BIRD half at one scale: the floor each vipcontrol figure is compared with. */
import { waitFor } from '@vipcontrol/testlab';
import { bareApply, configureOk, durableWrite } from './bare-bird.js';
import type { ChangeTimer, Timing } from './change-timer.js';
import { pollMed, routerCountMed } from './router-watch.js';
import { BASE_MED, samplePrefix, type Workload } from './workload.js';

export interface SamplePlan {
  warmup: number;
  samples: number;
  /** Bursts of `burstSize` changes (0 = none). */
  bursts: number;
  burstSize: number;
  /** Extra samples timed by polling the router instead of its trace (the method cross-check). */
  pollSamples: number;
}

export interface BareResults {
  latency: Timing[];
  /** Durable write of the include file alone, and `configure` alone (ms). */
  writeMs: number[];
  configureMs: number[];
  /** computeEffective + renderBirdInclude, done before the timer starts (ms). */
  renderMs: number[];
  bursts: Timing[];
  /** Same change, detected by polling `show route for P all` back to back (ms). */
  polled: number[];
}

/** Puts every VIP back to BASE_MED with a bare apply and waits until the router has all of them so. */
export async function settleBase(t: ChangeTimer, wl: Workload): Promise<void> {
  wl.reset();
  await bareApply(t.node.bird.client, t.node.includeFile, wl.render());
  await waitFor(async () => (await routerCountMed(t.router, t.node, BASE_MED)) === wl.count, {
    timeoutMs: 60_000,
    intervalMs: 50,
    message: `router to show ${wl.count} routes with MED ${BASE_MED}`,
  });
}

/**
 * Measures the bare half's polled cross-check and bursts at this scale; leaves every VIP at BASE_MED
 * for the daemon. Its single-change samples are taken by `bareSample`, interleaved with the daemon's.
 */
export async function runBare(t: ChangeTimer, wl: Workload, plan: SamplePlan): Promise<BareResults> {
  const { client } = t.node.bird;
  const file = t.node.includeFile;
  const r: BareResults = { latency: [], writeMs: [], configureMs: [], renderMs: [], bursts: [], polled: [] };
  await settleBase(t, wl);

  for (let k = 0; k < plan.pollSamples; k += 1) {
    const prefix = samplePrefix(wl, k);
    const med = t.nextMed();
    wl.setMed(prefix, med);
    const text = wl.render();
    const t0 = performance.now();
    const [, seenAt] = await Promise.all([bareApply(client, file, text), pollMed(t.router, prefix, med, 15_000)]);
    r.polled.push(seenAt - t0);
  }

  for (let b = 0; b < plan.bursts; b += 1) {
    const med = t.nextMed();
    const targets = wl.prefixes.slice(0, plan.burstSize);
    for (const p of targets) wl.setMed(p, med);
    const text = wl.render();
    r.bursts.push(await t.many(targets, med, () => bareApply(client, file, text)));
  }

  await settleBase(t, wl);
  return r;
}

/** One bare change: `prefix` to a fresh MED, rendered (untimed), written durably and configured. */
export async function bareSample(
  t: ChangeTimer,
  wl: Workload,
  prefix: string,
): Promise<{ timing: Timing; writeMs: number; configureMs: number; renderMs: number }> {
  const med = t.nextMed();
  wl.setMed(prefix, med);
  const r0 = performance.now();
  const text = wl.render();
  const renderMs = performance.now() - r0;
  let writeMs = 0;
  let configureMs = 0;
  const timing = await t.one(prefix, med, async () => {
    const w0 = performance.now();
    await durableWrite(t.node.includeFile, text);
    const c0 = performance.now();
    await configureOk(t.node.bird.client);
    writeMs = c0 - w0;
    configureMs = performance.now() - c0;
  });
  return { timing, writeMs, configureMs, renderMs };
}

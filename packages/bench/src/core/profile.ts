/**
 * Where an apply's time goes at a given scale, step by step, timed from outside the daemon with the
 * same commands and the same core functions the daemon runs on every apply:
 *   read-back  `show route protocol vipcontrol4 all` + `… vipcontrol6 all`, parsed by @vipcontrol/bird
 *   compare    core's compareObserved(desired, observed)
 *   loopback   `ip -j addr show dev lo` in the node's namespace + canonicalPrefix of every address
 * (render, durable write and configure are timed by the bare half itself.)
 */
import { execa } from 'execa';
import { canonicalPrefix, compareObserved, computeEffective, emptyRuntimeState, parseVipcontrolConfig } from '@vipcontrol/core';
import { type LabHost, deepMerge, vipcontrolDefaults } from '@vipcontrol/testlab';
import type { Workload } from './workload.js';

export interface StepTimes {
  readBackMs: number[];
  compareMs: number[];
  loopbackListMs: number[];
}

/** Times each step `runs` times. Run while the daemon is idle: it shares the node's BIRD. */
export async function profileSteps(node: LabHost, wl: Workload, runs: number): Promise<StepTimes> {
  const config = parseVipcontrolConfig(JSON.stringify(deepMerge(vipcontrolDefaults(node), wl.daemonConfig)), 'bench.yaml');
  const desired = computeEffective({ config, runtime: emptyRuntimeState(), health: { checks: [], leaseExpired: false }, now: Date.now() });
  const out: StepTimes = { readBackMs: [], compareMs: [], loopbackListMs: [] };
  for (let i = 0; i < runs; i += 1) {
    const r0 = performance.now();
    const routes = [
      ...(await node.bird.client.showRoutes({ protocol: config.bird.protocol4, all: true })),
      ...(await node.bird.client.showRoutes({ protocol: config.bird.protocol6, all: true })),
    ];
    out.readBackMs.push(performance.now() - r0);
    if (routes.length !== wl.count) throw new Error(`read-back found ${routes.length} routes, expected ${wl.count}`);

    const c0 = performance.now();
    // The daemon's toObserved mapping, then its comparison.
    const observed = routes.map((r) => ({ prefix: r.prefix, med: r.med, communities: r.communities, largeCommunities: r.largeCommunities, localPref: r.localPref }));
    compareObserved(desired, observed);
    out.compareMs.push(performance.now() - c0);

    const l0 = performance.now();
    const { stdout } = await execa('ip', ['-n', node.netns, '-j', 'addr', 'show', 'dev', 'lo']);
    const infos = (JSON.parse(stdout) as { addr_info?: { local?: string; prefixlen?: number }[] }[]).flatMap((l) => l.addr_info ?? []);
    let vips = 0;
    for (const a of infos) {
      try {
        canonicalPrefix(`${a.local ?? ''}/${a.prefixlen ?? ''}`);
        vips += 1;
      } catch {
        continue; // 127.0.0.1/8 and ::1/128-style entries with host bits: not VIPs, as in the daemon
      }
    }
    out.loopbackListMs.push(performance.now() - l0);
    if (vips < wl.count) throw new Error(`loopback has ${vips} VIP addresses, expected at least ${wl.count}`);
  }
  return out;
}

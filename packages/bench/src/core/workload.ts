/**
 * The benchmark's VIPs and the one source of truth for what the include file must contain, shared by
 * the vipcontrol half and the bare-BIRD half: both render through core's `renderBirdInclude` from the
 * same parsed config, so the bytes BIRD reads are identical (the benchmark checks it).
 */
import { join } from 'node:path';
import {
  computeEffective,
  emptyRuntimeState,
  parseVipcontrolConfig,
  renderBirdInclude,
  withOverride,
  type RuntimeState,
  type VipcontrolConfig,
} from '@vipcontrol/core';
import { deepMerge, vipcontrolDefaults, type LabHost } from '@vipcontrol/testlab';

/** Every VIP starts at this MED; each measured change picks a fresh value above it. */
export const BASE_MED = 100;
/** One standard community per route, as a production VIP carries (longer lines for BIRD to parse). */
const COMMUNITY = '65000:100';
/** RFC 2544's benchmarking range: 198.18.0.0/15 holds 131,072 /32s. */
const FIRST = (198 << 24) | (18 << 16);

/** The i-th benchmark VIP, 198.18.0.0/32 upwards. */
export function vipPrefix(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 1 << 17) throw new RangeError(`VIP index ${i} outside 198.18.0.0/15`);
  const a = (FIRST + i) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`;
}

/** `count` VIPs as the `vips:` of a vipcontrol.yaml, and the include files they render to. */
export class Workload {
  readonly count: number;
  readonly prefixes: string[];
  /** Merged by `Lab.startVipcontrol` over the lab's defaults. */
  readonly daemonConfig: { vips: { prefix: string; med: number; communities: string[] }[]; api: { socket: string }; bird: { watchInterval: string } };
  readonly #config: VipcontrolConfig;
  #runtime: RuntimeState = emptyRuntimeState();

  /** `runtimeDir`: where the API socket (and the unconfirmed-apply marker beside it) go, a tmpfs as /run/vipcontrol is. */
  constructor(node: LabHost, count: number, runtimeDir: string) {
    this.count = count;
    this.prefixes = Array.from({ length: count }, (_, i) => vipPrefix(i));
    this.daemonConfig = {
      vips: this.prefixes.map((prefix) => ({ prefix, med: BASE_MED, communities: [COMMUNITY] })),
      api: { socket: join(runtimeDir, 'vipcontrol.sock') },
      // The bare half reconfigures the same BIRD between vipcontrol's samples: to vipcontrol that is
      // someone else's `configure`, which its watch would answer with a full read-back each time (at
      // 10,000 VIPs, ~100 ms in the next sample's way). A production node sees that only when an
      // operator reconfigures BIRD, so the watch is off here (its cost: docs/benchmarks.md).
      bird: { watchInterval: '0s' },
    };
    // Exactly the file the daemon will load (the lab writes JSON, which is YAML).
    const text = JSON.stringify(deepMerge(vipcontrolDefaults(node), this.daemonConfig));
    this.#config = parseVipcontrolConfig(text, 'bench-vipcontrol.yaml');
  }

  /** Sets a MED override, as `PUT /v1/vips/{prefix}/med` does in the daemon. */
  setMed(prefix: string, med: number): void {
    this.#runtime = withOverride(this.#runtime, prefix, { med, setAt: Date.now() });
  }

  /** Back to every VIP at BASE_MED. */
  reset(): void {
    this.#runtime = emptyRuntimeState();
  }

  /** The include file for the current state, rendered exactly as the daemon renders it. */
  render(): string {
    const vips = computeEffective({
      config: this.#config,
      runtime: this.#runtime,
      health: { checks: [], leaseExpired: false },
      now: Date.now(),
    });
    return renderBirdInclude(vips, { protocol4: this.#config.bird.protocol4, protocol6: this.#config.bird.protocol6 });
  }
}

/** The VIP changed by the k-th sample: spread over the table (7919 is prime) rather than always the first. */
export function samplePrefix(wl: Workload, k: number): string {
  return wl.prefixes[(k * 7919) % wl.count]!;
}

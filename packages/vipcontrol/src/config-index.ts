/** Lookups over a (frozen) config, built once per config object instead of once per request or apply. */
import type { VipcontrolConfig } from '@vipcontrol/core';

const prefixSets = new WeakMap<VipcontrolConfig, ReadonlySet<string>>();

/** The configured VIP prefixes as a set. */
export function configuredPrefixes(config: VipcontrolConfig): ReadonlySet<string> {
  let set = prefixSets.get(config);
  if (set === undefined) {
    set = new Set(config.vips.map((v) => v.prefix));
    prefixSets.set(config, set);
  }
  return set;
}

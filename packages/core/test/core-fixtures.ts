/** Small builders shared by the core tests: a config from YAML, verdicts, runtime states. */
import { emptyRuntimeState } from '../src/runtime-state.js';
import { parseVipcontrolConfig } from '../src/vipcontrol-config.js';
import type { CheckVerdict, EffectiveVip, RuntimeState, VipcontrolConfig } from '../src/types.js';

/** A config with the given VIPs (and optional extra top-level YAML). */
export function configWith(vips: string, extra = ''): VipcontrolConfig {
  return parseVipcontrolConfig(`node: t1\n${extra}\nvips:\n${vips}`, 'test.yaml');
}

/** A check verdict; `effect` is a penalty number or 'withdraw'. */
export function check(name: string, status: CheckVerdict['status'], vips: string[], effect: number | 'withdraw'): CheckVerdict {
  return { name, status, vips, effect: effect === 'withdraw' ? { withdraw: true } : { penalty: effect }, since: 0 };
}

/** A runtime state built from a partial one. */
export function runtime(partial: Partial<Omit<RuntimeState, 'version'>> = {}): RuntimeState {
  return { ...emptyRuntimeState(), ...partial };
}

/** An announced EffectiveVip with no extra terms. */
export function vip(prefix: string, med: number, more: Partial<EffectiveVip> = {}): EffectiveVip {
  return {
    prefix,
    family: prefix.includes(':') ? 6 : 4,
    announced: true,
    med,
    terms: [{ kind: 'configured', med }],
    withdrawReasons: [],
    communities: [],
    largeCommunities: [],
    ...more,
  };
}

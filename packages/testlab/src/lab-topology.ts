/**
 * Names and addresses of a lab, derived from its id. Everything lives inside the lab's namespaces:
 * one L2 segment (a bridge in the router namespace, one veth per host), 10.0.0.0/24 and fd00:10::/64.
 * Those ranges never leave the namespaces, so two labs (or the host) using the same ones never meet.
 */

export type HostRole = 'router' | 'node' | 'exabgp';

export interface HostPlan {
  role: HostRole;
  /** `r`, `n1`, `n2`, …, `x1`, … */
  name: string;
  netns: string;
  /** Interface inside the host's namespace (none for the router, which owns the bridge). */
  iface?: string;
  /** The veth's peer, enslaved to the router's bridge. */
  routerIface?: string;
  addr4: string;
  addr6: string;
  asn: number;
}

export const ROUTER_ASN = 65000;
export const LINK_PREFIX4 = 24;
export const LINK_PREFIX6 = 64;
const MAX_NODES = 80;
const MAX_EXABGP = 50;

/** `vc<id>` plus a role suffix: ≤ 15 bytes for a 6-character id, the Linux interface name limit. */
export function netnsName(id: string, suffix: string): string {
  return `vc${id}${suffix}`;
}

export function bridgeName(id: string): string {
  return `vc${id}br`;
}

/** Matches lab namespace names and captures the lab id (see `cleanupStale`). */
export const LAB_NETNS_PATTERN = /^vc([a-z][a-z0-9]{5})(?:r|n\d+|x\d+)$/;

/** Plans the router, `nodes` BIRD nodes and `exabgp` ExaBGP hosts of lab `id`. */
export function planTopology(id: string, mode: 'ibgp' | 'ebgp', nodes: number, exabgp: number): HostPlan[] {
  if (!/^[a-z][a-z0-9]{5}$/.test(id)) throw new RangeError(`lab id must be 6 characters [a-z0-9], starting with a letter: "${id}"`);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) throw new RangeError(`nodes must be 1..${MAX_NODES}: ${nodes}`);
  if (!Number.isInteger(exabgp) || exabgp < 0 || exabgp > MAX_EXABGP) throw new RangeError(`exabgpNodes must be 0..${MAX_EXABGP}: ${exabgp}`);
  const hosts: HostPlan[] = [
    { role: 'router', name: 'r', netns: netnsName(id, 'r'), addr4: '10.0.0.1', addr6: 'fd00:10::1', asn: ROUTER_ASN },
  ];
  const add = (role: HostRole, letter: string, i: number, hostNumber: number) => {
    const name = `${letter}${i}`;
    hosts.push({
      role,
      name,
      netns: netnsName(id, name),
      iface: `vc${id}${name}`,
      routerIface: `vc${id}r${name}`,
      addr4: `10.0.0.${hostNumber}`,
      // The decimal host number read as hex digits: fd00:10::11 is node 1, easy to recognise.
      addr6: `fd00:10::${hostNumber}`,
      // eBGP: every node its own AS (a Clos fabric's usual layout); iBGP: all in the router's AS.
      asn: mode === 'ebgp' ? ROUTER_ASN + hostNumber - (role === 'node' ? 10 : 50) : ROUTER_ASN,
    });
  };
  for (let i = 1; i <= nodes; i++) add('node', 'n', i, 10 + i);
  for (let i = 1; i <= exabgp; i++) add('exabgp', 'x', i, 100 + i);
  return hosts;
}

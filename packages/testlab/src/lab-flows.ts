/**
 * Flow spread at the router (issue 10, uniform mode): which node the router's kernel sends each of
 * `flows` synthetic TCP flows to (`ip route get ADDRESS ipproto tcp sport S dport 179`, one `ip -batch`
 * for all of them), so a demo or benchmark can show the ECMP spread and what a drain does to it.
 */
import type { LabHost } from './lab.js';
import { runChecked } from './netns.js';

export interface FlowSpread {
  /** Node name (or next hop when no node has it) → flows. Nodes with none are listed with 0. */
  readonly perNode: ReadonlyMap<string, number>;
  readonly flows: number;
  /** Most and fewest flows on one node among those with any; `ratio` = max / min. */
  readonly max: number;
  readonly min: number;
  readonly ratio: number;
}

const FIRST_PORT = 20_000;

/** Asks the router's kernel for `flows` flows (source ports 20000…) to `address`, destination port 179. */
export async function flowSpread(router: LabHost, nodes: readonly LabHost[], address: string, flows: number): Promise<FlowSpread> {
  const family = address.includes(':') ? '-6' : '-4';
  const input = Array.from({ length: flows }, (_, i) => `route get ${address} ipproto tcp sport ${FIRST_PORT + i} dport 179`).join('\n');
  const { stdout } = await runChecked('ip', [family, '-batch', '-'], { netns: router.netns, input: `${input}\n` });
  const perNode = new Map<string, number>(nodes.map((n) => [n.name, 0]));
  let counted = 0;
  for (const m of stdout.matchAll(/ via (\S+) /g)) {
    const hop = m[1]!;
    const name = nodes.find((n) => n.addr4 === hop || n.addr6 === hop)?.name ?? hop;
    perNode.set(name, (perNode.get(name) ?? 0) + 1);
    counted++;
  }
  const used = [...perNode.values()].filter((v) => v > 0);
  const max = used.length ? Math.max(...used) : 0;
  const min = used.length ? Math.min(...used) : 0;
  return { perNode, flows: counted, max, min, ratio: min > 0 ? max / min : Number.POSITIVE_INFINITY };
}

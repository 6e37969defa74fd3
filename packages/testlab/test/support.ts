import { writeFile } from 'node:fs/promises';
import type { LabHost } from '../src/index.js';

/** A static route as vipcontrol would render it; only what these tests need. */
export interface TestRoute {
  prefix: string;
  med: number;
  communities?: [number, number][];
}

/**
 * Writes the node's vipcontrol include file the way vipcontrol renders it (each route sets its own
 * bgp_med and communities) and sends `configure`, standing in for vipcontrol in the lab's own tests.
 */
export async function announce(node: LabHost, v4: TestRoute[], v6: TestRoute[]): Promise<void> {
  const route = (r: TestRoute) => {
    const comms = (r.communities ?? []).map(([a, b]) => ` bgp_community.add((${a},${b}));`).join('');
    return `  route ${r.prefix} blackhole { bgp_med = ${r.med};${comms} };`;
  };
  const text = [
    'protocol static vipcontrol4 {', '  ipv4;', ...v4.map(route), '}',
    'protocol static vipcontrol6 {', '  ipv6;', ...v6.map(route), '}', '',
  ].join('\n');
  await writeFile(node.includeFile, text);
  const result = await node.bird.client.configure();
  if (result.status !== 'reconfigured' && result.status !== 'in-progress') {
    throw new Error(`configure on ${node.name}: ${result.status} ${result.messages.join(' ')}`);
  }
}

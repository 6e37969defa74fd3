/**
 * A fleet in the lab (issue 10): the lab with N nodes (up to 16 in the README's demo and the tests),
 * a redis-server in the router's namespace, and on every node a stand-in BGP service (TCP), vipcontrol
 * in fleet mode and viphealth checking the service. Uniform mode by default: every node announces the
 * VIPs with the same MED and the router installs every path (ECMP) — the layout the product is for.
 * Shared by `scripts/lab.sh --nodes N`, the 16-node test and `scripts/bench.sh fleet`.
 */
import { join } from 'node:path';
import type { DaemonProcess } from './daemon-process.js';
import { Lab, type LabHost, type LabOptions } from './lab.js';
import { startRedis, type RedisInstance } from './redis-instance.js';
import { startTcpService, type TcpService } from './tcp-service.js';
import { daemonStatus } from './daemon-status.js';
import { waitFor } from './wait-for.js';

export const FLEET_VIPS = ['198.51.100.10/32', '2001:db8::10/128'] as const;
export const FLEET_SERVICE_PORT = 1179;
export const FLEET_MED = 100;
export const FLEET_DRAIN_PENALTY = 100_000;
export const MAX_FLEET_NODES = 16;
const START_BATCH = 4;

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export interface FleetLabOptions extends Pick<LabOptions, 'mode' | 'bfd'> {
  nodes: number;
  /** minAnnouncers of every VIP; default 0. */
  minAnnouncers?: number;
  /** Per-node MED (primary/backup); default: FLEET_MED everywhere (uniform mode). */
  med?: (node: LabHost, i: number) => number;
  /** Start viphealth on each node (checks the service, penalty 1000); default true. */
  viphealth?: boolean;
}

export interface FleetLab {
  readonly lab: Lab;
  readonly redis: RedisInstance;
  readonly vipcontrol: Map<string, DaemonProcess>;
  readonly viphealth: Map<string, DaemonProcess>;
  readonly services: Map<string, TcpService>;
  /** Starts (or restarts) vipcontrol on `node` with the fleet's config; resolves once its API answers. */
  startVipcontrol(node: LabHost): Promise<DaemonProcess>;
  /** Resolves once every node's paths are at the router with their MED, and every daemon is settled. */
  waitAllPaths(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

export async function startFleetLab(opts: FleetLabOptions): Promise<FleetLab> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_FLEET_NODES) {
    throw new RangeError(`nodes must be 1..${MAX_FLEET_NODES}: ${opts.nodes}`);
  }
  const med = opts.med ?? (() => FLEET_MED);
  const uniform = opts.med === undefined;
  const lab = await Lab.create({ nodes: opts.nodes, ...(opts.mode ? { mode: opts.mode } : {}), ...(opts.bfd !== undefined ? { bfd: opts.bfd } : {}), multipath: uniform });
  const vipcontrol = new Map<string, DaemonProcess>();
  const viphealth = new Map<string, DaemonProcess>();
  const services = new Map<string, TcpService>();
  let redis: RedisInstance | undefined;
  const destroy = async () => {
    await Promise.allSettled([...services.values()].map((s) => s.stop()));
    await redis?.stop();
    await lab.destroy();
  };
  try {
    redis = await startRedis({ netns: lab.router.netns, bind: lab.router.addr4 });
    const url = redis.url;
    const startVipcontrol = async (node: LabHost) => {
      const d = await lab.startVipcontrol(node, {
        vips: FLEET_VIPS.map((prefix) => ({ prefix, med: med(node, lab.nodes.indexOf(node)), minAnnouncers: opts.minAnnouncers ?? 0 })),
        redis: { url, heartbeat: '1s', ttl: '5s' },
        drainPenalty: FLEET_DRAIN_PENALTY,
        log: { level: 'warn' },
      }, { startTimeoutMs: 60_000 });
      vipcontrol.set(node.name, d);
      return d;
    };
    // A few nodes at a time: 16 daemons starting at once on a loaded 2-core machine miss start timeouts.
    await inBatches(lab.nodes, START_BATCH, async (node) => {
      services.set(node.name, await startTcpService({ netns: node.netns, port: FLEET_SERVICE_PORT }));
      await startVipcontrol(node);
      if (opts.viphealth ?? true) {
        viphealth.set(node.name, await lab.startViphealth(node, {
          log: { level: 'warn' },
          checks: [{ name: 'bgp-service', type: 'tcp', target: `127.0.0.1:${FLEET_SERVICE_PORT}`, interval: '500ms', fastInterval: '100ms', rise: 2, fall: 2, vips: [...FLEET_VIPS], penalty: 1000 }],
        }, { startTimeoutMs: 60_000 }));
      }
    });
    const fleet: FleetLab = {
      lab, redis, vipcontrol, viphealth, services, startVipcontrol, destroy,
      async waitAllPaths(timeoutMs = 60_000) {
        await Promise.all(lab.nodes.map((node) => healthySettled(node, { timeoutMs })));
        for (const prefix of FLEET_VIPS) {
          await lab.waitForRouterRoutes(prefix, (r) => r.length === lab.nodes.length && lab.nodes.every((n, i) => r.some((x) => viaNode(x.nextHop, n) && x.med === med(n, i))),
            { timeoutMs, message: `${prefix}: a path from each of ${lab.nodes.length} nodes at its MED` });
        }
      },
    };
    return fleet;
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** True when a router route's next hop is `node`. */
export function viaNode(nextHop: string | undefined, node: LabHost): boolean {
  const hop = nextHop?.split(' ')[0];
  return hop === node.addr4 || hop === node.addr6;
}

/**
 * Waits until vipcontrol on `node` has every check up and every VIP in sync without a health penalty;
 * `requireChecks`: viphealth must have reported at least one check (not just "none failing yet").
 */
export function healthySettled(node: LabHost, opts: { timeoutMs?: number; requireChecks?: boolean } = {}): Promise<true> {
  const socket = join(node.dir, 'vipcontrol.sock');
  return waitFor(async () => {
    const { health: { checks }, vips } = await daemonStatus(socket);
    return (!opts.requireChecks || checks.length > 0) && checks.every((c) => c.status === 'up') && vips.length > 0
      && vips.every((v) => v.inSync && v.terms.every((t) => t.kind !== 'health'));
  }, { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), message: `${node.name}: checks up and VIPs in sync` });
}

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ProtocolInfo, RouteInfo } from '@vipcontrol/bird';
import { atomicWrite } from './atomic-write.js';
import { startBird, type BirdInstance } from './bird-instance.js';
import { selectedBirdVersion } from './bird-version.js';
import {
  EMPTY_VIPCONTROL_INCLUDE, renderNodeConfig, renderRouterConfig, routerProtocolNames, type LabMode,
} from './bird-configs.js';
import { registerCleanup, syncCleanup } from './cleanup-registry.js';
import { apiAnswers, startDaemon, type DaemonProcess } from './daemon-process.js';
import { ExabgpHost } from './exabgp-host.js';
import { bridgeName, LINK_PREFIX4, LINK_PREFIX6, planTopology, type HostPlan } from './lab-topology.js';
import { createNetns, deleteNetns, ipBatch, run, runChecked, type ExecResult } from './netns.js';
import { repoPath } from './repo-path.js';
import { bestPathMed } from './router-med.js';
import { makeTempDir } from './temp-dir.js';
import { uniqueId } from './unique-id.js';
import { daemonStatus } from './daemon-status.js';
import { waitFor } from './wait-for.js';
import { SinceTracker } from './session-since.js';

/** A namespace of the lab running BIRD: the router or a node. */
export interface LabHost {
  name: string;
  netns: string;
  /** Host-side directory of this host: bird.conf, bird.ctl, vipcontrol.conf, daemon configs and sockets. */
  dir: string;
  addr4: string;
  addr6: string;
  asn: number;
  bird: BirdInstance;
  /** vipcontrol's include file (`<dir>/vipcontrol.conf`), pre-created with both static protocols empty. */
  includeFile: string;
  /** Runs a command inside the namespace to completion; never rejects on a non-zero exit. */
  exec(cmd: string, args: string[]): Promise<ExecResult>;
  /** The host's veth and its peer on the router's bridge (absent for the router itself). */
  readonly iface?: string;
  readonly routerIface?: string;
}

export interface LabOptions {
  nodes: number;
  /** Default 'ibgp' (router is a route reflector). */
  mode?: LabMode;
  /** BFD on every fabric session; default true. */
  bfd?: boolean;
  /** Uniform mode: the router puts every equal path into its kernel (ECMP, L4 hashing); default false. */
  multipath?: boolean;
  /** 6 characters [a-z0-9], starting with a letter; default `uniqueId()`. */
  id?: string;
  /** ExaBGP hosts peering with the router (viphealth benchmark baseline); default 0. */
  exabgpNodes?: number;
  /** Wait for every BGP session (and BFD session when on) before resolving; default true. */
  waitEstablished?: boolean;
  establishTimeoutMs?: number;
  /** BIRD version every host runs (router and nodes); default `$VIPCONTROL_BIRD`, else the system's. */
  birdVersion?: string;
  /** The router logs every route it imports (see RouterConfigSpec.routeTrace); default false. */
  routerRouteTrace?: boolean;
}

/** One router-side BGP session's counters; `since` is epoch seconds with milliseconds ("1712345678.123"). */
export interface SessionInfo {
  protocol: string;
  state: string;
  since: string;
  importUpdates: number;
  importWithdraws: number;
}

/**
 * The router's view of its sessions with one node. The lab runs one IPv4 and one IPv6 session per node,
 * so: `state` is "Established" when both are, otherwise both states; `since` is the later of the two
 * (it changes whenever either session resets); counters are the "accepted" column of
 * `Import updates` / `Import withdraws`, summed over both. `v4` / `v6` have each session alone.
 */
export interface SessionStats {
  state: string;
  since: string;
  importUpdates: number;
  importWithdraws: number;
  v4: SessionInfo;
  v6: SessionInfo;
}

export interface DaemonStartOptions {
  /** Default 15 s. */
  startTimeoutMs?: number;
  /** Argv prefix the daemon is started through (inside the node's namespace), e.g. `env X=1 setpriv … --`. */
  wrapper?: readonly string[];
}

/** Router (route reflector or eBGP neighbour) + N nodes, each a network namespace with a real BIRD. */

export class Lab {
  readonly id: string;
  readonly mode: LabMode;
  readonly bfd: boolean;
  /** The BIRD version the router and every node run, e.g. "3.3.2". */
  readonly birdVersion: string;
  /** Host-side directory holding every host's files. */
  readonly dir: string;
  readonly router: LabHost;
  readonly nodes: LabHost[];
  readonly exabgpHosts: ExabgpHost[];
  readonly #namespaces: string[];
  readonly #daemons = new Set<DaemonProcess>();
  /** One session's Since, reported identically across BIRD's clock jitter (session-since.ts). */
  readonly #since = new SinceTracker();
  #destroyed: Promise<void> | undefined;
  #unregister: () => void = () => undefined;

  private constructor(init: {
    id: string; mode: LabMode; bfd: boolean; birdVersion: string; dir: string; router: LabHost; nodes: LabHost[];
    exabgpHosts: ExabgpHost[]; namespaces: string[];
  }) {
    this.id = init.id;
    this.mode = init.mode;
    this.bfd = init.bfd;
    this.birdVersion = init.birdVersion;
    this.dir = init.dir;
    this.router = init.router;
    this.nodes = init.nodes;
    this.exabgpHosts = init.exabgpHosts;
    this.#namespaces = init.namespaces;
  }

  /**
   * Builds the namespaces and links, starts every BIRD, and (by default) waits until every session is
   * Established. Whatever fails half-way is torn down before the error is rethrown.
   */
  static async create(opts: LabOptions): Promise<Lab> {
    const id = opts.id ?? uniqueId();
    const mode = opts.mode ?? 'ibgp';
    const bfd = opts.bfd ?? true;
    const birdVersion = opts.birdVersion ?? selectedBirdVersion();
    const plan = planTopology(id, mode, opts.nodes, opts.exabgpNodes ?? 0);
    const tmp = await makeTempDir(`vc-lab-${id}-`);
    const namespaces = plan.map((host) => host.netns);
    // Registered before anything exists, so a crash half-way still removes what was made.
    const processes: { stop(): Promise<void> }[] = [];
    const emergency = registerCleanup({
      async: async () => {
        await Promise.allSettled(processes.map((p) => p.stop()));
        await Promise.allSettled(namespaces.map(deleteNetns));
        await tmp.cleanup();
      },
      sync: () => {
        for (const ns of namespaces) syncCleanup.deleteNetns(ns);
        syncCleanup.removeDir(tmp.path);
      },
    });
    try {
      // Owner record for `cleanupStale`: namespaces whose owner pid is gone are leftovers.
      await writeFile(join(tmp.path, 'owner.json'), JSON.stringify({ pid: process.pid, id, namespaces }));
      await buildNetwork(id, plan);
      const [routerPlan, ...rest] = plan as [HostPlan, ...HostPlan[]];
      const nodePlans = rest.filter((h) => h.role === 'node');
      const exabgpPlans = rest.filter((h) => h.role === 'exabgp');
      const routerDir = join(tmp.path, routerPlan.name);
      await mkdir(routerDir);
      const routerConf = renderRouterConfig({
        mode, bfd, asn: routerPlan.asn, addr4: routerPlan.addr4, addr6: routerPlan.addr6,
        logFile: join(routerDir, 'bird.log'), routeTrace: opts.routerRouteTrace ?? false,
        peers: [...nodePlans.map((p) => ({ ...p, bfd: true })), ...exabgpPlans.map((p) => ({ ...p, bfd: false }))],
        ...(opts.multipath ? { multipath: true } : {}),
      });
      if (opts.multipath) {
        // L4 hashing: flows of one client spread over the paths, not only different clients.
        await runChecked('sysctl', ['-q', '-w', 'net.ipv4.fib_multipath_hash_policy=1', 'net.ipv6.fib_multipath_hash_policy=1'], { netns: routerPlan.netns });
      }
      const routerStarting = startHost(routerPlan, routerDir, routerConf, '', birdVersion);
      const nodesStarting = nodePlans.map(async (p) => {
        const dir = join(tmp.path, p.name);
        await mkdir(dir);
        const includeFile = join(dir, 'vipcontrol.conf');
        await atomicWrite(includeFile, EMPTY_VIPCONTROL_INCLUDE);
        const conf = renderNodeConfig({
          mode, bfd, asn: p.asn, addr4: p.addr4, addr6: p.addr6,
          router: { asn: routerPlan.asn, addr4: routerPlan.addr4, addr6: routerPlan.addr6 },
          includeFile, logFile: join(dir, 'bird.log'),
        });
        return startHost(p, dir, conf, includeFile, birdVersion);
      });
      const started = await Promise.allSettled([routerStarting, ...nodesStarting]);
      for (const s of started) if (s.status === 'fulfilled') processes.push(s.value.bird);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      const [router, ...nodes] = started.map((s) => (s as PromiseFulfilledResult<LabHost>).value) as [LabHost, ...LabHost[]];
      const exabgpHosts: ExabgpHost[] = [];
      for (const p of exabgpPlans) {
        const dir = join(tmp.path, p.name);
        await mkdir(dir);
        const host = new ExabgpHost(p, dir, { asn: routerPlan.asn, addr4: routerPlan.addr4, addr6: routerPlan.addr6 });
        processes.push(host);
        exabgpHosts.push(host);
        await host.start();
      }
      const lab = new Lab({ id, mode, bfd, birdVersion, dir: tmp.path, router, nodes, exabgpHosts, namespaces });
      emergency();
      lab.#unregister = registerCleanup({ async: () => lab.destroy(), sync: () => lab.#destroySync() });
      if (opts.waitEstablished ?? true) await lab.waitEstablished(opts.establishTimeoutMs);
      return lab;
    } catch (err) {
      await Promise.allSettled(processes.map((p) => p.stop()));
      await Promise.allSettled(namespaces.map(deleteNetns));
      await tmp.cleanup();
      emergency();
      throw err;
    }
  }

  /** Every host the router peers with: the nodes, then the ExaBGP hosts. */
  get peers(): { name: string }[] {
    return [...this.nodes, ...this.exabgpHosts];
  }

  /** Waits until the router has every BGP session Established (and, with BFD, every BFD session Up). */
  async waitEstablished(timeoutMs = 20_000): Promise<void> {
    const expected = this.peers.flatMap((p) => routerProtocolNames(p.name));
    await waitFor(
      async () => {
        const protocols = await this.router.bird.client.showProtocols();
        const up = new Set(protocols.filter(isEstablished).map((p) => p.name));
        return expected.every((name) => up.has(name)) || undefined;
      },
      { timeoutMs, message: `lab ${this.id}: BGP sessions ${expected.join(', ')} Established` },
    );
    if (this.bfd) {
      await waitFor(async () => {
        const sessions = await this.bfdSessions();
        return (sessions.length === 2 * this.nodes.length && sessions.every((s) => s.state === 'Up')) || undefined;
      }, { timeoutMs, message: `lab ${this.id}: ${2 * this.nodes.length} BFD sessions Up (ExaBGP hosts run none)` });
    }
  }

  /** The router's routes for `prefix`, every path (best one has `primary: true`), with attributes. */
  routerRoutes(prefix: string): Promise<RouteInfo[]> {
    return this.router.bird.client.showRoutes({ prefix, all: true });
  }

  /** The MED of the router's best path for `prefix`; undefined when it has no path. */
  routerBestMed(prefix: string): Promise<number | undefined> {
    return bestPathMed(this.router.bird.client, prefix);
  }

  /** The MED of the router's best path for each of `prefixes`, 'absent' where it has no path. */
  async routerBestMeds(prefixes: readonly string[]): Promise<Record<string, number | 'absent'>> {
    return Object.fromEntries(await Promise.all(prefixes.map(async (p) => [p, (await this.routerBestMed(p)) ?? 'absent'] as const)));
  }

  /** Polls until the router's best paths are exactly `want` (per prefix: a MED, or 'absent'); resolves with them. */
  waitForRouterMeds(
    want: Record<string, number | 'absent'>,
    opts: { message: string; timeoutMs?: number; intervalMs?: number },
  ): Promise<Record<string, number | 'absent'>> {
    return waitFor(async () => {
      const seen = await this.routerBestMeds(Object.keys(want));
      return isDeepStrictEqual(seen, want) ? seen : undefined;
    }, { timeoutMs: opts.timeoutMs ?? 10_000, intervalMs: opts.intervalMs ?? 10, message: opts.message });
  }

  /** Polls the router's routes for `prefix` until `predicate` holds; resolves with them. */
  waitForRouterRoutes(
    prefix: string,
    predicate: (routes: RouteInfo[]) => boolean,
    opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
  ): Promise<RouteInfo[]> {
    return waitFor(async () => {
      const routes = await this.routerRoutes(prefix);
      return predicate(routes) ? routes : undefined;
    }, {
      timeoutMs: opts.timeoutMs ?? 10_000,
      message: opts.message ?? `router routes for ${prefix}`,
      ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
    });
  }

  /** The router's sessions with `peer` (a node or ExaBGP host): see SessionStats. */
  async sessionStats(peer: { name: string }): Promise<SessionStats> {
    const [p4, p6] = routerProtocolNames(peer.name);
    const client = this.router.bird.client;
    const [v4, v6] = await Promise.all([p4, p6].map(async (name) => {
      const readAt = Date.now();
      const found = (await client.showProtocols({ all: true, name })).find((p) => p.name === name);
      if (!found) throw new Error(`lab ${this.id}: router has no protocol ${name}`);
      const info = sessionInfo(found);
      return { ...info, since: this.#since.stable(name, info.since, readAt) };
    })) as [SessionInfo, SessionInfo];
    const both = v4.state === 'Established' && v6.state === 'Established';
    return {
      state: both ? 'Established' : `${v4.protocol}=${v4.state} ${v6.protocol}=${v6.state}`,
      since: Number(v4.since) >= Number(v6.since) ? v4.since : v6.since,
      importUpdates: v4.importUpdates + v6.importUpdates,
      importWithdraws: v4.importWithdraws + v6.importWithdraws,
      v4,
      v6,
    };
  }

  /**
   * Silent node death (issue 10): drops every packet between `node` and the router in both directions
   * (a `pfifo limit 0` queue on both ends of its veth), the link staying up — no BGP Cease, no BFD
   * Down packet, as when a node hangs or its uplink blackholes. `false` lets traffic through again.
   */
  async silence(node: LabHost, on: boolean): Promise<void> {
    const ends: [string, string][] = [[node.netns, node.iface!], [this.router.netns, node.routerIface!]];
    await Promise.all(ends.map(([netns, dev]) => runChecked('tc', on ? ['qdisc', 'replace', 'dev', dev, 'root', 'pfifo', 'limit', '0'] : ['qdisc', 'del', 'dev', dev, 'root'], { netns })));
  }

  /** The router's BFD sessions (`show bfd sessions`), empty when BFD is off. */
  async bfdSessions(): Promise<{ address: string; iface: string; state: string }[]> {
    if (!this.bfd) return [];
    return this.router.bird.client.showBfdSessions();
  }

  /**
   * Writes `<node dir>/vipcontrol.yaml` (the lab's defaults deep-merged with `cfg`: node name, the node's
   * BIRD socket and include file, API socket and state file in the node's dir, loopback `lo` managed),
   * starts vipcontrol in the node's namespace and resolves once `GET /v1/status` answers 200.
   * The file is JSON, which is valid YAML.
   */
  async startVipcontrol(node: LabHost, cfg: object = {}, opts: DaemonStartOptions = {}): Promise<DaemonProcess> {
    const config = deepMerge(vipcontrolDefaults(node), cfg) as { api: { socket: string } };
    const configPath = join(node.dir, 'vipcontrol.yaml');
    await atomicWrite(configPath, `${JSON.stringify(config, null, 2)}\n`);
    return this.#track(await startDaemon({
      bin: repoPath('packages/vipcontrol/bin/vipcontrol.js'),
      configPath,
      apiSocket: config.api.socket,
      netns: node.netns,
      what: `vipcontrol on ${node.name}`,
      ready: () => apiAnswers(config.api.socket),
      ...(opts.startTimeoutMs === undefined ? {} : { startTimeoutMs: opts.startTimeoutMs }),
    }));
  }

  /**
   * Writes `<node dir>/viphealth.yaml` (`vipcontrol.socket` = the node's vipcontrol API socket, merged
   * with `cfg`; `bird-protocol` checks without a `socket` get the node's BIRD socket) and starts viphealth in the node's namespace. Ready once vipcontrol reports a health
   * report from it (`health.lastReportAt`), or, when no vipcontrol answers, once viphealth logged a line.
   */
  async startViphealth(node: LabHost, cfg: object = {}, opts: DaemonStartOptions = {}): Promise<DaemonProcess> {
    const merged = deepMerge({ vipcontrol: { socket: vipcontrolDefaults(node).api.socket } }, cfg) as {
      vipcontrol: { socket: string }; checks?: unknown;
    };
    // A bird-protocol check without a socket would query the host's /run/bird/bird.ctl: point it at the node's BIRD.
    const config = Array.isArray(merged.checks)
      ? { ...merged, checks: merged.checks.map((c: unknown) => (isPlainObject(c) && (c as { type?: unknown }).type === 'bird-protocol'
        ? { socket: node.bird.socketPath, ...c } : c)) }
      : merged;
    const configPath = join(node.dir, 'viphealth.yaml');
    await atomicWrite(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const socket = config.vipcontrol.socket;
    const vipcontrolUp = await apiAnswers(socket);
    const startedAt = Date.now();
    return this.#track(await startDaemon({
      bin: repoPath('packages/viphealth/bin/viphealth.js'),
      configPath,
      apiSocket: socket,
      netns: node.netns,
      what: `viphealth on ${node.name}`,
      ...(opts.wrapper === undefined ? {} : { wrapper: opts.wrapper }),
      ready: async (proc) => {
        if (!vipcontrolUp) return proc.stdoutLines().length > 0;
        const last = (await daemonStatus(socket)).health.lastReportAt;
        return last !== undefined && last >= startedAt - 1000;
      },
      ...(opts.startTimeoutMs === undefined ? {} : { startTimeoutMs: opts.startTimeoutMs }),
    }));
  }

  #track(daemon: DaemonProcess): DaemonProcess {
    this.#daemons.add(daemon);
    void daemon.exited.then(() => this.#daemons.delete(daemon));
    return daemon;
  }

  /**
   * Stops the daemons, ExaBGP and every BIRD (children first), deletes the namespaces (their veths and
   * bridge go with them) and the lab's directory. Safe to call twice; concurrent calls share one teardown.
   */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#destroy();
    return this.#destroyed;
  }

  async #destroy(): Promise<void> {
    const errors: unknown[] = [];
    const collect = (results: PromiseSettledResult<unknown>[]) => {
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    };
    collect(await Promise.allSettled([...this.#daemons].map((d) => d.stop())));
    collect(await Promise.allSettled(this.exabgpHosts.map((h) => h.stop())));
    collect(await Promise.allSettled([this.router, ...this.nodes].map((h) => h.bird.stop())));
    collect(await Promise.allSettled(this.#namespaces.map(deleteNetns)));
    collect(await Promise.allSettled([rm(this.dir, { recursive: true, force: true })]));
    this.#unregister();
    if (errors.length > 0) throw new AggregateError(errors, `lab ${this.id}: teardown incomplete`);
  }

  #destroySync(): void {
    for (const ns of this.#namespaces) syncCleanup.deleteNetns(ns);
    syncCleanup.removeDir(this.dir);
  }
}

/**
 * The lab's part of a node's vipcontrol.yaml; tests merge their VIPs and options over it. Most tests
 * run vipcontrol alone: a fresh node announces at once instead of waiting for viphealth's first report.
 */
export function vipcontrolDefaults(node: LabHost) {
  return {
    node: node.name,
    bird: { socket: node.bird.socketPath, includeFile: node.includeFile },
    api: { socket: join(node.dir, 'vipcontrol.sock') },
    stateFile: join(node.dir, 'state.json'),
    loopback: { interface: 'lo', manage: true },
    health: { firstReportWait: '0s' },
  };
}

/** Plain-object deep merge; arrays and scalars in `over` replace those in `base`. */
export function deepMerge(base: object, over: object): object {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is object {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isEstablished(p: ProtocolInfo): boolean {
  return p.bgpState === 'Established' || p.info.startsWith('Established');
}

function sessionInfo(p: ProtocolInfo): SessionInfo {
  let importUpdates = 0;
  let importWithdraws = 0;
  for (const ch of p.channels) {
    importUpdates += ch.importUpdates?.accepted ?? 0;
    importWithdraws += ch.importWithdraws?.accepted ?? 0;
  }
  return {
    protocol: p.name,
    state: p.bgpState ?? (p.info.split(/\s+/)[0] || p.state),
    since: p.since,
    importUpdates,
    importWithdraws,
  };
}

async function startHost(plan: HostPlan, dir: string, config: string, includeFile: string, birdVersion: string): Promise<LabHost> {
  const bird = await startBird({ name: `${plan.name}-${plan.netns}`, config, dir, netns: plan.netns, birdVersion });
  return {
    name: plan.name,
    netns: plan.netns,
    dir,
    addr4: plan.addr4,
    addr6: plan.addr6,
    asn: plan.asn,
    bird,
    includeFile,
    exec: (cmd, args) => run(cmd, args, { netns: plan.netns }),
    ...(plan.iface ? { iface: plan.iface } : {}),
    ...(plan.routerIface ? { routerIface: plan.routerIface } : {}),
  };
}

/**
 * Namespaces, the router's bridge, one veth per host (created directly inside the namespaces, so no
 * interface ever appears in the host's namespace), addresses with `nodad`.
 */
async function buildNetwork(id: string, plan: readonly HostPlan[]): Promise<void> {
  await Promise.all(plan.map((h) => createNetns(h.netns)));
  const [router, ...hosts] = plan as [HostPlan, ...HostPlan[]];
  const br = bridgeName(id);
  await ipBatch(hosts.map((h) => `link add name ${h.iface} netns ${h.netns} type veth peer name ${h.routerIface} netns ${router.netns}`));
  await Promise.all([
    ipBatch([
      `link add ${br} type bridge`,
      ...hosts.flatMap((h) => [`link set ${h.routerIface} master ${br}`, `link set ${h.routerIface} up`]),
      `addr add ${router.addr4}/${LINK_PREFIX4} dev ${br}`,
      `addr add ${router.addr6}/${LINK_PREFIX6} dev ${br} nodad`,
      `link set ${br} up`,
    ], router.netns),
    ...hosts.map((h) => ipBatch([
      `addr add ${h.addr4}/${LINK_PREFIX4} dev ${h.iface}`,
      `addr add ${h.addr6}/${LINK_PREFIX6} dev ${h.iface} nodad`,
      `link set ${h.iface} up`,
    ], h.netns)),
  ]);
}

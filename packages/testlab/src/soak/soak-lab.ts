/**
 * The soak's lab: router + 2 nodes (iBGP, real BIRD), a real redis-server in the router's namespace,
 * and on each node a stand-in BGP service, vipcontrol (fleet mode, state on a small tmpfs) and
 * viphealth checking the service. Operations go through the real `vipctl`; faults are real signals,
 * a real full filesystem and a real Redis crash.
 *
 * BFD is off: a SIGSTOPped BIRD (frozen up to 4 s) must not lose its sessions — with BFD it would,
 * correctly, and that is BFD's job, not vipcontrol's. Hold time stays at BIRD's 240 s.
 */
import { closeSync, createWriteStream, openSync, readSync, statSync, watch, type WriteStream } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DaemonProcess } from '../daemon-process.js';
import { Lab, type LabHost, type SessionStats } from '../lab.js';
import type { ExecResult } from '../netns.js';
import { startRedis, type RedisInstance } from '../redis-instance.js';
import { repoPath } from '../repo-path.js';
import { startTcpService, type TcpService } from '../tcp-service.js';
import { Tmpfs } from '../tmpfs.js';
import { unixHttpRequest } from '../unix-http.js';
import { waitFor } from '../wait-for.js';
import type { RouterPath, StatusView } from './invariants.js';
import { SOAK_CONFIGURED_MED, SOAK_NODES, SOAK_VIPS, type SoakNode } from './schedule.js';

const VIPCTL = repoPath('packages/vipctl/bin/vipctl.js');
const SERVICE_PORT = 1179;
/** vipctl's documented exit status for a status that is not all well (see vipctl --help). */
const VIPCTL_EXIT_DEGRADED = 6;
/** vipctl's exit status for a change the daemon saved but could not apply in BIRD yet. */
export const VIPCTL_EXIT_SAVED_RETRYING = 5;
/** Small enough to fill in a moment, large enough for state.json and the health snapshot. */
const STATE_TMPFS_KIB = 512;
export const SOAK_DRAIN_PENALTY = 100_000;
/** Short, so that an unconfirmed configuration left by a crash is rolled back by BIRD within a quiet period. */
export const SOAK_CONFIGURE_TIMEOUT_S = 3;
/** How long `vipctl fleet` waits for a node's acknowledgement. */
const FLEET_ACK_TIMEOUT = '15s';

interface SoakNodeHandle {
  host: LabHost;
  disk: Tmpfs;
  service: TcpService;
  vipcontrol: DaemonProcess | undefined;
  viphealth: DaemonProcess | undefined;
  vipcontrolConfig: object;
  viphealthConfig: object;
  logs: WriteStream[];
}

export class SoakLab {
  readonly lab: Lab;
  readonly redis: RedisInstance;
  readonly #nodes: Map<SoakNode, SoakNodeHandle>;
  readonly #artifacts: string;
  /** Per node: vipcontrol log lines per wall-clock second (epoch s), with their most common event. */
  readonly #logRate = new Map<SoakNode, Map<number, Map<string, number>>>();

  private constructor(lab: Lab, redis: RedisInstance, nodes: Map<SoakNode, SoakNodeHandle>, artifacts: string) {
    this.lab = lab;
    this.redis = redis;
    this.#nodes = nodes;
    this.#artifacts = artifacts;
  }

  /** Builds everything and waits until every node announces every VIP, in sync, with its checks up. */
  static async create(artifacts: string): Promise<SoakLab> {
    const lab = await Lab.create({ nodes: SOAK_NODES.length, bfd: false });
    const nodes = new Map<SoakNode, SoakNodeHandle>();
    let redis: RedisInstance | undefined;
    try {
      redis = await startRedis({ netns: lab.router.netns, bind: lab.router.addr4 });
      for (const [i, name] of SOAK_NODES.entries()) {
        const host = lab.nodes[i]!;
        const disk = await Tmpfs.mount(join(host.dir, 'state'), STATE_TMPFS_KIB);
        const handle: SoakNodeHandle = {
          host, disk, logs: [],
          service: await startTcpService({ netns: host.netns, port: SERVICE_PORT }),
          vipcontrol: undefined,
          viphealth: undefined,
          vipcontrolConfig: {
            stateFile: join(disk.path, 'state.json'),
            bird: { configureTimeout: `${SOAK_CONFIGURE_TIMEOUT_S}s` },
            drainPenalty: SOAK_DRAIN_PENALTY,
            redis: { url: redis.url, heartbeat: '500ms', ttl: '3s' },
            vips: SOAK_VIPS.map((prefix) => ({ prefix, med: SOAK_CONFIGURED_MED[name] })),
          },
          viphealthConfig: {
            checks: [{
              name: 'bgp-service', type: 'tcp', target: `127.0.0.1:${SERVICE_PORT}`, interval: '500ms', fastInterval: '200ms',
              timeout: '400ms', rise: 2, fall: 3, vips: [...SOAK_VIPS], penalty: 1000,
            }],
          },
        };
        nodes.set(name, handle);
      }
      const soak = new SoakLab(lab, redis, nodes, artifacts);
      for (const name of SOAK_NODES) {
        await soak.startVipcontrol(name);
        await soak.startViphealth(name);
      }
      return soak;
    } catch (err) {
      await teardown(lab, redis, nodes);
      throw err;
    }
  }

  host(node: SoakNode): LabHost {
    return this.#node(node).host;
  }

  #node(node: SoakNode): SoakNodeHandle {
    const handle = this.#nodes.get(node);
    if (!handle) throw new Error(`soak: no node ${node}`);
    return handle;
  }

  apiSocket(node: SoakNode): string {
    return join(this.#node(node).host.dir, 'vipcontrol.sock');
  }

  async startVipcontrol(node: SoakNode): Promise<void> {
    const h = this.#node(node);
    h.vipcontrol = await this.lab.startVipcontrol(h.host, h.vipcontrolConfig, { startTimeoutMs: 20_000 });
    this.#tee(h, h.vipcontrol, 'vipcontrol');
  }

  async startViphealth(node: SoakNode): Promise<void> {
    const h = this.#node(node);
    h.viphealth = await this.lab.startViphealth(h.host, h.viphealthConfig, { startTimeoutMs: 20_000 });
    this.#tee(h, h.viphealth, 'viphealth');
  }

  /** SIGKILL vipcontrol (a crash: nothing flushed, no goodbye to BIRD). */
  async killVipcontrol(node: SoakNode): Promise<void> {
    const h = this.#node(node);
    await h.vipcontrol?.kill('SIGKILL');
    h.vipcontrol = undefined;
  }

  /** SIGSTOP vipcontrol: freezes it mid-step (a SIGKILL follows; SIGKILL works on a stopped process). */
  freezeVipcontrol(node: SoakNode): void {
    const pid = this.#node(node).vipcontrol?.pid;
    if (pid !== undefined) process.kill(pid, 'SIGSTOP');
  }

  async killViphealth(node: SoakNode): Promise<void> {
    const h = this.#node(node);
    await h.viphealth?.kill('SIGKILL');
    h.viphealth = undefined;
  }

  killBird(node: SoakNode): Promise<void> {
    return this.#node(node).host.bird.kill();
  }

  /** Starts the node's BIRD again with its bird.conf (which includes whatever vipcontrol last wrote). */
  restartBird(node: SoakNode): Promise<void> {
    return this.#node(node).host.bird.restart();
  }

  /** A command on the node's BIRD control socket, as an operator's `birdc` would send it; BIRD's first line. */
  async birdc(node: SoakNode, command: string): Promise<string> {
    return (await this.#node(node).host.bird.client.command(command)).lines[0]?.text ?? '';
  }

  signalBird(node: SoakNode, signal: 'SIGSTOP' | 'SIGCONT'): void {
    process.kill(this.#node(node).host.bird.pid, signal);
  }

  fillDisk(node: SoakNode): Promise<void> {
    return this.#node(node).disk.fill();
  }

  freeDisk(node: SoakNode): Promise<void> {
    return this.#node(node).disk.free();
  }

  /** `vipctl --socket <node's socket> ARGS` from the host, as an operator on the node would run it. */
  async vipctl(node: SoakNode, args: readonly string[]): Promise<ExecResult> {
    const res = await execa(process.execPath, [VIPCTL, '--socket', this.apiSocket(node), ...args], { reject: false, timeout: 60_000 });
    return { stdout: String(res.stdout), stderr: String(res.stderr), exitCode: res.exitCode ?? -1 };
  }

  /** `vipctl fleet --redis URL ARGS`, from the router's namespace (where Redis listens). */
  fleet(args: readonly string[]): Promise<ExecResult> {
    return this.lab.router.exec('node', [VIPCTL, 'fleet', '--redis', this.redis.url, '--timeout', FLEET_ACK_TIMEOUT, ...args]);
  }

  /** One raw Redis command (redis-cli in the router's namespace); undefined when Redis is unreachable. */
  async redisCli(...args: string[]): Promise<string | undefined> {
    const res = await this.lab.router.exec('redis-cli', ['-h', this.redis.host, '-p', String(this.redis.port), '--raw', ...args]);
    return res.exitCode === 0 && !/^(ERR|Could not connect)/.test(res.stdout) ? res.stdout.replace(/\n$/, '') : undefined;
  }

  /** `GET /v1/status` straight from the socket (what `vipctl status --json` prints), for fast polling. */
  async statusApi(node: SoakNode): Promise<{ status?: StatusView; error?: string }> {
    try {
      const res = await unixHttpRequest(this.apiSocket(node), { path: '/v1/status', timeoutMs: 3000 });
      return res.status === 200 ? { status: res.json as StatusView } : { error: `HTTP ${res.status}` };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /**
   * `vipctl status --json`: the operator's view, through the real CLI. Exit 6 ("degraded": BIRD
   * disconnected, a VIP not in sync) still prints the status; the invariants read what it says.
   */
  async statusCli(node: SoakNode): Promise<{ status?: StatusView; error?: string }> {
    const res = await this.vipctl(node, ['--json', 'status']);
    if (res.exitCode !== 0 && res.exitCode !== VIPCTL_EXIT_DEGRADED) return { error: `vipctl status exited ${res.exitCode}: ${res.stderr.trim()}` };
    try {
      return { status: JSON.parse(res.stdout) as StatusView };
    } catch (err) {
      return { error: `vipctl status --json (exit ${res.exitCode}) printed no JSON: ${(err as Error).message}` };
    }
  }

  /** The router's path for each VIP from `node` (learned from its next hop), read from the router's BIRD. */
  async routerPaths(node: SoakNode): Promise<Map<string, RouterPath | undefined>> {
    const host = this.#node(node).host;
    const out = new Map<string, RouterPath | undefined>();
    for (const prefix of SOAK_VIPS) {
      const routes = await this.lab.routerRoutes(prefix);
      const path = routes.find((r) => {
        const hop = r.nextHop?.split(' ')[0];
        return hop === host.addr4 || hop === host.addr6;
      });
      out.set(prefix, path === undefined ? undefined : { ...(path.med === undefined ? {} : { med: path.med }) });
    }
    return out;
  }

  sessionStats(node: SoakNode): Promise<SessionStats> {
    return this.lab.sessionStats(this.#node(node).host);
  }

  /**
   * Resolves true once the node's BIRD logs `Reconfiguring` (it got a `configure`; vipcontrol's
   * `configure confirm` comes after its read-back), false once `stop()` was called first. inotify on
   * BIRD's log (fs.watch) and a synchronous read of the new bytes, so the harness knows within a
   * fraction of a millisecond — well inside the read-back.
   */
  watchReconfigure(node: SoakNode): { seen: Promise<boolean>; stop(): void } {
    const host = this.#node(node).host;
    const log = join(host.dir, 'bird.log');
    let offset = sizeOf(log);
    let settle: (seen: boolean) => void = () => undefined;
    const seen = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    const watcher = watch(host.dir);
    watcher.on('change', (_event, file) => {
      if (file !== 'bird.log') return;
      const size = sizeOf(log);
      if (size < offset) offset = 0; // a restarted BIRD may start a new file
      if (size === offset) return;
      const text = readRange(log, offset, size);
      offset = size;
      if (text.includes('Reconfiguring')) settle(true);
    });
    watcher.on('error', (err) => {
      process.stderr.write(`soak: watching ${log}: ${err.message}\n`);
      settle(false);
    });
    void seen.then(() => watcher.close());
    return { seen, stop: () => settle(false) };
  }

  /** Stops the daemons, frees and unmounts the state disks, copies BIRD's logs, tears the lab down. */
  async destroy(): Promise<void> {
    for (const [name, h] of this.#nodes) {
      await copyIfThere(join(h.host.dir, 'bird.log'), join(this.#artifacts, `${name}-bird.log`));
    }
    await copyIfThere(join(this.lab.router.dir, 'bird.log'), join(this.#artifacts, 'router-bird.log'));
    await teardown(this.lab, this.redis, this.#nodes);
  }

  /**
   * Seconds since `sinceMs` in which the node's vipcontrol wrote more than `limit` log lines (a retry
   * loop without backoff), each with its most frequent `event`; forgets what it returned.
   */
  logStorms(node: SoakNode, limit: number): { second: number; lines: number; event: string }[] {
    const buckets = this.#logRate.get(node) ?? new Map<number, Map<string, number>>();
    const now = Math.floor(Date.now() / 1000);
    const storms: { second: number; lines: number; event: string }[] = [];
    for (const [second, events] of buckets) {
      if (second >= now) continue; // still filling
      const lines = [...events.values()].reduce((a, b) => a + b, 0);
      if (lines > limit) storms.push({ second, lines, event: [...events].sort((a, b) => b[1] - a[1])[0]![0] });
      buckets.delete(second);
    }
    return storms;
  }

  #countLogLine(node: SoakNode, line: string): void {
    const second = Math.floor(Date.now() / 1000);
    let buckets = this.#logRate.get(node);
    if (!buckets) this.#logRate.set(node, (buckets = new Map()));
    let events = buckets.get(second);
    if (!events) buckets.set(second, (events = new Map()));
    const event = /"event":"([^"]*)"/.exec(line)?.[1] ?? '(no event)';
    events.set(event, (events.get(event) ?? 0) + 1);
  }

  /** Appends the daemon's log (so far and from now on) to `<artifacts>/<node>-<what>.log`. */
  #tee(h: SoakNodeHandle, daemon: DaemonProcess, what: string): void {
    const out = createWriteStream(join(this.#artifacts, `${h.host.name}-${what}.log`), { flags: 'a' });
    out.on('error', (err) => process.stderr.write(`soak: cannot write ${what} log: ${err.message}\n`));
    h.logs.push(out);
    for (const line of daemon.logs()) out.write(`${line}\n`);
    const node = h.host.name as SoakNode;
    daemon.onLogLine((line) => {
      out.write(`${line}\n`);
      if (what === 'vipcontrol') this.#countLogLine(node, line);
    });
    void daemon.exited.then(() => out.end());
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // BIRD restarting: the file comes back
    throw err;
  }
}

/** Bytes [from, to) of `file` as text; synchronous on purpose: the watcher must act at once. */
function readRange(file: string, from: number, to: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

async function copyIfThere(from: string, to: string): Promise<void> {
  await copyFile(from, to).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Daemons first (they hold the state dir), then the disks, then Redis and the lab. */
async function teardown(lab: Lab, redis: RedisInstance | undefined, nodes: Map<SoakNode, SoakNodeHandle>): Promise<void> {
  const errors: unknown[] = [];
  const collect = (results: PromiseSettledResult<unknown>[]) => {
    for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
  };
  for (const h of nodes.values()) {
    // A BIRD left SIGSTOPped would take its SIGTERM only after the grace period.
    try {
      process.kill(h.host.bird.pid, 'SIGCONT');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') errors.push(err); // ESRCH: BIRD already gone
    }
  }
  collect(await Promise.allSettled([...nodes.values()].flatMap((h) => [h.vipcontrol?.stop(), h.viphealth?.stop(), h.service.stop()])));
  collect(await Promise.allSettled([...nodes.values()].map((h) => h.disk.free().then(() => h.disk.unmount()))));
  collect(await Promise.allSettled([redis?.stop(), lab.destroy()]));
  if (errors.length > 0) throw new AggregateError(errors, 'soak: teardown incomplete');
}

/** Waits until every node's status shows every VIP in sync with its check up (start-up settle). */
export async function settle(soak: SoakLab, timeoutMs = 30_000): Promise<void> {
  await Promise.all(SOAK_NODES.map((node) => waitFor(async () => {
    const { status } = await soak.statusApi(node);
    const s = status as (StatusView & { health?: { checks?: { status: string }[] }; fleet?: { connected?: boolean } }) | undefined;
    const checks = s?.health?.checks ?? [];
    return s !== undefined && s.bird.connected && s.fleet?.connected === true && checks.length > 0 && checks.every((c) => c.status === 'up')
      && s.vips.length === SOAK_VIPS.length && s.vips.every((v) => v.inSync && v.terms.every((t) => t.kind !== 'health'));
  }, { timeoutMs, message: `${node}: every VIP in sync, checks up, fleet connected` })));
}

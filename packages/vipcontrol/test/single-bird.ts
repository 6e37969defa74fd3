/**
 * Test fixture: one real BIRD (its own temp dir and control socket) whose bird.conf includes the
 * vipcontrol include file, and the daemon running IN-PROCESS against it (so tests can look at the
 * controller and capture the log lines). Not a test file itself.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPTY_VIPCONTROL_INCLUDE, makeTempDir, startBird, unixHttpRequest, uniqueId, type BirdInstance, type UnixHttpResponse } from '@vipcontrol/testlab';
import type { ObservedRoute } from '@vipcontrol/core';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { createLogger } from '../src/logger.js';

export interface SingleBird {
  readonly dir: string;
  readonly bird: BirdInstance;
  readonly includeFile: string;
  readonly configFile: string;
  readonly stateFile: string;
  readonly apiSocket: string;
  /** The daemon's log lines (all daemons started by this fixture), parsed. */
  readonly logs: Record<string, unknown>[];
  daemon: Daemon | undefined;
  /** Writes vipcontrol.yaml (JSON) from the fixture's defaults plus `vips`. */
  writeConfig(vips: readonly object[], extra?: object): Promise<void>;
  /** Starts the daemon and waits for its first apply. */
  startDaemon(opts?: { waitStarted?: boolean; burstHoldMs?: number }): Promise<Daemon>;
  stopDaemon(): Promise<void>;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<UnixHttpResponse>;
  /** BIRD's routes in both vipcontrol protocols, by prefix. */
  birdRoutes(): Promise<Map<string, ObservedRoute>>;
  /**
   * How many configurations BIRD has committed (its log's "Reconfiguring" lines: one per `configure`,
   * `configure undo` or timeout undo), so "unchanged" proves none was sent. Not `show status`'s "Last
   * reconfiguration": BIRD prints that as the real time now minus the monotonic time elapsed, two
   * clocks read at different instants, so it can move by a millisecond with no configure at all.
   */
  reconfigurations(): Promise<number>;
  cleanup(): Promise<void>;
}

/** The bird.conf the fixture runs; `broken` appends a syntax error (the 8002 tests). */
export function birdConf(dir: string, includeFile: string, broken = false): string {
  return [
    'router id 192.0.2.1;',
    `log "${join(dir, 'bird.log')}" all;`,
    'protocol device { }',
    `include "${includeFile}";`,
    ...(broken ? ['this is not bird config;'] : []),
    '',
  ].join('\n');
}

export async function singleBird(name: string): Promise<SingleBird> {
  const tmp = await makeTempDir(`vc-${name}-`);
  const dir = tmp.path;
  const includeFile = join(dir, 'vipcontrol.conf');
  await writeFile(includeFile, EMPTY_VIPCONTROL_INCLUDE);
  const bird = await startBird({ name: `${name}-${uniqueId()}`, config: birdConf(dir, includeFile), dir: join(dir) });
  const configFile = join(dir, 'vipcontrol.yaml');
  const stateFile = join(dir, 'state.json');
  const apiSocket = join(dir, 'api.sock');
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });

  const fixture: SingleBird = {
    dir,
    bird,
    includeFile,
    configFile,
    stateFile,
    apiSocket,
    logs,
    daemon: undefined,
    async writeConfig(vips, extra = {}) {
      const config = {
        node: name.replace(/[^A-Za-z0-9._-]/g, '-'),
        bird: { socket: bird.socketPath, includeFile },
        api: { socket: apiSocket },
        stateFile,
        loopback: { interface: 'lo', manage: false },
        health: { firstReportWait: '0s' }, // no viphealth here: announce at once
        vips,
        ...extra,
      };
      await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    },
    async startDaemon(opts = {}) {
      const d = await startDaemon({ configFile, logger, verifyIntervalMs: 0, ...(opts.burstHoldMs !== undefined ? { burstHoldMs: opts.burstHoldMs } : {}) });
      fixture.daemon = d;
      if (opts.waitStarted ?? true) await d.started;
      return d;
    },
    async stopDaemon() {
      await fixture.daemon?.stop();
      fixture.daemon = undefined;
    },
    api: (method, path, body, headers) => unixHttpRequest(apiSocket, { method, path, body, headers, timeoutMs: 30_000 }),
    async birdRoutes() {
      const routes = [
        ...(await bird.client.showRoutes({ protocol: 'vipcontrol4' })),
        ...(await bird.client.showRoutes({ protocol: 'vipcontrol6' })),
      ];
      return new Map(routes.map((r) => [r.prefix, { prefix: r.prefix, med: r.med, communities: r.communities, largeCommunities: r.largeCommunities }]));
    },
    async reconfigurations() {
      const log = await readFile(join(dir, 'bird.log'), 'utf8');
      return log.match(/<INFO> Reconfiguring$/gm)?.length ?? 0;
    },
    async cleanup() {
      await fixture.stopDaemon();
      await bird.stop();
      await tmp.cleanup();
    },
  };
  return fixture;
}

export const V4 = '198.51.100.10/32';
export const V4B = '198.51.100.11/32';
export const V6 = '2001:db8::10/128';
export const VIPS = [
  { prefix: V4, med: 100, communities: ['65000:100'] },
  { prefix: V4B, med: 100, largeCommunities: ['65000:1:2'] },
  { prefix: V6, med: 100, communities: ['65000:600'] },
];

/** URL path segment for a prefix, as vipctl sends it. */
export const enc = (prefix: string): string => encodeURIComponent(prefix);

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPTY_VIPCONTROL_INCLUDE } from './bird-configs.js';
import { startBird, type BirdInstance } from './bird-instance.js';
import { apiAnswers, startDaemon, type DaemonProcess } from './daemon-process.js';
import { startRedis, type RedisInstance } from './redis-instance.js';
import { deepMerge } from './lab.js';
import { repoPath } from './repo-path.js';
import { makeTempDir } from './temp-dir.js';

export interface LoopbackVipcontrolOptions {
  /** vipcontrol's node name; also names BIRD and the temp dir. */
  node: string;
  /** Merged over the defaults: this BIRD and its include, API socket and state file in the dir, `lo` not managed, no wait for viphealth, log level warn. */
  config?: object;
  /** Also start a redis-server and set `redis.url` to it (fleet mode; `config.redis` adds heartbeat, ttl …). */
  redis?: boolean;
  /** How long the daemon may take to answer `GET /v1/status`; default 15 s. */
  startTimeoutMs?: number;
}

export interface LoopbackVipcontrol {
  /** The temp dir holding bird.conf, the include, vipcontrol.yaml, the sockets and the state file. */
  readonly dir: string;
  readonly bird: BirdInstance;
  readonly daemon: DaemonProcess;
  /** Where vipcontrol.yaml is (`vipctl` finds the API socket in it). */
  readonly configPath: string;
  readonly apiSocket: string;
  /** With `redis: true`: the daemon's Redis. */
  readonly redis?: RedisInstance;
  /** Stops the daemon, then BIRD (and Redis), and removes the dir; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * vipcontrol on the host, beside a BIRD of its own that includes vipcontrol's file and peers with no
 * one: no namespaces, loopback only, nothing touched on the host's `lo`. Resolves once the API answers.
 * For what needs a daemon driving a real BIRD but no fabric (the startup, fleet and trust benchmarks).
 */
export async function startLoopbackVipcontrol(opts: LoopbackVipcontrolOptions): Promise<LoopbackVipcontrol> {
  const dir = await makeTempDir(`vc-${opts.node}-`);
  let bird: BirdInstance | undefined;
  let redis: RedisInstance | undefined;
  const stopAll = async () => {
    try {
      await bird?.stop();
    } finally {
      try {
        await redis?.stop();
      } finally {
        await dir.cleanup();
      }
    }
  };
  try {
    if (opts.redis) redis = await startRedis();
    const includeFile = join(dir.path, 'vipcontrol.conf');
    await writeFile(includeFile, EMPTY_VIPCONTROL_INCLUDE);
    bird = await startBird({ name: opts.node, dir: dir.path, config: `router id 10.255.0.1;\nprotocol device {}\ninclude "${includeFile}";\n` });
    const configPath = join(dir.path, 'vipcontrol.yaml');
    const apiSocket = join(dir.path, 'vipcontrol.sock');
    const defaults = {
      node: opts.node,
      bird: { socket: bird.socketPath, includeFile },
      api: { socket: apiSocket },
      stateFile: join(dir.path, 'state.json'),
      loopback: { interface: 'lo', manage: false },
      health: { firstReportWait: '0s' }, // no viphealth here: a fresh node announces at once
      log: { level: 'warn' },
      ...(redis ? { redis: { url: redis.url } } : {}),
    };
    // JSON is valid YAML.
    await writeFile(configPath, JSON.stringify(deepMerge(defaults, opts.config ?? {})));
    const daemon = await startDaemon({
      bin: repoPath('packages/vipcontrol/bin/vipcontrol.js'),
      configPath,
      apiSocket,
      what: `vipcontrol ${opts.node} on loopback`,
      ready: () => apiAnswers(apiSocket),
      ...(opts.startTimeoutMs === undefined ? {} : { startTimeoutMs: opts.startTimeoutMs }),
    });
    let stopped: Promise<void> | undefined;
    return {
      dir: dir.path, bird, daemon, configPath, apiSocket, ...(redis ? { redis } : {}),
      stop: () => {
        stopped ??= (async () => {
          try {
            await daemon.stop();
          } finally {
            await stopAll();
          }
        })();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

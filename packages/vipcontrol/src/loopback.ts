/**
 * VIP addresses on the loopback (or a dummy) interface, through iproute2 (node's execFile: execa
 * would be the daemon's only user of a dependency tree that costs start-up time and memory).
 *
 * Reads with `ip -j addr show dev IF` (JSON, no text scraping); adds and removes idempotently, so a
 * restart that finds its addresses already there does nothing. The order relative to BIRD (address
 * before the route on announce, route gone before the address on withdraw) is the reconciler's job.
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import { canonicalPrefix } from '@vipcontrol/core';

/** What the reconciler needs from the loopback; tests of pure logic fake it. */
export interface LoopbackManager {
  /** Canonical prefixes currently configured on the interface. */
  list(): Promise<string[]>;
  /** Adds one prefix; already present is success. */
  add(prefix: string): Promise<void>;
  /** Removes one prefix; already absent is success. */
  remove(prefix: string): Promise<void>;
}

/** An `ip` invocation failed. */
export class LoopbackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoopbackError';
  }
}

interface IpAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
}

/** LoopbackManager over `ip`. `netns` runs it inside a network namespace (`ip -n NS`), for the lab. */
export class IpLoopback implements LoopbackManager {
  readonly #iface: string;
  readonly #netns: string | undefined;
  readonly #log: Logger;

  constructor(opts: { interface: string; netns?: string; logger: Logger }) {
    this.#iface = opts.interface;
    this.#netns = opts.netns;
    this.#log = opts.logger;
  }

  async list(): Promise<string[]> {
    const { stdout } = await this.#ip(['-j', 'addr', 'show', 'dev', this.#iface]);
    let links: { addr_info?: IpAddrInfo[] }[];
    try {
      links = JSON.parse(stdout) as { addr_info?: IpAddrInfo[] }[];
    } catch (cause) {
      throw new LoopbackError(`ip -j addr show dev ${this.#iface}: output is not JSON`, { cause });
    }
    const prefixes: string[] = [];
    for (const info of links.flatMap((l) => l.addr_info ?? [])) {
      if (info.local === undefined || info.prefixlen === undefined) continue;
      // Host bits set (e.g. 127.0.0.1/8) are not VIPs: only exact network/len forms can match ours.
      try {
        prefixes.push(canonicalPrefix(`${info.local}/${info.prefixlen}`).prefix);
      } catch {
        continue; // not a canonical prefix, hence never one of our VIPs
      }
    }
    return prefixes;
  }

  async add(prefix: string): Promise<void> {
    const family = canonicalPrefix(prefix).family;
    // nodad: a VIP must be usable at once; duplicate-address detection would hold a v6 VIP "tentative".
    const args = ['addr', 'add', prefix, 'dev', this.#iface, ...(family === 6 ? ['nodad'] : [])];
    const r = await this.#ip(args, /File exists/);
    this.#log.info({ event: r.state === 'done' ? 'addressAdded' : 'addressPresent', prefix, interface: this.#iface }, 'VIP address on interface');
  }

  async remove(prefix: string): Promise<void> {
    const r = await this.#ip(['addr', 'del', prefix, 'dev', this.#iface], /Cannot assign requested address/);
    this.#log.info({ event: r.state === 'done' ? 'addressRemoved' : 'addressAbsent', prefix, interface: this.#iface }, 'VIP address off interface');
  }

  /** Runs `ip`; an error whose stderr matches `benign` means the change was already made. */
  async #ip(args: string[], benign?: RegExp): Promise<{ stdout: string; state: 'done' | 'already' }> {
    const full = this.#netns ? ['-n', this.#netns, ...args] : args;
    const r = await run('ip', full);
    if (r.error === null) return { stdout: r.stdout, state: 'done' };
    if (benign?.test(r.stderr)) return { stdout: r.stdout, state: 'already' };
    throw new LoopbackError(`ip ${full.join(' ')}: ${r.stderr.trim() || r.error.message}`, { cause: r.error });
  }
}

/** Runs a program without a shell; never rejects: a failure (exit code, timeout, ENOENT) comes back as `error`. */
function run(file: string, args: readonly string[]): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((resolve) => {
    // `ip -j addr show` lists ~150 bytes per address: 64 MiB holds far more VIPs than BIRD would want.
    execFile(file, args, { timeout: 5000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, error });
    });
  });
}

/**
 * Test fixture: a Unix-socket proxy in front of a real BIRD's control socket that can hold back or
 * delay the daemon's commands (by their text), to stop an apply between `configure timeout` and
 * `configure confirm` or make its read-back slow. Replies pass through untouched. Not a test file.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BirdSocketProxy {
  /** Point the daemon's `bird.socket` here. */
  readonly path: string;
  /** Every command seen, in order. */
  readonly commands: string[];
  /** Commands matching `re` wait `ms` before they reach BIRD ('hold': until `release()`). */
  slow(re: RegExp, ms: number | 'hold'): void;
  /** Drops the rules and lets held commands through. */
  release(): void;
  close(): Promise<void>;
}

export async function birdSocketProxy(dir: string, target: string): Promise<BirdSocketProxy> {
  const path = join(dir, 'bird-proxy.ctl');
  const commands: string[] = [];
  let rules: { re: RegExp; ms: number | 'hold' }[] = [];
  let released!: () => void;
  let releasedAt = new Promise<void>((resolve) => (released = resolve));
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    let buffered = '';
    let chain = Promise.resolve();
    client.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        commands.push(line);
        chain = chain.then(async () => {
          const rule = rules.find((r) => r.re.test(line));
          if (rule?.ms === 'hold') await releasedAt;
          else if (rule) await sleep(rule.ms);
          if (!upstream.destroyed) upstream.write(`${line}\n`);
        });
      }
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  return {
    path,
    commands,
    slow(re, ms) {
      rules.push({ re, ms });
    },
    release() {
      rules = [];
      released();
      releasedAt = new Promise<void>((resolve) => (released = resolve));
    },
    async close() {
      rules = [];
      released();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Trust-boundary benchmark (`scripts/bench.sh trust`, issue 12): prints a table and rewrites the
 * "Trust boundaries" section of docs/benchmarks.md.
 *
 * 1. A real vipcontrol daemon (BIRD, redis-server, all on loopback): health-driven withdraw / re-announce
 *    latency through the API socket and `GET /v1/status` latency, with a clean desired hash and with
 *    40 junk fields of 4 MB in it (the issue measured 9 ms → 1.9 s and status stalls up to 2.8 s), and
 *    the daemon's RSS after each phase.
 * 2. The BIRD reply decoder fed 94 MiB of short lines: heap growth with its default limit (the issue
 *    measured ~1 GiB when the limit counted text only).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';
import { daemonStatus, healthReportBody, markdownTable, percentile, procKiB, replaceDocSection, repoPath, startLoopbackVipcontrol, unixHttpRequest, waitFor } from '@vipcontrol/testlab';
import { FleetStore } from '@vipcontrol/fleet';

const N = Number(process.env['TRUST_BENCH_N'] ?? 40);
const VIP = '198.51.100.10/32';

type Row = [string, string, string];

async function daemonRows(): Promise<Row[]> {
  const vipcontrol = await startLoopbackVipcontrol({
    node: 'trust1', redis: true, config: { vips: [{ prefix: VIP, med: 100 }], redis: { heartbeat: '500ms', ttl: '5s' } },
  });
  const redis = vipcontrol.redis!;
  const api = vipcontrol.apiSocket;
  const rows: Row[] = [];
  const rss = async () => (await procKiB(vipcontrol.daemon.pid, 'status', ['VmRSS'])).VmRSS / 1024;
  try {
    const store = await FleetStore.open({ url: redis.url, keyPrefix: 'vipcontrol:', heartbeatMs: 500, ttlMs: 5000 }, { commandTimeoutMs: 10_000 });
    await waitFor(async () => (await store.nodeInfo('trust1')).record?.ok, { timeoutMs: 20_000, message: 'daemon registered' });
    const report = (status: 'up' | 'down') => healthReportBody('bench', 1, [{ name: 'web', status, vips: [VIP], effect: { withdraw: true }, since: Date.now() }]);
    const phase = async (label: string) => {
      const health: number[] = [];
      const status: number[] = [];
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        const res = await unixHttpRequest(api, { method: 'POST', path: '/v1/health/report', body: report(i % 2 === 0 ? 'down' : 'up'), timeoutMs: 30_000 });
        health.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`health report: ${res.status}`);
        const t1 = performance.now();
        await daemonStatus(api, { timeoutMs: 30_000 });
        status.push(performance.now() - t1);
        await new Promise((r) => setTimeout(r, 50)); // let heartbeats (every 500 ms) interleave
      }
      health.sort((a, b) => a - b);
      status.sort((a, b) => a - b);
      rows.push([`${label}: health-driven withdraw / re-announce p50 / max`, `${percentile(health, 50).toFixed(1)} / ${health.at(-1)!.toFixed(1)} ms`, `n=${N}`]);
      rows.push([`${label}: GET /v1/status p50 / max`, `${percentile(status, 50).toFixed(1)} / ${status.at(-1)!.toFixed(1)} ms`, `n=${N}`]);
      rows.push([`${label}: daemon RSS`, `${(await rss()).toFixed(0)} MiB`, '']);
    };
    await phase('clean desired hash');
    const junk = 'x'.repeat(4 * 1024 * 1024);
    for (let i = 0; i < 40; i++) await store.redis.hset(store.keys.desired('trust1'), `junk${i}`, junk);
    await store.redis.publish(store.keys.notify('trust1'), 'x');
    await phase('40 × 4 MB junk fields');
    await store.close();
  } finally {
    await vipcontrol.stop();
  }
  return rows;
}

/** Heap growth while the decoder holds a reply of 94 MiB of 10-character lines (default limit). */
async function decoderRows(): Promise<Row[]> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Loaded by path: this package does not depend on @vipcontrol/bird.
  type Decoder = { write(chunk: Buffer): void; reset(): void };
  const { ReplyDecoder } = await import(pathToFileURL(repoPath('packages/bird/dist/src/reply-decoder.js')).href) as { ReplyDecoder: new (h: { reply(): void }) => Decoder };
  const line = Buffer.from(`1007-${'x'.repeat(10)}\n`);
  const chunk = Buffer.concat(Array.from({ length: 4096 }, () => line));
  const total = 94 * 1024 * 1024;
  gc();
  const before = process.memoryUsage().heapUsed;
  const d = new ReplyDecoder({ reply: () => undefined });
  for (let fed = 0; fed < total; fed += chunk.length) d.write(chunk);
  gc();
  const grown = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
  const perLine = (process.memoryUsage().heapUsed - before) / (total / line.length);
  d.reset();
  return [
    ['BIRD reply decoder, 94 MiB of 10-character lines, default 256 MiB limit: heap growth', `${grown.toFixed(0)} MiB`, 'was ~1 GiB (issue 12); bounded by the limit'],
    ['  heap per line fed (kept lines and dropped ones averaged)', `${perLine.toFixed(1)} B`, ''],
  ];
}

async function main(): Promise<void> {
  const rows = [...(await decoderRows()), ...(await daemonRows())];
  const table = markdownTable(['measurement', 'result', 'note'], rows);
  process.stdout.write(`${table}\n`);
  if (process.argv.includes('--no-docs')) return;
  await replaceDocSection(repoPath('docs/benchmarks.md'), {
    marker: 'trust-bench',
    title: 'Trust boundaries',
    markdown: [
      `Measured ${new Date().toISOString().slice(0, 10)} by \`scripts/bench.sh trust\` (packages/bench/src/fleet/trust-bench.ts): ` +
        `redis-server 7, BIRD 2.0.12 and one vipcontrol daemon on loopback, node ${process.versions.node}, ` +
        `${cpus().length} CPUs, 1-min load average ${loadavg()[0]!.toFixed(1)} at the end (a shared machine: tails move with load).`,
      '',
      table,
    ].join('\n'),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`trust bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 2;
});

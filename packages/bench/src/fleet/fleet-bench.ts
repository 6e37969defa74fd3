/**
 * Fleet benchmark (`scripts/bench.sh fleet`): prints a table and rewrites the "Fleet" section of
 * docs/benchmarks.md (between its markers; nothing else in the file is touched).
 *
 * 1. Remote command round trip: FleetStore.sendCommand → Redis → a real vipcontrol daemon → BIRD
 *    (configure, read-back, confirm) → ack → caller, the path `vipctl fleet set-med` takes.
 *    Everything on loopback: redis-server, BIRD and the daemon run on the host (no namespaces needed:
 *    the ack is sent after BIRD confirmed, no BGP peer is involved). Once with 4 VIPs, once with
 *    10,000 (one with minAnnouncers): every apply has the fleet agent publish the node record (all
 *    VIPs) and run a guard round (the guarded VIP), on the loop that also takes the next command.
 * 2. `fleet status` with 1,000 registered nodes × 4 VIPs: read + matrix + text rendering in-process,
 *    and the real `vipctl fleet status` binary end to end.
 * 3. Redis memory per registered node (INFO used_memory delta, and MEMORY USAGE of one record).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { markdownTable, percentile, replaceDocSection, repoPath, startLoopbackVipcontrol, startRedis, waitFor, type LoopbackVipcontrol } from '@vipcontrol/testlab';
import type { NodeRecord } from '@vipcontrol/core';
import { FleetStore } from '@vipcontrol/fleet';
import { vipPrefix } from '../core/workload.js';

const run = promisify(execFile);
const ROUND_TRIPS = Number(process.env['FLEET_BENCH_ROUND_TRIPS'] ?? 300);
const BIG_ROUND_TRIPS = Number(process.env['FLEET_BENCH_BIG_ROUND_TRIPS'] ?? 100);
const BIG_VIPS = 10_000;
const FLEET_NODES = 1000;
const VIPS = ['198.51.100.10/32', '198.51.100.11/32', '2001:db8::10/128', '2001:db8::11/128'];

function record(node: string, i: number): NodeRecord {
  return {
    v: 1, node, version: '0.1.0', instance: `i-${i}`, startedAt: Date.now(), heartbeatAt: Date.now(),
    bird: { connected: true, lastApply: { at: Date.now(), ok: true, durationMs: 3 } }, guarded: [],
    vips: VIPS.map((prefix, j) => {
      const med = 100 + ((i + j) % 7) * 10;
      return { prefix, announced: true, med, terms: [{ kind: 'configured' as const, med }], withdrawReasons: [], minAnnouncers: j === 0 ? 2 : 0, inSync: true };
    }),
  };
}

/** A vipcontrol daemon in fleet mode on a BIRD of its own, on the shared Redis. */
function startFleetDaemon(redisUrl: string, node: string, vips: readonly { prefix: string; med: number; minAnnouncers?: number }[]): Promise<LoopbackVipcontrol> {
  return startLoopbackVipcontrol({ node, config: { vips, redis: { url: redisUrl, heartbeat: '1s', ttl: '5s' } }, startTimeoutMs: 120_000 });
}

/** Remote set-med round trips to `node` after 20 warm-ups (JIT on both sides), sorted, in ms. Alternates two MEDs so each one changes BIRD. */
async function roundTrips(store: FleetStore, node: string, prefix: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count + 20; i++) {
    const t0 = performance.now();
    const entry = await store.sendCommand({ node, op: 'set-med', prefix, body: { med: 200 + (i % 2) }, by: 'bench' });
    const ack = await store.waitAck(entry, 5000);
    const ms = performance.now() - t0;
    if (!ack.ok) throw new Error(`command failed: ${ack.error}`);
    if (i >= 20) times.push(ms);
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const daemons: LoopbackVipcontrol[] = [];
  const rows: [string, string, string][] = [];
  const missed: string[] = [];
  try {
    daemons.push(await startFleetDaemon(redis.url, 'bench1', VIPS.map((prefix) => ({ prefix, med: 100 }))));
    const store = await FleetStore.open({ url: redis.url, keyPrefix: 'vipcontrol:', heartbeatMs: 1000, ttlMs: 5000 }, { commandTimeoutMs: 5000 });
    await waitFor(async () => (await store.nodeInfo('bench1')).record?.ok, { timeoutMs: 20_000, message: 'daemon registered' });

    // 1. Round trip.
    const times = await roundTrips(store, 'bench1', VIPS[0]!, ROUND_TRIPS);
    rows.push(['remote set-med round trip p50 (caller → Redis → daemon → BIRD → ack)', `${percentile(times, 50).toFixed(2)} ms`, `n=${times.length}`]);
    rows.push(['remote set-med round trip p99', `${percentile(times, 99).toFixed(2)} ms`, 'target < 50 ms']);
    if (percentile(times, 99) >= 50) missed.push('round trip p99 >= 50 ms');
    rows.push(['remote set-med round trip max', `${times.at(-1)!.toFixed(2)} ms`, '']);
    await daemons.pop()!.stop();

    // 1b. The same with 10,000 VIPs, one of them guarded (minAnnouncers 1).
    const big = Array.from({ length: BIG_VIPS }, (_, i) => ({ prefix: vipPrefix(i), med: 100, ...(i === 0 ? { minAnnouncers: 1 } : {}) }));
    daemons.push(await startFleetDaemon(redis.url, 'bench2', big));
    await waitFor(async () => (await store.nodeInfo('bench2')).record?.ok, { timeoutMs: 120_000, message: `daemon with ${BIG_VIPS} VIPs registered` });
    const bigTimes = await roundTrips(store, 'bench2', big[1]!.prefix, BIG_ROUND_TRIPS);
    rows.push([`remote set-med round trip p50, daemon with ${BIG_VIPS.toLocaleString('en')} VIPs (1 guarded)`, `${percentile(bigTimes, 50).toFixed(2)} ms`, `n=${bigTimes.length}`]);
    rows.push([`remote set-med round trip p99, ${BIG_VIPS.toLocaleString('en')} VIPs`, `${percentile(bigTimes, 99).toFixed(2)} ms`, `max ${bigTimes.at(-1)!.toFixed(2)} ms`]);
    await daemons.pop()!.stop();

    // 3 (first, on a clean prefix): memory per node.
    const fleet = await FleetStore.open({ url: redis.url, keyPrefix: 'benchfleet:', heartbeatMs: 1000, ttlMs: 60_000 });
    const used = async () => Number(/used_memory:(\d+)/.exec(await store.redis.info('memory'))![1]);
    const before = await used();
    for (let i = 0; i < FLEET_NODES; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => fleet.publishNode(record(`node${String(i + j).padStart(4, '0')}`, i + j), 60_000)));
    }
    const perNode = ((await used()) - before) / FLEET_NODES;
    const oneKey = Number(await store.redis.call('MEMORY', 'USAGE', fleet.keys.node('node0001')));
    rows.push(['Redis memory per registered node (4 VIPs; INFO used_memory delta)', `${(perNode / 1024).toFixed(2)} KiB`, `record key alone: ${(oneKey / 1024).toFixed(2)} KiB`]);

    // 2. fleet status over 1,000 nodes × 4 VIPs.
    // vipctl's own renderer, loaded by path: vipctl depends on this package, not the other way round.
    const { formatMatrix } = await import(pathToFileURL(repoPath('packages/vipctl/dist/src/commands/fleet.js')).href) as { formatMatrix: (m: unknown) => string };
    const statusTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      formatMatrix(await fleet.readMatrix(60_000));
      statusTimes.push(performance.now() - t0);
    }
    statusTimes.sort((a, b) => a - b);
    rows.push([`fleet status, ${FLEET_NODES} nodes × ${VIPS.length} VIPs: read + matrix + render (in-process, median of 10)`, `${percentile(statusTimes, 50).toFixed(1)} ms`, 'target < 1 s']);
    const t0 = performance.now();
    const cli = await run('node', [repoPath('packages/vipctl/bin/vipctl.js'), 'fleet', '--redis', redis.url, '--key-prefix', 'benchfleet:', 'status'], { maxBuffer: 64 * 1024 * 1024 });
    const cliMs = performance.now() - t0;
    if (percentile(statusTimes, 50) >= 1000) missed.push('fleet status >= 1 s');
    rows.push([`vipctl fleet status, ${FLEET_NODES} nodes (whole process: node start-up + Redis + render)`, `${cliMs.toFixed(0)} ms`, `${cli.stdout.split('\n').length} lines`]);
    await fleet.close();
    await store.close();
  } finally {
    for (const d of daemons) await d.stop();
    await redis.stop();
  }
  const table = markdownTable(['measurement', 'result', 'note'], rows);
  process.stdout.write(`${table}\n`);
  await updateDoc(table);
  // bench.sh convention: 1 = a target missed (the table is still written), 2 = the benchmark failed.
  if (missed.length) {
    process.stderr.write(`fleet bench: target missed: ${missed.join('; ')}\n`);
    process.exitCode = 1;
  }
}

async function updateDoc(table: string): Promise<void> {
  await replaceDocSection(repoPath('docs/benchmarks.md'), {
    marker: 'fleet-bench',
    title: 'Fleet',
    markdown: [
      `Measured ${new Date().toISOString().slice(0, 10)} by \`scripts/bench.sh fleet\` (packages/bench/src/fleet/fleet-bench.ts) on this machine: ` +
        `redis-server 7, BIRD 2.0.12 and one vipcontrol daemon on loopback, node ${process.versions.node}, ` +
        `${cpus().length} CPUs, 1-min load average ${loadavg()[0]!.toFixed(1)} at the end (a shared machine: tails move with load).`,
      '',
      table,
    ].join('\n'),
  });
}

await main().catch((err: unknown) => {
  process.stderr.write(`fleet bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});

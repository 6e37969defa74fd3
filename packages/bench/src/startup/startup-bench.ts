/**
 * `vipctl status` round trip against a running vipcontrol (with a real BIRD), compared with a bare
 * `node -e 0` on the same machine at the same moment, as a ratio: the packaged build (the bundle
 * scripts/bundle.mjs makes, what the Debian package ships) and the tree build (`packages/vipctl/bin`).
 *
 *   node packages/bench/dist/src/startup/startup-bench.js [--samples 40] [--no-docs]
 *
 * Samples are interleaved (bare node, packaged, tree, bare node, …) so a load change on the shared
 * machine hits all three alike. Exit 1 when the packaged p50 misses the target (80 ms).
 */
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import {
  makeTempDir, markdownTable, ms, percentile, replaceDocSection, repoPath, startLoopbackVipcontrol, waitFor,
} from '@vipcontrol/testlab';

const run = promisify(execFile);
const TARGET_P50_MS = 80;
const VIPS = Array.from({ length: 10 }, (_, i) => `198.18.0.${i + 1}/32`);

/** Wall time of one run of `argv` (ms); the command must exit 0. */
async function timed(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  await run(argv[0]!, argv.slice(1), env ? { env: { ...process.env, ...env } } : {});
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string', default: '40' }, 'no-docs': { type: 'boolean', default: false } } });
  const samples = Number(values.samples);
  const dir = await makeTempDir('vc-startup-bench-');
  const bundle = join(dir.path, 'bundle');
  const vipcontrol = await startLoopbackVipcontrol({ node: 'bench1', config: { vips: VIPS.map((prefix) => ({ prefix, med: 100 })) } }).catch(async (err: unknown) => {
    await dir.cleanup();
    throw err;
  });
  const { apiSocket: socket, configPath: cfgPath } = vipcontrol;
  try {
    await run(process.execPath, [repoPath('scripts/bundle.mjs'), bundle]);
    const node = process.execPath;
    const programs: { name: string; argv: string[]; env?: NodeJS.ProcessEnv }[] = [
      { name: 'bare `node -e 0`', argv: [node, '-e', '0'] },
      { name: '`vipctl status`, packaged build', argv: [node, join(bundle, 'vipctl.mjs'), '--socket', socket, 'status'] },
      // Without --socket, vipctl reads api.socket from the config with the daemon's own parser.
      { name: '`vipctl status`, packaged, socket from the config', argv: [node, join(bundle, 'vipctl.mjs'), 'status'], env: { VIPCTL_CONFIG: cfgPath } },
      { name: '`vipctl status`, tree build', argv: [node, repoPath('packages/vipctl/bin/vipctl.js'), '--socket', socket, 'status'] },
    ];
    await waitFor(async () => (await timed(programs[1]!.argv).then(() => true, () => false)), { timeoutMs: 20_000, message: 'vipcontrol answers status' });
    const times = programs.map(() => [] as number[]);
    for (let i = 0; i < samples + 3; i++) {
      for (const [j, p] of programs.entries()) {
        const t = await timed(p.argv, p.env);
        if (i >= 3) times[j]!.push(t); // the first rounds warm the page cache
      }
    }
    const summaries = times.map((t) => stats(t));
    const bare = summaries[0]!;
    const rows = programs.map((p, j) => row(p.name, summaries[j]!, bare));
    const table = markdownTable(['program', 'p50', 'p90', 'max', 'p50 ÷ bare node'], rows);
    process.stdout.write(`${table}\n`);
    const packaged = summaries[1]!;
    const met = packaged.p50 <= TARGET_P50_MS;
    if (!values['no-docs']) await updateDoc(table, samples, met);
    if (!met) {
      process.stderr.write(`startup bench: target missed: packaged vipctl status p50 ${ms(packaged.p50)} > ${TARGET_P50_MS} ms\n`);
      process.exitCode = 1;
    }
  } finally {
    await vipcontrol.stop();
    await dir.cleanup();
  }
}

interface Stats { p50: number; p90: number; max: number }

function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted[sorted.length - 1]! };
}

function row(name: string, s: Stats, bare: Stats): string[] {
  return [name, ms(s.p50), ms(s.p90), ms(s.max), `×${(s.p50 / bare.p50).toFixed(2)}`];
}

async function updateDoc(table: string, samples: number, met: boolean): Promise<void> {
  await replaceDocSection(repoPath('docs/benchmarks.md'), {
    marker: 'startup-bench',
    title: 'vipctl start-up',
    markdown: [
      `Measured ${new Date().toISOString().slice(0, 10)} by \`bash scripts/bench.sh startup\` (packages/bench/src/startup/startup-bench.ts): ` +
        `${samples} interleaved samples of each, wall time of the whole process from spawn to exit, against a running vipcontrol ` +
        `(10 VIPs, BIRD 2.0.12, loopback); node ${process.versions.node}, ${cpus().length} CPUs, 1-min load average ` +
        `${loadavg()[0]!.toFixed(1)} at the end (a shared machine). Target: packaged p50 ≤ ${TARGET_P50_MS} ms — ${met ? 'met' : 'MISSED'}.`,
      '',
      table,
      '',
      'With `--socket` (or VIPCTL_SOCKET) vipctl never loads config validation, nor does it for a config that never mentions ' +
        '`api` (the packaged default: the socket is then the default path). A config that sets `api.socket`, as this ' +
        'benchmark\'s must (its socket is not the default path), is read with the daemon\'s own parser (zod, yaml), which ' +
        'costs the difference between the two packaged rows. ' +
        'The packaged build is the esbuild bundle the Debian package ships (scripts/bundle.mjs): vipctl loads only the noun its ' +
        'command line names (packages/vipctl/src/program.ts), and the bundle keeps config validation (zod, yaml) and ioredis in ' +
        'chunks that `status` never loads. The tree build loads every module of @vipcontrol/core through its index.',
    ].join('\n'),
  });
}

await main().catch((err: unknown) => {
  process.stderr.write(`startup bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});

/**
 * The README's lab: router + 2 nodes in network namespaces, real BIRD everywhere, vipcontrol on both
 * nodes announcing the same IPv4 and IPv6 VIP with MEDs 100 and 200; prints the router's view, shifts
 * traffic with `vipctl set-med` on node 1 and shows the best path move to node 2.
 *
 *   node packages/testlab/dist/src/lab-demo.js [--ebgp] [--no-bfd] [--keep]
 *   node packages/testlab/dist/src/lab-demo.js --down     (tear down a kept lab, remove leftovers)
 *
 * With --keep the lab stays up until SIGTERM/SIGINT (`bash scripts/lab.sh down` sends it), and its
 * whereabouts are written to `<repo>/.lab/lab.json`.
 */
import { rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RouteInfo } from '@vipcontrol/bird';
import { execa } from 'execa';
import { cleanupStale } from './cleanup-stale.js';
import { Lab, type LabHost } from './lab.js';
import { repoPath } from './repo-path.js';
import { waitFor } from './wait-for.js';

const V4 = '198.51.100.10/32';
const V6 = '2001:db8::10/128';
const STATE_DIR = repoPath('.lab');
const STATE_FILE = join(STATE_DIR, 'lab.json');
const VIPCTL = repoPath('packages/vipctl/bin/vipctl.js');

interface KeptLab { pid: number; id: string }

async function main(argv: string[]): Promise<void> {
  const known = new Set(['--ebgp', '--no-bfd', '--keep', '--down']);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (use --ebgp, --no-bfd, --keep, --down)`);
  if (argv.includes('--down')) return down();

  const removed = await cleanupStale();
  if (removed.namespaces.length > 0) say(`removed leftovers of earlier labs: ${removed.namespaces.join(' ')}`);
  const mode = argv.includes('--ebgp') ? 'ebgp' : 'ibgp';
  const t0 = performance.now();
  const lab = await Lab.create({ nodes: 2, mode, bfd: !argv.includes('--no-bfd') });
  say(`lab ${lab.id}: router + 2 nodes (${mode === 'ibgp' ? 'iBGP, router is route reflector' : 'eBGP'}, BFD ${lab.bfd ? 'on' : 'off'}), `
    + `all sessions Established in ${Math.round(performance.now() - t0)} ms`);
  try {
    const [n1, n2] = lab.nodes as [LabHost, LabHost];
    for (const [node, med] of [[n1, 100], [n2, 200]] as const) {
      await lab.startVipcontrol(node, {
        vips: [{ prefix: V4, med, communities: [`65000:${med}`] }, { prefix: V6, med, communities: [`65000:${med}`] }],
      });
      say(`vipcontrol on ${node.name} (${node.addr4}, ${node.addr6}) announces ${V4} and ${V6} with MED ${med}`);
    }
    for (const prefix of [V4, V6]) await lab.waitForRouterRoutes(prefix, (r) => r.length === 2, { message: `2 paths for ${prefix}` });
    const before = await lab.sessionStats(n1);
    await printRouterView(lab, 'Router view: both nodes announce, node n1 (MED 100) is best');

    for (const prefix of [V4, V6]) {
      const cmd = ['--socket', join(n1.dir, 'vipcontrol.sock'), 'set-med', prefix, '300', '--reason', 'lab demo: shift traffic to n2'];
      say(`$ vipctl ${cmd.join(' ')}`);
      const t1 = performance.now();
      const res = await execa(process.execPath, [VIPCTL, ...cmd], { reject: false });
      const output = `${res.stdout}${res.stderr}`.trim();
      if (output) say(indent(output));
      if (res.exitCode !== 0) throw new Error(`vipctl set-med exited ${String(res.exitCode)}`);
      await lab.waitForRouterRoutes(prefix, (r) => best(r)?.med === 200, { message: `${prefix} best path via n2` });
      say(`  router's best path for ${prefix} moved to n2 ${Math.round(performance.now() - t1)} ms after vipctl started`);
    }
    await printRouterView(lab, 'Router view after `vipctl set-med … 300` on n1: node n2 (MED 200) is best');
    const afterStats = await lab.sessionStats(n1);
    say(`Router's sessions with n1: ${afterStats.state}, Since ${afterStats.since} (unchanged: ${afterStats.since === before.since}), `
      + `import updates +${afterStats.importUpdates - before.importUpdates}, no session reset.`);

    if (argv.includes('--keep')) {
      await keep(lab);
      return;
    }
  } finally {
    if (!argv.includes('--keep')) {
      await lab.destroy();
      say('lab torn down: namespaces, BIRDs, vipcontrols and temp files removed');
    }
  }
}

/** Writes .lab/lab.json, prints how to reach everything, and waits for a signal (the cleanup registry tears down). */
async function keep(lab: Lab): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true });
  await writeFile(STATE_FILE, JSON.stringify({ pid: process.pid, id: lab.id, dir: lab.dir } satisfies KeptLab & { dir: string }, null, 2));
  const lines = ['', `Lab ${lab.id} keeps running (pid ${process.pid}). Reach it with:`];
  for (const host of [lab.router, ...lab.nodes]) {
    lines.push(`  ${host.name === 'r' ? 'router' : host.name}: birdc -s ${host.bird.socketPath} show route all     # netns ${host.netns}`);
  }
  for (const node of lab.nodes) {
    lines.push(`  ${node.name}: node ${VIPCTL} --socket ${join(node.dir, 'vipcontrol.sock')} status`);
  }
  lines.push(`  shell in a namespace: ip netns exec ${lab.nodes[0]?.netns ?? ''} bash`);
  lines.push('Tear down: bash scripts/lab.sh down', 'LAB READY');
  say(lines.join('\n'));
  // The cleanup registry handles SIGTERM/SIGINT: it destroys the lab and exits.
  process.once('exit', () => rmSync(STATE_FILE, { force: true }));
  await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
}

/** Stops a kept lab (SIGTERM to its process), then removes any leftover namespaces and dirs. */
async function down(): Promise<void> {
  const kept = await readFile(STATE_FILE, 'utf8').then((t) => JSON.parse(t) as KeptLab, () => undefined);
  if (kept) {
    try {
      process.kill(kept.pid, 'SIGTERM');
      await waitFor(() => {
        try {
          process.kill(kept.pid, 0);
          return false;
        } catch {
          return true; // ESRCH: the lab process is gone
        }
      }, { timeoutMs: 15_000, message: `lab process ${kept.pid} to exit` });
      say(`lab ${kept.id} (pid ${kept.pid}) stopped`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      say(`lab ${kept.id}: process ${kept.pid} was already gone`);
    }
    await rm(STATE_FILE, { force: true });
  }
  const removed = await cleanupStale();
  say(`removed ${removed.namespaces.length} leftover namespace(s), ${removed.dirs.length} dir(s)`);
}

async function printRouterView(lab: Lab, title: string): Promise<void> {
  const rows: string[][] = [['prefix', 'best', 'from', 'next hop', 'MED', 'AS path', 'communities']];
  for (const prefix of [V4, V6]) {
    for (const r of await lab.routerRoutes(prefix)) {
      const hop = r.nextHop?.split(' ')[0] ?? '';
      const from = lab.nodes.find((n) => n.addr4 === hop || n.addr6 === hop)?.name ?? r.protocol;
      rows.push([prefix, r.primary ? '*' : '', from, hop, String(r.med ?? '-'), (r.asPath ?? []).join(' ') || '(empty)', r.communities.join(' ')]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  say(`\n${title}\n${rows.map((row) => `  ${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd()).join('\n')}\n`);
}

function best(routes: RouteInfo[]): RouteInfo | undefined {
  return routes.find((r) => r.primary);
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

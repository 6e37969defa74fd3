/**
 * The README's lab: router + 2 nodes in network namespaces, real BIRD everywhere. Each node runs a
 * stand-in BGP-terminating service (a TCP listener on :1179), vipcontrol announcing the same IPv4 and
 * IPv6 VIP (MED 100 on n1, 200 on n2) and viphealth checking the service. The story: the router's view;
 * `vipctl set-med` / `reset-med` shifting traffic; a live failover (SIGKILL n1's service, the router's
 * best path moves to n2, then back once the service has passed `rise` checks); a drain; and the proof
 * that no BGP session was reset along the way.
 *
 *   node packages/testlab/dist/src/lab-demo.js [--ebgp] [--no-bfd] [--keep] [--bird VERSION]
 *   node packages/testlab/dist/src/lab-demo.js --nodes N [--ebgp] [--no-bfd] [--keep]
 *   node packages/testlab/dist/src/lab-demo.js --down     (tear down a kept lab, remove leftovers)
 *
 * `--nodes N` (1…16) is the fleet demo in uniform mode: N nodes announce the VIPs with equal MEDs over
 * Redis-backed fleet mode, the router installs every path into its kernel (ECMP, L4 hashing), and the
 * demo shows `vipctl fleet status`, the spread of 4,096 synthetic flows over the nodes, and what a drain
 * of one node does to it.
 *
 * --bird runs every BIRD of the lab as VERSION (2.0.12, 2.19.2 or 3.3.2; default $VIPCONTROL_BIRD, else
 * the system's), built on first use. With --keep the lab stays up until SIGTERM/SIGINT (`bash scripts/lab.sh down` sends it).
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RouteInfo } from '@vipcontrol/bird';
import { execa } from 'execa';
import { birdBinaries, selectedBirdVersion, TESTED_BIRD_VERSIONS } from './bird-version.js';
import { cleanupStale } from './cleanup-stale.js';
import { FLEET_DRAIN_PENALTY, FLEET_MED, FLEET_VIPS, healthySettled, startFleetLab, viaNode } from './fleet-lab.js';
import { flowSpread, type FlowSpread } from './lab-flows.js';
import type { DaemonProcess } from './daemon-process.js';
import { Lab, type LabHost, type SessionStats } from './lab.js';
import { downLab, keepLab, refuseSecondKeptLab } from './lab-demo-keep.js';
import { repoPath } from './repo-path.js';
import { bestPath } from './router-med.js';
import { startTcpService, type TcpService } from './tcp-service.js';
import { waitFor } from './wait-for.js';

const V4 = '198.51.100.10/32';
const V6 = '2001:db8::10/128';
const VIPS = [V4, V6] as const;
const VIPCTL = repoPath('packages/vipctl/bin/vipctl.js');
/** Not 179: the node's BIRD listens there. */
const SERVICE_PORT = 1179;
const CHECK = {
  name: 'bgp-service', type: 'tcp', target: `127.0.0.1:${SERVICE_PORT}`,
  interval: '200ms', fastInterval: '100ms', rise: 2, fall: 2, vips: [...VIPS], penalty: 1000,
};
const MEDS = { n1: 100, n2: 200 } as const;

async function main(argv: string[]): Promise<void> {
  const { values: opts } = parseArgs({
    args: argv,
    options: {
      ebgp: { type: 'boolean', default: false },
      'no-bfd': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      down: { type: 'boolean', default: false },
      bird: { type: 'string', default: selectedBirdVersion() },
      nodes: { type: 'string' },
    },
  });
  if (opts.down) return downLab(say);
  const keep = opts.keep;
  const nodes = opts.nodes === undefined ? undefined : Number(opts.nodes);
  if (nodes !== undefined && !(Number.isInteger(nodes) && nodes >= 1 && nodes <= 16)) throw new Error(`--nodes must be 1…16, got "${opts.nodes}"`);
  if (keep) await refuseSecondKeptLab();

  const removed = await cleanupStale();
  if (removed.namespaces.length > 0) say(`removed leftovers of earlier labs: ${removed.namespaces.join(' ')}`);
  const mode = opts.ebgp ? 'ebgp' : 'ibgp';
  if (nodes !== undefined) return fleetDemo(nodes, mode, !opts['no-bfd'], keep);
  if (!(TESTED_BIRD_VERSIONS as readonly string[]).includes(opts.bird)) say(`note: BIRD ${opts.bird} is not one of the tested versions (${TESTED_BIRD_VERSIONS.join(', ')})`);
  await birdBinaries(opts.bird); // a first run builds it: say so before the wait, not after
  const t0 = performance.now();
  const lab = await Lab.create({ nodes: 2, mode, bfd: !opts['no-bfd'], birdVersion: opts.bird });
  say(`lab ${lab.id}: BIRD ${lab.birdVersion}, router + 2 nodes (${mode === 'ibgp' ? 'iBGP, router is route reflector' : 'eBGP'}, BFD ${lab.bfd ? 'on' : 'off'}), `
    + `all sessions Established in ${ms(t0)} ms`);
  const services = new Map<string, TcpService>();
  try {
    const [n1, n2] = lab.nodes as [LabHost, LabHost];
    for (const node of [n1, n2]) {
      const med = MEDS[node.name as keyof typeof MEDS];
      services.set(node.name, await startTcpService({ netns: node.netns, port: SERVICE_PORT }));
      teeLog(await lab.startVipcontrol(node, {
        vips: VIPS.map((prefix) => ({ prefix, med, communities: [`65000:${med}`] })),
      }), join(node.dir, 'vipcontrol.log'));
      teeLog(await lab.startViphealth(node, { checks: [CHECK] }), join(node.dir, 'viphealth.log'));
      say(`${node.name} (${node.addr4}, ${node.addr6}): service on :${SERVICE_PORT}, vipcontrol announcing ${V4} and ${V6} `
        + `with MED ${med}, viphealth checking the service`);
    }
    say(`viphealth.yaml checks on both nodes: [${flow(CHECK)}]`);
    say(`  → detects a dead service within interval + (fall − 1) × fastInterval = 300 ms, back after rise = 2 passes`);
    // A new check counts as down until `rise` passes (its penalty applies meanwhile): wait for the settled view.
    await Promise.all([n1, n2].map((n) => healthySettled(n, { requireChecks: true })));
    for (const prefix of VIPS) {
      await lab.waitForRouterRoutes(prefix, (r) => r.length === 2 && medFrom(lab, r, n1) === MEDS.n1 && medFrom(lab, r, n2) === MEDS.n2,
        { message: `${prefix}: MED 100 from n1 and 200 from n2` });
    }
    const before = await Promise.all([n1, n2].map((n) => lab.sessionStats(n)));
    await printRouterView(lab, 'Router view: both nodes announce, n1 (MED 100) is best');

    say('Traffic shift by hand:');
    for (const prefix of VIPS) {
      const t = performance.now();
      await vipctl(n1, ['set-med', prefix, '300', '--reason', 'lab demo: shift traffic to n2']);
      await untilBest(lab, prefix, n2);
      say(`  router's best path for ${prefix} moved to n2 ${ms(t)} ms after vipctl started`);
    }
    for (const prefix of VIPS) {
      const t = performance.now();
      await vipctl(n1, ['reset-med', prefix]);
      await untilBest(lab, prefix, n1);
      say(`  router's best path for ${prefix} back on n1 ${ms(t)} ms after vipctl started`);
    }

    say(`\nLive failover: SIGKILL n1's service (pid ${services.get('n1')!.pid})`);
    const tKill = performance.now();
    await services.get('n1')!.kill('SIGKILL');
    const down = await Promise.all(VIPS.map(async (prefix) => {
      const routes = await untilBest(lab, prefix, n2);
      return `${prefix} after ${ms(tKill)} ms (n1's MED now ${medFrom(lab, routes, n1) ?? 'absent'})`;
    }));
    say(`  router's best path moved to n2: ${down.join(', ')}`);
    await printRouterView(lab, 'Router view with n1\'s service down: n1\'s paths carry 100 + 1000 penalty, n2 (MED 200) is best');
    await vipctl(n1, ['status']);
    services.set('n1', await startTcpService({ netns: n1.netns, port: SERVICE_PORT }));
    const tUp = performance.now();
    say(`\nRestart n1's service (pid ${services.get('n1')!.pid})`);
    const up = await Promise.all(VIPS.map(async (prefix) => {
      const routes = await untilBest(lab, prefix, n1);
      return `${prefix} after ${ms(tUp)} ms (MED ${medFrom(lab, routes, n1) ?? 'absent'})`;
    }));
    say(`  rise met, router's best path back on n1: ${up.join(', ')}`);

    say('\nDrain n1 for maintenance (withdraw its VIPs), then undrain:');
    const tDrain = performance.now();
    await vipctl(n1, ['drain', '--withdraw', '--reason', 'lab demo: maintenance'], { quiet: true });
    for (const prefix of VIPS) await lab.waitForRouterRoutes(prefix, (r) => r.length === 1 && from(lab, r[0]) === n2, { message: `${prefix} only via n2` });
    say(`  router has only n2's paths ${ms(tDrain)} ms after vipctl started`);
    const tUndrain = performance.now();
    await vipctl(n1, ['undrain'], { quiet: true });
    for (const prefix of VIPS) await lab.waitForRouterRoutes(prefix, (r) => r.length === 2 && from(lab, bestPath(r)) === n1, { message: `${prefix} back via n1` });
    say(`  both paths back, n1 best, ${ms(tUndrain)} ms after vipctl started`);

    say('');
    for (const [i, node] of [n1, n2].entries()) say(sessionLine(node, before[i]!, await lab.sessionStats(node)));

    if (keep) await keepLab(lab, { vipctl: VIPCTL, services, say });
  } finally {
    if (!keep) {
      await Promise.allSettled([...services.values()].map((s) => s.stop()));
      await lab.destroy();
      say('lab torn down: namespaces, BIRDs, vipcontrols, viphealths, services and temp files removed');
    }
  }
}

/** 4,096 flows: enough for a spread over 16 nodes to be meaningful, one `ip -batch` to ask. */
const FLOWS = 4096;

/** `--nodes N`: the uniform-mode fleet demo (see the header). */
async function fleetDemo(n: number, mode: 'ibgp' | 'ebgp', bfd: boolean, keep: boolean): Promise<void> {
  const t0 = performance.now();
  const fleet = await startFleetLab({ nodes: n, mode, bfd });
  const { lab } = fleet;
  try {
    say(`lab ${lab.id}: router + ${n} nodes (${mode}, BFD ${bfd ? 'on' : 'off'}), redis-server in the router's namespace; on every node a stand-in service on :${SERVICE_PORT}, vipcontrol in fleet mode and viphealth`);
    await fleet.waitAllPaths();
    say(`uniform mode: every node announces ${FLEET_VIPS.join(' and ')} with MED ${FLEET_MED}; all ${n} paths at the router ${ms(t0)} ms after start`);
    const [v4] = FLEET_VIPS;
    const address = v4.split('/')[0]!;
    say(`\nThe router's kernel route (BIRD \`merge paths on\`, fib_multipath_hash_policy=1: L4 hashing):`);
    say(indent((await lab.router.exec('ip', ['route', 'show', address])).stdout.trim()));
    // Redis listens on the router's lab address: vipctl runs in the router's namespace to reach it.
    say(`\nr$ vipctl fleet --redis ${fleet.redis.url} status`);
    const st = await lab.router.exec(process.execPath, [VIPCTL, 'fleet', '--redis', fleet.redis.url, 'status']);
    say(indent(`${st.stdout}${st.stderr}`.trim()));
    const before = await flowSpread(lab.router, lab.nodes, address, FLOWS);
    say(`\n${spreadLine(before, `${FLOWS} flows (ip route get ${address} ipproto tcp sport 20000… dport 179)`)}`);
    const n1 = lab.nodes[0]!;
    if (n > 1) {
      say(`\nDrain ${n1.name} (MED +${FLEET_DRAIN_PENALTY}: it stays a last-resort path, no longer an equal one):`);
      await vipctl(n1, ['drain', '--reason', 'lab demo: maintenance'], { quiet: true });
      await lab.waitForRouterRoutes(v4, (r) => r.some((x) => viaNode(x.nextHop, n1) && x.med === FLEET_MED + FLEET_DRAIN_PENALTY), { message: `${n1.name} drained at the router` });
      await waitFor(async () => ((await flowSpread(lab.router, lab.nodes, address, 64)).perNode.get(n1.name) === 0) || undefined, { message: 'kernel route without n1' });
      say(spreadLine(await flowSpread(lab.router, lab.nodes, address, FLOWS), 'after the drain'));
      await vipctl(n1, ['undrain'], { quiet: true });
      await fleet.waitAllPaths();
      await waitFor(async () => ((await flowSpread(lab.router, lab.nodes, address, FLOWS)).perNode.get(n1.name) ?? 0) > 0 || undefined, { message: 'kernel route with n1 again' });
      say(spreadLine(await flowSpread(lab.router, lab.nodes, address, FLOWS), 'after undrain'));
    }
    if (keep) await keepLab(lab, { vipctl: VIPCTL, services: fleet.services, say });
  } finally {
    if (!keep) {
      await fleet.destroy();
      say('lab torn down: namespaces, BIRDs, redis-server, vipcontrols, viphealths, services and temp files removed');
    }
  }
}

function spreadLine(s: FlowSpread, what: string): string {
  const per = [...s.perNode.entries()].map(([node, k]) => `${node}=${k}`).join(' ');
  return `${what}: ${per}\n  max/min over nodes with flows: ${s.max}/${s.min} = ${s.ratio.toFixed(2)}`;
}

/** Runs vipctl against `node`'s vipcontrol, echoing the command as `n1$ vipctl …` and its output. */
async function vipctl(node: LabHost, args: string[], opts: { quiet?: boolean } = {}): Promise<void> {
  say(`${node.name}$ vipctl ${args.map((a) => (/^[\w./:-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  const res = await execa(process.execPath, [VIPCTL, '--socket', join(node.dir, 'vipcontrol.sock'), ...args], { reject: false });
  const output = `${res.stdout}${res.stderr}`.trim();
  if (output && (!opts.quiet || res.exitCode !== 0)) say(indent(output));
  if (res.exitCode !== 0) throw new Error(`vipctl ${args[0] ?? ''} on ${node.name} exited ${String(res.exitCode)}`);
}

/** Waits (polling every 5 ms, for the timings) until the router's best path for `prefix` comes from `node`. */
function untilBest(lab: Lab, prefix: string, node: LabHost): Promise<RouteInfo[]> {
  return lab.waitForRouterRoutes(prefix, (r) => from(lab, bestPath(r)) === node, { intervalMs: 5, message: `${prefix} best path via ${node.name}` });
}

/** The node a router path was learned from (by its next hop). */
function from(lab: Lab, route: RouteInfo | undefined): LabHost | undefined {
  const hop = route?.nextHop?.split(' ')[0];
  return hop === undefined ? undefined : lab.nodes.find((n) => n.addr4 === hop || n.addr6 === hop);
}

function medFrom(lab: Lab, routes: RouteInfo[], node: LabHost): number | undefined {
  return routes.find((r) => from(lab, r) === node)?.med;
}

async function printRouterView(lab: Lab, title: string): Promise<void> {
  const rows: string[][] = [['prefix', 'best', 'from', 'next hop', 'MED', 'AS path', 'communities']];
  for (const prefix of VIPS) {
    for (const r of await lab.routerRoutes(prefix)) {
      rows.push([prefix, r.primary ? '*' : '', from(lab, r)?.name ?? r.protocol, r.nextHop?.split(' ')[0] ?? '',
        String(r.med ?? '-'), (r.asPath ?? []).join(' ') || '(empty)', r.communities.join(' ')]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  say(`\n${title}\n${rows.map((row) => `  ${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd()).join('\n')}\n`);
}

function sessionLine(node: LabHost, before: SessionStats, after: SessionStats): string {
  const unchanged = after.since === before.since;
  return `Router's sessions with ${node.name}: ${after.state}, Since ${after.since} (${unchanged ? 'unchanged' : `CHANGED from ${before.since}`}), `
    + `import updates +${after.importUpdates - before.importUpdates}, withdraws +${after.importWithdraws - before.importWithdraws}`
    + `${unchanged && after.state === 'Established' ? ': never reset' : ''}`;
}

/** Appends the daemon's log (so far and from now on) to `file`, in the node's dir, for `--keep` users. */
function teeLog(daemon: DaemonProcess, file: string): void {
  const out = createWriteStream(file, { flags: 'a' });
  out.on('error', (err) => say(`lab: cannot write ${file}: ${err.message}`));
  for (const line of daemon.logs()) out.write(`${line}\n`);
  daemon.onLogLine((line) => out.write(`${line}\n`));
  void daemon.exited.then(() => out.end());
}

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

function indent(text: string): string {
  return text.split('\n').map((l) => (l.trim() === '' ? '' : `  ${l}`)).join('\n');
}

/** `{ name: bgp-service, vips: [a, b], … }`: an object in YAML flow style, as it would read in viphealth.yaml. */
function flow(obj: Record<string, unknown>): string {
  return `{ ${Object.entries(obj).map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`).join(', ')} }`;
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

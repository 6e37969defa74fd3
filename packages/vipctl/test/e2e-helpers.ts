/**
 * Shared pieces of the end-to-end suites: the real vipctl binary run as a subprocess, and assertions
 * made from the fabric router's side (its RIB and its session counters are the truth).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, link, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Lab, waitFor, type DaemonProcess, type LabHost, type LabMode } from '@vipcontrol/testlab';

/** A route as the router's BIRD reports it (vipctl does not depend on the BIRD client itself). */
export type RouteInfo = Awaited<ReturnType<Lab['routerRoutes']>>[number];

/** The shipped shim, exactly what operators run (dist/test/ -> bin/). */
export const VIPCTL_BIN = fileURLToPath(new URL('../../bin/vipctl.js', import.meta.url));
/** scripts/bundle.mjs: the packaged build of the three programs. */
const BUNDLE_SCRIPT = fileURLToPath(new URL('../../../../scripts/bundle.mjs', import.meta.url));

export const V4 = '198.51.100.10/32';
export const V6 = '2001:db8::10/128';
/** A second IPv4 VIP, touched only to prove that everything before it has reached the router. */
export const SENTINEL = '198.51.100.11/32';

/** The VIPs every suite configures; communities on both families, large communities on both. */
export const VIPS = [
  { prefix: V4, med: 100, communities: ['65000:100'], largeCommunities: ['65000:1:2'] },
  { prefix: V6, med: 100, communities: ['65000:600'], largeCommunities: ['65000:6:6'] },
  { prefix: SENTINEL, med: 100 },
];

/** A one-node lab with vipcontrol running on the node, configured with VIPS. */
export interface E2eLab {
  readonly lab: Lab;
  readonly node: LabHost;
  readonly daemon: DaemonProcess;
  /** sha256 of the node's bird.conf before vipcontrol ran: the suites prove it is never touched. */
  readonly birdConfHash: string;
}

/**
 * Creates a one-node lab (iBGP unless `mode` says otherwise), starts vipcontrol with VIPS on the node
 * and, unless `waitAnnounced` is false, waits until the router sees V4 and V6 at MED 100. The lab is
 * destroyed if any step fails, since the caller's `after()` never receives it then.
 */
export async function startE2eLab(opts: { mode?: LabMode; waitAnnounced?: boolean } = {}): Promise<E2eLab> {
  const lab = await Lab.create({ nodes: 1, mode: opts.mode ?? 'ibgp' });
  try {
    const node = lab.nodes[0];
    assert.ok(node);
    const birdConfHash = await sha256(node.bird.configPath);
    const daemon = await lab.startVipcontrol(node, { vips: VIPS });
    if (opts.waitAnnounced ?? true) {
      await waitMed(lab, V4, 100);
      await waitMed(lab, V6, 100);
    }
    return { lab, node, daemon, birdConfHash };
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

export interface VipctlResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `vipctl` binary against `socket`; never rejects on a non-zero exit. */
export async function vipctl(socket: string, ...args: string[]): Promise<VipctlResult> {
  const r = await execa('node', [VIPCTL_BIN, '--socket', socket, ...args], {
    reject: false,
    env: { USER: 'e2e' },
    timeout: 60_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Like vipctl() but asserts exit 0 and an empty stderr. */
export async function vipctlOk(socket: string, ...args: string[]): Promise<string> {
  const r = await vipctl(socket, ...args);
  assert.equal(r.exitCode, 0, `vipctl ${args.join(' ')} failed: ${r.stderr}`);
  assert.equal(r.stderr, '');
  return r.stdout;
}

/** Asserts stderr is exactly one non-empty line and returns it. */
export function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected exactly one stderr line, got ${JSON.stringify(stderr)}`);
  return lines[0] ?? '';
}

/**
 * The router's best route for `prefix` (undefined when it has none). The suites run one node per lab,
 * so the router's only path for a VIP is that node's.
 */
export async function routeAt(lab: Lab, prefix: string): Promise<RouteInfo | undefined> {
  const routes = await lab.routerRoutes(prefix);
  return routes.find((r) => r.prefix === prefix && r.primary) ?? routes.find((r) => r.prefix === prefix);
}

/** Waits until the router has `prefix` with MED `med`; returns that route. */
export function waitMed(lab: Lab, prefix: string, med: number, timeoutMs = 10_000): Promise<RouteInfo> {
  let last: RouteInfo | undefined;
  return waitFor(
    async () => {
      last = await routeAt(lab, prefix);
      return last?.med === med ? last : undefined;
    },
    { timeoutMs, intervalMs: 10, message: `router to see ${prefix} with MED ${med} (last: ${last ? `MED ${String(last.med)}` : 'no route'})` },
  );
}

/** Waits until the router no longer has `prefix`. */
export function waitGone(lab: Lab, prefix: string, timeoutMs = 10_000): Promise<true> {
  return waitFor(async () => (await routeAt(lab, prefix)) === undefined, { timeoutMs, intervalMs: 10, message: `router to lose ${prefix}` });
}

/**
 * Runs vipctl as uid/gid 65534 (nobody, no supplementary groups). The socket is reached through a
 * hard link in a world-searchable directory, because the lab's own directories are 0700: the kernel
 * then refuses the connect on the socket's own mode, which is the case operators hit. vipctl itself
 * runs from its packaged bundle in that directory too: the checkout's parents may be 0700 (a clone
 * under `mktemp -d` or a home directory), where nobody could not read the tree build.
 */
export async function vipctlAsNobody(socket: string, ...args: string[]): Promise<VipctlResult & { socket: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vipctl-perm-'));
  try {
    await chmod(dir, 0o755);
    await execa(process.execPath, [BUNDLE_SCRIPT, dir], { timeout: 120_000 });
    const linked = join(dir, 'vipcontrol.sock');
    await link(socket, linked);
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(dir, 'vipctl.mjs'), '--socket', linked, ...args], {
      cwd: dir,
      reject: false,
      timeout: 60_000,
    });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), socket: linked };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** sha256 of a file, to prove it was never touched. */
export async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** `vipctl status --json`, parsed. */
export async function statusJson(socket: string): Promise<{ bird: { connected: boolean; version?: string }; vips: { prefix: string; med: number; announced: boolean; inSync: boolean; terms: { kind: string }[]; override?: { med: number; reason?: string; expiresAt?: number } }[] } & Record<string, unknown>> {
  return JSON.parse(await vipctlOk(socket, '--json', 'status', '--exit-zero')) as never;
}

/** Waits until the daemon reports BIRD connected and every VIP in sync. */
export function waitInSync(socket: string, timeoutMs = 15_000): Promise<true> {
  return waitFor(
    async () => {
      const s = await statusJson(socket);
      return s.bird.connected && s.vips.every((v) => v.inSync);
    },
    { timeoutMs, intervalMs: 50, message: 'vipcontrol to report BIRD connected and every VIP in sync' },
  );
}

/** Runs `bird -p -c FILE` (parse only): true when BIRD accepts the file. */
export async function birdParses(configPath: string): Promise<{ ok: boolean; output: string }> {
  const r = await execa('bird', ['-p', '-c', configPath], { reject: false });
  return { ok: r.exitCode === 0, output: `${String(r.stdout)}${String(r.stderr)}` };
}

/** The lab's generated vipcontrol.yaml (JSON, which is YAML), loosely typed for edits. */
export interface LabConfig {
  vips: { prefix: string; med: number; communities?: string[]; largeCommunities?: string[] }[];
  bird: Record<string, unknown>;
  [key: string]: unknown;
}

/** Writes `original` with `edit` applied to the config file; returns the new text. */
export async function editConfig(path: string, original: string, edit: (cfg: LabConfig) => void): Promise<string> {
  const cfg = JSON.parse(original) as LabConfig;
  edit(cfg);
  const text = `${JSON.stringify(cfg, null, 2)}\n`;
  await writeFile(path, text);
  return text;
}

/** 1-based line of the first line containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${text}`);
  return i + 1;
}

/**
 * How many times the node's BIRD has reconfigured: its `<INFO> Reconfiguring` log lines (one per
 * configure, undo or timeout undo). Not `show status`'s "Last reconfiguration": BIRD prints that as
 * real time minus monotonic time elapsed, so it can move by a millisecond with no configure at all.
 */
export async function reconfigurations(node: LabHost): Promise<number> {
  const log = await readFile(join(node.dir, 'bird.log'), 'utf8');
  return log.match(/<INFO> Reconfiguring$/gm)?.length ?? 0;
}

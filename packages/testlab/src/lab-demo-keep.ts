/**
 * The lab demo's `--keep` and `--down`: a kept lab is owned by the demo process (it tears the lab down
 * on SIGTERM/SIGINT through the cleanup registry); `<repo>/.lab/lab.json` says which process that is.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanupStale } from './cleanup-stale.js';
import type { Lab } from './lab.js';
import { repoPath } from './repo-path.js';
import type { TcpService } from './tcp-service.js';
import { waitFor } from './wait-for.js';

const STATE_DIR = repoPath('.lab');
const STATE_FILE = join(STATE_DIR, 'lab.json');

interface KeptLab { pid: number; id: string; dir: string }

/** Throws when a kept lab's process is still running: a second one would orphan it (lab.json holds one pid). */
export async function refuseSecondKeptLab(): Promise<void> {
  const kept = await readKept();
  if (kept && isLabProcess(kept.pid)) {
    throw new Error(`lab ${kept.id} kept earlier still runs (pid ${kept.pid}): tear it down first with \`bash scripts/lab.sh down\``);
  }
}

/** Writes .lab/lab.json, prints how to reach everything, then waits for SIGTERM/SIGINT forever. */
export async function keepLab(lab: Lab, opts: { vipctl: string; services: ReadonlyMap<string, TcpService>; say: (text: string) => void }): Promise<never> {
  await mkdir(STATE_DIR, { recursive: true });
  await writeFile(STATE_FILE, JSON.stringify({ pid: process.pid, id: lab.id, dir: lab.dir } satisfies KeptLab, null, 2));
  process.once('exit', () => rmSync(STATE_FILE, { force: true }));
  const n1 = lab.nodes[0];
  const service = n1 && opts.services.get(n1.name);
  const lines = ['', `Lab ${lab.id} keeps running (pid ${process.pid}), files in ${lab.dir}. Reach it with:`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(12)} ${text}`);
  for (const host of [lab.router, ...lab.nodes]) {
    row(`${host.name === 'r' ? 'router' : host.name} BIRD:`, `${host.bird.binaries.birdc} -s ${host.bird.socketPath} show route all   # netns ${host.netns}`);
  }
  for (const node of lab.nodes) {
    row(`${node.name} vipctl:`, `node ${opts.vipctl} --socket ${join(node.dir, 'vipcontrol.sock')} status`);
  }
  row('logs:', `${lab.dir}/{r,n1,n2}/bird.log, {n1,n2}/vipcontrol.log, {n1,n2}/viphealth.log (pino JSON)`);
  row('shell:', `ip netns exec ${n1?.netns ?? ''} bash`);
  if (n1 && service) {
    row('failover:', `kill -9 ${service.pid}   # n1's stand-in service on :${service.port}; back with:`);
    row('', `ip netns exec ${n1.netns} python3 -m http.server --bind :: ${service.port} >/dev/null 2>&1 &`);
  }
  lines.push('Tear down (also kills the stand-in services): bash scripts/lab.sh down', 'LAB READY');
  opts.say(lines.join('\n'));
  // The cleanup registry handles SIGTERM/SIGINT: it stops every process, destroys the lab and exits.
  return new Promise<never>(() => setInterval(() => undefined, 1 << 30));
}

/** Stops a kept lab (SIGTERM to its process), then removes any leftover namespaces (and what runs in them) and dirs. */
export async function downLab(say: (text: string) => void): Promise<void> {
  const kept = await readKept();
  if (kept) {
    if (isLabProcess(kept.pid)) {
      process.kill(kept.pid, 'SIGTERM');
      await waitFor(() => !isLabProcess(kept.pid), { timeoutMs: 15_000, message: `lab process ${kept.pid} to exit` });
      say(`lab ${kept.id} (pid ${kept.pid}) stopped`);
    } else {
      say(`lab ${kept.id}: process ${kept.pid} was already gone`);
    }
    await rm(STATE_FILE, { force: true });
  }
  const removed = await cleanupStale();
  say(`removed ${removed.namespaces.length} leftover namespace(s), ${removed.dirs.length} dir(s)`);
}

async function readKept(): Promise<KeptLab | undefined> {
  try {
    return JSON.parse(await readFile(STATE_FILE, 'utf8')) as KeptLab;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${STATE_FILE} (remove it if the lab is gone)`, { cause: err });
  }
}

/** True while `pid` runs the lab demo; a recycled pid (the demo was SIGKILLed long ago) is not signalled. */
function isLabProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('lab-demo');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

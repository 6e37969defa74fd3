import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite } from './atomic-write.js';
import type { HostPlan } from './lab-topology.js';
import { spawnReady, type ManagedProcess } from './managed-process.js';
import { run, type ExecResult } from './netns.js';

/** A process ExaBGP runs and talks to over its text API (e.g. `exabgp --run healthcheck …`). */
export interface ExabgpProcessSpec {
  /** ExaBGP process name: [a-z0-9-]. */
  name: string;
  /** argv; the first element is resolved through PATH inside the namespace. */
  run: string[];
}

export interface ExabgpStartOptions {
  /** API processes attached to both neighbours (IPv4 and IPv6 sessions). */
  processes?: ExabgpProcessSpec[];
}

/**
 * A lab host running ExaBGP (4.2) instead of BIRD: one IPv4 and one IPv6 session with the router, like
 * a node. It is the baseline the viphealth benchmark compares with (ExaBGP + its healthcheck helper).
 * `start()` with other processes restarts ExaBGP with a new configuration.
 */
export class ExabgpHost {
  readonly name: string;
  readonly netns: string;
  readonly dir: string;
  readonly addr4: string;
  readonly addr6: string;
  readonly asn: number;
  readonly configPath: string;
  readonly #router: { asn: number; addr4: string; addr6: string };
  #proc: ManagedProcess | undefined;

  constructor(plan: HostPlan, dir: string, router: { asn: number; addr4: string; addr6: string }) {
    this.name = plan.name;
    this.netns = plan.netns;
    this.dir = dir;
    this.addr4 = plan.addr4;
    this.addr6 = plan.addr6;
    this.asn = plan.asn;
    this.configPath = join(dir, 'exabgp.conf');
    this.#router = router;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** ExaBGP's log lines (stdout and stderr). */
  logs(): string[] {
    return [...(this.#proc?.stdoutLines() ?? []), ...(this.#proc?.stderrLines() ?? [])];
  }

  exec(cmd: string, args: string[]): Promise<ExecResult> {
    return run(cmd, args, { netns: this.netns });
  }

  /** Writes exabgp.conf and (re)starts ExaBGP; resolves once it logged its start-up. */
  async start(opts: ExabgpStartOptions = {}): Promise<void> {
    await this.stop();
    await atomicWrite(this.configPath, renderExabgpConfig(this, this.#router, opts.processes ?? []));
    // ExaBGP's only readiness signal is a log line; the router's session state is the real check
    // (Lab.waitEstablished), this only catches a configuration ExaBGP refuses (it exits).
    this.#proc = await spawnReady('exabgp', [this.configPath], {
      netns: this.netns,
      cwd: this.dir,
      env: {
        // Foreground, logs on stdout, no named pipes for exabgpcli (they would live in /run, shared).
        'exabgp.daemon.daemonize': 'false',
        'exabgp.log.destination': 'stdout',
        'exabgp.api.cli': 'false',
        'exabgp.daemon.user': 'root',
        'exabgp.daemon.drop': 'false',
        'exabgp.tcp.bind': '',
      },
      what: `exabgp on ${this.name}`,
      ready: (proc) => proc.stdoutLines().some((l) => l.includes('loaded new configuration successfully')),
      timeoutMs: 10_000,
    });
  }

  async stop(): Promise<void> {
    await this.#proc?.stop();
    this.#proc = undefined;
  }
}

/** ExaBGP 4.2 configuration: two neighbours (router's IPv4 and IPv6 address), the processes on both. */
export function renderExabgpConfig(
  host: { addr4: string; addr6: string; asn: number },
  router: { asn: number; addr4: string; addr6: string },
  processes: readonly ExabgpProcessSpec[],
): string {
  const lines: string[] = [];
  for (const p of processes) {
    if (!/^[a-z0-9-]+$/.test(p.name)) throw new RangeError(`exabgp process name must be [a-z0-9-]: "${p.name}"`);
    lines.push(`process ${p.name} {`, `  run ${p.run.map(shellWord).join(' ')};`, '  encoder text;', '}', '');
  }
  const api = processes.length > 0 ? [`  api { processes [ ${processes.map((p) => p.name).join(' ')} ]; }`] : [];
  const neighbor = (peer: string, local: string, family: string) => [
    `neighbor ${peer} {`,
    `  router-id ${host.addr4};`,
    `  local-address ${local};`,
    `  local-as ${host.asn};`,
    `  peer-as ${router.asn};`,
    `  family { ${family}; }`,
    ...api,
    '}',
    '',
  ];
  lines.push(...neighbor(router.addr4, host.addr4, 'ipv4 unicast'), ...neighbor(router.addr6, host.addr6, 'ipv6 unicast'));
  return lines.join('\n');
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * argv for ExaBGP's healthcheck helper with `args`. `exabgp --run healthcheck ARGS` is what the docs
 * say, but ExaBGP 4.2's own option parser rejects the helper's options before handing over, so the
 * helper module is run directly with the Python interpreter ExaBGP is installed for (its shebang).
 */
export async function healthcheckArgv(args: readonly string[]): Promise<string[]> {
  const { stdout } = await run('sh', ['-c', 'command -v exabgp']);
  const script = stdout.trim();
  if (script === '') throw new Error('exabgp is not installed (not found in PATH)');
  const firstLine = (await readFile(script, 'utf8')).split('\n', 1)[0] ?? '';
  const python = firstLine.startsWith('#!') ? firstLine.slice(2).trim().split(/\s+/) : ['python3'];
  return [...python, '-m', 'exabgp.application.healthcheck', ...args];
}

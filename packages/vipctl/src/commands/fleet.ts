/**
 * `vipctl fleet …`: the fleet over Redis (issue 4). Redis is found from `--redis URL`, else
 * VIPCTL_REDIS_URL, else `redis:` of the local vipcontrol config (DESIGN.md). Remote commands are
 * validated here with core's body parsers (and again by the node), stored as the node's desired
 * override and acknowledged by the node once applied in BIRD — or they time out, clearly, exit 1.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Command } from 'commander';
import {
  VIPCONTROL_DEFAULTS, parseDuration, parseVipcontrolConfig, parseNodeName, parseRedisUrl, NODE_NAME_RULE, RedisUrlError, ValidationError,
  compareNodeNames, type AuditEntry, type CommandAck, type FleetCell, type FleetMatrix, type FleetNodeRow, type FleetOp, type RedisConfig,
} from '@vipcontrol/core';
import { FleetStore, FleetTimeoutError, FleetUnavailableError, FleetConfigError, redactUrl } from '@vipcontrol/fleet';
import { InvalidArgumentError } from 'commander';
import { actorName, type CliContext } from '../context.js';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { drainBody, durationArg, medArg, prefixArg, reasonBody, setMedBody } from '../args.js';
import { formatRelative, formatTable } from '../status-format.js';

interface FleetOptions {
  redis?: string;
  redisPasswordFile?: string;
  config?: string;
  keyPrefix?: string;
  timeout: string;
}

export function register(program: Command, ctx: CliContext): void {
  const fleet = program
    .command('fleet')
    .description('the whole fleet over Redis: status matrix, remote operations, audit history')
    .option('--redis <url>', 'Redis URL (else VIPCTL_REDIS_URL, else redis.url of the local config)')
    .option('--redis-password-file <file>', 'read the Redis password from FILE (first line), not from the URL: keeps it out of `ps` (else VIPCTL_REDIS_PASSWORD)')
    .option('--config <file>', 'vipcontrol config to take redis: from', VIPCONTROL_DEFAULTS.configFile)
    .option('--key-prefix <prefix>', 'fleet key prefix (default: the config\'s redis.keyPrefix, or "vipcontrol:")')
    .option('--timeout <duration>', 'how long to wait for the node\'s acknowledgement', '10s');
  const opts = () => fleet.opts<FleetOptions>();

  fleet
    .command('status')
    .description('per VIP: how many nodes announce at which MED, outliers named; nodes that need a look (--wide: everything)')
    .option('--wide', 'the full node × VIP matrix and every node row')
    .action(async (o: { wide?: boolean }) => {
      await withStore(ctx, opts(), async (store, cfg) => {
        const m = await store.readMatrix(cfg.ttlMs);
        ctx.print(ctx.options.json ? JSON.stringify(m, null, 2) : formatMatrix(m, { wide: o.wide === true }));
        for (const e of m.errors) ctx.io.stderr(`vipctl: warning: rejected fleet data: ${e}\n`);
      });
    });

  fleet
    .command('set-med')
    .description('set a MED override on NODE (applied when NODE reads it; latest wins)')
    .argument('<node>', 'node name', nodeArg)
    .argument('<prefix>', 'VIP prefix', prefixArg)
    .argument('<med>', 'MED 0..4294967295', medArg)
    .option('--ttl <duration>', 'expire the override after this long (counted from now)', durationArg)
    .option('--reason <text>', 'why (audit trail)')
    .action(async (node: string, prefix: string, med: number, o: { ttl?: string; reason?: string }) => {
      await remote(ctx, opts(), { node, op: 'set-med', prefix, body: setMedBody(med, o) });
    });

  fleet
    .command('reset-med')
    .description('remove the MED override of PREFIX on NODE')
    .argument('<node>', 'node name', nodeArg)
    .argument('<prefix>', 'VIP prefix', prefixArg)
    .action(async (node: string, prefix: string) => {
      await remote(ctx, opts(), { node, op: 'reset-med', prefix, body: {} });
    });

  fleet
    .command('drain')
    .description('drain NODE: drain MED penalty on every VIP, or withdraw them all')
    .argument('<node>', 'node name', nodeArg)
    .option('--withdraw', 'withdraw every VIP instead of raising its MED')
    .option('--reason <text>', 'why (audit trail)')
    .option('--force', 'withdraw even if the fleet would drop below a VIP\'s minAnnouncers')
    .action(async (node: string, o: { withdraw?: boolean; reason?: string; force?: boolean }) => {
      await remote(ctx, opts(), { node, op: 'drain', body: drainBody(o) });
    });

  fleet
    .command('undrain')
    .description('end the drain of NODE')
    .argument('<node>', 'node name', nodeArg)
    .action(async (node: string) => {
      await remote(ctx, opts(), { node, op: 'undrain', body: reasonBody({}) });
    });

  fleet
    .command('history')
    .description('the audit trail (every change, local or remote), oldest first')
    .argument('[node]', 'only this node', nodeArg)
    .argument('[prefix]', 'only this VIP', prefixArg)
    .option('-n, --count <n>', 'how many entries', countArg, 50)
    .action(async (node: string | undefined, prefix: string | undefined, o: { count: number }) => {
      await withStore(ctx, opts(), async (store) => {
        const { entries, invalid } = await store.readAudit({ count: o.count, ...(node ? { node } : {}), ...(prefix ? { prefix } : {}) });
        ctx.print(ctx.options.json ? JSON.stringify(entries, null, 2) : entries.map(formatAudit).join('\n') || '(no entries)');
        if (invalid > 0) ctx.io.stderr(`vipctl: warning: skipped ${invalid} malformed audit entries\n`);
      });
    });
}

/** Sends one remote command and waits for the node's ack; exit 1 on rejection, failure or timeout. */
async function remote(ctx: CliContext, o: FleetOptions, cmd: { node: string; op: FleetOp; prefix?: string; body: Record<string, unknown> }): Promise<void> {
  const timeoutMs = durationOption(o.timeout);
  await withStore(ctx, o, async (store) => {
    const info = await store.nodeInfo(cmd.node);
    if (!info.known) throw new CliError(`node ${cmd.node} is not registered in this fleet (see vipctl fleet status)`, ExitCode.failed);
    const entry = await store.sendCommand({ ...cmd, by: actorName(ctx.io.env) });
    let ack: CommandAck;
    try {
      ack = await store.waitAck(entry, timeoutMs);
    } catch (err) {
      if (err instanceof FleetTimeoutError) {
        const away = info.record === undefined ? ' (its registration has expired: it is down or cut off from Redis)' : '';
        throw new CliError(`timeout: ${err.message}${away}`, ExitCode.failed, { cause: err });
      }
      throw err;
    }
    if (ctx.options.json) ctx.print(JSON.stringify(ack, null, 2));
    else ctx.print(formatAck(ack));
    if (!ack.ok) throw new CliError('', ExitCode.failed); // printed above
  });
}

/** Opens the store for the resolved Redis, runs `fn`, closes; maps fleet errors to exit codes. */
async function withStore(ctx: CliContext, o: FleetOptions, fn: (store: FleetStore, cfg: RedisConfig) => Promise<void>): Promise<void> {
  const cfg = await resolveRedis(o, ctx.io.env);
  let store: FleetStore;
  try {
    store = await FleetStore.open(cfg);
  } catch (err) {
    if (err instanceof FleetUnavailableError) throw new CliError(`${err.message} (${describe(cfg)})`, ExitCode.unreachable, { cause: err });
    if (err instanceof FleetConfigError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
  try {
    await fn(store, cfg);
  } finally {
    await store.close();
  }
}

/**
 * `--redis`, else VIPCTL_REDIS_URL, else the local config's `redis:` section. The password may come
 * from `--redis-password-file` (or VIPCTL_REDIS_PASSWORD) instead of the URL, so that it never has to
 * be on a command line. Exported for tests.
 */
export async function resolveRedis(o: Pick<FleetOptions, 'redis' | 'redisPasswordFile' | 'config' | 'keyPrefix'>, env: Readonly<Record<string, string | undefined>>): Promise<RedisConfig> {
  const cfg = await redisSection(o, env);
  if (o.redisPasswordFile !== undefined) {
    if (!isAbsolute(o.redisPasswordFile)) throw new UsageError(`--redis-password-file: must be an absolute path, got ${JSON.stringify(o.redisPasswordFile)}`);
    return { ...cfg, passwordFile: o.redisPasswordFile };
  }
  const password = env['VIPCTL_REDIS_PASSWORD'];
  if (password && cfg.url !== undefined) {
    const u = new URL(cfg.url); // already validated by redisSection
    u.password = encodeURIComponent(password);
    return { ...cfg, url: u.href };
  }
  return cfg;
}

async function redisSection(o: Pick<FleetOptions, 'redis' | 'config' | 'keyPrefix'>, env: Readonly<Record<string, string | undefined>>): Promise<RedisConfig> {
  const url = o.redis ?? (env['VIPCTL_REDIS_URL'] || undefined);
  const defaults = { keyPrefix: VIPCONTROL_DEFAULTS.redisKeyPrefix, heartbeatMs: parseDuration(VIPCONTROL_DEFAULTS.redisHeartbeat), ttlMs: parseDuration(VIPCONTROL_DEFAULTS.redisTtl) };
  if (url !== undefined) {
    try {
      parseRedisUrl(url); // the config's rule for redis.url, refused here as a usage error
    } catch (cause) {
      if (!(cause instanceof RedisUrlError)) throw cause;
      throw new UsageError(`--redis: ${cause.message}`, { cause });
    }
    return { ...defaults, url, ...(o.keyPrefix ? { keyPrefix: o.keyPrefix } : {}) };
  }
  const file = o.config ?? VIPCONTROL_DEFAULTS.configFile;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new UsageError(`no Redis given: pass --redis URL or set VIPCTL_REDIS_URL (cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
  }
  let redis: RedisConfig | undefined;
  try {
    redis = parseVipcontrolConfig(text, file, { hostname: 'vipctl' }).redis;
  } catch (cause) {
    throw new UsageError(`cannot take redis: from ${file}: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  if (!redis) throw new UsageError(`no Redis given: pass --redis URL, set VIPCTL_REDIS_URL, or configure redis: in ${file}`);
  return { ...redis, ...(o.keyPrefix ? { keyPrefix: o.keyPrefix } : {}) };
}

function describe(cfg: RedisConfig): string {
  return cfg.sentinels?.length ? `sentinel ${cfg.name}` : redactUrl(cfg.url ?? '');
}

function nodeArg(text: string): string {
  try {
    return parseNodeName(text);
  } catch (cause) {
    if (!(cause instanceof ValidationError)) throw cause;
    throw new InvalidArgumentError(`must be a node name: ${NODE_NAME_RULE.replace(/^must be /, '')}`);
  }
}

function countArg(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('must be a number from 1 to 99999');
  return Number(text);
}

function durationOption(text: string): number {
  try {
    return parseDuration(text);
  } catch (cause) {
    throw new UsageError(`--timeout: ${(cause as Error).message}`, { cause });
  }
}

// ---------------------------------------------------------------------------------------------
// Human output.

function formatAck(ack: CommandAck): string {
  const vips = ack.vips.map((v) => `  ${v.prefix}  ${v.announced ? `announced med ${v.med}` : 'withdrawn'}`);
  const head = ack.ok ? `${ack.node}: applied` : `${ack.node}: ${ack.outcome}${ack.status ? ` (${ack.status})` : ''}: ${ack.error ?? ''}`;
  return [head, ...vips].join('\n');
}

/** The node's maintenance windows, e.g. "ACTIVE withdraw, ends in 9s" or "next in 3h (skipped)". */
function formatNodeMaintenance(mt: FleetNodeRow['maintenance'], now: number): string {
  const parts = [
    ...(mt?.activeUntil !== undefined ? [`ACTIVE ${mt.activeAction ?? ''}, ends ${formatRelative(mt.activeUntil, now)}`.replace('  ', ' ')] : []),
    ...(mt?.next !== undefined ? [`next ${formatRelative(mt.next, now)}${mt.nextSkipped ? ' (skipped)' : ''}`] : []),
  ];
  return parts.join('; ') || '-';
}

/** Up to this many nodes every row is shown; above it (a fleet of hundreds) only the nodes that need a look. */
const ALL_ROWS_UP_TO = 16;
/** Names listed for the majority group of a VIP; more become a count. */
const NAMES_SHOWN = 8;

/**
 * `vipctl fleet status`. Default: the nodes (all of them up to 16, else a summary and the nodes that
 * need a look: not ok, BIRD down, drained, in a window, another version), and per VIP how many nodes
 * announce at which MED — the largest group by count, the others (outliers) by name with why.
 * `wide`: every node row and the full node × VIP matrix.
 */
export function formatMatrix(m: FleetMatrix, opts: { wide?: boolean } = {}): string {
  const allRows = opts.wide === true || m.nodes.length <= ALL_ROWS_UP_TO;
  const versions = countBy(m.nodes.filter((n) => n.version !== undefined), (n) => n.version!);
  const usual = [...versions.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const notable = (n: FleetNodeRow) => n.state !== 'ok' || n.birdConnected === false || n.drain !== undefined || n.maintenance?.activeUntil !== undefined || (n.version !== undefined && n.version !== usual);
  const rows = allRows ? m.nodes : m.nodes.filter(notable);
  const states = [...countBy(m.nodes, (n) => n.state).entries()].map(([s, k]) => `${k} ${s}`).join(', ');
  const summary = allRows ? [] : [`${m.nodes.length} nodes: ${states}; ${rows.length ? `${rows.length} that need a look` : 'all ok'} (--wide: every node)`];
  const nodes = [...summary, ...(rows.length === 0 ? [] : formatTable(['NODE', 'STATE', 'HEARTBEAT', 'BIRD', 'DRAIN', 'MAINTENANCE', 'GUARDED', 'VERSION'], rows.map((n) => [
    n.node,
    n.state === 'invalid' ? `invalid: ${n.error ?? ''}` : n.state,
    n.heartbeatAt === undefined ? '-' : formatRelative(n.heartbeatAt, m.now),
    n.birdConnected === undefined ? '-' : n.birdConnected ? 'up' : 'DOWN',
    n.drain ? `${n.drain.withdraw ? 'withdraw' : 'penalty'} (${n.drain.source})` : '-',
    formatNodeMaintenance(n.maintenance, m.now),
    n.guarded.length ? n.guarded.join(',') : '-',
    n.version ?? '-',
  ])))].join('\n');
  const vips = m.vips.map((v) => {
    const best = v.best.length ? `best ${v.best.length > 3 ? `${v.best.length} nodes` : names(v.best)} (med ${v.cells[v.best[0]!]!.med})` : 'NO FRESH ANNOUNCER';
    const min = v.minAnnouncers ? ` (minAnnouncers ${v.minAnnouncers}${v.belowMin ? ', BELOW' : ''})` : '';
    const head = `${v.prefix}: ${v.announcers} announcing${min}, ${best}`;
    const sorted = Object.entries(v.cells).sort(([a], [b]) => compareNodeNames(a, b));
    if (opts.wide === true) {
      const cells = sorted.map(([node, c]) => [
        `  ${node}${v.best.includes(node) ? ' *' : ''}`, c.announced ? String(c.med) : 'withdrawn', c.stale ? `${c.why} (stale)` : c.why,
      ]);
      return `${head}\n${formatTable(cells[0]!, cells.slice(1)).join('\n')}`;
    }
    // Groups: fresh announcers by MED, then withdrawn, then stale. The largest group is "the fleet";
    // every other group is an outlier and names its nodes with why.
    const groups = new Map<string, { rank: number; med: number; members: [string, FleetCell][] }>();
    for (const [node, c] of sorted) {
      const key = c.stale ? 'stale' : c.announced ? `MED ${c.med}` : 'withdrawn';
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { rank: c.stale ? 2 : c.announced ? 0 : 1, med: c.stale || !c.announced ? 0 : c.med, members: [] }));
      group.members.push([node, c]);
    }
    const ordered = [...groups.entries()].sort(([, x], [, y]) => x.rank - y.rank || x.med - y.med || y.members.length - x.members.length);
    const largest = Math.max(...ordered.map(([, g]) => g.members.length));
    let majorityShown = false;
    const lines = ordered.map(([key, { members: g }]) => {
      const majority = !majorityShown && g.length === largest && g.length > 1;
      if (majority) majorityShown = true;
      const who = majority
        ? (g.length <= NAMES_SHOWN ? names(g.map(([n]) => n)) : `${names(g.slice(0, 3).map(([n]) => n))}, … (${g.length - 3} more)`)
        : g.map(([n, c]) => `${n} (${c.why})`).join('; ');
      return [`  ${key}`, String(g.length), majority ? who : `outlier: ${who}`];
    });
    return `${head}\n${formatTable(['  GROUP', 'NODES', 'WHO'], lines).join('\n')}`;
  });
  return [nodes, ...vips].join('\n\n');
}

function names(list: readonly string[]): string {
  return list.join(', ');
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

function formatAudit(e: AuditEntry): string {
  const who = `${e.actor.source}${e.actor.user ? `:${e.actor.user}` : ''}`;
  return [new Date(e.at).toISOString(), e.node, who, e.action, e.prefix ?? '-', e.ok ? 'ok' : 'FAILED', e.reason ? `reason="${e.reason}"` : '', e.detail ?? '', e.command ? `[cmd ${e.command}]` : '']
    .filter((s) => s !== '').join('  ');
}

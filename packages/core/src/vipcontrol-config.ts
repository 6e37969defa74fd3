/**
 * vipcontrol.yaml: parse, validate, default and freeze. One schema per section, then cross-field
 * checks; every error names file, line and field path (see config-error.ts).
 */
import { createRequire } from 'node:module';
import { z } from 'zod';
import { parseYamlWithSchema } from './config-error.js';
import { VIPCONTROL_DEFAULTS } from './defaults.js';
import { deepFreeze } from './deep-freeze.js';
import {
  absolutePathSchema,
  birdNameSchema,
  communitySchema,
  durationSchema,
  interfaceNameSchema,
  largeCommunitySchema,
  metricsSchema,
  nodeNameSchema,
  positiveDurationSchema,
  prefixSchema,
  u32Schema,
} from './schemas.js';
import type { LeasePolicy, MaintenanceWindowConfig, RedisConfig, VipConfig, VipcontrolConfig } from './types.js';
import { FLEET_LIMIT_DEFAULTS } from './fleet-model.js';
import { parseRedisUrl, RedisUrlError, type RedisUrl } from './redis-url.js';

const D = VIPCONTROL_DEFAULTS;


const duration = (def: string) => positiveDurationSchema.prefault(def);

const birdSchema = z.strictObject({
  socket: absolutePathSchema.default(D.birdSocket),
  includeFile: absolutePathSchema.default(D.includeFile),
  // BIRD takes whole seconds here.
  configureTimeout: duration(D.configureTimeout).refine((ms) => ms % 1000 === 0 && ms <= 3_600_000, {
    message: 'must be whole seconds, at most 1h',
  }),
  commandTimeout: duration(D.commandTimeout),
  protocol4: birdNameSchema.default(D.protocol4),
  protocol6: birdNameSchema.default(D.protocol6),
  /** BGP protocols towards the fabric, whose exports status verifies; absent: every BGP protocol in BIRD. */
  fabricProtocols: z.array(birdNameSchema).max(64).optional(),
  operatorConfigureHold: duration(D.operatorConfigureHold).refine((ms) => ms <= 600_000, { message: 'must be at most 10m' }),
  // 0 turns the watch off: status then follows others' changes at the periodic verify (30 s).
  watchInterval: durationSchema.refine((ms) => ms === 0 || (ms >= 200 && ms <= 60_000), { message: 'must be 0 (off) or 200ms to 1m' }).prefault(D.birdWatchInterval),
});

const apiSchema = z.strictObject({
  socket: absolutePathSchema.default(D.apiSocket),
  // A string on purpose: YAML 1.2 reads an unquoted 0660 as decimal 660, a silent wrong mode.
  socketMode: z
    .string()
    .regex(/^0?[0-7]{3}$/, { message: 'must be an octal string like "0660"' })
    .default(D.apiSocketMode),
  socketGroup: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, { message: 'must be a group name' })
    .optional(),
});

const loopbackSchema = z.strictObject({
  interface: interfaceNameSchema.default(D.loopbackInterface),
  manage: z.boolean().default(true),
  removeOnWithdraw: z.boolean().default(false),
});

const leasePolicySchema = z.union([
  z.enum(['hold', 'withdraw']),
  z.strictObject({ penalty: u32Schema }),
]);

const healthSchema = z.strictObject({
  lease: duration(D.healthLease),
  leasePolicy: leasePolicySchema.default('hold'),
  // 0s: a node without viphealth announces at once on its first start.
  firstReportWait: durationSchema.refine((ms) => ms <= 600_000, { message: 'must be at most 10m' }).prefault(D.healthFirstReportWait),
});

const vipSchema = z.strictObject({
  prefix: prefixSchema,
  med: u32Schema,
  communities: z.array(communitySchema).max(64).default([]),
  largeCommunities: z.array(largeCommunitySchema).max(64).default([]),
  localPref: u32Schema.optional(),
  minAnnouncers: z.number().int().min(0).max(1000).default(0),
  gracefulShutdown: z.boolean().optional(),
});

const maintenanceSchema = z.strictObject({
  // node-cron's own validator, the one the daemon's scheduler applies: `config validate` and the
  // daemon can never disagree about a window (a rejected expression would never fire).
  cron: z.string().max(256).refine(isCronExpression, {
    message: 'must be a cron expression node-cron accepts (5 or 6 fields: [second] minute hour day-of-month month day-of-week)',
  }),
  duration: positiveDurationSchema,
  action: z.enum(['drain', 'withdraw']).default('drain'),
  timezone: z
    .string()
    .refine(isTimeZone, { message: 'must be an IANA time zone such as "Europe/Berlin" or "UTC"' })
    .optional(),
});

const hostSchema = z.string().regex(/^[A-Za-z0-9.:_-]{1,253}$/, { message: 'must be a host name or IP address' });

const redisSchema = z
  .strictObject({
    // Parsed here by the same function the fleet adapter connects with; kept as text in RedisConfig.
    url: z.string().max(2048).transform(redisUrlField).optional(),
    sentinels: z
      .array(z.strictObject({ host: hostSchema, port: z.number().int().min(1).max(65535) }))
      .min(1)
      .optional(),
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be a sentinel master name' }).optional(),
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_:.-]{1,64}$/, { message: 'must be 1-64 of A-Z a-z 0-9 _ : . -' })
      .default(D.redisKeyPrefix),
    heartbeat: duration(D.redisHeartbeat),
    ttl: duration(D.redisTtl),
    // rediss:// only. `insecure` skips certificate verification (a test Redis); never the default.
    // `servername`: the name the server's certificate must carry (default: the URL's host); with
    // Sentinel it is pinned, whatever address Sentinel names.
    tls: z.strictObject({ ca: absolutePathSchema.optional(), insecure: z.boolean().default(false), servername: hostSchema.optional() }).optional(),
    // The password from a file (instead of the URL): the config can then be shown, the secret not.
    passwordFile: absolutePathSchema.optional(),
    // Sentinel's own credentials: the Redis password is never sent to a Sentinel. `followAnnounced`:
    // also use Sentinels that the configured ones announce (off: only the configured list).
    sentinel: z
      .strictObject({ username: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, { message: 'must be an ACL user name' }).optional(), passwordFile: absolutePathSchema.optional(), followAnnounced: z.boolean().default(false) })
      .optional(),
    // Bounds on what is read back from Redis (docs/fleet.md "Safety").
    limits: z
      .strictObject({
        maxNodes: z.number().int().min(1).max(100_000).default(FLEET_LIMIT_DEFAULTS.maxNodes),
        maxFields: z.number().int().min(1).max(100_000).default(FLEET_LIMIT_DEFAULTS.maxFields),
        maxValueBytes: z.number().int().min(1024).max(512 * 1024 * 1024).default(FLEET_LIMIT_DEFAULTS.maxValueBytes),
      })
      .prefault({}),
  })
  .superRefine((r, ctx) => {
    if (r.url === undefined && r.sentinels === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs url or sentinels', path: ['url'] });
    }
    if (r.sentinels !== undefined && r.name === undefined) {
      ctx.addIssue({ code: 'custom', message: 'required with sentinels', path: ['name'] });
    }
    if (r.sentinel !== undefined && r.sentinels === undefined) {
      ctx.addIssue({ code: 'custom', message: 'only with sentinels', path: ['sentinel'] });
    }
    // Sentinel names the server to connect to: only a private CA (and the pinned name) stops a
    // Sentinel someone reconfigured from sending the node to a server of their choosing.
    if (r.sentinels !== undefined && r.url?.parsed.tls === true && r.tls?.ca === undefined && r.tls?.insecure !== true) {
      ctx.addIssue({ code: 'custom', message: 'required with sentinels and a rediss:// url (the server Sentinel names is verified against this CA only)', path: ['tls', 'ca'] });
    }
    if (r.tls !== undefined && r.url?.parsed.tls !== true) {
      ctx.addIssue({ code: 'custom', message: 'needs a rediss:// url (TLS is chosen by the scheme)', path: ['tls'] });
    }
    // A registration that expires before the next heartbeat would make every node look stale.
    if (r.ttl <= r.heartbeat) ctx.addIssue({ code: 'custom', message: 'must be longer than heartbeat', path: ['ttl'] });
  });

const fileSchema = z
  .strictObject({
    node: nodeNameSchema.optional(),
    bird: birdSchema.prefault({}),
    api: apiSchema.prefault({}),
    stateFile: absolutePathSchema.default(D.stateFile),
    loopback: loopbackSchema.prefault({}),
    drainPenalty: u32Schema.default(D.drainPenalty),
    guardPenalty: u32Schema.default(D.guardPenalty),
    gracefulShutdown: z.boolean().default(false),
    health: healthSchema.prefault({}),
    vips: z.array(vipSchema).max(200_000).default([]),
    maintenance: z.array(maintenanceSchema).max(64).default([]),
    redis: redisSchema.optional(),
    metrics: metricsSchema.optional(),
    log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.bird.protocol4 === c.bird.protocol6) {
      ctx.addIssue({ code: 'custom', message: 'must differ from bird.protocol4', path: ['bird', 'protocol6'] });
    }
    checkOwnPaths(c, ctx);
    if (c.loopback.manage) checkHostRoutes(c.vips, ctx);
    const seen = new Map<string, number>();
    c.vips.forEach((v, i) => {
      const first = seen.get(v.prefix.prefix);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', message: `duplicate of vips[${first}].prefix (${v.prefix.prefix})`, path: ['vips', i, 'prefix'] });
      } else {
        seen.set(v.prefix.prefix, i);
      }
      duplicates(v.communities).forEach((j) =>
        ctx.addIssue({ code: 'custom', message: 'duplicate community', path: ['vips', i, 'communities', j] }),
      );
      duplicates(v.largeCommunities).forEach((j) =>
        ctx.addIssue({ code: 'custom', message: 'duplicate large community', path: ['vips', i, 'largeCommunities', j] }),
      );
    });
  });

// BIRD's main config file names (BIRD 2; BIRD 1.x's IPv6 daemon). The daemon replaces its include
// file wholesale on every apply, so an includeFile naming bird.conf would replace the operator's whole
// BIRD config with two static protocols, and the next `configure` would remove every BGP session.
const BIRD_MAIN_CONFIG = /(?:^|\/)bird6?\.conf$/;

/**
 * The files the daemon writes (include file, state file, API socket) must not be BIRD's main config,
 * BIRD's control socket, or one another: each is replaced or unlinked without looking at what was there.
 */
function checkOwnPaths(c: { bird: { includeFile: string; socket: string }; stateFile: string; api: { socket: string } }, ctx: z.RefinementCtx): void {
  if (BIRD_MAIN_CONFIG.test(normalPath(c.bird.includeFile))) {
    ctx.addIssue({
      code: 'custom',
      message: "must be vipcontrol's own include file, not BIRD's main config (it is rewritten on every apply)",
      path: ['bird', 'includeFile'],
    });
  }
  const paths: [string[], string][] = [
    [['bird', 'socket'], c.bird.socket],
    [['bird', 'includeFile'], c.bird.includeFile],
    [['stateFile'], c.stateFile],
    [['api', 'socket'], c.api.socket],
  ];
  const seen = new Map<string, string>();
  for (const [path, value] of paths) {
    const key = normalPath(value);
    const first = seen.get(key);
    if (first !== undefined) ctx.addIssue({ code: 'custom', message: `must differ from ${first} (${value})`, path });
    else seen.set(key, path.join('.'));
  }
}

/**
 * With `loopback.manage: true` the daemon runs `ip addr add PREFIX dev lo`. For anything shorter than a
 * host route that makes the whole range local to the node (Linux answers for every address of a prefix
 * on lo), so traffic to peers and fabric addresses inside it — BGP sessions included — never leaves.
 */
function checkHostRoutes(vips: readonly { prefix: { prefix: string; family: 4 | 6 } }[], ctx: z.RefinementCtx): void {
  vips.forEach((v, i) => {
    const host = v.prefix.family === 4 ? 32 : 128;
    const length = Number(v.prefix.prefix.slice(v.prefix.prefix.lastIndexOf('/') + 1));
    if (length === host) return;
    ctx.addIssue({
      code: 'custom',
      message:
        `must be a /${host} while loopback.manage is true: on the loopback, ${v.prefix.prefix} would make every ` +
        'address in it local to this node and black-hole traffic to them (BGP peers included); ' +
        'use a host route, or set loopback.manage: false',
      path: ['vips', i, 'prefix'],
    });
  });
}

/** `/a//b/./c/../d` → `/a/b/d` (lexically, like path.posix.normalize; the core does no I/O). */
function normalPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * Parses vipcontrol.yaml text into a deep-frozen VipcontrolConfig.
 *
 * @param file shown in error messages (`file:line:col: path: reason`)
 * @param defaults.hostname the node name used when `node` is absent (the daemon passes os.hostname())
 * @throws ConfigError listing every problem found
 */
export function parseVipcontrolConfig(text: string, file: string, defaults: { hostname?: string } = {}): VipcontrolConfig {
  const schema = fileSchema.superRefine((c, ctx) => {
    if (c.node !== undefined) return;
    const host = defaults.hostname;
    if (host === undefined || !nodeNameSchema.safeParse(host).success) {
      ctx.addIssue({
        code: 'custom',
        path: ['node'],
        message: host === undefined ? 'required (no hostname to default to)' : `hostname ${JSON.stringify(host)} is not a valid node name; set node explicitly`,
      });
    }
  });
  const c = parseYamlWithSchema(text, file, schema);
  const vips: VipConfig[] = c.vips.map((v) => ({
    prefix: v.prefix.prefix,
    family: v.prefix.family,
    med: v.med,
    communities: v.communities,
    largeCommunities: v.largeCommunities,
    ...(v.localPref !== undefined ? { localPref: v.localPref } : {}),
    minAnnouncers: v.minAnnouncers,
    ...((v.gracefulShutdown ?? c.gracefulShutdown) ? { gracefulShutdown: true } : {}),
  }));
  const config: VipcontrolConfig = {
    node: c.node ?? (defaults.hostname as string),
    bird: {
      socket: c.bird.socket,
      includeFile: c.bird.includeFile,
      configureTimeoutSec: c.bird.configureTimeout / 1000,
      commandTimeoutMs: c.bird.commandTimeout,
      protocol4: c.bird.protocol4,
      protocol6: c.bird.protocol6,
      ...(c.bird.fabricProtocols ? { fabricProtocols: c.bird.fabricProtocols } : {}),
      operatorConfigureHoldMs: c.bird.operatorConfigureHold,
      watchIntervalMs: c.bird.watchInterval,
    },
    api: {
      socket: c.api.socket,
      socketMode: parseInt(c.api.socketMode, 8),
      ...(c.api.socketGroup !== undefined ? { socketGroup: c.api.socketGroup } : {}),
    },
    stateFile: c.stateFile,
    loopback: c.loopback,
    drainPenalty: c.drainPenalty,
    health: { leaseMs: c.health.lease, leasePolicy: toLeasePolicy(c.health.leasePolicy), firstReportWaitMs: c.health.firstReportWait },
    vips,
    maintenance: c.maintenance.map(
      (m): MaintenanceWindowConfig => ({
        cron: m.cron,
        durationMs: m.duration,
        action: m.action,
        ...(m.timezone !== undefined ? { timezone: m.timezone } : {}),
      }),
    ),
    ...(c.redis !== undefined ? { redis: toRedis(c.redis) } : {}),
    guardPenalty: c.guardPenalty,
    log: c.log,
    ...(c.metrics !== undefined ? { metrics: c.metrics } : {}),
  };
  return deepFreeze(config);
}

function toLeasePolicy(p: z.output<typeof leasePolicySchema>): LeasePolicy {
  if (p === 'hold' || p === 'withdraw') return { action: p };
  return { action: 'penalty', penalty: p.penalty };
}

function toRedis(r: z.output<typeof redisSchema>): RedisConfig {
  return {
    ...(r.url !== undefined ? { url: r.url.text } : {}),
    ...(r.sentinels !== undefined ? { sentinels: r.sentinels } : {}),
    ...(r.name !== undefined ? { name: r.name } : {}),
    keyPrefix: r.keyPrefix,
    heartbeatMs: r.heartbeat,
    ttlMs: r.ttl,
    ...(r.tls !== undefined ? { tls: { ...(r.tls.ca !== undefined ? { ca: r.tls.ca } : {}), insecure: r.tls.insecure, ...(r.tls.servername !== undefined ? { servername: r.tls.servername } : {}) } } : {}),
    ...(r.passwordFile !== undefined ? { passwordFile: r.passwordFile } : {}),
    ...(r.sentinel !== undefined
      ? { sentinel: { followAnnounced: r.sentinel.followAnnounced, ...(r.sentinel.username !== undefined ? { username: r.sentinel.username } : {}), ...(r.sentinel.passwordFile !== undefined ? { passwordFile: r.sentinel.passwordFile } : {}) } }
      : {}),
    limits: r.limits,
  };
}

/** Indexes of entries equal to an earlier entry. */
function duplicates(list: readonly string[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  list.forEach((s, i) => {
    if (seen.has(s)) out.push(i);
    seen.add(s);
  });
  return out;
}

/** node-cron's validator, loaded on first use: most configs have no maintenance windows. */
let cronValidate: ((expression: string) => boolean) | undefined;
function isCronExpression(expression: string): boolean {
  cronValidate ??= (createRequire(import.meta.url)('node-cron') as { validate(e: string): boolean }).validate;
  return cronValidate(expression);
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    // Intl throws RangeError for an unknown zone; that is exactly the "no" answer.
    return false;
  }
}

/** `redis.url`: the text and its parts (core parseRedisUrl); what it refuses is a config error at the URL. */
function redisUrlField(text: string, ctx: z.RefinementCtx): { text: string; parsed: RedisUrl } {
  try {
    return { text, parsed: parseRedisUrl(text) };
  } catch (err) {
    if (!(err instanceof RedisUrlError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
    return z.NEVER;
  }
}

/** vipcontrol.yaml's schema as written (before defaults for node), for docs/configuration.md's generator. */
export const vipcontrolFileSchema = fileSchema;

/**
 * viphealth.yaml: parse, validate, default and freeze (DESIGN.md's minimal file plus per-type keys).
 *
 * One schema per check type (a discriminated union on `type`), then cross-field checks: exactly one
 * effect (`penalty` XOR `withdraw`), unique names, `minUp` within the protocol list. Every error reads
 * `FILE:LINE:COL: checks[2].penalty: reason` (see config-error.ts).
 */
import { z } from 'zod';
import { parseYamlWithSchema } from './config-error.js';
import { deepFreeze } from './deep-freeze.js';
import type { MetricsConfig } from './types.js';
import type { DampingParams, HealthParams, StartupMode } from './health-state.js';
import {
  absolutePathSchema,
  birdNameSchema,
  checkNameSchema,
  hostPortSchema,
  metricsSchema,
  positiveDurationSchema,
  prefixSchema,
  u32Schema,
} from './schemas.js';

/** Defaults for absent keys (DESIGN.md's paths; timings that react within a second). */
export const VIPHEALTH_DEFAULTS = Object.freeze({
  configFile: '/etc/vipcontrol/viphealth.yaml',
  vipcontrolSocket: '/run/vipcontrol/vipcontrol.sock',
  birdSocket: '/run/bird/bird.ctl',
  heartbeatMs: 1000,
  intervalMs: 1000,
  fastIntervalMs: 200,
  timeoutMs: 1000,
  rise: 3,
  fall: 3,
  hookTimeoutMs: 10_000,
  httpStatus: { min: 200, max: 399 },
  birdState: 'Established',
});

const D = VIPHEALTH_DEFAULTS;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** What a failing check does to its VIPs (same shape as CheckVerdict.effect). */
export type CheckEffect = { readonly penalty: number } | { readonly withdraw: true };

interface CheckBase {
  readonly name: string;
  readonly intervalMs: number;
  readonly fastIntervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  readonly startup: StartupMode;
  /** While this file exists the check reports `disabled` (maintenance) without running. */
  readonly disableFile?: string;
  readonly damping?: DampingParams;
  /** argv run on every status change, with VIPHEALTH_CHECK / _STATE / _PREVIOUS in the environment. */
  readonly hooks: { readonly onChange?: readonly string[]; readonly timeoutMs: number };
  readonly vips: readonly string[];
  readonly effect: CheckEffect;
}

export interface ExecCheckConfig extends CheckBase {
  readonly type: 'exec';
  /** argv; with `shell: true`, a single script run by /bin/sh -c. */
  readonly command: readonly string[];
  readonly shell: boolean;
}
export interface TcpCheckConfig extends CheckBase {
  readonly type: 'tcp';
  /** Host name or address without brackets. */
  readonly host: string;
  readonly port: number;
}
export interface HttpCheckConfig extends CheckBase {
  readonly type: 'http';
  readonly url: string;
  /** Inclusive range of accepted status codes. */
  readonly status: { readonly min: number; readonly max: number };
  /** Regular expression (JavaScript syntax) the body must match. */
  readonly bodyMatch?: string;
  readonly tls: { readonly insecure: boolean; readonly ca?: string };
}
export interface ProcessCheckConfig extends CheckBase {
  readonly type: 'process';
  /** Exactly one of pidfile / name (the kernel's `comm`, at most 15 characters). */
  readonly pidfile?: string;
  readonly processName?: string;
}
export interface BirdProtocolCheckConfig extends CheckBase {
  readonly type: 'bird-protocol';
  readonly socket: string;
  readonly protocols: readonly string[];
  /** Matched case-insensitively against the protocol's info ("Established"), BGP state or state ("up"). */
  readonly state: string;
  /** At least this many of `protocols` must be in `state`. */
  readonly minUp: number;
  /** Issue 10: a protocol counts only while the BFD session to its neighbour is Up too. */
  readonly bfd: boolean;
}

export type HealthCheckConfig =
  | ExecCheckConfig
  | TcpCheckConfig
  | HttpCheckConfig
  | ProcessCheckConfig
  | BirdProtocolCheckConfig;

/** The validated, frozen viphealth.yaml. */
export interface ViphealthConfig {
  readonly vipcontrol: { readonly socket: string };
  /** A full report is sent at least this often (the liveness lease's heartbeat). */
  readonly heartbeatMs: number;
  readonly log: { readonly level: LogLevel };
  /** Where `/metrics` is served; absent: not served. */
  readonly metrics?: MetricsConfig;
  readonly checks: readonly HealthCheckConfig[];
}

const countSchema = z.number().int().min(1).max(100);
// A timer shorter than this only burns CPU; a longer one is a typo (viphealth must react in seconds).
const intervalSchema = positiveDurationSchema
  .refine((ms) => ms >= 10, { message: 'must be at least 10ms' })
  .refine((ms) => ms <= 3_600_000, { message: 'must be at most 1h' });

const dampingSchema = z.strictObject({
  flaps: z.number().int().min(2).max(1000),
  window: positiveDurationSchema,
  holdDown: positiveDurationSchema,
  maxHoldDown: positiveDurationSchema.optional(),
});

/** Keys every check type accepts. */
const common = {
  name: checkNameSchema,
  interval: intervalSchema.optional(),
  fastInterval: intervalSchema.optional(),
  timeout: intervalSchema.optional(),
  rise: countSchema.optional(),
  fall: countSchema.optional(),
  startup: z.enum(['unknown', 'up', 'down']).optional(),
  disableFile: absolutePathSchema.optional(),
  damping: dampingSchema.optional(),
  hooks: z
    .strictObject({
      onChange: z.array(z.string().min(1)).min(1).optional(),
      timeout: intervalSchema.optional(),
    })
    .optional(),
  vips: z.array(prefixSchema).min(1),
  penalty: u32Schema.refine((n) => n > 0, { message: 'must be > 0' }).optional(),
  withdraw: z.literal(true, { message: 'must be true (omit it to use a penalty)' }).optional(),
};

const STATUS_RANGE = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/;
const statusSchema = z.union([z.number().int(), z.string()]).transform((v, ctx) => {
  const m = STATUS_RANGE.exec(String(v));
  const min = m ? Number(m[1]) : 0;
  const max = m?.[2] !== undefined ? Number(m[2]) : min;
  if (!m || max < min) {
    ctx.addIssue({ code: 'custom', message: 'must be a status code (200) or an inclusive range ("200-399")', input: v });
    return z.NEVER;
  }
  return { min, max };
});

const regexSchema = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}`, input: s });
  }
});

const urlSchema = z.string().superRefine((s, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid URL: ${(err as Error).message}`, input: s });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL', input: s });
  }
});

const checkSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...common,
    type: z.literal('exec'),
    command: z.array(z.string().min(1)).min(1),
    shell: z.boolean().optional(),
  }),
  z.strictObject({ ...common, type: z.literal('tcp'), target: hostPortSchema }),
  z.strictObject({
    ...common,
    type: z.literal('http'),
    url: urlSchema,
    status: statusSchema.optional(),
    bodyMatch: regexSchema.optional(),
    tls: z.strictObject({ insecure: z.boolean().optional(), ca: absolutePathSchema.optional() }).optional(),
  }),
  z.strictObject({
    ...common,
    type: z.literal('process'),
    pidfile: absolutePathSchema.optional(),
    // The kernel truncates comm to 15 bytes: a longer "exact" name could never match.
    processName: z
      .string()
      .regex(/^[^/\s]{1,15}$/, { message: 'must be 1-15 characters without "/" or spaces (the kernel comm name)' })
      .optional(),
  }),
  z.strictObject({
    ...common,
    type: z.literal('bird-protocol'),
    socket: absolutePathSchema.optional(),
    protocols: z.array(birdNameSchema).min(1),
    state: z.string().regex(/^[A-Za-z][A-Za-z0-9 _-]{0,31}$/, { message: 'must be a protocol state such as Established or up' }).optional(),
    minUp: z.number().int().min(1).optional(),
    bfd: z.boolean().optional(),
  }),
], { message: 'must be one of exec, tcp, http, process, bird-protocol' });

type RawCheck = z.output<typeof checkSchema>;

const fileSchema = z
  .strictObject({
    vipcontrol: z.strictObject({ socket: absolutePathSchema.optional() }).optional(),
    heartbeat: intervalSchema.optional(),
    log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).optional() }).optional(),
    metrics: metricsSchema.optional(),
    checks: z.array(checkSchema).min(1),
  })
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.checks.forEach((c, i) => {
      const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: ['checks', i, key], message });
      const first = seen.get(c.name);
      if (first !== undefined) issue('name', `duplicate check name (also checks[${first}])`);
      seen.set(c.name, i);
      if ((c.penalty === undefined) === (c.withdraw === undefined)) {
        issue(c.penalty === undefined ? 'vips' : 'withdraw', 'exactly one of penalty: N or withdraw: true is required');
      }
      if (c.type === 'exec' && c.shell === true && c.command.length !== 1) {
        issue('command', 'with shell: true, command must be a single script string');
      }
      if (c.type === 'process' && (c.pidfile === undefined) === (c.processName === undefined)) {
        issue('pidfile', 'exactly one of pidfile or processName is required');
      }
      if (c.type === 'bird-protocol') {
        if (new Set(c.protocols).size !== c.protocols.length) issue('protocols', 'duplicate protocol name');
        if (c.minUp !== undefined && c.minUp > c.protocols.length) issue('minUp', `must be ≤ ${c.protocols.length} (the number of protocols)`);
      }
      if (c.damping?.maxHoldDown !== undefined && c.damping.maxHoldDown < c.damping.holdDown) {
        ctx.addIssue({ code: 'custom', path: ['checks', i, 'damping', 'maxHoldDown'], message: 'must be ≥ holdDown' });
      }
    });
  });

/**
 * Parses viphealth.yaml. Throws ConfigError (`FILE:LINE:COL: path: reason` per problem).
 * The result is deeply frozen.
 */
export function parseViphealthConfig(text: string, file: string): ViphealthConfig {
  const raw = parseYamlWithSchema(text, file, fileSchema);
  return deepFreeze({
    vipcontrol: { socket: raw.vipcontrol?.socket ?? D.vipcontrolSocket },
    heartbeatMs: raw.heartbeat ?? D.heartbeatMs,
    log: { level: raw.log?.level ?? 'info' },
    ...(raw.metrics !== undefined ? { metrics: raw.metrics } : {}),
    checks: raw.checks.map(normaliseCheck),
  });
}

/** The state-machine parameters of a check. */
export function checkHealthParams(check: HealthCheckConfig): HealthParams {
  const { rise, fall, intervalMs, fastIntervalMs, damping } = check;
  return damping ? { rise, fall, intervalMs, fastIntervalMs, damping } : { rise, fall, intervalMs, fastIntervalMs };
}

function normaliseCheck(c: RawCheck): HealthCheckConfig {
  const intervalMs = c.interval ?? D.intervalMs;
  const base: CheckBase = {
    name: c.name,
    intervalMs,
    // Never slower than the normal interval: "fast" must not mean slower.
    fastIntervalMs: Math.min(c.fastInterval ?? D.fastIntervalMs, intervalMs),
    timeoutMs: c.timeout ?? D.timeoutMs,
    rise: c.rise ?? D.rise,
    fall: c.fall ?? D.fall,
    startup: c.startup ?? 'unknown',
    ...(c.disableFile !== undefined && { disableFile: c.disableFile }),
    ...(c.damping !== undefined && {
      damping: {
        flaps: c.damping.flaps,
        windowMs: c.damping.window,
        holdDownMs: c.damping.holdDown,
        // Without a cap, six doublings: a flapping service stays out for at most ~1 hour per minute of holdDown.
        maxHoldDownMs: c.damping.maxHoldDown ?? c.damping.holdDown * 64,
      },
    }),
    hooks: {
      ...(c.hooks?.onChange !== undefined && { onChange: c.hooks.onChange }),
      timeoutMs: c.hooks?.timeout ?? D.hookTimeoutMs,
    },
    vips: [...new Set(c.vips.map((v) => v.prefix))],
    effect: c.withdraw === true ? { withdraw: true } : { penalty: c.penalty ?? 0 },
  };
  switch (c.type) {
    case 'exec':
      return { ...base, type: 'exec', command: c.command, shell: c.shell ?? false };
    case 'tcp':
      return { ...base, type: 'tcp', host: c.target.host, port: c.target.port };
    case 'http':
      return {
        ...base,
        type: 'http',
        url: c.url,
        status: c.status ?? D.httpStatus,
        ...(c.bodyMatch !== undefined && { bodyMatch: c.bodyMatch }),
        tls: { insecure: c.tls?.insecure ?? false, ...(c.tls?.ca !== undefined && { ca: c.tls.ca }) },
      };
    case 'process':
      return {
        ...base,
        type: 'process',
        ...(c.pidfile !== undefined && { pidfile: c.pidfile }),
        ...(c.processName !== undefined && { processName: c.processName }),
      };
    case 'bird-protocol':
      return {
        ...base,
        type: 'bird-protocol',
        socket: c.socket ?? D.birdSocket,
        protocols: c.protocols,
        state: c.state ?? D.birdState,
        minUp: c.minUp ?? c.protocols.length,
        bfd: c.bfd ?? false,
      };
  }
}

/** viphealth.yaml's schema as written, for docs/configuration.md's generator. */
export const viphealthFileSchema = fileSchema;

/**
 * The body of `POST /v1/health/report` (viphealth → vipcontrol), validated like any other API input:
 * a report feeds straight into the effective MED, so a malformed one must be refused, not half-used.
 *
 * Format version 2 keeps every report small whatever the number of VIPs: a check names its VIP list
 * by a digest (`vipSet`), and the list itself travels only when vipcontrol does not have it yet, cut
 * into parts (`vipSetParts`, at most VIP_SET_PART_MAX prefixes each) spread over as many reports as
 * needed. A heartbeat is then O(checks): ~200 bytes per check, at 1 VIP or at 200,000. vipcontrol
 * answers 409 with `missingVipSets` when a check names a list it does not hold (after its restart,
 * or while the parts are still arriving), and viphealth sends it again.
 *
 * Version 1 (every check carrying its full `vips` list) is refused with a message saying so.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { flattenZodIssues, formatPath, friendlyZodMessage } from './config-error.js';
import { checkNameSchema, epochMsSchema, prefixSchema, u32Schema } from './schemas.js';
import type { CheckVerdict, HealthReport } from './types.js';
import { MAX_REASON_LENGTH, toFreeText } from './vocabulary.js';

/** A report that failed validation; `message` lists `path: reason` per problem. */
export class HealthReportError extends Error {
  override readonly name = 'HealthReportError';
}

/** The report format this release speaks. */
export const HEALTH_REPORT_VERSION = 2;

/** At most this many checks per report (the 50-check footprint target, with ample room). */
export const MAX_REPORT_CHECKS = 1000;

/** Prefixes per VIP-set part: ~45 KB of the longest IPv6 prefixes, under the API's 64 KiB body limit. */
export const VIP_SET_PART_MAX = 1000;

/** Parts per VIP set: 200,000 VIPs (the config's ceiling) in parts of VIP_SET_PART_MAX. */
export const MAX_VIP_SET_PARTS = 200;

// Evidence text comes from check output (exec stderr, socket errors): made into free text rather than
// refusing the whole report, since the text is informative and the verdict is not in it.
const detailSchema = z
  .string()
  .max(10_000)
  .transform((s) => toFreeText(s, MAX_REASON_LENGTH));

const digestSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, { message: 'must be a VIP-set digest (base64url SHA-256)' });

const dampingSchema = z.strictObject({
  flapTimes: z.array(epochMsSchema).max(1000),
  holdDowns: z.number().int().min(0).max(1000),
  holdDownUntil: epochMsSchema.optional(),
});

const verdictFields = {
  name: checkNameSchema,
  status: z.enum(['up', 'down', 'disabled', 'unknown']),
  effect: z.union([z.strictObject({ penalty: u32Schema }), z.strictObject({ withdraw: z.literal(true) })]),
  since: epochMsSchema,
  lastResult: z
    .strictObject({
      ok: z.boolean(),
      at: epochMsSchema,
      latencyMs: z.number().min(0).max(86_400_000).optional(),
      detail: detailSchema.optional(),
    })
    .optional(),
  damping: dampingSchema.optional(),
};

const uniqueNames = (checks: readonly { name: string }[], ctx: z.RefinementCtx) => {
  const names = new Set<string>();
  checks.forEach((c, i) => {
    if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'duplicate check name' });
    names.add(c.name);
  });
};

const verdictSchema = z.strictObject({ ...verdictFields, vips: z.array(prefixSchema.transform((p) => p.prefix)).max(200_000) });

const resolvedReportSchema = z.strictObject({
  instance: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 of letters, digits, _ -' }),
  startedAt: epochMsSchema,
  checks: z.array(verdictSchema).max(MAX_REPORT_CHECKS).superRefine(uniqueNames),
});

const partSchema = z
  .strictObject({
    set: digestSchema,
    part: z.number().int().min(0),
    parts: z.number().int().min(1).max(MAX_VIP_SET_PARTS),
    vips: z.array(prefixSchema.transform((p) => p.prefix)).min(1).max(VIP_SET_PART_MAX),
  })
  .refine((p) => p.part < p.parts, { message: 'part must be below parts', path: ['part'] });

const wireSchema = z.strictObject({
  version: z.literal(HEALTH_REPORT_VERSION),
  instance: resolvedReportSchema.shape.instance,
  startedAt: epochMsSchema,
  checks: z
    .array(z.strictObject({ ...verdictFields, vipSet: digestSchema }))
    .max(MAX_REPORT_CHECKS)
    .superRefine(uniqueNames),
  vipSetParts: z.array(partSchema).max(MAX_VIP_SET_PARTS).optional(),
});

/** One check as sent: its VIP list named by digest. */
export type WireCheckVerdict = Omit<CheckVerdict, 'vips'> & { readonly vipSet: string };

/** A slice of a VIP list, sent only while vipcontrol lacks the list. */
export interface VipSetPart {
  readonly set: string;
  readonly part: number;
  readonly parts: number;
  readonly vips: readonly string[];
}

/** The body of `POST /v1/health/report`, format version 2. */
export interface HealthReportBody {
  readonly version: typeof HEALTH_REPORT_VERSION;
  readonly instance: string;
  readonly startedAt: number;
  readonly checks: readonly WireCheckVerdict[];
  readonly vipSetParts?: readonly VipSetPart[];
}

/** vipcontrol's answer to an accepted report: damping memory for checks a fresh viphealth reports `unknown`. */
export interface HealthReportReply {
  readonly ok: true;
  readonly damping?: Readonly<Record<string, CheckVerdict['damping']>>;
}

/** The digest that names a VIP list (order matters: viphealth sends its config's order). */
export function vipSetDigest(vips: readonly string[]): string {
  return createHash('sha256').update(vips.join('\n')).digest('base64url');
}

/** Cuts a VIP list into the parts that carry it. */
export function vipSetParts(vips: readonly string[]): VipSetPart[] {
  const set = vipSetDigest(vips);
  const parts = Math.max(1, Math.ceil(vips.length / VIP_SET_PART_MAX));
  return Array.from({ length: parts }, (_, part) => ({ set, part, parts, vips: vips.slice(part * VIP_SET_PART_MAX, (part + 1) * VIP_SET_PART_MAX) }));
}

function refuse(result: z.ZodSafeParseError<unknown>): never {
  const problems = flattenZodIssues(result.error.issues).map((i) => `${formatPath(i.path) || 'body'}: ${i.message}`);
  throw new HealthReportError(`invalid health report: ${problems.slice(0, 5).join('; ')}`, { cause: result.error });
}

/**
 * Validates the API body (format version 2; prefixes canonicalised). An older viphealth's report
 * (no `version`, checks with `vips`) gets one message that says what to do. Throws HealthReportError.
 */
export function parseHealthReportBody(body: unknown): HealthReportBody {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && (body as { version?: unknown }).version !== HEALTH_REPORT_VERSION) {
    const version = (body as { version?: unknown }).version;
    throw new HealthReportError(
      `health report format ${version === undefined ? '1 (no version field)' : JSON.stringify(version)} is not supported: ` +
        `this vipcontrol takes format ${HEALTH_REPORT_VERSION}; run viphealth from the same release`,
    );
  }
  const result = wireSchema.safeParse(body, { error: friendlyZodMessage });
  if (!result.success) refuse(result);
  return result.data;
}

/** Validates a report whose VIP lists are resolved (vipcontrol's own view and its snapshot file). Throws HealthReportError. */
export function parseHealthReport(body: unknown): HealthReport {
  const result = resolvedReportSchema.safeParse(body, { error: friendlyZodMessage });
  if (!result.success) refuse(result);
  return result.data;
}

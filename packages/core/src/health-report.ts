/**
 * The body of `POST /v1/health/report` (viphealth → vipcontrol), validated like any other API input:
 * a report feeds straight into the effective MED, so a malformed one must be refused, not half-used.
 */
import { z } from 'zod';
import { flattenZodIssues, formatPath, friendlyZodMessage } from './config-error.js';
import { checkNameSchema, epochMsSchema, prefixSchema, u32Schema } from './schemas.js';
import { MAX_REASON_LENGTH, toFreeText } from './vocabulary.js';
import type { HealthReport } from './types.js';

/** A report that failed validation; `message` lists `path: reason` per problem. */
export class HealthReportError extends Error {
  override readonly name = 'HealthReportError';
}

/** At most this many checks per report (the 50-check footprint target, with ample room). */
export const MAX_REPORT_CHECKS = 1000;

// Evidence text comes from check output (exec stderr, socket errors): made into free text rather than
// refusing the whole report, since the text is informative and the verdict is not in it.
const detailSchema = z
  .string()
  .max(10_000)
  .transform((s) => toFreeText(s, MAX_REASON_LENGTH));

const verdictSchema = z.strictObject({
  name: checkNameSchema,
  status: z.enum(['up', 'down', 'disabled', 'unknown']),
  vips: z.array(prefixSchema.transform((p) => p.prefix)).max(10_000),
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
});

const reportSchema = z.strictObject({
  instance: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 of letters, digits, _ -' }),
  startedAt: epochMsSchema,
  checks: z
    .array(verdictSchema)
    .max(MAX_REPORT_CHECKS)
    .superRefine((checks, ctx) => {
      const names = new Set<string>();
      checks.forEach((c, i) => {
        if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'duplicate check name' });
        names.add(c.name);
      });
    }),
});

/** Validates a decoded JSON body into a HealthReport (prefixes canonicalised). Throws HealthReportError. */
export function parseHealthReport(body: unknown): HealthReport {
  const result = reportSchema.safeParse(body, { error: friendlyZodMessage });
  if (result.success) return result.data;
  const problems = flattenZodIssues(result.error.issues).map((i) => `${formatPath(i.path) || 'body'}: ${i.message}`);
  throw new HealthReportError(`invalid health report: ${problems.slice(0, 5).join('; ')}`, { cause: result.error });
}

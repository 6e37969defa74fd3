/**
 * Validation of API request bodies, shared by the HTTP API and fleet commands so that a change asked
 * over Redis is held to exactly the same rules as one asked over the local socket.
 */
import { z } from 'zod';
import { flattenZodIssues, formatPath, friendlyZodMessage } from './config-error.js';
import { positiveDurationSchema, reasonSchema, u32Schema } from './schemas.js';

/** A request body that does not validate. `field` is the first offending field ("" for the body itself). */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field ? `${field}: ${message}` : message, options);
    this.field = field;
  }
}

const setMedSchema = z.strictObject({
  med: u32Schema,
  ttl: positiveDurationSchema.optional(),
  reason: reasonSchema.optional(),
});

const drainSchema = z.strictObject({
  withdraw: z.boolean().default(false),
  reason: reasonSchema.optional(),
  force: z.boolean().optional(),
});

const reasonBodySchema = z.strictObject({
  reason: reasonSchema.optional(),
  force: z.boolean().optional(),
});

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError('', 'body must be a JSON object');
  const result = schema.safeParse(body, { error: friendlyZodMessage });
  if (result.success) return result.data;
  const issues = flattenZodIssues(result.error.issues);
  const text = issues.map((i) => (i.path.length ? `${formatPath(i.path)}: ${i.message}` : `body: ${i.message}`)).join('; ');
  // Keep the first field for the API's structured error, the message lists all of them.
  const first = issues[0] ? formatPath(issues[0].path) : '';
  throw new RequestError(first, first ? text.slice(first.length + 2) : text.replace(/^body: /, ''), { cause: result.error });
}

/** Body of `PUT /v1/vips/{prefix}/med`: `{med, ttl?: "30m", reason?}` → `{med, ttlMs?, reason?}`. @throws RequestError */
export function parseSetMedBody(body: unknown): { med: number; ttlMs?: number; reason?: string } {
  const b = parse(setMedSchema, body);
  return { med: b.med, ...(b.ttl !== undefined ? { ttlMs: b.ttl } : {}), ...(b.reason !== undefined ? { reason: b.reason } : {}) };
}

/** Body of `POST /v1/drain`: `{withdraw?: bool (default false), reason?, force?}`. @throws RequestError */
export function parseDrainBody(body: unknown): { withdraw: boolean; reason?: string; force?: boolean } {
  const b = parse(drainSchema, body ?? {});
  return { withdraw: b.withdraw, ...(b.reason !== undefined ? { reason: b.reason } : {}), ...(b.force !== undefined ? { force: b.force } : {}) };
}

/** Body of `POST /v1/vips/{prefix}/withdraw` and similar: `{reason?, force?}`; an absent body is `{}`. @throws RequestError */
export function parseReasonBody(body: unknown): { reason?: string; force?: boolean } {
  const b = parse(reasonBodySchema, body ?? {});
  return { ...(b.reason !== undefined ? { reason: b.reason } : {}), ...(b.force !== undefined ? { force: b.force } : {}) };
}

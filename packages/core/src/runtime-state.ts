/**
 * Runtime operator state (MED overrides, operator withdraws, drain), persisted by the daemon in the
 * state file. Parsing is strict — a state file we do not fully understand is an error, never partly
 * applied — and updates are pure functions returning new frozen objects.
 */
import { z } from 'zod';
import { flattenZodIssues, formatPath, friendlyZodMessage } from './config-error.js';
import { deepFreeze } from './deep-freeze.js';
import { isCanonicalPrefix } from './prefix.js';
import { epochMsSchema, freeTextSchema, reasonSchema, u32Schema } from './schemas.js';
import type { FleetCommandMark, MedOverride, RuntimeState } from './types.js';
import { COMMAND_ID_RE, MAX_ACTOR_LENGTH } from './vocabulary.js';

/** How many recent remote command ids the state file keeps (replays of older snapshots are refused by id). */
export const FLEET_RECENT_MAX = 100;
const commandId = z.string().regex(COMMAND_ID_RE);

/** A state file whose content is not a valid RuntimeState. */
export class RuntimeStateError extends Error {
  override readonly name = 'RuntimeStateError';
  readonly issues: readonly { readonly path: string; readonly message: string }[];
  constructor(issues: readonly { path: string; message: string }[], options?: { cause?: unknown }) {
    super(`invalid state: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, options);
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}

const actorSchema = freeTextSchema(MAX_ACTOR_LENGTH);

// Keys must already be canonical: the daemon only ever writes canonical prefixes, so anything else
// means the file was edited or corrupted.
const PREFIX_KEY_MESSAGE = 'must be a canonical prefix';
const prefixKey = z.string().refine(isCanonicalPrefix, { message: PREFIX_KEY_MESSAGE });

const overrideSchema = z.strictObject({
  med: u32Schema,
  expiresAt: epochMsSchema.optional(),
  reason: reasonSchema.optional(),
  setAt: epochMsSchema,
  setBy: actorSchema.optional(),
});

const withdrawnSchema = z.strictObject({ at: epochMsSchema, reason: reasonSchema.optional(), by: actorSchema.optional(), force: z.boolean().optional() });

const drainSchema = z.strictObject({
  withdraw: z.boolean(),
  at: epochMsSchema,
  reason: reasonSchema.optional(),
  by: actorSchema.optional(),
  force: z.boolean().optional(),
  source: z.enum(['operator', 'maintenance']),
  until: epochMsSchema.optional(),
});

const stateSchema = z.strictObject({
  version: z.literal(1),
  overrides: z.record(prefixKey, overrideSchema),
  withdrawn: z.record(prefixKey, withdrawnSchema),
  drain: drainSchema.optional(),
  fleet: z
    .strictObject({
      applied: z.record(z.string().max(80), z.strictObject({ id: commandId, seq: z.number().int().min(1) })),
      recent: z.array(commandId).max(FLEET_RECENT_MAX),
    })
    .optional(),
  withdrawSlots: z.array(prefixKey).max(200_000).optional(),
  maintenance: z
    .strictObject({
      ended: z.strictObject({ index: z.number().int().min(0), startedAt: epochMsSchema }).optional(),
      skipped: z.strictObject({ index: z.number().int().min(0), at: epochMsSchema }).optional(),
    })
    .optional(),
});

/** The state of a node nobody has touched. */
export function emptyRuntimeState(): RuntimeState {
  return deepFreeze({ version: 1, overrides: {}, withdrawn: {} });
}

/**
 * Validates the parsed JSON of a state file into a frozen RuntimeState.
 * @throws RuntimeStateError naming each invalid field
 */
export function parseRuntimeState(json: unknown): RuntimeState {
  const result = stateSchema.safeParse(json, { error: friendlyZodMessage });
  if (!result.success) {
    throw new RuntimeStateError(
      flattenZodIssues(result.error.issues).map((i) => ({ path: formatPath(i.path), message: i.message })),
      { cause: result.error },
    );
  }
  return deepFreeze(stripUndefined(result.data) as RuntimeState);
}

/**
 * Checks entries about to enter the state with the state file's own rules: each entry goes through
 * the very schema `parseRuntimeState` applies to it (and each key through its key rule), so nothing is
 * accepted that the loader would refuse (and move aside) at the next start. O(1) in the size of the
 * state; an entry already passed under the same key is not checked again (see `passed`).
 * @throws RuntimeStateError naming each invalid field
 */
export function checkRuntimeEntries(part: Partial<Pick<RuntimeState, 'overrides' | 'withdrawn' | 'drain'>>): void {
  const issues: { path: string; message: string }[] = [];
  const passing: [object, string][] = [];
  const check = (schema: z.ZodType, path: readonly string[], entry: unknown): void => {
    const at = path.join('\0');
    if (typeof entry === 'object' && entry !== null && passed.get(entry) === at) return;
    if (path.length === 2 && !isCanonicalPrefix(path[1]!)) issues.push({ path: formatPath(path), message: PREFIX_KEY_MESSAGE });
    const result = schema.safeParse(entry, { error: friendlyZodMessage });
    if (!result.success) {
      for (const i of flattenZodIssues(result.error.issues, path)) issues.push({ path: formatPath(i.path), message: i.message });
    } else passing.push([entry as object, at]);
  };
  for (const key in part.overrides) check(overrideSchema, ['overrides', key], part.overrides[key]);
  for (const key in part.withdrawn) check(withdrawnSchema, ['withdrawn', key], part.withdrawn[key]);
  if (part.drain !== undefined) check(drainSchema, ['drain'], part.drain);
  if (issues.length > 0) throw new RuntimeStateError(issues);
  for (const [entry, at] of passing) passed.set(Object.freeze(entry), at);
}

/**
 * Entry objects checkRuntimeEntries has passed, with where they passed (section and key), frozen so
 * they cannot change afterwards: the same object at the same place is not checked again (the
 * controller checks each change as it arrives, the state store the batch it writes — a burst of
 * 1,000 set-meds is validated once, not twice).
 */
const passed = new WeakMap<object, string>();

/** Drops overrides whose `expiresAt <= now`; returns the new state and the expired prefixes (sorted as stored). */
export function expireOverrides(runtime: RuntimeState, now: number): { runtime: RuntimeState; expired: string[] } {
  const expired = Object.entries(runtime.overrides)
    .filter(([, o]) => o.expiresAt !== undefined && o.expiresAt <= now)
    .map(([p]) => p);
  if (expired.length === 0) return { runtime, expired };
  return { runtime: deepFreeze({ ...runtime, overrides: omit(runtime.overrides, expired) }), expired };
}

/** Sets (replaces) the MED override of `prefix`. */
export function withOverride(runtime: RuntimeState, prefix: string, override: MedOverride): RuntimeState {
  return deepFreeze({ ...runtime, overrides: { ...runtime.overrides, [prefix]: { ...override } } });
}

/** Removes the MED override of `prefix` (no-op when absent). */
export function withoutOverride(runtime: RuntimeState, prefix: string): RuntimeState {
  if (!(prefix in runtime.overrides)) return runtime;
  return deepFreeze({ ...runtime, overrides: omit(runtime.overrides, [prefix]) });
}

/** Marks `prefix` as withdrawn by an operator. */
export function withWithdrawn(runtime: RuntimeState, prefix: string, entry: RuntimeState['withdrawn'][string]): RuntimeState {
  return deepFreeze({ ...runtime, withdrawn: { ...runtime.withdrawn, [prefix]: { ...entry } } });
}

/** Clears the operator withdraw of `prefix` (no-op when absent). */
export function withoutWithdrawn(runtime: RuntimeState, prefix: string): RuntimeState {
  if (!(prefix in runtime.withdrawn)) return runtime;
  return deepFreeze({ ...runtime, withdrawn: omit(runtime.withdrawn, [prefix]) });
}

/** Records that the remote command `mark` was processed (kept with the change it made: one write). */
export function withFleetCommand(runtime: RuntimeState, mark: FleetCommandMark): RuntimeState {
  const log = runtime.fleet ?? { applied: {}, recent: [] };
  const recent = [...log.recent.filter((id) => id !== mark.id), mark.id].slice(-FLEET_RECENT_MAX);
  return deepFreeze({ ...runtime, fleet: { applied: { ...log.applied, [mark.field]: { id: mark.id, seq: mark.seq } }, recent } });
}

/** Sets the node-wide drain. */
export function withDrain(runtime: RuntimeState, drain: NonNullable<RuntimeState['drain']>): RuntimeState {
  return deepFreeze({ ...runtime, drain: { ...drain } });
}

/** Ends the drain (no-op when not drained). */
export function withoutDrain(runtime: RuntimeState): RuntimeState {
  if (runtime.drain === undefined) return runtime;
  const { drain: _drain, ...rest } = runtime;
  return deepFreeze(rest);
}

/** A copy of `record` without `keys`. */
function omit<T>(record: Readonly<Record<string, T>>, keys: readonly string[]): Record<string, T> {
  const copy = { ...record };
  for (const key of keys) delete copy[key];
  return copy;
}

// zod keeps explicitly-undefined optional keys out, but JSON never has undefined anyway; this makes
// the frozen result's keys exactly those present, so deepStrictEqual against literals works.
function stripUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripUndefined);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, stripUndefined(x)]));
  }
  return v;
}

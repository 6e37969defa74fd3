/**
 * Config errors that point at the offending YAML node: `FILE:LINE:COL: path: reason`.
 *
 * Operators (and Puppet's `validate_cmd`) read these messages, so every problem names the file, the
 * line and the field path. The helper here is shared by vipcontrol.yaml and viphealth.yaml parsing.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';

/** One problem found in a config file. `line`/`column` are 1-based and absent when unknown. */
export interface ConfigIssue {
  /** Field path in the document, e.g. `vips[3].med`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** A config file that failed to parse or validate. The message has one `file:line:col: path: reason` line per issue. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  readonly file: string | undefined;

  constructor(issues: readonly ConfigIssue[], file?: string, options?: { cause?: unknown }) {
    super(issues.map((i) => formatIssue(i, file)).join('\n') || `${file ?? 'config'}: invalid`, options);
    this.issues = Object.freeze([...issues]);
    this.file = file;
  }
}

/** Formats one issue as `file:line:col: path: reason` (missing parts are left out). */
export function formatIssue(issue: ConfigIssue, file?: string): string {
  let where = file ?? '';
  if (issue.line !== undefined) where += `${where ? ':' : ''}${issue.line}:${issue.column ?? 1}`;
  const parts = [where, issue.path, issue.message].filter((p) => p !== '');
  return parts.join(': ');
}

/** Formats a zod/YAML path as `vips[3].med`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    // Record keys such as prefixes contain dots: bracket them so the path stays unambiguous.
    else if (typeof seg === 'string' && !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += `[${JSON.stringify(seg)}]`;
    else out += `${out ? '.' : ''}${String(seg)}`;
  }
  return out;
}

/**
 * Human messages for zod's built-in issue codes. Schema-level messages (custom refinements) take
 * precedence over this map, so it only has to cover the generic cases.
 */
export function friendlyZodMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required';
      if (typeof iss.input === 'number' && !Number.isFinite(iss.input)) return `must be a finite number, got ${String(iss.input)}`;
      if (iss.expected === 'int') return 'must be an integer';
      return `expected ${iss.expected}, got ${describe(iss.input)}`;
    case 'too_big': {
      const max = String(iss.maximum);
      if (iss.origin === 'string') return `must be at most ${max} characters`;
      if (iss.origin === 'array') return `must have at most ${max} items`;
      return `must be ${iss.inclusive === false ? '<' : '≤'} ${max}`;
    }
    case 'too_small': {
      const min = String(iss.minimum);
      if (iss.origin === 'string') return Number(iss.minimum) === 1 ? 'must not be empty' : `must be at least ${min} characters`;
      if (iss.origin === 'array') return `must have at least ${min} items`;
      return `must be ${iss.inclusive === false ? '>' : '≥'} ${min}`;
    }
    case 'invalid_value':
      if (iss.input === undefined) return 'required';
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return undefined;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}

/**
 * Turns zod issues into path-keyed issues: one per unknown key, and unions reduced to the branch that
 * got furthest (so `leasePolicy: {penalty: "x"}` says "leasePolicy.penalty: expected number").
 */
export function flattenZodIssues(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[] = []): { path: PropertyKey[]; message: string; key?: boolean }[] {
  const out: { path: PropertyKey[]; message: string; key?: boolean }[] = [];
  for (const iss of issues) {
    const path = [...base, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) out.push({ path: [...path, k], message: 'unknown key', key: true });
    } else if (iss.code === 'invalid_key' || iss.code === 'invalid_element') {
      out.push(...flattenZodIssues(iss.issues, path));
    } else if (iss.code === 'invalid_union' && iss.errors.length > 0) {
      const depth = (branch: readonly z.core.$ZodIssue[]): number => Math.max(...branch.map((b) => b.path.length));
      const best = iss.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      if (depth(best) > 0) out.push(...flattenZodIssues(best, path));
      else out.push({ path, message: unionMessage(iss.errors) });
    } else {
      out.push({ path, message: iss.message });
    }
  }
  return out;
}

/** "must be one of "hold", "withdraw" or a mapping" from the top-level failures of each union branch. */
function unionMessage(branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  const options: string[] = [];
  for (const branch of branches) {
    for (const iss of branch) {
      if (iss.code === 'invalid_value') options.push(...iss.values.map((v) => JSON.stringify(v)));
      else if (iss.code === 'invalid_type') options.push(iss.expected === 'object' ? 'a mapping' : `a ${iss.expected}`);
    }
  }
  if (options.length === 0) return 'invalid value';
  const last = options.pop() as string;
  return `must be one of ${options.length ? `${options.join(', ')} or ${last}` : last}`;
}

/** Finds the YAML node at `path` (or its key node when `key`), tolerating paths that stop early. */
function locate(doc: Document, path: readonly PropertyKey[], key: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) return found;
      if (last && key && pair.key && typeof pair.key === 'object') return pair.key as Node;
      node = pair.value;
      // A key with no value (`med:`) has no value node; the key is the best place to point at.
      found = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) return found;
      node = item;
      found = item as Node;
    } else {
      return found;
    }
  }
  return found;
}

/**
 * Where the value at `path` sits in YAML `text` (1-based; the nearest enclosing node when the path stops
 * early), for problems found after parsing, e.g. by running BIRD on what the config renders.
 * Undefined when the text does not parse as YAML.
 */
export function yamlPosition(text: string, path: readonly PropertyKey[]): { line: number; column: number } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) return undefined;
  const offset = locate(doc, path, false)?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/**
 * Parses YAML text and validates it with a zod schema; any syntax or schema problem becomes a
 * ConfigError whose issues carry the line/column of the node at fault.
 *
 * The document is read as YAML 1.2 core schema (so `on`/`yes` stay strings), with duplicate keys
 * rejected and alias expansion bounded (no "billion laughs").
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, strict: true });
  const pos = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // Warnings (e.g. an unresolved `!tag`) are errors here: a config must mean exactly what it says.
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((e) => ({ path: '', message: `YAML ${e.code}: ${firstLine(e.message)}`, ...pos(e.pos[0]) })),
      file,
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ path: '', message: `YAML: ${err instanceof Error ? err.message : String(err)}` }], file, { cause: err });
  }
  // An empty file is almost always a deployment accident (truncated by a failed copy): refuse it
  // rather than run on defaults alone.
  if (data === null || data === undefined) throw new ConfigError([{ path: '', message: 'empty document (expected a mapping)', line: 1, column: 1 }], file);
  const result = schema.safeParse(data, { error: friendlyZodMessage });
  if (result.success) return result.data;
  const issues = flattenZodIssues(result.error.issues).map((i) => ({
    path: formatPath(i.path),
    message: i.message,
    ...pos(locate(doc, i.path, i.key === true)?.range?.[0]),
  }));
  throw new ConfigError(issues, file, { cause: result.error });
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return (nl < 0 ? s : s.slice(0, nl)).replace(/ at line \d+, column \d+:?$/, '');
}

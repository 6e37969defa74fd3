/**
 * `config validate` logic, pure: which parser applies to a file and how its errors print. The lines
 * are "FILE:LINE:COL: path: reason", the form editors and Puppet's validate_cmd output understand.
 */
import { hostname } from 'node:os';
import { ConfigError, formatIssue, parseVipcontrolConfig, parseViphealthConfig, type VipcontrolConfig } from '@vipcontrol/core';

export type ConfigKind = 'vipcontrol' | 'viphealth';

/** viphealth.yaml is the one with top-level `checks:` (vipcontrol.yaml has `vips:`). */
export function detectKind(text: string): ConfigKind {
  return /^checks\s*:/m.test(text) ? 'viphealth' : 'vipcontrol';
}

/** The parse outcome as printable lines; `ok` false means the file must be refused. */
export interface ValidationResult {
  readonly ok: boolean;
  readonly lines: readonly string[];
  /** The parsed config of a valid vipcontrol.yaml, for checks beyond the schema (bird-name-check.ts). */
  readonly vipcontrol?: VipcontrolConfig;
}

/** Parses `text` as a `kind` config named `file`. */
export function validateConfig(text: string, file: string, kind: ConfigKind): ValidationResult {
  try {
    const ok = [`${file}: OK`];
    if (kind === 'viphealth') {
      parseViphealthConfig(text, file);
      return { ok: true, lines: ok };
    }
    return { ok: true, lines: ok, vipcontrol: parseVipcontrolConfig(text, file, { hostname: hostname() }) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, lines: formatIssues(err, file) };
    throw err; // a bug in a parser, not a verdict on the file: let run() report it
  }
}

/** One line per issue; falls back to the error's own message lines when it carries no issues. */
function formatIssues(err: ConfigError, file: string): string[] {
  if (err.issues.length === 0) return err.message.split('\n').filter((l) => l.trim() !== '');
  return err.issues.map((issue) => formatIssue(issue, file));
}

/** Reads vipcontrol.yaml and validates it with core's schema (errors carry file, line and field). */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseVipcontrolConfig, type VipcontrolConfig } from '@vipcontrol/core';
import { ConfigLoadError } from './errors.js';

/** Default path from DESIGN.md's interface contract. */
export const DEFAULT_CONFIG_FILE = '/etc/vipcontrol/vipcontrol.yaml';

/**
 * Loads and validates the config. Throws ConfigLoadError when the file cannot be read and core's
 * ConfigError (message: `file:line:col: path: reason` lines) when it is invalid.
 */
export async function loadConfig(file: string): Promise<VipcontrolConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigLoadError(`cannot read config ${file}: ${(cause as Error).message}`, file, { cause });
  }
  return parseVipcontrolConfig(text, file, { hostname: hostname() });
}

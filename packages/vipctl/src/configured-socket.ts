/**
 * `api.socket` of a vipcontrol config, by the daemon's own parser. A module of its own so vipctl loads
 * the config validation (zod, yaml) only when it needs it (context.ts imports it on demand).
 */
import { parseVipcontrolConfig } from '@vipcontrol/core';

export function configuredSocket(text: string, file: string): string {
  return parseVipcontrolConfig(text, file, { hostname: 'vipctl' }).api.socket;
}

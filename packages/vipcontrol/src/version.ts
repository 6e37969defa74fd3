/** The daemon's version (shown in status and the start-up log). */
import { readFileSync } from 'node:fs';

// The packaged build (scripts/bundle.mjs) defines the version; a tree build reads its package.json
// (dist/src/version.js → ../../package.json), once at start-up.
declare const VIPCONTROL_BUILD_VERSION: string | undefined;

export const VERSION: string = typeof VIPCONTROL_BUILD_VERSION === 'string'
  ? VIPCONTROL_BUILD_VERSION
  : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The daemon's version, from its package.json (shown in status and the start-up log). */
import { readFileSync } from 'node:fs';

// dist/src/version.js → ../../package.json; read once at start-up.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;

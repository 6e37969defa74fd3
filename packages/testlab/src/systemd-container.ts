/**
 * The booted-systemd container the long-tier tests use (shared/tools/systemd-container): where the tool
 * is, and one container root every test boots from, created on first use. Creating it takes ~40 s on a
 * fresh machine (debootstrap) and 0.02 s afterwards; a lock keeps two test files from creating it at once.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { repoPath } from './repo-path.js';

const run = promisify(execFile);

/** The Debian 12 root every container test boots from (booting never writes to it). */
export const CONTAINER_ROOT = '/var/tmp/vipcontrol-sd-bookworm';
/** What the tests need inside; `create` installs whatever of it is missing. */
const CONTAINER_PACKAGES = ['iproute2', 'procps', 'bird2', 'puppet', 'curl'];

/** The tool: $SYSTEMD_CONTAINER, else shared/tools next to the repository, else the workplace's copy. */
export function systemdContainerTool(): string | undefined {
  return [process.env['SYSTEMD_CONTAINER'], repoPath('../shared/tools/systemd-container'), '/work/shared/tools/systemd-container']
    .find((p): p is string => p !== undefined && existsSync(p));
}

/** Creates CONTAINER_ROOT if needed (idempotent), under a lock shared by every test file. */
export async function ensureContainerRoot(tool: string): Promise<void> {
  await run('flock', [`${CONTAINER_ROOT}.lock`, tool, 'create', CONTAINER_ROOT, ...CONTAINER_PACKAGES], { timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
}

import { join } from 'node:path';
import { execa } from 'execa';
import { repoPath } from './repo-path.js';

/**
 * The BIRD versions vipcontrol is tested against: Debian 12's bird2 (the system's `bird`, the default),
 * the current BIRD 2 and the current BIRD 3 (built from source by scripts/bird-sbin.sh, once per machine).
 */
export const TESTED_BIRD_VERSIONS = ['2.0.12', '2.19.2', '3.3.2'] as const;
/** The system's BIRD, which every test uses unless told otherwise. */
export const DEFAULT_BIRD_VERSION = '2.0.12';
/** `VIPCONTROL_BIRD=3.3.2` makes every lab and test BIRD that is not given a version run that one. */
export const BIRD_VERSION_ENV = 'VIPCONTROL_BIRD';

/** Where one BIRD version's binaries are. */
export interface BirdBinaries {
  version: string;
  bird: string;
  birdc: string;
}

const resolved = new Map<string, Promise<BirdBinaries>>();

/** The version a lab or test BIRD runs when none is given: `$VIPCONTROL_BIRD`, else the system's. */
export function selectedBirdVersion(): string {
  return process.env[BIRD_VERSION_ENV] || DEFAULT_BIRD_VERSION;
}

/**
 * The binaries of BIRD `version` (default {@link selectedBirdVersion}); builds them on first use on a
 * fresh machine (~30 s, under a lock shared by parallel test files). scripts/bird-sbin.sh is the one
 * place that maps a version to a directory; this asks it once per process and version.
 */
export function birdBinaries(version: string = selectedBirdVersion()): Promise<BirdBinaries> {
  let found = resolved.get(version);
  if (!found) {
    found = execa('bash', [repoPath('scripts/bird-sbin.sh'), version]).then(
      ({ stdout }) => ({ version, bird: join(stdout.trim(), 'bird'), birdc: join(stdout.trim(), 'birdc') }),
      (err: unknown) => {
        resolved.delete(version);
        throw new Error(`BIRD ${version} is not available: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      },
    );
    resolved.set(version, found);
  }
  return found;
}


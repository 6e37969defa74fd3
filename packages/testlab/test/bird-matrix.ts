// The BIRD test matrix. The whole suite runs on the selected BIRD ($VIPCONTROL_BIRD, else Debian 12's
// 2.0.12); the BIRD-facing tests run again on each other tested line, each as a long tier, one test
// file per line (bird-matrix-*.test.ts) so that the two lines can take both of the suite's slots: the
// client against a real BIRD, the apply path, and the lab end to end (set-med and withdraw seen at the
// router, restarts that send no update, BIRD restarted and crashed under the daemon, eBGP MED).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { birdBinaries, longTier, repoPath, selectedBirdVersion } from '../src/index.js';

/** Compiled test files that talk to BIRD; they pick their BIRD from $VIPCONTROL_BIRD. */
export const BIRD_FACING_TESTS = [
  'packages/bird/dist/test/client-bird.test.js',
  'packages/vipcontrol/dist/test/daemon-bird.test.js',
  'packages/vipcontrol/dist/test/announcer-lab.test.js',
  'packages/vipcontrol/dist/test/lab.test.js',
  'packages/testlab/dist/test/lab-ibgp.test.js',
  'packages/testlab/dist/test/lab-ebgp.test.js',
  'packages/vipctl/dist/test/e2e-lifecycle.test.js',
  'packages/vipctl/dist/test/e2e-ebgp.test.js',
  'packages/viphealth/dist/test/bird-protocol.test.js',
  'packages/viphealth/dist/test/lab-e2e.test.js',
];

/** This process's environment for a nested runner: node:test refuses to run files inside a test unless NODE_TEST_CONTEXT goes. */
function childEnv(version: string): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return { ...env, VIPCONTROL_BIRD: version, VIPCONTROL_TEST_QUICK: '1' };
}

/** Registers the matrix line of `version`, unless it is the selected BIRD (the main run covers that one). */
export function birdMatrixLine(version: string): void {
  if (version === selectedBirdVersion()) return;
  test(`BIRD-facing tests on BIRD ${version}`, longTier(`bird ${version}`), async () => {
    await birdBinaries(version); // builds it on a fresh machine, once, before the tests race for it
    // One file at a time: this test holds one of the suite's two slots. --quick inside: the other long
    // tiers (soak, containers, …) already ran on the selected BIRD in the main run.
    const run = await execa(
      process.execPath,
      ['--test', '--test-concurrency=1', '--test-reporter=spec', ...BIRD_FACING_TESTS.map((f) => repoPath(f))],
      { reject: false, all: true, extendEnv: false, env: childEnv(version), cwd: repoPath('.') },
    );
    // The spec reporter lists failures at the end, with their errors: that is the part worth showing.
    const output = String(run.all);
    const failures = output.slice(Math.max(0, output.lastIndexOf('failing tests:')));
    assert.equal(run.exitCode, 0, `BIRD ${version}: BIRD-facing tests failed:\n${failures.slice(-20_000)}`);
    assert.match(output, /ℹ fail 0/);
    assert.doesNotMatch(output, /ℹ pass 0\b/);
  });
}

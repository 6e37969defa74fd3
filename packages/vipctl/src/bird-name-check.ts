/**
 * `config validate`'s second opinion on `bird.protocol4`/`protocol6`, from the installed BIRD itself.
 * Core refuses the BIRD keywords an operator might plausibly type, but BIRD has hundreds and each
 * release adds some; a name BIRD cannot parse would pass validation and then fail the first apply with
 * 8002. So when a `bird` binary is on PATH, the include the daemon would write (core's renderer, no
 * VIPs) is parsed with `bird -p` under a stub main config. Without bird, nothing is checked or said.
 */
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { formatIssue, renderBirdInclude, yamlPosition, type VipcontrolConfig } from '@vipcontrol/core';
import { CliError, ExitCode } from './errors.js';

/** `bird -p` parses a two-line config in milliseconds; anything near this is a stuck binary. */
const BIRD_TIMEOUT_MS = 5000;

// "bird: /tmp/x/vipcontrol.conf:3:17 syntax error, unexpected STATIC"
const BIRD_ERROR = /^bird: (.+):(\d+):(\d+) (.+)$/m;

/** The first executable `bird` on `env.PATH`, or undefined. */
export async function findBird(env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'bird');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this PATH entry (or not executable): try the next one, as the shell would.
    }
  }
  return undefined;
}

/**
 * Lines (`FILE:LINE:COL: bird.protocol4: BIRD rejects this name: …`) for the protocol names the `bird`
 * on `env.PATH` refuses; empty when it accepts them or no bird is installed. `text` is the YAML the
 * config was parsed from, for line numbers. BIRD stops at its first error, so at most one line.
 *
 * @throws CliError when bird is installed but cannot give an answer (timeout, crash, unreadable output)
 */
export async function birdNameRejections(
  config: VipcontrolConfig,
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string[]> {
  const bird = await findBird(env);
  if (bird === undefined) return [];
  const { protocol4, protocol6 } = config.bird;
  const include = renderBirdInclude([], { protocol4, protocol6 });
  const dir = await mkdtemp(join(tmpdir(), 'vipctl-bird-'));
  try {
    const includeFile = join(dir, 'vipcontrol.conf');
    const main = join(dir, 'bird.conf');
    await writeFile(includeFile, include);
    // Relative include: BIRD resolves it against the main file's directory, so no temp path is quoted.
    // The device protocol comes after the include: BIRD names it `device1` only if that is still free,
    // so it cannot make an operator's `device1` look taken.
    await writeFile(main, 'router id 192.0.2.1;\ninclude "vipcontrol.conf";\nprotocol device {}\n');
    const { execa } = await import('execa');
    const r = await execa(bird, ['-p', '-c', main], {
      timeout: BIRD_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      reject: false,
      stdin: 'ignore',
      all: true,
      maxBuffer: 64 * 1024,
    });
    if (r.exitCode === 0) return [];
    const m = BIRD_ERROR.exec(r.all ?? '');
    if (r.timedOut || r.exitCode === undefined || !m || m[1] !== includeFile) {
      throw new CliError(`${file}: cannot check bird.protocol4/6 with ${bird}: ${r.shortMessage}`, ExitCode.failed, { cause: r });
    }
    const path = protocolAtLine(include, Number(m[2]), config.bird);
    const message = path === undefined ? `BIRD rejects the include rendered from it: ${m[4]}` : `BIRD rejects this name: ${m[4]}`;
    const at = yamlPosition(text, path ?? ['bird']);
    return [formatIssue({ path: path?.join('.') ?? 'bird', message, ...at }, file)];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Which setting named the protocol declared on `line` (1-based) of `include`, if any. */
function protocolAtLine(include: string, line: number, names: { protocol4: string; protocol6: string }): string[] | undefined {
  const text = include.split('\n')[line - 1] ?? '';
  for (const key of ['protocol4', 'protocol6'] as const) {
    if (text.startsWith(`protocol static ${names[key]} `)) return ['bird', key];
  }
  return undefined;
}

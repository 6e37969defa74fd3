import { execa } from 'execa';

/** Output of a finished command. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A set-up command (`ip …`) failed; the message carries the command line and its stderr. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly command: string;
  readonly result: ExecResult;
  constructor(command: string, result: ExecResult) {
    super(`${command} exited ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.command = command;
    this.result = result;
  }
}

/** Runs a short command (optionally inside `netns`) to completion; never rejects on a non-zero exit. */
export async function run(cmd: string, args: readonly string[], opts: { netns?: string; input?: string } = {}): Promise<ExecResult> {
  const [file, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, [...args]];
  const result = await execa(file, argv, { reject: false, input: opts.input ?? '', stripFinalNewline: false });
  if (result.failed && result.exitCode === undefined) {
    // Spawn itself failed (ENOENT…): not an exit status a caller could interpret.
    throw new Error(`cannot run ${[file, ...argv].join(' ')}: ${result.message}`, { cause: result.cause });
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

/** Like `run`, but a non-zero exit is a CommandError. */
export async function runChecked(cmd: string, args: readonly string[], opts: { netns?: string; input?: string } = {}): Promise<ExecResult> {
  const result = await run(cmd, args, opts);
  if (result.exitCode !== 0) {
    throw new CommandError([...(opts.netns ? ['ip', 'netns', 'exec', opts.netns] : []), cmd, ...args].join(' '), result);
  }
  return result;
}

/** Runs many `ip` commands in one process (`ip -batch -`), optionally scoped to a namespace with `-n`. */
export async function ipBatch(commands: readonly string[], netns?: string): Promise<void> {
  if (commands.length === 0) return;
  await runChecked('ip', [...(netns ? ['-n', netns] : []), '-batch', '-'], { input: `${commands.join('\n')}\n` });
}

/** Names of all network namespaces (`ip netns list`). */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await runChecked('ip', ['netns', 'list']);
  return stdout.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name !== '');
}

/** Creates a namespace with loopback up and IPv6 DAD off, so v6 sessions come up without a 1-2 s wait. */
export async function createNetns(name: string): Promise<void> {
  await runChecked('ip', ['netns', 'add', name]);
  await runChecked('sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'], { netns: name });
  await runChecked('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Pids of processes living in a namespace (`ip netns pids`). */
export async function netnsPids(name: string): Promise<number[]> {
  const { stdout, exitCode } = await run('ip', ['netns', 'pids', name]);
  if (exitCode !== 0) return [];
  return stdout.split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
}

/** Kills whatever still runs in the namespace, then deletes it (its veths and bridge go with it). */
export async function deleteNetns(name: string): Promise<void> {
  for (const pid of await netnsPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  const result = await run('ip', ['netns', 'delete', name]);
  if (result.exitCode !== 0 && !/No such file/.test(result.stderr)) throw new CommandError(`ip netns delete ${name}`, result);
}

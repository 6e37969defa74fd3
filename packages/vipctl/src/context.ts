/**
 * What every command receives: the global options, the API client (made once, on first use, so
 * `config validate` and `--help` never touch the socket) and the output streams.
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { VIPCONTROL_DEFAULTS } from '@vipcontrol/core';
import { ApiClient } from './api-client.js';
import { UsageError } from './errors.js';

/** Where the daemon listens unless `--socket` or VIPCTL_SOCKET says otherwise. */
export const DEFAULT_SOCKET = VIPCONTROL_DEFAULTS.apiSocket;

/** Output sinks and environment, injectable so `run()` is testable in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Global options, as declared on the root program. */
export interface GlobalOptions {
  /** `--socket`; absent: VIPCTL_SOCKET, else `api.socket` of the local config, else the default. */
  readonly socket?: string;
  readonly json?: boolean;
}

/** Handed to every noun's `register(program, ctx)`. */
export class CliContext {
  readonly io: CliIo;
  readonly #program: Command;
  #api: ApiClient | undefined;

  constructor(program: Command, io: CliIo) {
    this.#program = program;
    this.io = io;
  }

  /** Global options; valid once commander has parsed the command line (i.e. inside an action). */
  get options(): GlobalOptions {
    return this.#program.opts<GlobalOptions>();
  }

  /** The API client, created on first use from the socket `apiSocket` finds. */
  async api(): Promise<ApiClient> {
    this.#api ??= new ApiClient({ socketPath: await apiSocket(this.options.socket, this.io.env), actor: actorName(this.io.env) });
    return this.#api;
  }

  /** Prints `text` as is (JSON mode passes the daemon's body through verbatim). */
  print(text: string): void {
    this.io.stdout(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/**
 * The API socket: `--socket`, else VIPCTL_SOCKET, else `api.socket` of the local vipcontrol config
 * (VIPCTL_CONFIG, else /etc/vipcontrol/vipcontrol.yaml — parsed by the daemon's own parser), else the
 * default. A config that is absent or not readable by this user falls through to the default; one
 * that does not parse is an error (the daemon would not run with it either).
 */
export async function apiSocket(option: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (option) return option;
  if (env['VIPCTL_SOCKET']) return env['VIPCTL_SOCKET'];
  const file = env['VIPCTL_CONFIG'] || VIPCONTROL_DEFAULTS.configFile;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') return DEFAULT_SOCKET;
    throw new UsageError(`cannot read ${file} to find the API socket (${code ?? String(cause)}); pass --socket`, { cause });
  }
  // A file in which "api" never appears (and no escape could spell it) cannot set api.socket: the
  // default stands, and vipctl is spared loading the config validation (zod, yaml), most of its
  // start-up time. Any other file goes through the daemon's own parser.
  if (!text.includes('api') && !text.includes('\\')) return DEFAULT_SOCKET;
  // Imported here, not at the top: `--socket` / VIPCTL_SOCKET never need it.
  const { configuredSocket } = await import('./configured-socket.js');
  try {
    return configuredSocket(text, file);
  } catch (cause) {
    throw new UsageError(`cannot take api.socket from ${file}: ${(cause as Error).message.split('\n')[0]}; pass --socket`, { cause });
  }
}

/** "$USER@hostname", what the daemon records as who made a change. */
export function actorName(env: Readonly<Record<string, string | undefined>>): string {
  let user = env['USER'] ?? env['LOGNAME'];
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = `uid${process.getuid?.() ?? '?'}`; // uid without a passwd entry (containers): still attributable
    }
  }
  return `${user}@${hostname()}`;
}

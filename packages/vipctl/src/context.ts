/**
 * What every command receives: the global options, the API client (made once, on first use, so
 * `config validate` and `--help` never touch the socket) and the output streams.
 */
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { VIPCONTROL_DEFAULTS } from '@vipcontrol/core';
import { ApiClient } from './api-client.js';

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
  readonly socket: string;
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

  /** The API client, created on first use from `--socket`. */
  get api(): ApiClient {
    this.#api ??= new ApiClient({ socketPath: this.options.socket, actor: actorName(this.io.env) });
    return this.#api;
  }

  /** Prints `text` as is (JSON mode passes the daemon's body through verbatim). */
  print(text: string): void {
    this.io.stdout(text.endsWith('\n') ? text : `${text}\n`);
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

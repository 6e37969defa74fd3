/**
 * The vipctl program: global options, the nouns, and `run()`, which maps every outcome to one
 * stderr line and a documented exit code. Adding a noun = one entry in NOUNS.
 */
import { Command, CommanderError, Option } from 'commander';
import { PRODUCT_VERSION, VIPCONTROL_DEFAULTS } from '@vipcontrol/core';
import { CliContext, DEFAULT_SOCKET, type CliIo } from './context.js';
import { ApiError, CliError, EXIT_CODES_HELP, ExitCode } from './errors.js';

/** One command file: adds its command(s) to the program. */
export interface NounModule {
  register(program: Command, ctx: CliContext): void;
}

/** A noun's command file, loaded on demand, and the command words it registers. */
export interface Noun {
  readonly commands: readonly string[];
  readonly load: () => Promise<NounModule>;
}

/**
 * Every noun, in `--help` order. A noun's file is imported only when the command line names one of its
 * commands (all of them for help, no command or a typo to suggest for): `vipctl status` must not pay
 * for config validation (zod, yaml) or fleet (ioredis) — start-up time is most of its round trip
 * (docs/benchmarks.md, "vipctl start-up").
 */
export const NOUNS: readonly Noun[] = [
  { commands: ['status'], load: () => import('./commands/status.js') },
  { commands: ['set-med', 'reset-med', 'withdraw', 'announce'], load: () => import('./commands/vip.js') },
  { commands: ['drain', 'undrain'], load: () => import('./commands/drain.js') },
  { commands: ['reload'], load: () => import('./commands/reload.js') },
  { commands: ['config'], load: () => import('./commands/config.js') },
  { commands: ['fleet'], load: () => import('./commands/fleet.js') },
  { commands: ['maintenance'], load: () => import('./commands/maintenance.js') },
];

/** Global options that take a value: the word after them is not the command. */
const VALUE_OPTIONS = new Set(['--socket']);

/** Builds the commander program bound to `io`, with `modules` as its nouns. */
export function createProgram(io: CliIo, modules: readonly NounModule[], opts: { jsonErrors?: boolean } = {}): { program: Command; ctx: CliContext } {
  const program = new Command('vipctl');
  const ctx = new CliContext(program, io);
  program
    .description('Operate the local vipcontrol daemon over its API socket.')
    .version(PRODUCT_VERSION)
    .addOption(
      new Option('--socket <path>', `vipcontrol API socket (else env VIPCTL_SOCKET, else api.socket of the config in VIPCTL_CONFIG or ${VIPCONTROL_DEFAULTS.configFile}, else ${DEFAULT_SOCKET})`),
    )
    .option('--json', 'print the API JSON as is instead of human output')
    .addHelpText('after', EXIT_CODES_HELP)
    .showSuggestionAfterError(true)
    // Inherited by every subcommand created after this point: commander errors become exit 2 and one
    // "vipctl: ..." line, not commander's own process.exit(1).
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
            // One line: commander puts its "(Did you mean …?)" suggestion on a second line.
      outputError: (s, write) => write(errorLine(s.replace(/^error: /, '').trimEnd().replace(/\n+/g, ' '), ExitCode.usage, opts.jsonErrors === true, undefined)),
    });
  for (const noun of modules) noun.register(program, ctx);
  return { program, ctx };
}

/** The program for `argv`: only the noun that argv names, or every noun when it names none. */
async function programFor(argv: readonly string[], io: CliIo): Promise<Command> {
  // Usage errors can happen before commander has parsed --json itself.
  const opts = { jsonErrors: argv.includes('--json') };
  const name = commandWord(argv);
  const named = NOUNS.find((n) => name !== undefined && n.commands.includes(name));
  const modules = await Promise.all((named ? [named] : NOUNS).map((n) => n.load()));
  return createProgram(io, modules, opts).program;
}

/** The first word of argv that is neither an option nor a global option's value. */
function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (VALUE_OPTIONS.has(word)) i++;
    else if (!word.startsWith('-')) return word;
  }
  return undefined;
}

/** The one stderr line of a failure: plain text, or one JSON object under --json (for scripts). */
function errorLine(message: string, exitCode: ExitCode, json: boolean, err: unknown): string {
  if (!json) return `vipctl: ${message}\n`;
  const api = err instanceof ApiError ? { status: err.status, ...(err.saved ? { saved: true } : {}) } : {};
  return `${JSON.stringify({ error: message, exitCode, ...api })}\n`;
}

/** Runs vipctl with `argv` (without node and script); resolves with the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = await programFor(argv, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage; // already printed
    const json = program.opts<{ json?: boolean }>().json === true || argv.includes('--json');
    if (err instanceof CliError) {
      if (err.message !== '') io.stderr(errorLine(err.message, err.exitCode, json, err)); // '' = details already printed
      return err.exitCode;
    }
    io.stderr(errorLine(`unexpected error: ${err instanceof Error ? err.message : String(err)}`, ExitCode.failed, json, err));
    return ExitCode.failed;
  }
}

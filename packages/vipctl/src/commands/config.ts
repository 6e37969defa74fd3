/** `vipctl config validate FILE`: no daemon needed, so Puppet can use it as `validate_cmd`. */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { birdNameRejections } from '../bird-name-check.js';
import { detectKind, validateConfig, type ConfigKind } from '../config-check.js';

export function register(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('work with config files (no daemon needed)');
  config
    .command('validate')
    .description(
      'check a vipcontrol.yaml or viphealth.yaml (BIRD protocol names also with `bird -p` when bird is on PATH); ' +
        'exit 0 if valid, else print FILE:LINE:COL: path: reason',
    )
    .argument('<file>', 'config file to check')
    .addOption(
      new Option('--kind <kind>', 'which config the file is (default: viphealth if it has a top-level `checks:`)').choices([
        'vipcontrol',
        'viphealth',
      ]),
    )
    .action(async (file: string, opts: { kind?: ConfigKind }) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        throw new CliError(`${file}: cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, ExitCode.failed, { cause });
      }
      let result = validateConfig(text, file, opts.kind ?? detectKind(text));
      if (result.vipcontrol) {
        const rejected = await birdNameRejections(result.vipcontrol, text, file, ctx.io.env);
        if (rejected.length > 0) result = { ok: false, lines: rejected };
      }
      if (ctx.options.json) {
        ctx.print(JSON.stringify({ file, ok: result.ok, errors: result.ok ? [] : result.lines }));
      } else if (result.ok) {
        ctx.print(result.lines.join('\n'));
      } else {
        ctx.io.stderr(`${result.lines.join('\n')}\n`);
      }
      if (!result.ok) throw new ConfigInvalid();
    });
}

/** Signals exit 1 after the issues were printed; carries no further message. */
class ConfigInvalid extends CliError {
  constructor() {
    super('', ExitCode.failed);
  }
}

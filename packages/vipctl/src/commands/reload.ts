/** `vipctl reload`: the daemon re-reads its config; an invalid one is refused and nothing changes. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { mutate } from '../mutate.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('reload')
    .description('re-read the daemon\'s config file (like SIGHUP); an invalid file is rejected with its error')
    .action(async () => {
      await mutate(ctx, 'POST', '/v1/reload');
    });
}

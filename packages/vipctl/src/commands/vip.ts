/** Per-VIP overrides: set-med, reset-med, withdraw, announce. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { durationArg, medArg, prefixArg, reasonBody, setMedBody, vipPath } from '../args.js';
import { mutate } from '../mutate.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('set-med')
    .description('override the MED of one VIP (health and drain penalties still add to it)')
    .argument('<prefix>', 'VIP prefix, e.g. 198.51.100.10/32', prefixArg)
    .argument('<med>', 'MED, 0..4294967295', medArg)
    .option('--ttl <duration>', 'expire the override after this long, e.g. 30m, 1h30m', durationArg)
    .option('--reason <text>', 'why (shown in status and logs)')
    .action(async (prefix: string, med: number, opts: { ttl?: string; reason?: string }) => {
      await mutate(ctx, 'PUT', vipPath(prefix, 'med'), setMedBody(med, opts));
    });

  program
    .command('reset-med')
    .description('drop the MED override of one VIP (back to its configured MED)')
    .argument('<prefix>', 'VIP prefix', prefixArg)
    .action(async (prefix: string) => {
      await mutate(ctx, 'DELETE', vipPath(prefix, 'med'));
    });

  program
    .command('withdraw')
    .description('stop announcing one VIP until `announce`')
    .argument('<prefix>', 'VIP prefix', prefixArg)
    .option('--reason <text>', 'why (shown in status and logs)')
    .option('--force', 'withdraw even if the fleet would drop below the VIP\'s minAnnouncers')
    .action(async (prefix: string, opts: { reason?: string; force?: boolean }) => {
      await mutate(ctx, 'POST', vipPath(prefix, 'withdraw'), reasonBody(opts));
    });

  program
    .command('announce')
    .description('undo an operator withdraw of one VIP')
    .argument('<prefix>', 'VIP prefix', prefixArg)
    .action(async (prefix: string) => {
      await mutate(ctx, 'POST', vipPath(prefix, 'announce'));
    });
}

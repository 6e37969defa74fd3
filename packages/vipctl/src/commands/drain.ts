/** Node-wide drain: a MED penalty on every VIP, or (with --withdraw) withdraw them all. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { drainBody } from '../args.js';
import { mutate } from '../mutate.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('drain')
    .description('drain this node: add the drain MED penalty to every VIP, or withdraw them all')
    .option('--withdraw', 'withdraw every VIP instead of raising its MED')
    .option('--reason <text>', 'why (shown in status and logs)')
    .option('--force', 'withdraw even if the fleet would drop below a VIP\'s minAnnouncers')
    .action(async (opts: { withdraw?: boolean; reason?: string; force?: boolean }) => {
      await mutate(ctx, 'POST', '/v1/drain', drainBody(opts));
    });

  program
    .command('undrain')
    .description('end the drain of this node')
    .action(async () => {
      await mutate(ctx, 'POST', '/v1/undrain');
    });
}

/** `vipctl status`: every VIP's effective state, why its MED is what it is, and what BIRD exports. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { DaemonStatus } from '../status-model.js';
import { formatStatus } from '../status-format.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show each VIP: announced, effective MED and its terms, BIRD export, last apply, drain, health')
    .action(async () => {
      const res = await ctx.api.get('/v1/status');
      ctx.print(ctx.options.json ? res.text : formatStatus(res.json as DaemonStatus, Date.now()));
    });
}

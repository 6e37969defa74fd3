/** `vipctl maintenance skip|end`: the local daemon's maintenance windows (issue 4). */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  const maintenance = program.command('maintenance').description('scheduled maintenance windows of this node');
  const post = async (path: string, done: string) => {
    const res = await (await ctx.api()).request('POST', path);
    ctx.print(ctx.options.json ? res.text : done);
  };
  maintenance
    .command('skip')
    .description('skip the next maintenance window')
    .action(() => post('/v1/maintenance/skip', 'next maintenance window will be skipped'));
  maintenance
    .command('end')
    .description('end the active maintenance window now (undrains unless an operator drained)')
    .action(() => post('/v1/maintenance/end', 'maintenance window ended'));
}

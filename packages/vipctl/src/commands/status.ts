/** `vipctl status`: every VIP's effective state, why its MED is what it is, and what BIRD exports. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { DegradedError } from '../errors.js';
import type { DaemonStatus } from '@vipcontrol/core';
import { formatStatus } from '../status-format.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show each VIP: announced, effective MED and its terms, BIRD export, last apply, drain, health')
    .option('--exit-zero', 'exit 0 whenever the daemon answers, even when status is degraded (default: exit 6)')
    .addHelpText('after', '\nExits 6 when BIRD is disconnected, a VIP is not in sync with BIRD, or viphealth\'s lease expired,\nso that `vipctl status` works as a check; --exit-zero keeps 0.')
    .action(async (opts: { exitZero?: boolean }) => {
      const res = await (await ctx.api()).get('/v1/status');
      const status = res.json as DaemonStatus;
      ctx.print(ctx.options.json ? res.text : formatStatus(status, Date.now()));
      const problems = degradation(status);
      if (problems.length > 0 && !opts.exitZero) throw new DegradedError(`status degraded: ${problems.join('; ')}`);
    });
}

/** What makes a status "not all well", each as a short phrase (empty: all well). */
export function degradation(status: DaemonStatus): string[] {
  const problems: string[] = [];
  if (!status.bird.connected) problems.push('BIRD disconnected');
  const out = status.vips.filter((v) => !v.inSync).map((v) => v.prefix);
  if (out.length > 0) problems.push(`${out.length} VIP${out.length === 1 ? '' : 's'} not in sync (${out.slice(0, 3).join(', ')}${out.length > 3 ? ', …' : ''})`);
  if (status.health?.leaseExpired) problems.push("viphealth's lease expired");
  return problems;
}

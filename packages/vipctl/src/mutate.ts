/** The shared tail of every mutating command: send, then print the affected VIPs (or the JSON). */
import type { CliContext } from './context.js';
import type { OperationResult } from '@vipcontrol/core';
import { formatResult } from './status-format.js';

/** Sends one mutation; resolves once the daemon says it is applied in BIRD. */
export async function mutate(ctx: CliContext, method: 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<void> {
  const res = await (await ctx.api()).request(method, path, body);
  if (ctx.options.json) {
    ctx.print(res.text);
    return;
  }
  const result = res.json as OperationResult | undefined;
  ctx.print(formatResult(result?.vips ?? []));
}

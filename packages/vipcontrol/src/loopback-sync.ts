/**
 * Keeps the loopback's VIP addresses in line with the desired state, around each BIRD apply:
 * addresses to add go on BEFORE BIRD announces their routes, addresses to remove come off AFTER BIRD
 * withdrew them (the fabric stops sending before the address disappears). Loopback trouble never
 * blocks the BIRD apply (withdrawing a route because `ip` failed would be worse): it is logged, shown
 * in status and retried by the next apply or re-verify.
 */
import type { Logger } from 'pino';
import { loopbackWanted, planLoopback, type EffectiveVip } from '@vipcontrol/core';
import type { LoopbackManager } from './loopback.js';

type LoopbackPlan = { add: string[]; remove: string[] };

/** One apply's loopback work in flight: started by `before`, finished by `after` or `failed`. */
export interface LoopbackStep {
  readonly wanted?: ReadonlySet<string>;
  readonly plan?: Promise<LoopbackPlan | undefined>;
}

export class LoopbackSync {
  readonly #manager: LoopbackManager | undefined;
  readonly #log: Logger;
  /** Every prefix any loaded config managed: a VIP dropped by a reload may still be on the loopback. */
  readonly #managed = new Set<string>();
  #error: string | undefined;
  /** Addresses the loopback was last brought in line with; undefined = unknown, list before the next apply. */
  #wanted: ReadonlySet<string> | undefined;

  /** `manager` absent: `loopback.manage` is false and every step is a no-op. */
  constructor(manager: LoopbackManager | undefined, logger: Logger) {
    this.#manager = manager;
    this.#log = logger;
  }

  /** The last `ip` error, until an `ip` call succeeds again. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Remembers the prefixes of a loaded config (removal stays possible after a reload dropped them). */
  manage(prefixes: Iterable<string>): void {
    for (const p of prefixes) this.#managed.add(p);
  }

  /**
   * Before the BIRD apply. `announcementsUnchanged`: no VIP flipped between announced and withdrawn
   * since the last successful apply (undefined: not known). With the same address set as last time
   * only repairs are possible (someone removed an address), so on a `full` check the listing runs
   * beside the BIRD apply; a changing set is listed and added to before it.
   */
  async before(desired: readonly EffectiveVip[], opts: { announcementsUnchanged?: boolean; full: boolean; removeOnWithdraw: boolean }): Promise<LoopbackStep> {
    if (!this.#manager) return {};
    const healthy = this.#error === undefined && this.#wanted !== undefined;
    let wanted: ReadonlySet<string>;
    let settled: boolean;
    if (healthy && opts.announcementsUnchanged !== undefined && (!opts.removeOnWithdraw || opts.announcementsUnchanged)) {
      wanted = this.#wanted!;
      settled = true;
    } else {
      wanted = loopbackWanted(desired, opts.removeOnWithdraw);
      settled = healthy && sameSet(wanted, this.#wanted);
    }
    if (!settled) {
      const plan = this.#addMissing(desired, opts.removeOnWithdraw);
      await plan;
      return { wanted, plan };
    }
    return opts.full ? { wanted, plan: this.#addMissing(desired, opts.removeOnWithdraw) } : { wanted };
  }

  /** After BIRD has the new routes: removes what is no longer wanted. */
  async after(step: LoopbackStep): Promise<void> {
    const plan = await step.plan;
    if (plan) await this.#step('remove', plan.remove);
    if (step.wanted !== undefined && this.#error === undefined) this.#wanted = step.wanted;
  }

  /** The BIRD apply failed: waits for `ip` (never left running into the next apply) and forgets the set. */
  async failed(step: LoopbackStep | undefined): Promise<void> {
    await step?.plan; // never rejects
    this.#wanted = undefined; // removals were skipped: list again next time
  }

  /** Lists the interface, plans, and adds what is missing; the plan (for the removals), or undefined if `ip` failed. */
  async #addMissing(desired: readonly EffectiveVip[], removeOnWithdraw: boolean): Promise<LoopbackPlan | undefined> {
    let plan: LoopbackPlan;
    try {
      const present = await this.#manager!.list();
      this.#error = undefined;
      plan = planLoopback(desired, present, { removeOnWithdraw, managed: this.#managed });
    } catch (error) {
      this.#failed(error);
      return undefined;
    }
    await this.#step('add', plan.add);
    return plan;
  }

  async #step(step: 'add' | 'remove', prefixes: readonly string[]): Promise<void> {
    for (const prefix of prefixes) {
      try {
        await this.#manager?.[step](prefix);
      } catch (error) {
        this.#failed(error);
      }
    }
  }

  #failed(error: unknown): void {
    this.#error = (error as Error).message;
    this.#log.error({ event: 'loopbackFailed', err: error }, 'loopback address management failed');
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string> | undefined): boolean {
  if (b === undefined || a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

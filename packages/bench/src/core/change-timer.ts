/**
 * Times one change end to end: from just before the change is started (API request sent, or file
 * write begun) to the moment the router's RIB has it — see RouterWatch for how that moment is taken.
 */
import type { LabHost } from '@vipcontrol/testlab';
import { pollMed, routerCountMed, routerHasMed, type RouterWatch } from './router-watch.js';

/** Generous: a sample that takes this long is a failure, not a data point. */
const WAIT_MS = 15_000;

export interface Timing {
  /** Change started → router has it (ms). */
  seen: number;
  /** Change started → `act` resolved (API answered / configure returned) (ms). */
  answered: number;
}

/** Shared by both halves of the benchmark: the lab's router and node, the watch, fresh MED values. */
export class ChangeTimer {
  readonly router: LabHost;
  readonly node: LabHost;
  readonly #watch: RouterWatch;
  #med = 1000;
  /** Samples whose trace line was not the change and that fell back to polling. */
  fallbacks = 0;

  constructor(router: LabHost, node: LabHost, watch: RouterWatch) {
    this.router = router;
    this.node = node;
    this.#watch = watch;
  }

  /** A MED never used before in this run, so every measured change really changes something. */
  nextMed(): number {
    this.#med += 1;
    return this.#med;
  }

  /** Times `act` setting `prefix` to `med`; confirms the MED at the router before accepting the sample. */
  async one(prefix: string, med: number, act: () => Promise<unknown>): Promise<Timing> {
    await this.#watch.drain();
    const seen = this.#watch.waitImported([prefix], WAIT_MS);
    const t0 = performance.now();
    const [traced, answeredAt] = await this.#both(seen, act);
    let seenAt = traced;
    if (!(await routerHasMed(this.router, prefix, med))) {
      // The traced import was something else: wait for the MED itself (later, so never flattering).
      this.fallbacks += 1;
      seenAt = await pollMed(this.router, prefix, med, WAIT_MS);
    }
    return { seen: seenAt - t0, answered: answeredAt - t0 };
  }

  /** Times `act` setting every one of `prefixes` to `med`; confirms the count at the router. */
  async many(prefixes: readonly string[], med: number, act: () => Promise<unknown>): Promise<Timing> {
    await this.#watch.drain();
    const seen = this.#watch.waitImported(prefixes, WAIT_MS);
    const t0 = performance.now();
    const [seenAt, answeredAt] = await this.#both(seen, act);
    const count = await routerCountMed(this.router, this.node, med);
    if (count !== prefixes.length) {
      throw new Error(`router shows ${count} routes with MED ${med} after the burst, expected ${prefixes.length}`);
    }
    return { seen: seenAt - t0, answered: answeredAt - t0 };
  }

  /** Runs `act` while the watch waits; if `act` fails the wait is abandoned so the next sample can start. */
  async #both(seen: Promise<number>, act: () => Promise<unknown>): Promise<[number, number]> {
    try {
      return await Promise.all([seen, act().then(() => performance.now())]);
    } catch (err) {
      this.#watch.cancel();
      throw err;
    }
  }
}

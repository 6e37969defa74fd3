import { Registry } from 'prom-client';

/**
 * A registry whose collectors share one snapshot of the daemon per scrape, taken just before the page
 * renders: every gauge on a page describes the same moment, and the snapshot is built once, not once
 * per gauge.
 */
export class SnapshotRegistry<T> extends Registry {
  readonly #take: () => T;
  #snapshot: T | undefined;

  constructor(take: () => T) {
    super();
    this.#take = take;
  }

  /** The snapshot of the scrape in progress (taken now when read outside a scrape). */
  get snapshot(): T {
    return (this.#snapshot ??= this.#take());
  }

  override async metrics(): Promise<string> {
    this.#snapshot = this.#take();
    return super.metrics();
  }
}

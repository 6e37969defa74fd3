/**
 * The VIP lists health reports name by digest (core health-report.ts, format 2). Lists arrive in
 * parts, possibly over several reports; a list is kept once all its parts are in and their
 * concatenation hashes to its name. Lists no current check names are dropped when a report is
 * accepted, and unfinished uploads are capped, so the store holds about what the view needs.
 */
import { vipSetDigest, type VipSetPart } from '@vipcontrol/core';
import { OperationError } from './errors.js';

/** Unfinished uploads kept at once (oldest dropped first): a report names at most this many new lists. */
const MAX_PENDING_SETS = 1000;

export class VipSetStore {
  readonly #complete = new Map<string, readonly string[]>();
  readonly #pending = new Map<string, { parts: number; got: Map<number, readonly string[]> }>();

  /** The list named `digest`, if held. */
  get(digest: string): readonly string[] | undefined {
    return this.#complete.get(digest);
  }

  /** Holds a list known to be right (vipcontrol's own snapshot). */
  remember(vips: readonly string[]): string {
    const digest = vipSetDigest(vips);
    this.#complete.set(digest, vips);
    return digest;
  }

  /** Takes the parts of a report. A finished list that does not match its digest is refused (400). */
  add(parts: readonly VipSetPart[]): void {
    for (const p of parts) {
      if (this.#complete.has(p.set)) continue;
      let upload = this.#pending.get(p.set);
      if (upload === undefined || upload.parts !== p.parts) {
        upload = { parts: p.parts, got: new Map() };
        this.#pending.delete(p.set);
        this.#pending.set(p.set, upload);
        if (this.#pending.size > MAX_PENDING_SETS) this.#pending.delete(this.#pending.keys().next().value!);
      }
      upload.got.set(p.part, p.vips);
      if (upload.got.size < upload.parts) continue;
      this.#pending.delete(p.set);
      const vips = Array.from({ length: upload.parts }, (_, i) => upload.got.get(i)!).flat();
      if (vipSetDigest(vips) !== p.set) {
        throw new OperationError(400, `invalid health report: vipSetParts: the ${vips.length} VIPs sent for set ${p.set} do not match its digest`);
      }
      this.#complete.set(p.set, vips);
    }
  }

  /** Drops every finished list not in `keep` (those no current check names). */
  retain(keep: ReadonlySet<string>): void {
    for (const digest of this.#complete.keys()) if (!keep.has(digest)) this.#complete.delete(digest);
  }
}

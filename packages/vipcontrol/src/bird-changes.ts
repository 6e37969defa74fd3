/**
 * What changed in BIRD between two looks that vipcontrol did not do itself: another configuration
 * loaded (`birdc configure` with an edited bird.conf, a `systemctl reload bird`), or one of the
 * protocols status depends on — our two static protocols, the fabric sessions — going up, down or
 * away (`birdc disable|enable|restart`, a session lost). Pure: the Announcer reads BIRD and asks.
 */
import { parseBirdTime } from '@vipcontrol/bird';

/** One look at BIRD: `show status`'s "Last reconfiguration on" and the watched protocols' states. */
export interface BirdLook {
  /** As BIRD prints it; undefined when BIRD did not say. */
  readonly reconfiguredAt: string | undefined;
  /** name → BIRD's state column ("up", "start", "down", …); a watched name missing here is not in BIRD. */
  readonly protocols: ReadonlyMap<string, string>;
}

/** When one of vipcontrol's own reconfigurations (configure, undo) was sent and answered (epoch ms). */
export interface OwnReconfiguration {
  readonly sentAt: number;
  readonly doneAt: number;
}

/**
 * BIRD prints a time as real time minus the monotonic time elapsed, with the two clocks read at
 * different moments of its event loop: the same instant can print tens of milliseconds apart on a
 * loaded machine. Two readings this close are one reconfiguration.
 */
export const BIRD_TIME_JITTER_MS = 200;

/**
 * Why `after` is not what `before` plus vipcontrol's own reconfigurations (`own`, since `before`)
 * explain: one human reason per change, [] when nothing else happened. A "Last reconfiguration" in
 * a format without a date (an operator's `timeformat base`) is compared as text, so each of our own
 * applies then counts as a change too: one verify too many, never one too few.
 */
export function birdChanges(before: BirdLook, after: BirdLook, own: readonly OwnReconfiguration[]): string[] {
  const reasons: string[] = [];
  if (after.reconfiguredAt !== before.reconfiguredAt && !explainedReconfiguration(before.reconfiguredAt, after.reconfiguredAt, own)) {
    reasons.push(`BIRD loaded a configuration at ${after.reconfiguredAt ?? '(unknown time)'} that vipcontrol did not send (birdc configure, a BIRD reload)`);
  }
  for (const name of new Set([...before.protocols.keys(), ...after.protocols.keys()])) {
    const was = before.protocols.get(name);
    const now = after.protocols.get(name);
    if (was !== now) reasons.push(`${name}: ${was ?? 'not in BIRD'} → ${now ?? 'not in BIRD'}`);
  }
  return reasons;
}

function explainedReconfiguration(before: string | undefined, after: string | undefined, own: readonly OwnReconfiguration[]): boolean {
  if (after === undefined) return false;
  const at = parseBirdTime(after);
  if (at === undefined) return false;
  const was = before === undefined ? undefined : parseBirdTime(before);
  if (was !== undefined && Math.abs(at - was) <= BIRD_TIME_JITTER_MS) return true;
  return own.some((r) => at >= r.sentAt - BIRD_TIME_JITTER_MS && at <= r.doneAt + BIRD_TIME_JITTER_MS);
}

/** A look as the Announcer took it: when it began (epoch ms) and whether it read `show status`. */
export interface TimedLook {
  readonly look: BirdLook;
  readonly startedAt: number;
  /** False: the reconfiguration time is the previous look's (only the protocols were asked). */
  readonly status: boolean;
}

/**
 * Own reconfigurations remembered between two looks, the newest: sequential set-meds at 10,000 VIPs
 * make ~50 between two watches, and the newest is the one BIRD's time can be.
 */
export const OWN_RECONFIGURATIONS_MAX = 16;

/**
 * The bookkeeping between looks: the baseline and our own reconfigurations since. Looks and
 * reconfigurations interleave on BIRD's one socket (a watch in flight while an apply runs), so a
 * look answered after a later one is dropped, and our reconfigurations sent after a look began stay
 * for the next look.
 */
export class BirdLookBook {
  #look: BirdLook | undefined;
  #lookStartedAt = Number.NEGATIVE_INFINITY;
  #own: OwnReconfiguration[] = [];

  /** The baseline's reconfiguration time (a protocols-only look carries it over). */
  get reconfiguredAt(): string | undefined {
    return this.#look?.reconfiguredAt;
  }

  ownReconfiguration(r: OwnReconfiguration): void {
    this.#own.push(r);
    // The newest only: BIRD's reconfiguration time is its newest config's (after an undo, an older one's).
    if (this.#own.length > OWN_RECONFIGURATIONS_MAX) this.#own.shift();
  }

  /** What changed since the baseline (nothing on the first look, or for an overtaken one); `seen` becomes the baseline. */
  compare(seen: TimedLook): string[] {
    if (seen.startedAt < this.#lookStartedAt) return [];
    const changes = this.#look ? birdChanges(this.#look, seen.look, this.#own) : [];
    this.#look = seen.look;
    this.#lookStartedAt = seen.startedAt;
    if (seen.status) this.#own = this.#own.filter((r) => r.sentAt >= seen.startedAt);
    return changes;
  }
}

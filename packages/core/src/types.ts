/**
 * The shared data model of vipcontrol. Every package speaks these types; nothing here does I/O.
 *
 * Prefixes are always in canonical form (see `canonicalPrefix` in prefix.ts): lower-case, compressed
 * IPv6, explicit length. Durations are milliseconds. Times are epoch milliseconds.
 */

import type { FleetLimits } from './fleet-model.js';

export type AddressFamily = 4 | 6;

/** A standard community `ASN:value`, each 0..65535, kept as its canonical text "65000:100". */
export type Community = string;
/** A large community `a:b:c`, each 0..4294967295, kept as its canonical text "65000:1:2". */
export type LargeCommunity = string;

/** One VIP as configured. */
export interface VipConfig {
  readonly prefix: string;
  readonly family: AddressFamily;
  readonly med: number;
  readonly communities: readonly Community[];
  readonly largeCommunities: readonly LargeCommunity[];
  /** BGP local preference; only meaningful on iBGP. Rendered only when set. */
  readonly localPref?: number;
  /** Fleet safety: keep at least this many announcers in the fleet (issue 4). 0 = no guard. */
  readonly minAnnouncers: number;
  /**
   * Issue 10: while the node is drained (operator or maintenance window), tag the RFC 8326
   * GRACEFUL_SHUTDOWN community 65535:0 as well, so the fabric lowers the path's local-pref. The VIP's
   * `gracefulShutdown`, else the config's top-level one; absent = false.
   */
  readonly gracefulShutdown?: boolean;
}

/** What vipcontrol does when viphealth stops reporting for `health.lease` (issue 3). */
export type LeasePolicy =
  | { readonly action: 'hold' }
  | { readonly action: 'penalty'; readonly penalty: number }
  | { readonly action: 'withdraw' };

export interface MaintenanceWindowConfig {
  readonly cron: string;
  readonly durationMs: number;
  readonly action: 'drain' | 'withdraw';
  readonly timezone?: string;
}

export interface RedisConfig {
  /** redis:// or rediss:// URL, possibly with user:password. */
  readonly url?: string;
  readonly sentinels?: readonly { readonly host: string; readonly port: number }[];
  /** Sentinel master name; required with `sentinels`. */
  readonly name?: string;
  readonly keyPrefix: string;
  readonly heartbeatMs: number;
  /** TTL of the node's registration; a node not refreshed within it is stale. */
  readonly ttlMs: number;
  /** With a rediss:// URL: the CA file (PEM) to verify the server with, instead of the system's CAs. */
  /** `servername`: the name the server certificate must carry (default: the URL's host; pinned with Sentinel). */
  readonly tls?: { readonly ca?: string; readonly insecure: boolean; readonly servername?: string };
  /** File holding the Redis password (overrides the URL's); read at start-up. */
  readonly passwordFile?: string;
  /** Sentinel's own credentials (never the Redis password); `followAnnounced`: use Sentinels the configured ones announce. */
  readonly sentinel?: { readonly username?: string; readonly passwordFile?: string; readonly followAnnounced: boolean };
  /** Bounds on what is read back from Redis; FLEET_LIMIT_DEFAULTS when absent. */
  readonly limits?: FleetLimits;
}

/** The validated, frozen vipcontrol.yaml. */
/** `metrics:` of both configs: the `/metrics` listener's address. */
export interface MetricsConfig {
  readonly listen: { readonly host: string; readonly port: number };
}

export interface VipcontrolConfig {
  readonly node: string;
  readonly bird: {
    readonly socket: string;
    readonly includeFile: string;
    /** Seconds passed to `configure timeout N`: BIRD undoes by itself if we never confirm. */
    readonly configureTimeoutSec: number;
    /** Per-command timeout on the control socket. */
    readonly commandTimeoutMs: number;
    /** Names of the two static protocols rendered into the include file. */
    readonly protocol4: string;
    readonly protocol6: string;
    /** BGP protocols towards the fabric (status verifies what they export); absent: every BGP protocol BIRD has. */
    readonly fabricProtocols?: readonly string[];
    /** How long changes wait for a pending `configure timeout` that is not vipcontrol's before applying over it. */
    readonly operatorConfigureHoldMs: number;
    /** How often BIRD is looked at for changes others made (docs/bird.md); 0: never, the periodic verify only. */
    readonly watchIntervalMs: number;
  };
  readonly api: { readonly socket: string; readonly socketMode: number; readonly socketGroup?: string };
  readonly stateFile: string;
  readonly loopback: {
    readonly interface: string;
    readonly manage: boolean;
    /** Remove the address when the VIP is withdrawn (route first, address after). */
    readonly removeOnWithdraw: boolean;
  };
  /** Node-wide MED penalty added while drained without withdraw. */
  readonly drainPenalty: number;
  readonly health: {
    /** How long vipcontrol trusts viphealth's last report before applying `leasePolicy`. */
    readonly leaseMs: number;
    readonly leasePolicy: LeasePolicy;
    /**
     * On a fresh node (no health snapshot, nothing announced yet) nothing is announced until
     * viphealth's first report or this long after start-up; 0: announce at once (no viphealth).
     */
    readonly firstReportWaitMs: number;
  };
  readonly vips: readonly VipConfig[];
  readonly maintenance: readonly MaintenanceWindowConfig[];
  readonly redis?: RedisConfig;
  /** MED penalty used instead of a withdraw that the minAnnouncers guard refused (issue 4). */
  readonly guardPenalty: number;
  readonly log: { readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' };
  /** Where `/metrics` is served; absent: not served. */
  readonly metrics?: MetricsConfig;
}

/** Runtime operator state, persisted in the state file. */
export interface MedOverride {
  readonly med: number;
  /** Epoch ms; absent = until reset. */
  readonly expiresAt?: number;
  readonly reason?: string;
  readonly setAt: number;
  readonly setBy?: string;
}

export interface RuntimeState {
  readonly version: 1;
  readonly overrides: Readonly<Record<string, MedOverride>>;
  /** Prefixes withdrawn by an operator, with reason and time. */
  readonly withdrawn: Readonly<Record<string, { readonly at: number; readonly reason?: string; readonly by?: string; readonly force?: boolean }>>;
  readonly drain?: {
    readonly withdraw: boolean;
    readonly at: number;
    readonly reason?: string;
    readonly by?: string;
    readonly force?: boolean;
    readonly source: 'operator' | 'maintenance';
    /** Set for maintenance drains: the window ends the drain by itself. */
    readonly until?: number;
  };
  /** Issue 10: remote fleet commands this node processed, written with the change each one made. */
  readonly fleet?: FleetCommandLog;
  /** Issue 10: operator decisions on maintenance windows that a restart must keep. */
  readonly maintenance?: MaintenanceMarks;
  /** Issue 10: VIPs this node held a minAnnouncers withdraw slot for, so a restart starts with the same guard. */
  readonly withdrawSlots?: readonly string[];
}

/** Which remote command a change came from: its desired-hash field, id and seq (docs/fleet.md). */
export interface FleetCommandMark {
  readonly field: string;
  readonly id: string;
  readonly seq: number;
}

/** The last command processed per desired field, and the ids of the most recent ones (any field). */
export interface FleetCommandLog {
  readonly applied: Readonly<Record<string, { readonly id: string; readonly seq: number }>>;
  readonly recent: readonly string[];
}

/** `ended`: the window (by index and start) an operator ended early; `skipped`: the start an operator skipped. */
export interface MaintenanceMarks {
  readonly ended?: { readonly index: number; readonly startedAt: number };
  readonly skipped?: { readonly index: number; readonly at: number };
}

/** The health verdict of one check as vipcontrol knows it (reported by viphealth). */
export type CheckStatus = 'up' | 'down' | 'disabled' | 'unknown';

export interface CheckVerdict {
  readonly name: string;
  readonly status: CheckStatus;
  /** Which VIPs this check gates. */
  readonly vips: readonly string[];
  /** Effect while failing (status down, or disabled with its configured effect). */
  readonly effect: { readonly penalty: number } | { readonly withdraw: true };
  readonly since: number;
  readonly lastResult?: { readonly ok: boolean; readonly at: number; readonly latencyMs?: number; readonly detail?: string };
  /** viphealth's damping memory, kept with the verdict so a restart or an edit of the check keeps damping. */
  readonly damping?: DampingMemory;
}

/** The part of a check's state machine that damping needs to survive a restart (see health-state.ts). */
export interface DampingMemory {
  readonly flapTimes: readonly number[];
  readonly holdDowns: number;
  readonly holdDownUntil?: number;
}

export interface HealthView {
  readonly checks: readonly CheckVerdict[];
  /** True when the viphealth lease has expired and the lease policy is in force. */
  readonly leaseExpired: boolean;
  /**
   * Checks that never had a verdict on a fresh node: every VIP they gate is withdrawn until their
   * first one, whatever their effect (announcing with a penalty first would move the route twice).
   */
  readonly pending?: readonly string[];
  /** A fresh node waiting for viphealth's first report: which VIPs it gates is not known yet, none is announced. */
  readonly awaitingFirstReport?: boolean;
}

/** One term of the effective MED sum, shown by `vipctl status`. */
export type MedTerm =
  | { readonly kind: 'configured'; readonly med: number }
  | { readonly kind: 'override'; readonly med: number; readonly expiresAt?: number; readonly reason?: string }
  | { readonly kind: 'health'; readonly check: string; readonly penalty: number }
  | { readonly kind: 'drain'; readonly penalty: number }
  | { readonly kind: 'lease'; readonly penalty: number }
  | {
      readonly kind: 'min-announcers';
      readonly penalty: number;
      /** The withdraw reasons the minAnnouncers guard refused (shown by `vipctl status`). */
      readonly refused?: readonly WithdrawReason[];
    };

/** Why a VIP is not announced. */
export type WithdrawReason =
  | { readonly kind: 'operator'; readonly reason?: string }
  | { readonly kind: 'health'; readonly check: string }
  | { readonly kind: 'drain' }
  | { readonly kind: 'lease' }
  /** A fresh node before viphealth's first report (or `health.firstReportWait`). */
  | { readonly kind: 'awaiting-health' };

/** The effective (desired) state of one VIP: what should be in BIRD. */
export interface EffectiveVip {
  readonly prefix: string;
  readonly family: AddressFamily;
  readonly announced: boolean;
  /** Saturated at 4294967295. */
  readonly med: number;
  readonly terms: readonly MedTerm[];
  readonly withdrawReasons: readonly WithdrawReason[];
  readonly communities: readonly Community[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly localPref?: number;
}

/** What BIRD reports it has for one route of our static protocols (observed state). */
export interface ObservedRoute {
  readonly prefix: string;
  readonly med?: number;
  readonly communities: readonly Community[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly localPref?: number;
}

/**
 * What viphealth posts to `POST /v1/health/report`: a full snapshot of its checks, sent on every
 * transition and as a heartbeat. `instance` changes on every viphealth start; a check whose status is
 * 'unknown' has not reached its first verdict yet, and vipcontrol keeps the previous verdict for it.
 */
export interface HealthReport {
  readonly instance: string;
  readonly startedAt: number;
  readonly checks: readonly CheckVerdict[];
}

/** Who asked for a change: recorded in logs, status and the audit trail. */
export interface Actor {
  readonly source: 'api' | 'fleet' | 'health' | 'maintenance' | 'system';
  readonly user?: string;
  /** A remote fleet command: the Controller persists it with the change it makes (at most once per id). */
  readonly command?: FleetCommandMark;
}

/**
 * What vipcontrol knows about viphealth: the last verdict of every check, and the liveness lease.
 *
 * Two rules keep a viphealth deploy invisible on the wire:
 * - a check reported as `unknown` (a fresh viphealth, or a check just changed by a reload) keeps the
 *   verdict it had before, until the new process reaches its own;
 * - 'change' is emitted only when something the effective state depends on changes (a status, a
 *   check's VIPs or effect, the set of checks, the lease) — never for a mere heartbeat.
 *
 * The lease: once a report has ever been received, `leaseMs` without one marks the view
 * `leaseExpired` (vipcontrol then applies the configured lease policy through computeEffective);
 * the next report restores it.
 */
import { EventEmitter } from 'node:events';
import { HealthReportError, parseHealthReport } from '@vipcontrol/core';
import { OperationError } from './errors.js';
export class HealthRegistry extends EventEmitter {
    #leaseMs;
    #logger;
    #now;
    #checks = [];
    #held = [];
    #instance;
    #startedAt;
    #lastReportAt;
    /** The lease state last announced (logged and emitted), so each edge is reported once. */
    #expiredAnnounced = false;
    #timer;
    #running = false;
    constructor(opts) {
        super();
        if (!(opts.leaseMs > 0))
            throw new RangeError(`leaseMs must be > 0, got ${opts.leaseMs}`);
        this.#leaseMs = opts.leaseMs;
        this.#logger = opts.logger;
        this.#now = opts.now ?? Date.now;
    }
    /**
     * Takes one report (a full snapshot). Validates it (OperationError 400 when malformed), merges
     * `unknown` checks with their previous verdicts, renews the lease. Emits 'change' and returns
     * `changed: true` when the view changed.
     */
    ingest(report) {
        let valid;
        try {
            valid = parseHealthReport(report);
        }
        catch (err) {
            if (err instanceof HealthReportError)
                throw new OperationError(400, err.message, { cause: err });
            throw err;
        }
        const now = this.#now();
        const before = this.#key(this.view(now));
        if (this.#instance !== undefined && valid.instance !== this.#instance) {
            this.#logger.info({ event: 'viphealthRestarted', old: this.#instance, new: valid.instance, startedAt: valid.startedAt }, 'viphealth restarted: holding previous verdicts until its checks reach their own');
        }
        const previous = new Map(this.#checks.map((c) => [c.name, c]));
        const held = [];
        this.#checks = valid.checks.map((c) => {
            const prev = previous.get(c.name);
            if (c.status !== 'unknown' || prev === undefined || prev.status === 'unknown')
                return c;
            held.push(c.name);
            // The new process's evidence is shown, but the old verdict stays in force.
            return { ...c, status: prev.status, since: prev.since };
        });
        this.#held = held;
        this.#instance = valid.instance;
        this.#startedAt = valid.startedAt;
        this.#lastReportAt = now;
        if (this.#expiredAnnounced) {
            this.#expiredAnnounced = false;
            this.#logger.warn({ event: 'healthLeaseRestored', instance: valid.instance }, 'viphealth reports again: health lease restored');
        }
        this.#schedule();
        const view = this.view(now);
        const changed = this.#key(view) !== before;
        if (changed)
            this.emit('change', view);
        return { changed };
    }
    /** The verdicts computeEffective uses. `leaseExpired` is judged at `now`. */
    view(now = this.#now()) {
        return { checks: this.#checks, leaseExpired: this.#isExpired(now) };
    }
    status() {
        const now = this.#now();
        return {
            leaseExpired: this.#isExpired(now),
            leaseMs: this.#leaseMs,
            ...(this.#lastReportAt !== undefined && { lastReportAt: this.#lastReportAt }),
            ...(this.#instance !== undefined && { instance: this.#instance }),
            ...(this.#startedAt !== undefined && { startedAt: this.#startedAt }),
            held: this.#held,
            checks: this.#checks,
        };
    }
    /** Starts watching the lease (a no-op until the first report). */
    start() {
        this.#running = true;
        this.#schedule();
    }
    stop() {
        this.#running = false;
        clearTimeout(this.#timer);
        this.#timer = undefined;
    }
    #isExpired(now) {
        return this.#lastReportAt !== undefined && now - this.#lastReportAt >= this.#leaseMs;
    }
    /** One timer, re-armed on every report, fires exactly when the lease would run out. */
    #schedule() {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        if (!this.#running || this.#lastReportAt === undefined || this.#expiredAnnounced)
            return;
        const delay = Math.max(0, this.#lastReportAt + this.#leaseMs - this.#now());
        this.#timer = setTimeout(() => this.#onLeaseTimer(), delay);
    }
    #onLeaseTimer() {
        this.#timer = undefined;
        const now = this.#now();
        if (!this.#isExpired(now)) {
            this.#schedule();
            return;
        }
        this.#expiredAnnounced = true;
        this.#logger.error({ event: 'healthLeaseExpired', lastReportAt: this.#lastReportAt, leaseMs: this.#leaseMs, instance: this.#instance }, `no report from viphealth for ${now - this.#lastReportAt} ms: health lease expired, applying the lease policy`);
        this.emit('change', this.view(now));
    }
    /** What the effective state depends on; lastResult and since are evidence only. */
    #key(view) {
        return JSON.stringify([view.leaseExpired, view.checks.map((c) => [c.name, c.status, c.vips, c.effect])]);
    }
}
//# sourceMappingURL=health-registry.js.map
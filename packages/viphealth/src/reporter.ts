/**
 * Sends viphealth's snapshot to vipcontrol (`POST /v1/health/report` over its Unix socket, format 2):
 * at once on every transition, and at least every `heartbeatMs` as the liveness lease's heartbeat.
 *
 * A check names its VIP list by digest; the lists themselves go out only when vipcontrol asks for
 * them (409 `missingVipSets`: its first report from this node, a changed list, its restart without
 * its snapshot), in parts, at most REPORT_BODY_BUDGET bytes of report per request. So a heartbeat
 * stays ~250 bytes per check at any number of VIPs, and a viphealth restart uploads nothing.
 *
 * While vipcontrol is down (restart, deploy) the reporter retries with a short backoff, so the first
 * report after vipcontrol comes back is at most ~`heartbeatMs` late. Sends never overlap: a transition
 * during a send marks the snapshot dirty and one more send follows.
 */
import { request } from 'node:http';
import { exponentialBackoff, type HealthReportBody, type HealthReportReply, type VipSetPart } from '@vipcontrol/core';
import { errorText } from './checks/probe.js';
import type { Logger } from './logger.js';

export const REPORT_PATH = '/v1/health/report';

/** A request's body stays under this, well inside vipcontrol's 64 KiB limit. */
export const REPORT_BODY_BUDGET = 56 * 1024;

/** vipcontrol answered, but not with 2xx. */
export class ReportRejectedError extends Error {
  override readonly name = 'ReportRejectedError';
  readonly status: number;
  /** The decoded JSON answer, when it was JSON. */
  readonly body: unknown;
  constructor(status: number, text: string) {
    super(`vipcontrol answered ${status}: ${text.slice(0, 300)}`);
    this.status = status;
    this.body = decodeJson(text);
  }
}

function decodeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON (a proxy, an old server): the status and text say enough
  }
}

/** POSTs one report; resolves with vipcontrol's answer on 2xx, rejects with the reason otherwise. */
export function postReport(socketPath: string, body: string, timeoutMs: number): Promise<HealthReportReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: REPORT_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-vipcontrol-actor': 'viphealth' },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < 64 * 1024) text += chunk;
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve((decodeJson(text) ?? { ok: true }) as HealthReportReply);
          else reject(new ReportRejectedError(status, text));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from vipcontrol within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A report as sent, without the VIP lists' parts. */
export type SentReport = ReportSnapshot['report'];

/** How a send ended: vipcontrol took the report, or why it does not have it (one printable line). */
export type Delivery = { readonly delivered: true } | { readonly delivered: false; readonly reason: string };

/** Why vipcontrol has not taken the report: an error answer (5xx), or the socket and the error code (ENOENT: no socket, vipcontrol not running; ECONNREFUSED: nobody listening). */
function undeliveredReason(socketPath: string, err: unknown): string {
  if (err instanceof ReportRejectedError) return `vipcontrol answered ${err.status}`;
  const code = (err as NodeJS.ErrnoException).code;
  return `vipcontrol unreachable at ${socketPath} (${code ?? errorText(err)})`;
}

/** What the reporter sends: the report without parts, and every VIP list it names, in parts. */
export interface ReportSnapshot {
  readonly report: Omit<HealthReportBody, 'vipSetParts'>;
  readonly vipSets: ReadonlyMap<string, readonly VipSetPart[]>;
}

export interface ReporterOptions {
  readonly socketPath: string;
  readonly heartbeatMs: number;
  readonly snapshot: () => ReportSnapshot;
  readonly logger: Logger;
  /** vipcontrol's answer to an accepted report (damping memory for fresh checks). */
  readonly onReply?: (reply: HealthReportReply) => void;
  /** Per request; default: the heartbeat interval, at least 1 s. */
  readonly requestTimeoutMs?: number;
  /** Called with each report sent and how it ended (not for a 409 answered with more parts). */
  readonly onSent?: (report: SentReport, delivery: Delivery) => void;
}

type SendOutcome = 'delivered' | 'more' | 'failed';

export class Reporter {
  readonly #opts: ReporterOptions;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #dirty = false;
  #failures = 0;
  #stopped = true;
  #sent = 0;
  #refused = 0;
  #lastBodyBytes = 0;
  #requests = 0;
  #bytes = 0;
  /** VIP lists vipcontrol asked for (409) and has not confirmed yet. */
  readonly #needed = new Set<string>();
  /** Parts of needed lists that went out already. */
  readonly #sentParts = new Map<string, Set<number>>();
  #firstOutcome!: () => void;
  /** Settles once the first report was delivered or failed (vipcontrol's answer, if any, has been handled). */
  readonly firstOutcome = new Promise<void>((resolve) => (this.#firstOutcome = resolve));
  #failed = 0;

  constructor(opts: ReporterOptions) {
    this.#opts = opts;
    this.#timeoutMs = opts.requestTimeoutMs ?? Math.max(1000, opts.heartbeatMs);
  }

  /** Reports delivered so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Size of the last request body, and requests and body bytes so far (the benchmark reads them). */
  get traffic(): { lastBodyBytes: number; requests: number; bytes: number } {
    return { lastBodyBytes: this.#lastBodyBytes, requests: this.#requests, bytes: this.#bytes };
  }

  /** Reports that failed (not delivered, or refused) so far. */
  get failed(): number {
    return this.#failed;
  }

  start(): void {
    this.#stopped = false;
    this.notify();
  }

  /** Sends the current snapshot now (or right after the send in flight). */
  notify(): void {
    if (this.#stopped) return;
    if (this.#sending) {
      this.#dirty = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#sending = this.#flush().finally(() => (this.#sending = undefined));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#sending;
    this.#firstOutcome();
  }

  async #flush(): Promise<void> {
    let outcome: SendOutcome;
    // Bounded so that a server answering 409 forever cannot spin us: each round sends new parts.
    let rounds = 0;
    do {
      this.#dirty = false;
      outcome = await this.#sendOnce();
      if (outcome === 'more' && ++rounds > 1000) outcome = 'failed';
    } while ((this.#dirty || outcome === 'more') && !this.#stopped && outcome !== 'failed');
    this.#firstOutcome();
    if (this.#stopped) return;
    // A heartbeat after a success; a quick retry (doubling from 100 ms up to the heartbeat) after a failure.
    // (The 409 round bound fails without counting a failure: it retries as a first failure would.)
    const delay = outcome === 'delivered' ? this.#opts.heartbeatMs : exponentialBackoff({ attempt: Math.max(1, this.#failures), minMs: 100, maxMs: this.#opts.heartbeatMs });
    this.#timer = setTimeout(() => this.notify(), delay);
  }

  /** The request body: the report plus as many missing VIP-list parts as fit the budget (one at least). */
  #body(snap: ReportSnapshot): { body: string; named: string[] } {
    const named = [...new Set(snap.report.checks.map((c) => c.vipSet))];
    // The usual case: vipcontrol asked for no list, the body is the report alone (serialised once).
    if (this.#needed.size === 0) return { body: JSON.stringify(snap.report), named };
    const parts: VipSetPart[] = [];
    let size = Buffer.byteLength(JSON.stringify({ ...snap.report, vipSetParts: [] }));
    outer: for (const digest of named) {
      if (!this.#needed.has(digest)) continue;
      const sent = this.#sentParts.get(digest) ?? new Set<number>();
      this.#sentParts.set(digest, sent);
      for (const part of snap.vipSets.get(digest) ?? []) {
        if (sent.has(part.part)) continue;
        const bytes = JSON.stringify(part).length + 1;
        if (parts.length > 0 && size + bytes > REPORT_BODY_BUDGET) break outer;
        parts.push(part);
        sent.add(part.part);
        size += bytes;
      }
    }
    return { body: JSON.stringify(parts.length > 0 ? { ...snap.report, vipSetParts: parts } : snap.report), named };
  }

  async #sendOnce(): Promise<SendOutcome> {
    const { logger, socketPath } = this.#opts;
    const snap = this.#opts.snapshot();
    const { body, named } = this.#body(snap);
    this.#lastBodyBytes = Buffer.byteLength(body);
    this.#requests++;
    this.#bytes += this.#lastBodyBytes;
    let reply: HealthReportReply;
    try {
      reply = await postReport(socketPath, body, this.#timeoutMs);
    } catch (err) {
      if (err instanceof ReportRejectedError && err.status === 409) {
        const outcome = this.#onMissing(err, named, snap);
        if (outcome === 'failed') {
          this.#failures++;
          this.#failed++;
          logger.error({ event: 'reportRefused', socket: socketPath, status: 409, error: err.message }, 'vipcontrol asks for VIP lists this viphealth does not have');
          this.#opts.onSent?.(snap.report, { delivered: false, reason: 'vipcontrol refused the report (409: VIP lists this viphealth does not have)' });
        }
        return outcome;
      }
      this.#sentParts.clear();
      this.#failures++;
      this.#failed++;
      if (err instanceof ReportRejectedError && err.status >= 400 && err.status < 500) {
        // Refused: every check's verdict is lost on the way, and vipcontrol's lease will expire. Loud each time.
        this.#refused++;
        logger.error({ event: 'reportRefused', socket: socketPath, status: err.status, error: err.message, bytes: this.#lastBodyBytes, refused: this.#refused }, 'vipcontrol refused the health report');
        this.#opts.onSent?.(snap.report, { delivered: false, reason: `vipcontrol refused the report (${err.status})` });
        return 'failed';
      }
      // Loud once, then quiet: vipcontrol being restarted is normal, a log line per retry is not useful.
      if (this.#failures === 1) logger.warn({ event: 'reportFailed', socket: socketPath, error: errorText(err) }, 'cannot report to vipcontrol; retrying');
      else logger.debug({ event: 'reportFailed', socket: socketPath, error: errorText(err), failures: this.#failures });
      this.#opts.onSent?.(snap.report, { delivered: false, reason: undeliveredReason(socketPath, err) });
      return 'failed';
    }
    if (this.#failures > 0) logger.info({ event: 'reportDelivered', failures: this.#failures }, 'reporting to vipcontrol again');
    this.#failures = 0;
    this.#sent++;
    this.#needed.clear();
    this.#sentParts.clear();
    this.#opts.onReply?.(reply);
    this.#opts.onSent?.(snap.report, { delivered: true });
    return 'delivered';
  }

  /** 409: vipcontrol lacks some lists: send them; one whose parts all went out already is sent again from the start. */
  #onMissing(err: ReportRejectedError, named: readonly string[], snap: ReportSnapshot): SendOutcome {
    const answer = err.body as { missingVipSets?: unknown } | undefined;
    const missing = Array.isArray(answer?.missingVipSets) ? (answer.missingVipSets as string[]) : named;
    this.#needed.clear();
    for (const digest of missing) {
      if (!snap.vipSets.has(digest)) continue;
      this.#needed.add(digest);
      const sent = this.#sentParts.get(digest);
      if (sent !== undefined && sent.size >= snap.vipSets.get(digest)!.length) this.#sentParts.delete(digest);
    }
    return this.#needed.size > 0 ? 'more' : 'failed';
  }
}

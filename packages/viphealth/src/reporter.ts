/**
 * Sends viphealth's full snapshot to vipcontrol (`POST /v1/health/report` over its Unix socket):
 * at once on every transition, and at least every `heartbeatMs` as the liveness lease's heartbeat.
 *
 * While vipcontrol is down (restart, deploy) the reporter retries with a short backoff, so the first
 * report after vipcontrol comes back is at most ~`heartbeatMs` late. Sends never overlap: a transition
 * during a send marks the snapshot dirty and one more send follows.
 */
import { request } from 'node:http';
import type { HealthReport } from '@vipcontrol/core';
import { errorText } from './checks/probe.js';
import type { Logger } from './logger.js';

export const REPORT_PATH = '/v1/health/report';

/** vipcontrol answered, but not with 2xx. */
export class ReportRejectedError extends Error {
  override readonly name = 'ReportRejectedError';
  readonly status: number;
  constructor(status: number, body: string) {
    super(`vipcontrol answered ${status}: ${body.slice(0, 200)}`);
    this.status = status;
  }
}

/** POSTs one report; resolves on 2xx, rejects with the reason otherwise. */
export function postReport(socketPath: string, report: HealthReport, timeoutMs: number): Promise<void> {
  const body = JSON.stringify(report);
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
          if (text.length < 4096) text += chunk;
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new ReportRejectedError(status, text));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from vipcontrol within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface ReporterOptions {
  readonly socketPath: string;
  readonly heartbeatMs: number;
  readonly snapshot: () => HealthReport;
  readonly logger: Logger;
  /** Per request; default: the heartbeat interval, at least 1 s. */
  readonly requestTimeoutMs?: number;
  /** Called with each report vipcontrol accepted. */
  readonly onDelivered?: (report: HealthReport) => void;
}

export class Reporter {
  readonly #opts: ReporterOptions;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #dirty = false;
  #failures = 0;
  #stopped = true;
  #sent = 0;
  #failed = 0;

  constructor(opts: ReporterOptions) {
    this.#opts = opts;
    this.#timeoutMs = opts.requestTimeoutMs ?? Math.max(1000, opts.heartbeatMs);
  }

  /** Reports delivered so far. */
  get sent(): number {
    return this.#sent;
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
  }

  async #flush(): Promise<void> {
    let ok = false;
    do {
      this.#dirty = false;
      ok = await this.#sendOnce();
    } while (this.#dirty && !this.#stopped);
    if (this.#stopped) return;
    // A heartbeat after a success; a quick retry (doubling up to the heartbeat) after a failure.
    const delay = ok ? this.#opts.heartbeatMs : Math.min(100 * 2 ** Math.min(this.#failures - 1, 10), this.#opts.heartbeatMs);
    this.#timer = setTimeout(() => this.notify(), delay);
  }

  async #sendOnce(): Promise<boolean> {
    const { logger, socketPath } = this.#opts;
    const report = this.#opts.snapshot();
    try {
      await postReport(socketPath, report, this.#timeoutMs);
    } catch (err) {
      this.#failures++;
      this.#failed++;
      // Loud once, then quiet: vipcontrol being restarted is normal, a log line per retry is not useful.
      if (this.#failures === 1) logger.warn({ event: 'reportFailed', socket: socketPath, error: errorText(err) }, 'cannot report to vipcontrol; retrying');
      else logger.debug({ event: 'reportFailed', socket: socketPath, error: errorText(err), failures: this.#failures });
      return false;
    }
    if (this.#failures > 0) logger.info({ event: 'reportDelivered', failures: this.#failures }, 'reporting to vipcontrol again');
    this.#failures = 0;
    this.#sent++;
    this.#opts.onDelivered?.(report);
    return true;
  }
}

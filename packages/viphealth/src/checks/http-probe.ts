/**
 * `http`: GET a URL; passes when the status is in the configured range and, if set, the body matches
 * a regular expression. TLS: a private CA file, or `insecure` to skip verification (self-signed
 * health endpoints on localhost).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { elapsed, errorText, SetupFiles, type Probe, type ProbeResult } from './probe.js';

/** Only this much of the body is read for `bodyMatch`. */
const MAX_BODY = 256 * 1024;

export interface HttpProbeOptions {
  readonly url: string;
  readonly status: { readonly min: number; readonly max: number };
  readonly bodyMatch?: string;
  readonly tls: { readonly insecure: boolean; readonly ca?: string };
}

export class HttpProbe implements Probe {
  readonly #url: URL;
  readonly #status: { min: number; max: number };
  readonly #bodyMatch: RegExp | undefined;
  readonly #tls: { rejectUnauthorized: boolean; ca?: Buffer };
  readonly setupFiles = new SetupFiles();

  /**
   * Reads the CA file now: a missing CA is a config problem, reported at (re)load, not per run. A reload
   * after the file was rotated builds a new probe (setupFiles).
   */
  constructor(opts: HttpProbeOptions) {
    this.#url = new URL(opts.url);
    this.#status = opts.status;
    this.#bodyMatch = opts.bodyMatch === undefined ? undefined : new RegExp(opts.bodyMatch);
    this.#tls = { rejectUnauthorized: !opts.tls.insecure, ...(opts.tls.ca !== undefined && { ca: this.setupFiles.read(opts.tls.ca) }) };
  }

  run(timeoutMs: number): Promise<ProbeResult> {
    const start = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: Omit<ProbeResult, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve({ ...result, latencyMs: elapsed(start) });
      };
      const fail = (err: unknown) => finish({ ok: false, detail: errorText(err), error: errorText(err) });
      const options = { method: 'GET', agent: false as const, headers: { 'user-agent': 'viphealth', connection: 'close' } };
      const req =
        this.#url.protocol === 'https:'
          ? httpsRequest(this.#url, { ...options, ...this.#tls })
          : httpRequest(this.#url, options);
      const timer = setTimeout(() => fail(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
      req.once('error', fail);
      req.once('response', (res) => this.#judge(res).then(finish, fail));
      req.end();
    });
  }

  async #judge(res: IncomingMessage): Promise<Omit<ProbeResult, 'latencyMs'>> {
    const code = res.statusCode ?? 0;
    if (code < this.#status.min || code > this.#status.max) {
      res.resume();
      return { ok: false, detail: `status ${code}, expected ${this.#status.min}-${this.#status.max}` };
    }
    if (this.#bodyMatch === undefined) {
      res.resume();
      return { ok: true, detail: `status ${code}` };
    }
    let body = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      body += chunk as string;
      if (body.length >= MAX_BODY) break;
    }
    const matched = this.#bodyMatch.test(body.slice(0, MAX_BODY));
    return { ok: matched, detail: `status ${code}, body ${matched ? 'matches' : 'does not match'} /${this.#bodyMatch.source}/` };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

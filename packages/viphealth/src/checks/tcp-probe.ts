/** `tcp`: passes when a TCP connection to host:port is established within the timeout. */
import { connect } from 'node:net';
import { elapsed, errorText, type Probe, type ProbeResult } from './probe.js';

export class TcpProbe implements Probe {
  readonly #host: string;
  readonly #port: number;

  constructor(opts: { host: string; port: number }) {
    this.#host = opts.host;
    this.#port = opts.port;
  }

  run(timeoutMs: number): Promise<ProbeResult> {
    const start = performance.now();
    return new Promise((resolve) => {
      const socket = connect({ host: this.#host, port: this.#port });
      const finish = (result: Omit<ProbeResult, 'latencyMs'>) => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.destroy();
        resolve({ ...result, latencyMs: elapsed(start) });
      };
      const timer = setTimeout(() => finish({ ok: false, detail: `no connection within ${timeoutMs} ms`, error: 'timeout' }), timeoutMs);
      socket.once('connect', () => finish({ ok: true, detail: `connected to ${this.#host}:${this.#port}` }));
      socket.once('error', (err) => finish({ ok: false, detail: errorText(err), error: errorText(err) }));
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

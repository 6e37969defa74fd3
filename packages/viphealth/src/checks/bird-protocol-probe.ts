/**
 * `bird-protocol`: at least `minUp` of the named BIRD protocols are in `state` (e.g. BGP sessions
 * Established), asked over BIRD's control socket with @vipcontrol/bird — never by running birdc.
 *
 * One connection per probe, kept open and re-established in the background, so a run costs one
 * `show protocols` round trip (well under a millisecond). The client library is imported only when a
 * config has such a check (one less module in the steady state of the others).
 */
import type { BirdClient, ProtocolInfo } from '@vipcontrol/bird';
import { exponentialBackoff } from '@vipcontrol/core';
import { elapsed, errorText, type Probe, type ProbeResult } from './probe.js';

export interface BirdProtocolProbeOptions {
  readonly socket: string;
  readonly protocols: readonly string[];
  readonly state: string;
  readonly minUp: number;
  /** Also require the BFD session to each protocol's neighbour to be Up (`show bfd sessions`). */
  readonly bfd?: boolean;
}

/** Health checks want BIRD back quickly after a restart; the library default backs off to 5 s. */
const reconnectStrategy = (retries: number) => exponentialBackoff({ attempt: retries + 1, minMs: 50, maxMs: 1000 });

/** Whether a protocol is in `state`: matched against BIRD's info column ("Established"), BGP state or state ("up"). */
function protocolInState(p: ProtocolInfo, state: string): boolean {
  const want = state.toLowerCase();
  return [p.info, p.bgpState, p.state].some((s) => s !== undefined && s.toLowerCase() === want);
}

/** Waits up to `timeoutMs` for the client to be connected (first run, or BIRD restarting). */
function waitConnected(client: BirdClient, timeoutMs: number): Promise<boolean> {
  if (client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      resolve(ok);
    };
    const onConnect = () => done(true);
    const timer = setTimeout(() => done(client.connected), timeoutMs);
    client.on('connect', onConnect);
  });
}

export class BirdProtocolProbe implements Probe {
  readonly #opts: BirdProtocolProbeOptions;
  readonly #library = import('@vipcontrol/bird');
  #client: BirdClient | undefined;
  #connectError: string | undefined;

  constructor(opts: BirdProtocolProbeOptions) {
    this.#opts = opts;
  }

  async run(timeoutMs: number): Promise<ProbeResult> {
    const start = performance.now();
    const client = await this.#connect(timeoutMs);
    if (!(await waitConnected(client, timeoutMs))) {
      const why = `not connected to BIRD at ${this.#opts.socket}${this.#connectError ? `: ${this.#connectError}` : ''}`;
      return { ok: false, latencyMs: elapsed(start), detail: why, error: why };
    }
    try {
      const { protocols, state, minUp, bfd } = this.#opts;
      // `all` for the neighbour address BFD sessions are listed by; only asked for when needed.
      const [all, sessions] = await Promise.all([client.showProtocols(bfd ? { all: true } : {}), bfd ? client.showBfdSessions() : []]);
      const bfdState = new Map(sessions.map((s) => [s.address, s.state]));
      const byName = new Map(all.map((p) => [p.name, p]));
      const seen = protocols.map((name) => {
        const p = byName.get(name);
        const inState = p !== undefined && protocolInState(p, state);
        const session = bfd ? (p?.neighborAddress !== undefined ? bfdState.get(p.neighborAddress) ?? 'no-bfd' : 'no-bfd') : undefined;
        const shown = `${p ? p.info || p.state : 'missing'}${session !== undefined ? `/bfd ${session}` : ''}`;
        return { name, ok: inState && (session === undefined || session.toLowerCase() === 'up'), shown };
      });
      const up = seen.filter((s) => s.ok).length;
      const detail = `${up}/${protocols.length} ${state} (need ${minUp}): ${seen.map((s) => `${s.name}=${s.shown}`).join(' ')}`;
      return { ok: up >= minUp, latencyMs: elapsed(start), detail: detail.slice(0, 200) };
    } catch (err) {
      return { ok: false, latencyMs: elapsed(start), detail: errorText(err), error: errorText(err) };
    }
  }

  /** The client, created on first use; its connection retries by itself in the background. */
  async #connect(timeoutMs: number): Promise<BirdClient> {
    const { BirdClient } = await this.#library;
    if (this.#client) return this.#client;
    const client = new BirdClient({
      socketPath: this.#opts.socket,
      commandTimeoutMs: timeoutMs,
      connectTimeoutMs: timeoutMs,
      reconnectStrategy,
    });
    client.on('disconnect', (cause: Error) => (this.#connectError = errorText(cause)));
    client.on('connect', () => (this.#connectError = undefined));
    // connect() settles only once connected, or rejects when close() ends it: both are expected here.
    client.connect().catch((err: unknown) => (this.#connectError = errorText(err)));
    this.#client = client;
    return client;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }
}

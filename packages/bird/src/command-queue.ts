import { BirdConnectionError, BirdError, BirdTimeoutError, replyError } from './errors.js';
import type { BirdReply } from './types.js';

/**
 * Longest command accepted, in bytes without the newline. BIRD reads the control socket into a
 * 1,024-byte buffer (sysdep/unix/main.c cli_init_unix: `s->rbsize = 1024`) and a longer burst drops
 * the connection instead of answering 9000 "Command too long"; we keep a wide margin.
 */
export const MAX_COMMAND_BYTES = 900;

/** What the queue needs from the socket layer. */
export interface CommandTransport {
  readonly ready: boolean;
  send(line: string): void;
  reset(cause: Error): void;
}

interface Pending {
  text: string;
  timeoutMs: number;
  resolve(reply: BirdReply): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

/**
 * Throws a {@link BirdError} unless `text` is one short, printable line: BIRD takes one command per
 * line, so an embedded newline would smuggle in a second command whose reply would then be taken for
 * the next caller's; an empty line gets no reply at all and would hang until the timeout.
 */
export function validateCommand(text: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text)) throw new BirdError(`BIRD command contains a newline or control character: ${JSON.stringify(text.slice(0, 80))}`);
  if (text.trim() === '') throw new BirdError('empty BIRD command');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_COMMAND_BYTES) throw new BirdError(`BIRD command is ${bytes} bytes, over the ${MAX_COMMAND_BYTES}-byte limit of BIRD's control socket`);
}

/**
 * One command in flight, the others wait in order (BIRD answers strictly in sequence and its small
 * read buffer forbids pipelining). A command that times out resets the connection: its reply may
 * still arrive later and must never be taken for the next command's.
 */
export class CommandQueue {
  readonly #transport: CommandTransport;
  #queue: Pending[] = [];
  #inFlight: Pending | undefined;

  constructor(transport: CommandTransport) {
    this.#transport = transport;
  }

  /** Commands queued or in flight. */
  get size(): number {
    return this.#queue.length + (this.#inFlight ? 1 : 0);
  }

  /** Queues a command; fails at once when it is invalid or the connection is down. */
  enqueue(text: string, timeoutMs: number): Promise<BirdReply> {
    return new Promise<BirdReply>((resolve, reject) => {
      validateCommand(text);
      if (!this.#transport.ready) throw new BirdConnectionError(`BIRD is not connected; not sending "${text}"`);
      this.#queue.push({ text, timeoutMs, resolve, reject });
      this.#pump();
    });
  }

  /** Hands the in-flight command its reply. Returns false for a reply nobody asked for. */
  onReply(reply: BirdReply): boolean {
    const p = this.#inFlight;
    if (!p) return false;
    clearTimeout(p.timer);
    this.#inFlight = undefined;
    // 8xxx run-time and 9xxx parse-time errors (doc/reply_codes); 0xxx, 1xxx and 2xxx terminals are answers.
    if (reply.code >= 8000) p.reject(replyError(reply));
    else p.resolve(reply);
    this.#pump();
    return true;
  }

  /** Rejects everything queued or in flight (the connection is gone, so no reply will come). */
  failAll(error: Error): void {
    const all = this.#inFlight ? [this.#inFlight, ...this.#queue] : this.#queue;
    this.#inFlight = undefined;
    this.#queue = [];
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  #pump(): void {
    if (this.#inFlight || !this.#transport.ready) return;
    const p = this.#queue.shift();
    if (!p) return;
    this.#inFlight = p;
    p.timer = setTimeout(() => this.#timeout(p), p.timeoutMs);
    try {
      this.#transport.send(p.text);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.failAll(new BirdConnectionError(`could not send "${p.text}" to BIRD: ${error.message}`, { cause: error }));
    }
  }

  #timeout(p: Pending): void {
    if (this.#inFlight !== p) return;
    this.#inFlight = undefined;
    const error = new BirdTimeoutError(`BIRD did not answer "${p.text}" within ${p.timeoutMs} ms`);
    p.reject(error);
    // The queued commands are rejected by the client when the reset connection reports itself down.
    this.#transport.reset(error);
  }
}

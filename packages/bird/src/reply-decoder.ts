import type { BirdReply, ReplyLine } from './types.js';

/** Callbacks of {@link ReplyDecoder}; only `reply` is required. */
export interface DecoderHandlers {
  /** A complete reply, ended by the first line matching `^\d{4} `. */
  reply(reply: BirdReply): void;
  /** A `+…` line: BIRD's spontaneous printout, outside any reply's numbering. */
  spontaneous?(text: string): void;
  /** A line that fits none of BIRD's forms; reported, never thrown. */
  garbage?(line: string): void;
}

/** Limits that keep a decoder's memory bounded whatever the peer sends. */
export interface DecoderLimits {
  /** Longest line kept; the rest of a longer line is dropped and the reply marked truncated. Default 64 KiB. */
  maxLineBytes?: number;
  /**
   * Largest reply kept, in bytes of memory as accounted: per line its text twice (the line and its share
   * of the reply's joined `text`) plus LINE_OVERHEAD_BYTES. Further lines are dropped and the reply
   * marked truncated. Default 256 MiB.
   */
  maxReplyBytes?: number;
}

const NEWLINE = 0x0a;
/**
 * What one kept line costs beyond its text, measured (`scripts/bench.sh trust`, decoder rows): the
 * ReplyLine object, its array slot, the string headers and the parent line string the text is sliced
 * from — about 75 bytes on Node 20 x64; rounded up.
 */
const LINE_OVERHEAD_BYTES = 96;
const CODE_LINE = /^(\d{4})([ -])(.*)$/s;

/**
 * Pure, incremental decoder of BIRD's CLI reply stream (nest/cli.c, doc/reply_codes):
 * - `dddd-text` is a line of a reply that goes on, `dddd text` ends it (any code: `0000 `, `0013 …`,
 *   even a table code such as `1010 …`);
 * - ` text` continues with the previous line's code (cli_printf prints a single space instead of
 *   the code when it repeats);
 * - `+text` is a spontaneous message (e.g. `+Config timeout expired, starting undo`) that may arrive
 *   between replies or in the middle of one, and belongs to none;
 * - `8000-<line overflow>` replaces a line longer than BIRD's 512-byte CLI_LINE_SIZE mid-reply: the
 *   reply continues and is marked truncated.
 *
 * Lines are split on bytes and each decoded as UTF-8 only once complete, so the result does not
 * depend on how the stream was chunked. Nothing here throws on input.
 */
export class ReplyDecoder {
  readonly #handlers: DecoderHandlers;
  readonly #maxLine: number;
  readonly #maxReply: number;
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #partialCut = false;
  #lines: ReplyLine[] = [];
  #replyBytes = 0;
  #truncated = false;

  constructor(handlers: DecoderHandlers, limits: DecoderLimits = {}) {
    this.#handlers = handlers;
    this.#maxLine = limits.maxLineBytes ?? 64 * 1024;
    this.#maxReply = limits.maxReplyBytes ?? 256 * 1024 * 1024;
  }

  /** Bytes held for an incomplete line plus lines of an unfinished reply (for diagnostics and tests). */
  get bufferedBytes(): number {
    return this.#partialBytes + this.#replyBytes;
  }

  /** True while a reply has started but not ended. */
  get inReply(): boolean {
    return this.#lines.length > 0 || this.#truncated;
  }

  /** Feeds bytes as they arrive from the socket, in chunks of any size. */
  write(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (let nl = buf.indexOf(NEWLINE); nl !== -1; nl = buf.indexOf(NEWLINE)) {
      this.#keep(buf.subarray(0, nl));
      const cut = this.#partialCut;
      const line = Buffer.concat(this.#partial, this.#partialBytes).toString('utf8');
      this.#partial = [];
      this.#partialBytes = 0;
      this.#partialCut = false;
      this.#line(line.endsWith('\r') ? line.slice(0, -1) : line, cut);
      buf = buf.subarray(nl + 1);
    }
    this.#keep(buf);
  }

  /** Drops everything buffered (used when the socket is replaced: a half reply must not leak into the next). */
  reset(): void {
    this.#partial = [];
    this.#partialBytes = 0;
    this.#partialCut = false;
    this.#lines = [];
    this.#replyBytes = 0;
    this.#truncated = false;
  }

  #keep(bytes: Buffer): void {
    const room = this.#maxLine - this.#partialBytes;
    if (bytes.length > room) this.#partialCut = true;
    const kept = bytes.length > room ? bytes.subarray(0, Math.max(room, 0)) : bytes;
    if (kept.length === 0) return;
    this.#partial.push(kept);
    this.#partialBytes += kept.length;
  }

  #line(line: string, cut: boolean): void {
    if (line.startsWith('+')) {
      this.#handlers.spontaneous?.(line.slice(1));
      return;
    }
    const m = CODE_LINE.exec(line);
    if (m) {
      const code = Number(m[1]);
      this.#add({ code, text: m[3]! }, cut || code === 8000);
      if (m[2] === ' ') this.#finish(code);
      return;
    }
    const previous = this.#lines.at(-1);
    if (line.startsWith(' ') && previous) {
      this.#add({ code: previous.code, text: line.slice(1) }, cut);
      return;
    }
    // A continuation with nothing to continue, a blank line or noise: BIRD never sends these, so they
    // are reported and skipped rather than allowed to corrupt the reply being assembled.
    this.#handlers.garbage?.(line);
  }

  #add(line: ReplyLine, truncated: boolean): void {
    if (truncated) this.#truncated = true;
    // Memory, not text: a flood of short lines costs far more than its characters (see LINE_OVERHEAD_BYTES).
    const size = 2 * line.text.length + LINE_OVERHEAD_BYTES;
    if (this.#replyBytes + size > this.#maxReply) {
      this.#truncated = true;
      return;
    }
    this.#lines.push(line);
    this.#replyBytes += size;
  }

  #finish(code: number): void {
    const lines = this.#lines;
    const reply: BirdReply = { code, lines, text: lines.map((l) => l.text).join('\n'), truncated: this.#truncated };
    this.#lines = [];
    this.#replyBytes = 0;
    this.#truncated = false;
    this.#handlers.reply(reply);
  }
}

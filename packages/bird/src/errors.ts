import type { BirdReply } from './types.js';

/** Base class of every error this package raises; `cause` is kept when there is one. */
export class BirdError extends Error {
  override name = 'BirdError';
}

/**
 * BIRD answered with a run-time (8xxx) or parse-time (9xxx) error code (doc/reply_codes).
 * Permanent for the given command: sending it again gives the same answer.
 */
export class BirdReplyError extends BirdError {
  override name = 'BirdReplyError';
  readonly code: number;
  readonly reply: BirdReply;
  constructor(reply: BirdReply, message?: string, options?: ErrorOptions) {
    super(message ?? `BIRD replied ${String(reply.code).padStart(4, '0')}: ${reply.text}`, options);
    this.code = reply.code;
    this.reply = reply;
  }
}

/**
 * 8002 "Configuration file error": BIRD rejected the file and keeps running its previous config.
 * BIRD formats it as `FILE:LINE:COLUMN MESSAGE` (sysdep/unix/main.c cmd_read_config), or
 * `FILE: strerror` when the file cannot be opened. Note that after an 8002 BIRD has already dropped
 * its undo copy, so a following `configure undo` answers 0019 "Nothing to do".
 */
export class BirdConfigError extends BirdReplyError {
  override name = 'BirdConfigError';
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** BIRD's message without the location prefix. */
  readonly detail: string;
  constructor(reply: BirdReply, options?: ErrorOptions) {
    const last = reply.lines.at(-1)?.text ?? reply.text;
    super(reply, `BIRD configuration error: ${last}`, options);
    const located = /^(.+?):(\d+):(\d+) (.*)$/s.exec(last);
    const unreadable = located ? null : /^(.+?): (.*)$/s.exec(last);
    if (located) {
      this.file = located[1];
      this.line = Number(located[2]);
      this.column = Number(located[3]);
      this.detail = located[4]!;
    } else if (unreadable) {
      this.file = unreadable[1];
      this.detail = unreadable[2]!;
    } else {
      this.detail = last;
    }
  }
}

/** The command got no complete reply in time; the connection was reset (the reply may still come). */
export class BirdTimeoutError extends BirdError {
  override name = 'BirdTimeoutError';
}

/** No usable connection: BIRD is down, restarted, the socket dropped, or the client was closed. */
export class BirdConnectionError extends BirdError {
  override name = 'BirdConnectionError';
}

/**
 * A reply line the parser does not understand: BIRD printed something this client was not written
 * for (another version's spelling, a new attribute). Raised rather than guessing, so a renamed
 * attribute reads as "cannot read … line X" and never as a route without its MED.
 */
export class BirdParseError extends BirdError {
  override name = 'BirdParseError';
  /** The line as BIRD sent it (without its code). */
  readonly line: string;
  /** BIRD's version from the banner, when the caller knew it. */
  readonly version: string | undefined;
  constructor(what: string, line: string, version: string | undefined, reason: string) {
    super(`cannot read ${what} from BIRD ${version ?? '(unknown version)'}: ${reason}: ${JSON.stringify(line)}`);
    this.line = line;
    this.version = version;
  }
}

/** Maps an error reply to its class: 8002 carries a file location, everything else is a plain reply error. */
export function replyError(reply: BirdReply): BirdReplyError {
  return reply.code === 8002 ? new BirdConfigError(reply) : new BirdReplyError(reply);
}

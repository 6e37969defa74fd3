import { BirdParseError } from '../errors.js';
import type { BirdReply, ConfigureResult, ConfigureStatus, ParseContext, ReconfigurationState } from '../types.js';

/** Terminal codes of configure commands (sysdep/unix/main.c cmd_reconfig_msg, doc/reply_codes). */
const STATUS_BY_CODE: Record<number, ConfigureStatus> = {
  3: 'reconfigured',
  4: 'in-progress',
  5: 'queued',
  6: 'shutting-down',
  17: 'unqueued',
  18: 'confirmed',
  19: 'nothing',
  20: 'ok',
  21: 'undo-requested',
  22: 'undo-scheduled',
};

/**
 * Reads the reply of `configure [check|soft] ["file"] [timeout N]`, `configure confirm` or
 * `configure undo`. Success is judged by code only, never by text (a lesson from tools that grep
 * birdc's output). Error codes never get here: the command layer raises them. The same codes in
 * BIRD 2.0, 2.1x and 3.x; BIRD 3 answers 0004 when protocols finish reconfiguring on their own
 * threads. A code outside that list is a {@link BirdParseError}.
 */
export function parseConfigureReply(reply: BirdReply, context: ParseContext = {}): ConfigureResult {
  const status = STATUS_BY_CODE[reply.code];
  if (status === undefined) {
    throw new BirdParseError('a configure reply', reply.lines.at(-1)?.text ?? '', context.version, `unknown reply code ${reply.code}`);
  }
  const result: ConfigureResult = { code: reply.code, status, messages: reply.lines.map((l) => l.text) };
  const undo = reply.lines.find((l) => l.code === 22 && /^Undo scheduled in (\d+) s/.test(l.text));
  if (undo) result.undoTimeoutSec = Number(/(\d+)/.exec(undo.text)![1]);
  return result;
}

/** Line codes of `configure status` (sysdep/unix/main.c cmd_reconfig_status): the states, the undo, the end. */
const STATE_CODES = new Set([3, 4, 5, 6, 22, 0]);

/**
 * Reads `configure status`: `0003-Daemon is up and running` / `0004-Reconfiguration in progress` /
 * `0005-…next one enqueued` / `0006-Shutdown in progress`, optionally
 * `0022-Configuration unconfirmed, undo in 12.345 s`, then an empty `0000 ` terminal line.
 */
export function parseReconfigurationState(reply: BirdReply, context: ParseContext = {}): ReconfigurationState {
  const fail = (text: string, reason: string): never => {
    throw new BirdParseError('configure status', text, context.version, reason);
  };
  for (const { code, text } of reply.lines) if (!STATE_CODES.has(code)) fail(text, `unknown line code ${code}`);
  const codes = new Set(reply.lines.map((l) => l.code));
  const state: ReconfigurationState['state'] = codes.has(4)
    ? 'in-progress'
    : codes.has(5)
      ? 'queued'
      : codes.has(6)
        ? 'shutting-down'
        : codes.has(3)
          ? 'running'
          : fail(reply.lines.at(-1)?.text ?? '', 'no daemon state line');
  const result: ReconfigurationState = { state, messages: reply.lines.map((l) => l.text).filter((t) => t !== '') };
  const undo = reply.lines.find((l) => l.code === 22);
  const seconds = undo && /undo in ([\d.]+) s/.exec(undo.text);
  if (seconds) result.undoInSec = Number(seconds[1]);
  return result;
}

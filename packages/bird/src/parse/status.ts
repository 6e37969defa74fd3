import { BirdParseError } from '../errors.js';
import type { BirdReply, BirdStatus, ParseContext } from '../types.js';

const FIELDS: [RegExp, keyof Omit<BirdStatus, 'message' | 'version'>][] = [
  [/^Router ID is (.+)$/, 'routerId'],
  [/^Hostname is (.+)$/, 'hostname'],
  [/^Current server time is (.+)$/, 'serverTime'],
  [/^Last reboot on (.+)$/, 'lastReboot'],
  [/^Last reconfiguration on (.+)$/, 'lastReconfiguration'],
];

/**
 * Reads `show status`: `1000-BIRD 2.0.12`, `1011-` facts (and graceful-restart notes, kept out), a
 * terminal `0013` with the daemon's state — "Daemon is up and running", or in BIRD 3 also
 * "Reconfiguration in progress". A reply without the version line is a {@link BirdParseError}.
 */
export function parseStatus(reply: BirdReply, context: ParseContext = {}): BirdStatus {
  let version: string | undefined;
  const facts: Omit<BirdStatus, 'message' | 'version'> = {};
  for (const { code, text } of reply.lines) {
    const v = code === 1000 ? /^BIRD (\S+)$/.exec(text) : null;
    if (v) version = v[1];
    for (const [re, key] of FIELDS) {
      const m = re.exec(text);
      if (m) facts[key] = m[1];
    }
  }
  const message = reply.lines.at(-1)?.text ?? '';
  if (version === undefined) throw new BirdParseError('show status', reply.lines[0]?.text ?? '', context.version, 'no "BIRD <version>" line');
  return { version, ...facts, message };
}

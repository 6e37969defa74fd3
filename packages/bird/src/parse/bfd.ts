import { isIP } from 'node:net';
import type { BfdSession, BirdReply } from '../types.js';

/**
 * Reads `show bfd sessions`: per BFD protocol a `name:` line, a header, then one row per session,
 * "<address> <interface> <state> <since> <interval> <timeout>" (BIRD 2 and 3). Rows are recognised by
 * their address; the header and protocol lines are skipped.
 */
export function parseBfdSessions(reply: BirdReply): BfdSession[] {
  return reply.lines
    .map((line) => line.text.trim().split(/\s+/))
    .filter((cols) => cols.length >= 3 && isIP(cols[0] ?? '') !== 0)
    .map((cols) => ({ address: cols[0]!, iface: cols[1]!, state: cols[2]! }));
}

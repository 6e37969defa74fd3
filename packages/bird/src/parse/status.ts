import type { BirdReply, BirdStatus } from '../types.js';

const FIELDS: [RegExp, keyof Omit<BirdStatus, 'message'>][] = [
  [/^Router ID is (.+)$/, 'routerId'],
  [/^Hostname is (.+)$/, 'hostname'],
  [/^Current server time is (.+)$/, 'serverTime'],
  [/^Last reboot on (.+)$/, 'lastReboot'],
  [/^Last reconfiguration on (.+)$/, 'lastReconfiguration'],
];

/** Reads `show status`: `1000-BIRD 2.0.12`, `1011-` facts, terminal `0013 Daemon is up and running`. */
export function parseStatus(reply: BirdReply): BirdStatus {
  const status: BirdStatus = { message: reply.lines.at(-1)?.text ?? '' };
  for (const { code, text } of reply.lines) {
    const version = code === 1000 ? /^BIRD (\S+)/.exec(text) : null;
    if (version) status.version = version[1];
    for (const [re, key] of FIELDS) {
      const m = re.exec(text);
      if (m) status[key] = m[1];
    }
  }
  return status;
}

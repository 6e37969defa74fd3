import type { BirdReply, ChannelStats, ProtocolInfo, StatRow } from '../types.js';

const STAT_COLUMNS = ['received', 'rejected', 'filtered', 'ignored', 'accepted'] as const;
const STAT_ROWS = {
  'Import updates': 'importUpdates',
  'Import withdraws': 'importWithdraws',
  'Export updates': 'exportUpdates',
  'Export withdraws': 'exportWithdraws',
} as const;

/**
 * Reads `show protocols [all] [name]`: a `2002` header, one `1002` row per protocol
 * (`%-10s %-10s %-10s %-5s %-10s  %s` in nest/proto.c, so long names push the columns right and
 * `since` may contain a space with some `timeformat`s), and with `all` the `1006` detail lines of
 * the row before them: BGP state, neighbor, and per channel the route counts and the
 * "Route change stats" table.
 */
export function parseProtocols(reply: BirdReply): ProtocolInfo[] {
  const protocols: ProtocolInfo[] = [];
  let current: ProtocolInfo | undefined;
  let channel: ChannelStats | undefined;
  for (const { code, text } of reply.lines) {
    if (code === 1002) {
      current = parseRow(text);
      channel = undefined;
      if (current) protocols.push(current);
    } else if (code === 1006 && current) {
      channel = parseDetail(current, channel, text);
    }
  }
  return protocols;
}

function parseRow(text: string): ProtocolInfo | undefined {
  const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(text);
  if (!m) return undefined;
  // `since` is padded to 10 and followed by two spaces; a single space may occur inside it.
  const [, since = '', info = ''] = /^(.*?)(?:\s{2,}(.*))?$/.exec(m[5]!.trimEnd())!;
  return { name: m[1]!, proto: m[2]!, table: m[3]!, state: m[4]!, since, info, details: {}, channels: [] };
}

function parseDetail(p: ProtocolInfo, channel: ChannelStats | undefined, text: string): ChannelStats | undefined {
  const chan = /^\s*Channel (\S+)\s*$/.exec(text);
  if (chan) {
    const created: ChannelStats = { name: chan[1]! };
    p.channels.push(created);
    return created;
  }
  const kv = /^\s*([^:]+?):\s*(.*?)\s*$/.exec(text);
  if (!kv) return channel;
  const [, key, value] = kv as unknown as [string, string, string];
  if (!channel) {
    // Deeper lines are sub-lists (the BGP capabilities), not facts about the protocol.
    if (/^\s{5}/.test(text)) return channel;
    if (key === 'BGP state') p.bgpState = value;
    else if (key === 'Neighbor address') p.neighborAddress = value;
    else if (p.details && !(key in p.details)) p.details[key] = value;
    return channel;
  }
  if (key === 'State') channel.state = value;
  else if (key === 'Table') channel.table = value;
  else if (key === 'Routes') channel.routes = parseRouteCounts(value);
  else if (key in STAT_ROWS) channel[STAT_ROWS[key as keyof typeof STAT_ROWS]] = parseStatRow(value);
  return channel;
}

/** "3 imported, 1 filtered, 0 exported, 3 preferred" (filtered only with `import keep filtered`). */
function parseRouteCounts(value: string): ChannelStats['routes'] {
  const counts: Record<string, number> = {};
  for (const m of value.matchAll(/(\d+) (\w+)/g)) counts[m[2]!] = Number(m[1]);
  const routes: NonNullable<ChannelStats['routes']> = { imported: counts.imported ?? 0, exported: counts.exported ?? 0 };
  if (counts.filtered !== undefined) routes.filtered = counts.filtered;
  if (counts.preferred !== undefined) routes.preferred = counts.preferred;
  return routes;
}

/** Five columns, `---` where BIRD does not count that outcome. */
function parseStatRow(value: string): StatRow {
  const row: StatRow = {};
  value.split(/\s+/).forEach((cell, i) => {
    const column = STAT_COLUMNS[i];
    if (column && /^\d+$/.test(cell)) row[column] = Number(cell);
  });
  return row;
}

/** What a BGP protocol of `show protocols all` is to vipcontrol: its session kind and address families. */
export interface BgpSessionInfo {
  /** `Session: internal …` (iBGP) or `external …` (eBGP); undefined while BIRD does not say (session down). */
  kind?: 'internal' | 'external';
  /** Families of its channels (`Channel ipv4` / `Channel ipv6`). */
  families: (4 | 6)[];
  /** BGP state ("Established", "Active", …), or the protocol state when BIRD gives none. */
  state: string;
}

/** Reads a BGP protocol's session details; undefined for any other protocol. */
export function bgpSessionInfo(p: ProtocolInfo): BgpSessionInfo | undefined {
  if (p.proto !== 'BGP') return undefined;
  const session = p.details?.Session;
  const kind = session?.startsWith('internal') ? 'internal' : session?.startsWith('external') ? 'external' : undefined;
  const families = p.channels.flatMap((c) => (c.name === 'ipv4' ? [4 as const] : c.name === 'ipv6' ? [6 as const] : []));
  return { ...(kind ? { kind } : {}), families, state: p.bgpState ?? p.state };
}

import { BirdParseError } from '../errors.js';
import type { BirdReply, ChannelStats, ParseContext, ProtocolInfo, StatRow } from '../types.js';

/**
 * Column headers of "Route change stats" (nest/proto.c channel_show_stats). BIRD 2 has five; BIRD 3
 * adds "RX limit" and "limit" before "accepted", so rows are read by their header, never by position.
 */
const STAT_COLUMNS: Record<string, keyof StatRow> = {
  received: 'received',
  rejected: 'rejected',
  filtered: 'filtered',
  ignored: 'ignored',
  'RX limit': 'rxLimit',
  limit: 'limit',
  accepted: 'accepted',
};
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
export function parseProtocols(reply: BirdReply, context: ParseContext = {}): ProtocolInfo[] {
  const reader: Reader = {
    fail: (text, reason) => {
      throw new BirdParseError('protocols', text, context.version, reason);
    },
    columns: undefined,
  };
  const protocols: ProtocolInfo[] = [];
  let current: ProtocolInfo | undefined;
  let channel: ChannelStats | undefined;
  for (const { code, text } of reply.lines) {
    if (code === 1002) {
      current = parseRow(text) ?? reader.fail(text, 'not a protocol row');
      channel = undefined;
      reader.columns = undefined;
      protocols.push(current);
    } else if (code === 1006 && current) {
      channel = parseDetail(current, channel, text, reader);
    }
  }
  return protocols;
}

interface Reader {
  fail: (text: string, reason: string) => never;
  /** The fields of the last "Route change stats" header, in order. */
  columns: (keyof StatRow)[] | undefined;
}

function parseRow(text: string): ProtocolInfo | undefined {
  const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(text);
  if (!m) return undefined;
  // `since` is padded to 10 and followed by two spaces; a single space may occur inside it.
  const [, since = '', info = ''] = /^(.*?)(?:\s{2,}(.*))?$/.exec(m[5]!.trimEnd())!;
  return { name: m[1]!, proto: m[2]!, table: m[3]!, state: m[4]!, since, info, details: {}, channels: [] };
}

function parseDetail(p: ProtocolInfo, channel: ChannelStats | undefined, text: string, reader: Reader): ChannelStats | undefined {
  const chan = /^\s*Channel (\S+)\s*$/.exec(text);
  if (chan) {
    const created: ChannelStats = { name: chan[1]! };
    p.channels.push(created);
    reader.columns = undefined;
    return created;
  }
  const header = /^\s*Route change stats:\s*(.*)$/.exec(text);
  if (header) {
    reader.columns = parseStatHeader(header[1]!, text, reader);
    return channel;
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
  else if (key in STAT_ROWS) channel[STAT_ROWS[key as keyof typeof STAT_ROWS]] = parseStatRow(value, text, reader);
  return channel;
}

/** "received   rejected   filtered    ignored   RX limit      limit   accepted" -> fields in order. */
function parseStatHeader(header: string, text: string, reader: Reader): (keyof StatRow)[] {
  const names = [...header.matchAll(/RX limit|\S+/g)].map((m) => m[0]);
  return names.map((name) => STAT_COLUMNS[name] ?? reader.fail(text, `unknown counter column "${name}"`));
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

/** One cell per header column, `---` where BIRD does not count that outcome. */
function parseStatRow(value: string, text: string, reader: Reader): StatRow {
  const columns = reader.columns ?? reader.fail(text, 'counter row without a "Route change stats" header');
  const cells = value.split(/\s+/);
  if (cells.length !== columns.length) reader.fail(text, `${cells.length} counters under ${columns.length} column headers`);
  const row: StatRow = {};
  cells.forEach((cell, i) => {
    if (/^\d+$/.test(cell)) row[columns[i]!] = Number(cell);
    else if (cell !== '---') reader.fail(text, `counter "${cell}" is neither a number nor ---`);
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

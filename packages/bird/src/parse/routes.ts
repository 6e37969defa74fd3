import { BirdParseError } from '../errors.js';
import type { BirdReply, ParseContext, RouteInfo } from '../types.js';

const TABLE = /^Table (\S+):$/;
// "198.51.100.10/32     unicast [node1 08:16:13.281 from 192.0.2.1] * (100) [AS65001i]"; the prefix
// is left blank for further routes to the same network, BIRD before 2.0.8 printed the "via X on Y" on
// this line instead of the next one, and BIRD 3 moved "from" out of the brackets into a `from:` line.
const FIRST_LINE = /^(\S*)\s+([^[]*?)\s*\[(\S+)(?: ([^\]]*?))?(?: from (\S+))?\]\s*(\*)?\s*(?:\((\d+)[^)]*\))?/;
const VIA = /via (\S+) on (\S+)/;
const ATTRIBUTE = /^\s*([A-Za-z][\w.]*):\s?(.*)$/;

/** What vipcontrol reads from a route, whatever BIRD line spells it. */
type Meaning = 'med' | 'localPref' | 'origin' | 'asPath' | 'community' | 'largeCommunity' | 'preference' | 'from' | 'source' | 'type';

/**
 * Route attribute names by meaning. BIRD 2 prints BGP attributes as `BGP.<name>` (proto/bgp/attrs.c,
 * `.name = "med"` under the "BGP" class); BIRD 3 prints the filter names (`bgp_med`, `bgp_path`, …)
 * and turns the route's preference, source and sender into attribute lines too (nest/rt-attr.c).
 */
const MEANINGS: Record<string, Meaning> = {
  'BGP.med': 'med',
  bgp_med: 'med',
  'BGP.local_pref': 'localPref',
  bgp_local_pref: 'localPref',
  'BGP.origin': 'origin',
  bgp_origin: 'origin',
  'BGP.as_path': 'asPath',
  bgp_path: 'asPath',
  'BGP.community': 'community',
  bgp_community: 'community',
  'BGP.large_community': 'largeCommunity',
  bgp_large_community: 'largeCommunity',
  preference: 'preference',
  from: 'from',
  source: 'source',
  Type: 'type',
};

/**
 * The other BGP attributes both lines know (same tables), kept raw. A BGP attribute name outside
 * MEANINGS and this list is another spelling this parser was not written for: an error, so that a
 * future rename of the MED reads as such and never as a route without one.
 */
const OTHER_BGP = [
  'next_hop', 'atomic_aggr', 'aggregator', 'originator_id', 'cluster_list', 'mp_reach_nlri', 'mp_unreach_nlri',
  'ext_community', 'as4_path', 'as4_aggregator', 'pmsi_tunnel', 'aigp', 'otc', 'mpls_label_stack',
];
const KNOWN_RAW = new Set(OTHER_BGP.flatMap((n) => [`BGP.${n}`, `bgp_${n}`]));
/** BGP namespace of either line; `BGP.1f` is BIRD 2's name for an attribute it received but does not know. */
const BGP_NAME = /^bgp[._]/i;
const UNKNOWN_RECEIVED = /^BGP\.[0-9a-f]{2}$/;

/**
 * Reads `show route … all` and `show route export P all` of BIRD 2.0.x, 2.1x and 3.x: `1007` lines
 * carry tables (`Table master4:`), route first lines and their next hops, `1008` the `Type:` line
 * (BIRD 2) or the "Internal route handling values" (BIRD 3), `1012` the attribute lines, all mixing
 * codes with space continuations. A long community list is wrapped by BIRD itself onto further lines
 * indented by two tabs (nest/rt-attr.c), which continue the attribute above. Lines BIRD cut
 * (`8000 <line overflow>`, or its own "..." on long AS paths) leave that attribute missing or partial.
 * Any other line it does not understand is a {@link BirdParseError} naming the line and BIRD's version.
 */
export function parseRoutes(reply: BirdReply, context: ParseContext = {}): RouteInfo[] {
  const read: Reader = {
    fail: (text, reason) => {
      throw new BirdParseError('a route', text, context.version, reason);
    },
    // A line cut short by the decoder may end mid-list; only a whole reply is held to the grammar.
    whole: reply.truncated !== true,
  };
  const fail = read.fail;
  const routes: RouteInfo[] = [];
  let table: string | undefined;
  let route: RouteInfo | undefined;
  /** The attribute the previous line set, which a "\t\t" line continues. */
  let lastKey: string | undefined;
  for (const { code, text } of reply.lines) {
    if (code !== 1007 && code !== 1008 && code !== 1012) continue;
    const t = TABLE.exec(text);
    if (t) {
      table = t[1];
      route = undefined;
      continue;
    }
    if (text.trim() === '') continue;
    if (!text.startsWith('\t')) {
      const m = FIRST_LINE.exec(text);
      if (!m) fail(text, 'not a route line');
      route = firstLine(m!, route?.prefix, table);
      routes.push(route);
      lastKey = undefined;
      continue;
    }
    if (!route) fail(text, 'detail line before any route');
    lastKey = detailLine(route!, text, lastKey, read);
  }
  return routes;
}

function firstLine(m: RegExpExecArray, previousPrefix: string | undefined, table: string | undefined): RouteInfo {
  const [, prefix, kindPart, protocol, since, from, star, preference] = m;
  const route: RouteInfo = {
    prefix: prefix || previousPrefix || '',
    protocol: protocol!,
    primary: star === '*',
    communities: [],
    largeCommunities: [],
    attributes: {},
  };
  if (table) route.table = table;
  const via = VIA.exec(kindPart!);
  if (via) {
    route.nextHop = via[1];
    route.iface = via[2];
  } else if (kindPart) {
    route.kind = kindPart.split(/\s+/)[0];
  }
  if (since) route.since = since;
  if (from) route.from = from;
  if (preference) route.preference = Number(preference);
  return route;
}

interface Reader {
  fail: (text: string, reason: string) => never;
  whole: boolean;
}

/** Reads one detail line into `route`; returns the attribute key it set (or continued), if any. */
function detailLine(route: RouteInfo, text: string, lastKey: string | undefined, read: Reader): string | undefined {
  const fail = read.fail;
  if (lastKey !== undefined && text.startsWith('\t\t')) {
    const value = `${route.attributes[lastKey] ?? ''} ${text.trim()}`;
    route.attributes[lastKey] = value;
    applyAttribute(route, lastKey, value, text, read);
    return lastKey;
  }
  if (/^\s*via /.test(text)) {
    const via = VIA.exec(text) ?? fail(text, 'next hop without "via ADDRESS on INTERFACE"');
    // Multipath routes list several next hops; the first one is reported.
    route.nextHop ??= via[1];
    route.iface ??= via[2];
    return undefined;
  }
  const dev = /^\s*dev (\S+)/.exec(text);
  if (dev) {
    route.iface ??= dev[1];
    return undefined;
  }
  // BIRD 3's 1008 line: its own bookkeeping (locks, generation, id), nothing about the route.
  if (/^\s*Internal route handling values:/.test(text)) return undefined;
  const a = ATTRIBUTE.exec(text) ?? fail(text, 'not an attribute line ("name: value")');
  const [, key, value] = a as unknown as [string, string, string];
  if (!(key in MEANINGS) && BGP_NAME.test(key) && !KNOWN_RAW.has(key) && !UNKNOWN_RECEIVED.test(key)) {
    fail(text, `unknown BGP attribute ${key}`);
  }
  applyAttribute(route, key, value, text, read);
  // BIRD 2's `Type:` is a line of its own (1008), not an attribute.
  if (key === 'Type') return undefined;
  route.attributes[key] = value;
  return key;
}

function applyAttribute(route: RouteInfo, key: string, value: string, text: string, read: Reader): void {
  const fail = read.fail;
  const meaning = MEANINGS[key];
  if (meaning === undefined) return;
  const integer = (): number => (/^\d+$/.test(value) ? Number(value) : fail(text, `${key} is not a whole number`));
  switch (meaning) {
    case 'med':
      route.med = integer();
      break;
    case 'localPref':
      route.localPref = integer();
      break;
    case 'preference':
      route.preference = integer();
      break;
    case 'origin':
      route.origin = value;
      break;
    case 'from':
      route.from = value;
      break;
    case 'type':
      // BIRD 2: "BGP univ" / "static univ"; the source is its first word, as BIRD 3's `source:` says.
      route.type = value;
      route.source = value.split(' ')[0];
      break;
    case 'source':
      route.source = value;
      break;
    case 'asPath':
      // Only whole numbers: BIRD ends an over-long path with "6...", and AS sets come in braces.
      route.asPath = value.split(/[\s{}]+/).filter((s) => /^\d+$/.test(s)).map(Number);
      break;
    case 'community':
      // "(65000,100) (65000,200)"; the wrapped remainder arrives as a continuation, so read it all again.
      route.communities = pairs(value, /\((\d+),\s*(\d+)\)/g, text, key, read);
      break;
    case 'largeCommunity':
      // "(65000, 1, 2) (65000, 3, 4)"
      route.largeCommunities = pairs(value, /\((\d+),\s*(\d+),\s*(\d+)\)/g, text, key, read);
      break;
  }
}

/** Every `(a,b[,c])` of a community list as "a:b[:c]"; anything else in the list is an error. */
function pairs(value: string, item: RegExp, text: string, key: string, read: Reader): string[] {
  if (read.whole && value.replace(item, '').trim() !== '') read.fail(text, `${key} holds something other than community tuples`);
  return [...value.matchAll(item)].map((c) => c.slice(1).join(':'));
}

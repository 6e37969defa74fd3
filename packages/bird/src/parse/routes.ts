import type { BirdReply, RouteInfo } from '../types.js';

const TABLE = /^Table (\S+):$/;
// "198.51.100.10/32     unicast [node1 08:16:13.281 from 192.0.2.1] * (100) [AS65001i]"; the prefix
// is left blank for further routes to the same network, and BIRD before 2.0.8 printed the
// "via X on Y" on this line instead of the next one.
const FIRST_LINE = /^(\S*)\s+([^[]*?)\s*\[(\S+)(?: ([^\]]*?))?(?: from (\S+))?\]\s*(\*)?\s*(?:\((\d+)[^)]*\))?/;
const VIA = /via (\S+) on (\S+)/;
const ATTRIBUTE = /^\s*([A-Za-z][\w.]*):\s?(.*)$/;

/**
 * Reads `show route … all`: `1007` lines carry tables (`Table master4:`), route first lines and
 * their next hops, `1008` the `Type:` line and `1012` the attribute lines, all mixing codes with
 * space continuations. A long community list is wrapped by BIRD itself onto further lines indented
 * by two tabs (nest/rt-attr.c), which continue the attribute above. Lines BIRD cut
 * (`8000 <line overflow>`, or its own "..." on long AS paths) leave that attribute missing or partial
 * rather than failing the whole answer.
 */
export function parseRoutes(reply: BirdReply): RouteInfo[] {
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
      if (m) {
        route = firstLine(m, route?.prefix, table);
        routes.push(route);
      }
      lastKey = undefined;
      continue;
    }
    if (route) lastKey = detailLine(route, text, lastKey);
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

/** Reads one detail line into `route`; returns the attribute key it set (or continued), if any. */
function detailLine(route: RouteInfo, text: string, lastKey: string | undefined): string | undefined {
  if (lastKey !== undefined && text.startsWith('\t\t')) {
    const value = `${route.attributes[lastKey] ?? ''} ${text.trim()}`;
    route.attributes[lastKey] = value;
    applyAttribute(route, lastKey, value);
    return lastKey;
  }
  const via = /^\s*via /.test(text) ? VIA.exec(text) : null;
  if (via) {
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
  const a = ATTRIBUTE.exec(text);
  if (!a) return undefined;
  const [, key, value] = a as unknown as [string, string, string];
  if (key === 'Type') {
    route.type = value;
    return undefined;
  }
  route.attributes[key] = value;
  applyAttribute(route, key, value);
  return key;
}

function applyAttribute(route: RouteInfo, key: string, value: string): void {
  switch (key) {
    case 'BGP.med':
      route.med = Number(value);
      break;
    case 'BGP.local_pref':
      route.localPref = Number(value);
      break;
    case 'BGP.origin':
      route.origin = value;
      break;
    case 'BGP.as_path':
      // Only whole numbers: BIRD ends an over-long path with "6...", and AS sets come in braces.
      route.asPath = value.split(/[\s{}]+/).filter((s) => /^\d+$/.test(s)).map(Number);
      break;
    case 'BGP.community':
      // "(65000,100) (65000,200)"
      route.communities = [...value.matchAll(/\((\d+),\s*(\d+)\)/g)].map((c) => `${c[1]}:${c[2]}`);
      break;
    case 'BGP.large_community':
      // "(65000, 1, 2) (65000, 3, 4)"
      route.largeCommunities = [...value.matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map((c) => `${c[1]}:${c[2]}:${c[3]}`);
      break;
  }
}

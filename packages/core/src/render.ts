/**
 * Renders the BIRD 2 include file vipcontrol owns: two static protocols (always both, possibly empty,
 * so the operator's `export where proto = "vipcontrol4"` always refers to something), one blackhole
 * route per announced VIP carrying its BGP attributes.
 *
 * Defence in depth: every value is re-validated here against its strict grammar even though config,
 * state and API already validated it. Nothing free-form (reasons, names) is ever written, and a value
 * that does not match throws RenderError instead of being escaped.
 */
import { parseCommunity, parseLargeCommunity } from './community.js';
import { canonicalPrefix, prefixSortKey } from './prefix.js';
import { MAX_U32 } from './schemas.js';
import type { EffectiveVip } from './types.js';

/** A value that must never reach BIRD config. */
export class RenderError extends Error {
  override readonly name = 'RenderError';
}

/** Options of renderBirdInclude. */
export interface RenderOptions {
  readonly protocol4: string;
  readonly protocol6: string;
  /** Comment lines put at the top; printable text, newlines separate lines. Defaults to DEFAULT_HEADER. */
  readonly header?: string;
}

/** The header comment of the include file. */
export const DEFAULT_HEADER = 'Managed by vipcontrol - do not edit. Rewritten atomically on every change.';

const BIRD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
// Header lines become `# ...` comments; only printable ASCII so no byte can end the comment early.
const HEADER_LINE = /^[\x20-\x7e]*$/;

/**
 * Renders the include file for `vips` (withdrawn VIPs are simply absent). Deterministic: the same
 * input gives byte-identical output, routes sorted by address, so "unchanged" can be a string compare.
 *
 * @throws RenderError when any value does not match its grammar
 */
export function renderBirdInclude(vips: readonly EffectiveVip[], opts: RenderOptions): string {
  for (const name of [opts.protocol4, opts.protocol6]) {
    if (!BIRD_NAME.test(name)) throw new RenderError(`invalid BIRD protocol name ${JSON.stringify(name)}`);
  }
  if (opts.protocol4 === opts.protocol6) throw new RenderError('protocol4 and protocol6 must differ');
  const header = (opts.header ?? DEFAULT_HEADER).split('\n');
  for (const line of header) {
    if (!HEADER_LINE.test(line)) throw new RenderError(`header line ${JSON.stringify(line)} is not printable ASCII`);
  }

  const routes: Record<4 | 6, string[]> = { 4: [], 6: [] };
  const checked = sorted(vips);
  for (let i = 0; i < checked.length; i++) {
    const { vip, key, line } = checked[i]!;
    // Sorted by a key unique per canonical prefix: a duplicate sits right after its twin.
    if (i > 0 && checked[i - 1]!.key === key) throw new RenderError(`duplicate prefix ${vip.prefix}`);
    routes[vip.family].push(line);
  }

  const head = header.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n');
  return `${head}\n${protocol(opts.protocol4, 'ipv4', routes[4])}${protocol(opts.protocol6, 'ipv6', routes[6])}`;
}

/** One static protocol block, newline-terminated. */
function protocol(name: string, channel: 'ipv4' | 'ipv6', routes: readonly string[]): string {
  const body = routes.length > 0 ? `${joinRoutes(name, routes)}\n` : '';
  return `protocol static ${name} {\n  ${channel};\n${body}}\n`;
}

/** Lines per memoised block of a protocol's routes. */
const BLOCK_LINES = 256;
/** Per protocol name: the blocks of its last rendering, each its lines and their join. */
const lastBlocks = new Map<string, readonly { readonly lines: readonly string[]; readonly text: string }[]>();

/**
 * `routes.join('\n')`, reusing the join of every block of lines that is the same as last time. Joining
 * 10,000 lines into ~1 MB is most of a render, and an apply usually changes one line: the other
 * blocks are reused and only the ~40 block strings are joined. A moved line (a VIP announced or
 * withdrawn) shifts the blocks after it, which are then joined afresh.
 */
function joinRoutes(name: string, routes: readonly string[]): string {
  const previous = lastBlocks.get(name) ?? [];
  const blocks: { lines: readonly string[]; text: string }[] = [];
  for (let start = 0; start < routes.length; start += BLOCK_LINES) {
    const lines = routes.slice(start, start + BLOCK_LINES);
    const old = previous[blocks.length];
    blocks.push(old !== undefined && sameList(old.lines, lines) ? old : { lines, text: lines.join('\n') });
  }
  if (lastBlocks.size >= 64 && !lastBlocks.has(name)) lastBlocks.clear(); // protocol names are few; bound it anyway
  lastBlocks.set(name, blocks);
  return blocks.length === 1 ? blocks[0]!.text : blocks.map((b) => b.text).join('\n');
}

/** An announced VIP, checked, with its sort key and route line. */
interface CheckedVip {
  readonly vip: EffectiveVip;
  readonly key: string;
  readonly line: string;
}

// computeEffective hands out one frozen object per VIP that nothing but its config shapes, the same
// object apply after apply: its checks, sort key and route line are kept for as long as it lives.
const frozenVips = new WeakMap<EffectiveVip, CheckedVip>();

/** The announced VIPs, checked, in prefixSortKey order (usually already their order: then no sort). */
function sorted(vips: readonly EffectiveVip[]): CheckedVip[] {
  const out: CheckedVip[] = [];
  let inOrder = true;
  for (const vip of vips) {
    if (!vip.announced) continue;
    const c = checkedVip(vip);
    if (inOrder && out.length > 0 && out[out.length - 1]!.key > c.key) inOrder = false;
    out.push(c);
  }
  if (!inOrder) out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

function checkedVip(vip: EffectiveVip): CheckedVip {
  const hit = frozenVips.get(vip);
  if (hit !== undefined) return hit;
  const done = { vip, key: prefixSortKey(assertPrefix(vip)), line: routeLine(vip) };
  if (Object.isFrozen(vip) && Object.isFrozen(vip.communities) && Object.isFrozen(vip.largeCommunities)) frozenVips.set(vip, done);
  return done;
}

/** A rendered route line and the attribute values it was rendered from. */
interface RouteMemo {
  readonly med: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly localPref: number | undefined;
  readonly line: string;
}

// An apply at 10,000 VIPs re-renders 10,000 routes of which one changed. Each prefix keeps its last
// line; it is reused while med, local-pref and the (frozen, config-owned) community arrays are the
// same. Bounded like the prefix memo; the prefix itself is still checked on every render.
const ROUTE_MEMO_LIMIT = 262_144;
const routeMemo = new Map<string, RouteMemo>();

function routeLine(vip: EffectiveVip): string {
  const hit = routeMemo.get(vip.prefix);
  if (
    hit !== undefined &&
    hit.med === vip.med &&
    hit.localPref === vip.localPref &&
    sameList(hit.communities, vip.communities) &&
    sameList(hit.largeCommunities, vip.largeCommunities)
  ) {
    return hit.line;
  }
  const line = renderRoute(vip);
  if (routeMemo.size >= ROUTE_MEMO_LIMIT) routeMemo.clear();
  // Copies: the memo must not change if a caller later mutates its arrays.
  routeMemo.set(vip.prefix, {
    med: vip.med,
    localPref: vip.localPref,
    communities: [...vip.communities],
    largeCommunities: [...vip.largeCommunities],
    line,
  });
  return line;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function renderRoute(vip: EffectiveVip): string {
  // bgp_med is always set on the route itself: on eBGP, BIRD keeps only attributes the export path
  // set (bgp_update_attrs), and the documented export filter re-sets it from this value.
  const attrs = [`bgp_med = ${u32(vip.med, 'med', vip.prefix)};`];
  for (const c of vip.communities) attrs.push(fragment(c, 'standard', vip.prefix));
  for (const c of vip.largeCommunities) attrs.push(fragment(c, 'large', vip.prefix));
  if (vip.localPref !== undefined) attrs.push(`bgp_local_pref = ${u32(vip.localPref, 'localPref', vip.prefix)};`);
  return `  route ${vip.prefix} blackhole { ${attrs.join(' ')} };`;
}

// The same few communities repeat on thousands of routes; remember each validated fragment.
const fragments = new Map<string, string>();

function fragment(community: string, kind: 'standard' | 'large', prefix: string): string {
  const memoKey = `${kind} ${community}`;
  let text = fragments.get(memoKey);
  if (text === undefined) {
    text =
      kind === 'standard'
        ? `bgp_community.add((${checked(() => parseCommunity(community), prefix).join(',')}));`
        : `bgp_large_community.add((${checked(() => parseLargeCommunity(community), prefix).join(',')}));`;
    if (fragments.size >= 65_536) fragments.clear();
    fragments.set(memoKey, text);
  }
  return text;
}

/** Returns the prefix if it is canonical and matches the VIP's family; throws otherwise. */
function assertPrefix(vip: EffectiveVip): string {
  const c = checked(() => canonicalPrefix(vip.prefix), String(vip.prefix));
  if (c.prefix !== vip.prefix) throw new RenderError(`prefix ${JSON.stringify(vip.prefix)} is not canonical (${c.prefix})`);
  if (c.family !== vip.family) throw new RenderError(`prefix ${vip.prefix} is not IPv${vip.family}`);
  return vip.prefix;
}

function u32(n: number, what: string, prefix: string): string {
  if (!Number.isInteger(n) || n < 0 || n > MAX_U32) throw new RenderError(`${prefix}: ${what} ${String(n)} is not 0..${MAX_U32}`);
  return String(n);
}

function checked<T>(fn: () => T, context: string): T {
  try {
    return fn();
  } catch (err) {
    throw new RenderError(`${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

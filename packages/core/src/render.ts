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
import { MAX_U32 } from './vocabulary.js';
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
  return renderBirdIncludeParts(vips, opts).join('');
}

/**
 * renderBirdInclude's text in pieces that, concatenated, are that text: a function of the text
 * alone (header, protocol openings and closings, blocks of route lines), so two renderings are
 * equal exactly when their pieces are. Unchanged blocks are the very same strings as last time: at
 * 10,000 VIPs a writer that takes the pieces encodes ~40 flat strings instead of flattening 700 KB.
 *
 * @throws RenderError when any value does not match its grammar
 */
export function renderBirdIncludeParts(vips: readonly EffectiveVip[], opts: RenderOptions): string[] {
  for (const name of [opts.protocol4, opts.protocol6]) {
    if (!BIRD_NAME.test(name)) throw new RenderError(`invalid BIRD protocol name ${JSON.stringify(name)}`);
  }
  if (opts.protocol4 === opts.protocol6) throw new RenderError('protocol4 and protocol6 must differ');
  const header = (opts.header ?? DEFAULT_HEADER).split('\n');
  for (const line of header) {
    if (!HEADER_LINE.test(line)) throw new RenderError(`header line ${JSON.stringify(line)} is not printable ASCII`);
  }

  const key = `${opts.protocol4}\n${opts.protocol6}\n${header.join('\n')}`;
  const routes = last !== undefined && last.key === key && patch(last, vips, opts) ? last.routes : renderAll(vips, key, opts);
  const head = header.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n');
  return [`${head}\n`, ...protocol(opts.protocol4, 'ipv4', routes[4]), ...protocol(opts.protocol6, 'ipv6', routes[6])];
}

/**
 * The last rendering, to redo only what changed: an apply at 10,000 VIPs changes a route or two,
 * and walking 10,000 references is far cheaper than checking, ordering and joining 10,000 lines.
 * Invariant: `routes` and lastBlocks' entries for both protocol names are what renderAll would give
 * for `vips` now.
 */
interface Rendering {
  /** Protocol names and header: another key is another file. */
  readonly key: string;
  /** The input, by reference (an own copy of the array). */
  readonly vips: EffectiveVip[];
  /** 1 where the VIP and its community arrays were frozen: the same reference is then the same content. */
  readonly frozen: Uint8Array;
  /** Per input index: position of its line in `routes[family]`, or -1 (not announced). */
  readonly at: Int32Array;
  readonly routes: Record<4 | 6, string[]>;
}

let last: Rendering | undefined;

/** Renders every route and remembers the result as `last`. */
function renderAll(vips: readonly EffectiveVip[], key: string, opts: RenderOptions): Record<4 | 6, string[]> {
  last = undefined; // a throw below must not leave a memo behind
  const routes: Record<4 | 6, string[]> = { 4: [], 6: [] };
  const at = new Int32Array(vips.length).fill(-1);
  const { checked, index } = sorted(vips);
  for (let i = 0; i < checked.length; i++) {
    const { vip, key: sortKey, line } = checked[i]!;
    // Sorted by a key unique per canonical prefix: a duplicate sits right after its twin.
    if (i > 0 && checked[i - 1]!.key === sortKey) throw new RenderError(`duplicate prefix ${vip.prefix}`);
    at[index[i]!] = routes[vip.family].push(line) - 1;
  }
  const frozen = new Uint8Array(vips.length);
  for (let i = 0; i < vips.length; i++) frozen[i] = isFrozenVip(vips[i]!) ? 1 : 0;
  if (lastBlocks.size >= 62) lastBlocks.clear(); // protocol names are few; bound it anyway
  updateBlocks(opts.protocol4, routes[4]);
  updateBlocks(opts.protocol6, routes[6]);
  last = { key, vips: vips.slice(), frozen, at, routes };
  return routes;
}

/**
 * Brings `r` up to `vips` when only route attributes changed (same prefixes in the same places, none
 * announced or withdrawn); false when a full rendering is needed. Nothing is changed before every
 * new line has been rendered and checked, so a RenderError leaves `r` as it was.
 */
function patch(r: Rendering, vips: readonly EffectiveVip[], opts: RenderOptions): boolean {
  if (vips.length !== r.vips.length) return false;
  const changed: number[] = [];
  const lines: string[] = [];
  for (let i = 0; i < vips.length; i++) {
    const vip = vips[i]!;
    const old = r.vips[i]!;
    if (vip === old && r.frozen[i] === 1) continue;
    if (vip.prefix !== old.prefix || vip.family !== old.family || vip.announced !== r.at[i]! >= 0) return false;
    changed.push(i);
    lines.push(vip.announced ? checkedVip(vip).line : '');
  }
  const dirty = new Set<string>();
  for (let k = 0; k < changed.length; k++) {
    const i = changed[k]!;
    const vip = vips[i]!;
    r.vips[i] = vip;
    r.frozen[i] = isFrozenVip(vip) ? 1 : 0;
    const pos = r.at[i]!;
    if (pos < 0 || r.routes[vip.family][pos] === lines[k]) continue;
    r.routes[vip.family][pos] = lines[k]!;
    dirty.add(`${vip.family} ${Math.floor(pos / BLOCK_LINES)}`);
  }
  for (const d of dirty) {
    const [family, block] = d.split(' ').map(Number) as [4 | 6, number];
    const blocks = lastBlocks.get(family === 4 ? opts.protocol4 : opts.protocol6)!;
    const lines = r.routes[family].slice(block * BLOCK_LINES, (block + 1) * BLOCK_LINES);
    blocks[block] = { lines, text: `${lines.join('\n')}\n` };
  }
  return true;
}

function isFrozenVip(vip: EffectiveVip): boolean {
  return Object.isFrozen(vip) && Object.isFrozen(vip.communities) && Object.isFrozen(vip.largeCommunities);
}

/** One static protocol block, newline-terminated, in pieces: its opening, each block of lines, its closing. */
function protocol(name: string, channel: 'ipv4' | 'ipv6', routes: readonly string[]): string[] {
  const parts = [`protocol static ${name} {\n  ${channel};\n`];
  if (routes.length > 0) for (const block of lastBlocks.get(name)!) parts.push(block.text);
  parts.push('}\n');
  return parts;
}

/** Lines per memoised block of a protocol's routes. */
const BLOCK_LINES = 256;
/** Per protocol name: the blocks of its last rendering, each its lines and their text (newline-terminated). */
const lastBlocks = new Map<string, { readonly lines: readonly string[]; readonly text: string }[]>();

/**
 * Splits a protocol's routes into blocks of BLOCK_LINES, joining only those whose lines differ from
 * the last rendering's block in the same place (an apply changes a route or two, not 10,000).
 */
function updateBlocks(name: string, routes: readonly string[]): void {
  const previous = lastBlocks.get(name) ?? [];
  const blocks: { lines: readonly string[]; text: string }[] = [];
  for (let start = 0; start < routes.length; start += BLOCK_LINES) {
    const lines = routes.slice(start, start + BLOCK_LINES);
    const old = previous[blocks.length];
    blocks.push(old !== undefined && sameList(old.lines, lines) ? old : { lines, text: `${lines.join('\n')}\n` });
  }
  lastBlocks.set(name, blocks);
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

/**
 * The announced VIPs, checked, in prefixSortKey order (usually already their order: then no sort),
 * and for each its index in `vips`.
 */
function sorted(vips: readonly EffectiveVip[]): { checked: CheckedVip[]; index: number[] } {
  const checked: CheckedVip[] = [];
  const index: number[] = [];
  let inOrder = true;
  for (let i = 0; i < vips.length; i++) {
    const vip = vips[i]!;
    if (!vip.announced) continue;
    const c = checkedVip(vip);
    if (inOrder && checked.length > 0 && checked[checked.length - 1]!.key > c.key) inOrder = false;
    checked.push(c);
    index.push(i);
  }
  if (inOrder) return { checked, index };
  const order = checked.map((_, k) => k).sort((a, b) => (checked[a]!.key < checked[b]!.key ? -1 : checked[a]!.key > checked[b]!.key ? 1 : 0));
  return { checked: order.map((k) => checked[k]!), index: order.map((k) => index[k]!) };
}

function checkedVip(vip: EffectiveVip): CheckedVip {
  const hit = frozenVips.get(vip);
  if (hit !== undefined) return hit;
  const done = { vip, key: prefixSortKey(assertPrefix(vip)), line: routeLine(vip) };
  if (isFrozenVip(vip)) frozenVips.set(vip, done);
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

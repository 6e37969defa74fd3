/**
 * Which include file vipcontrol may replace. It rewrites `bird.includeFile` wholesale, so before the
 * first write it makes sure the file there is its own:
 * - a file neither written by vipcontrol (its header), nor empty or comments only, nor an empty
 *   two-protocol skeleton (what Puppet, `touch` or the lab create so BIRD starts before vipcontrol
 *   ever ran) is someone else's — a typo in
 *   `bird.includeFile` must not replace an operator's hand-written config;
 * - our file (or skeleton) defining the static protocols under other names than `bird.protocol4` /
 *   `bird.protocol6` means a rename: BIRD would drop the old protocols, bird.conf's export filters
 *   (`proto = "vipcontrol4"`) would match nothing, and every VIP would leave the fabric while the
 *   apply reports ok.
 */
import { renderBirdInclude } from '@vipcontrol/core';

/** The configured names of vipcontrol's two static protocols. */
export interface ProtocolNames {
  readonly protocol4: string;
  readonly protocol6: string;
}

const STATIC_PROTOCOL = /^\s*protocol\s+static\s+([A-Za-z_][A-Za-z0-9_]*)/gm;

/** Why `text`, the include file on disk, must not be replaced; undefined when it may. */
export function includeRefusal(text: string, file: string, names: ProtocolNames): string | undefined {
  // Empty or comments only (`touch`, Puppet's `ensure => file`): nothing in it can be lost.
  if (tokens(text) === '') return undefined;
  const found = [...text.replace(/#.*$/gm, '').matchAll(STATIC_PROTOCOL)].map((m) => m[1]!);
  const header = renderBirdInclude([], names).split('\n', 1)[0]!;
  if (!text.startsWith(`${header}\n`) && !isEmptySkeleton(text, found)) {
    return (
      `refusing to overwrite ${file}: it was not written by vipcontrol (no "${header}" line first, and not an ` +
      `empty skeleton of protocols ${names.protocol4} and ${names.protocol6}); move it away or point bird.includeFile elsewhere`
    );
  }
  if (found.length !== 2 || found[0] !== names.protocol4 || found[1] !== names.protocol6) return protocolRenameMessage(found, names, file);
  return undefined;
}

/**
 * The refusal of a protocol rename, shared by the apply (include on disk) and a reload (running
 * config). docs/operations.md ("Renaming the BIRD protocols") has the safe procedure.
 */
export function protocolRenameMessage(from: readonly string[], to: ProtocolNames, file: string): string {
  const old = from.length > 0 ? from.join('/') : '(none)';
  return (
    `refusing to rename the BIRD protocols ${old} (in ${file}) to ${to.protocol4}/${to.protocol6}: BIRD would drop ${old}, ` +
    `and export filters in bird.conf that match proto = "${from[0] ?? to.protocol4}" would stop matching — every VIP ` +
    `withdrawn from the fabric. Make bird.conf's filters accept the new names first, then replace ${file} with an ` +
    `empty skeleton of the new names (or delete it) and restart vipcontrol; see docs/operations.md`
  );
}

/** Only two empty static protocols (v4 then v6, any names), ignoring comments and whitespace. */
function isEmptySkeleton(text: string, found: readonly string[]): boolean {
  if (found.length !== 2) return false;
  let skeleton: string;
  try {
    skeleton = renderBirdInclude([], { protocol4: found[0]!, protocol6: found[1]! });
  } catch {
    return false; // names the renderer refuses (too long, equal): not a skeleton it could have made
  }
  return tokens(text) === tokens(skeleton);
}

function tokens(text: string): string {
  return text
    .replace(/#.*$/gm, '')
    .split(/\s+|([{};])/)
    .filter((t) => t !== undefined && t !== '')
    .join(' ');
}

/** Whether an include file (undefined: none) announces any route; a fresh node's does not. */
export function includeAnnounces(text: string | undefined): boolean {
  return text !== undefined && /^\s*route\s/m.test(text);
}

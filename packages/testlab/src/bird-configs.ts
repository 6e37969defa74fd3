/**
 * The lab's bird.conf files, as pure functions of the topology. docs/bird.md quotes these, so what
 * the docs tell an operator to add is exactly what the tests run against.
 */

export type LabMode = 'ibgp' | 'ebgp';

/** One BGP speaker the router peers with (a node's BIRD or an ExaBGP host). */
export interface PeerSpec {
  /** Router-side protocol names are `<name>_4` and `<name>_6`. */
  name: string;
  addr4: string;
  addr6: string;
  asn: number;
  /** Speaks BFD (BIRD nodes do; ExaBGP does not). Only matters when the lab runs BFD. */
  bfd: boolean;
}

export interface RouterConfigSpec {
  mode: LabMode;
  bfd: boolean;
  asn: number;
  addr4: string;
  addr6: string;
  /** `log "<file>" all;` — BIRD's own log, kept for a failed test's post-mortem. */
  logFile: string;
  peers: readonly PeerSpec[];
  /**
   * `debug { routes };` on every session: each imported route is logged (the benchmark's clock). BIRD 2
   * also takes it at run time (`debug P { routes }`); BIRD 3.3 applies a run-time change to exports
   * only (nest/proto.c: the import request's flags are set when the channel (re)configures).
   */
  routeTrace?: boolean;
  /**
   * Uniform mode (issue 10): the router installs the BGP routes into its kernel with every equal
   * path (`merge paths on`), so the kernel spreads flows over the nodes (ECMP, L4 hash: the lab sets
   * fib_multipath_hash_policy=1 in the router's namespace).
   */
  multipath?: boolean;
}

export interface NodeConfigSpec {
  mode: LabMode;
  bfd: boolean;
  asn: number;
  addr4: string;
  addr6: string;
  router: { asn: number; addr4: string; addr6: string };
  /** Absolute path of vipcontrol's include file. */
  includeFile: string;
  logFile: string;
}

/** Timers that make a lab come up in about a second; hold/keepalive stay at BIRD's defaults (240/80 s). */
const FAST_CONNECT = 'connect delay time 0; connect retry time 1; error wait time 1, 4;';

/** The router-side protocol names for a peer, IPv4 session then IPv6 session. */
export function routerProtocolNames(peerName: string): [string, string] {
  return [`${peerName}_4`, `${peerName}_6`];
}

/** Node-side protocol names of the two fabric sessions. */
export const NODE_PROTOCOLS = { v4: 'fabric4', v6: 'fabric6' } as const;

function header(routerId: string, logFile: string, bfd: boolean): string {
  return [
    `router id ${routerId};`,
    // Epoch seconds with milliseconds: the default format drops precision after 20 h, and tests
    // compare a session's Since before and after to prove it never reset.
    'timeformat protocol "%s.%3f";',
    `log "${logFile}" all;`,
    'protocol device { }',
    ...(bfd ? ['protocol bfd { }'] : []),
  ].join('\n');
}

/**
 * The router honours RFC 8326 GRACEFUL_SHUTDOWN as fabrics should (docs/bird.md): a path tagged
 * 65535:0 gets local-pref 0, so the router moves traffic away before the path is withdrawn.
 */
export const ROUTER_IMPORT = 'import filter { if (65535, 0) ~ bgp_community then bgp_local_pref = 0; accept; };';

/**
 * The fabric router: route reflector (iBGP, every node an `rr client`) or eBGP neighbour of every node.
 * One IPv4 and one IPv6 session per peer, as fabrics usually run them. Passive, so each session is
 * opened by the node alone and no connection collision delays the lab.
 */
export function renderRouterConfig(spec: RouterConfigSpec): string {
  const ibgp = spec.mode === 'ibgp';
  const template = (name: string, local: string, family: 'ipv4' | 'ipv6') => [
    `template bgp ${name} {`,
    `  local ${local} as ${spec.asn};`,
    '  direct;',
    '  passive on;',
    `  ${FAST_CONNECT}`,
    ...(spec.bfd ? ['  bfd on;'] : []),
    ...(spec.routeTrace ? ['  debug { routes };'] : []),
    // iBGP: reflect between clients. eBGP: nodes sit in different ASes, and MEDs from different
    // neighbour ASes are not compared unless asked to (RFC 4271 9.1.2.2 c).
    ...(ibgp ? ['  rr client;'] : ['  med metric on;']),
    ibgp ? `  ${family} { ${ROUTER_IMPORT} export all; };` : `  ${family} { ${ROUTER_IMPORT} export none; };`,
    '}',
    '',
  ];
  const kernel = (family: 'ipv4' | 'ipv6') => [
    `protocol kernel kernel_${family} {`,
    `  ${family} { import none; export where source = RTS_BGP; };`,
    '  merge paths on;',
    '}',
    '',
  ];
  const lines = [
    `# vipcontrol lab fabric router (${ibgp ? 'iBGP route reflector' : 'eBGP'})`,
    header(spec.addr4, spec.logFile, spec.bfd),
    '',
    ...template('fabric4', spec.addr4, 'ipv4'),
    ...template('fabric6', spec.addr6, 'ipv6'),
    ...(spec.multipath ? [...kernel('ipv4'), ...kernel('ipv6')] : []),
  ];
  for (const peer of spec.peers) {
    const [p4, p6] = routerProtocolNames(peer.name);
    const noBfd = spec.bfd && !peer.bfd ? ' bfd off;' : '';
    lines.push(`protocol bgp ${p4} from fabric4 { neighbor ${peer.addr4} as ${peer.asn};${noBfd} }`);
    lines.push(`protocol bgp ${p6} from fabric6 { neighbor ${peer.addr6} as ${peer.asn};${noBfd} }`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The export statement a node uses towards the fabric for one family. iBGP: the plain filter, since
 * every rendered route sets its own bgp_med. eBGP: BIRD keeps a MED on an eBGP session only if the
 * export filter set it (proto/bgp/attrs.c, bgp_update_attrs: "accept only if set in export filter"),
 * so the filter sets it again.
 */
export function nodeExport(mode: LabMode, protocol: string): string {
  if (mode === 'ibgp') return `export where proto = "${protocol}";`;
  return `export filter { if proto != "${protocol}" then reject; if defined(bgp_med) then bgp_med = bgp_med; accept; };`;
}

/** A node: includes vipcontrol's file and exports only its two static protocols to the router. */
export function renderNodeConfig(spec: NodeConfigSpec): string {
  const ibgp = spec.mode === 'ibgp';
  const session = (name: string, local: string, neighbor: string, family: 'ipv4' | 'ipv6', proto: string) => [
    `protocol bgp ${name} {`,
    `  local ${local} as ${spec.asn};`,
    `  neighbor ${neighbor} as ${spec.router.asn};`,
    '  direct;',
    `  ${FAST_CONNECT}`,
    ...(spec.bfd ? ['  bfd on;'] : []),
    `  ${family} {`,
    '    import none;',
    `    ${nodeExport(spec.mode, proto)}`,
    // A static blackhole route has no next hop of its own; on iBGP BIRD would otherwise send none.
    ...(ibgp ? ['    next hop self;'] : []),
    '  };',
    '}',
  ];
  return [
    `# vipcontrol lab node (${ibgp ? 'iBGP client of the route reflector' : `eBGP, AS ${spec.asn}`})`,
    header(spec.addr4, spec.logFile, spec.bfd),
    '',
    '# vipcontrol owns this file: protocols vipcontrol4 and vipcontrol6.',
    `include "${spec.includeFile}";`,
    '',
    ...session(NODE_PROTOCOLS.v4, spec.addr4, spec.router.addr4, 'ipv4', 'vipcontrol4'),
    '',
    ...session(NODE_PROTOCOLS.v6, spec.addr6, spec.router.addr6, 'ipv6', 'vipcontrol6'),
    '',
  ].join('\n');
}

/** What the lab writes before vipcontrol runs, so BIRD starts and the export filters are valid. */
export const EMPTY_VIPCONTROL_INCLUDE = [
  '# Placeholder written by the lab; vipcontrol replaces it.',
  'protocol static vipcontrol4 { ipv4; }',
  'protocol static vipcontrol6 { ipv6; }',
  '',
].join('\n');

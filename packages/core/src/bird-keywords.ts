/**
 * BIRD keywords that an operator could plausibly pick as a protocol name. BIRD's lexer reads a keyword
 * as its own token, never as a symbol, so `protocol static bgp_med { … }` does not parse: the first
 * apply would get 8002 although the config validated.
 *
 * Deliberately not complete: BIRD 2.0.12 has ~400 keywords and each release adds some. This list covers
 * what someone naming "the VIP protocol" might type (protocol and channel types, config statements,
 * route and BGP attribute names, filter words); `vipctl config validate` also asks the installed
 * `bird -p` for the rest. Matching is exact: BIRD's keywords are case-sensitive ("Static" is a valid
 * name). Every word here was checked against BIRD 2.0.12 (vipctl's bird-name test repeats that check);
 * words BIRD still accepts as names, such as `include`, `channel` or `bmp`, are left out on purpose.
 */
export const BIRD_RESERVED_NAMES: ReadonlySet<string> = new Set([
  // protocol types
  'babel', 'bfd', 'bgp', 'device', 'direct', 'kernel', 'mrt', 'ospf', 'perf', 'pipe', 'radv', 'rip', 'rpki', 'static',
  // channel / network types
  'ipv4', 'ipv6', 'ipv4_mc', 'ipv6_mc', 'vpn4', 'vpn6', 'roa4', 'roa6', 'flow4', 'flow6', 'mpls',
  // config statements and common option words
  'protocol', 'template', 'table', 'filter', 'function', 'define', 'route', 'router', 'id', 'attribute',
  'import', 'export', 'where', 'from', 'to', 'as', 'neighbor', 'local', 'log', 'debug', 'timeformat',
  'all', 'none', 'default', 'on', 'off', 'yes', 'no', 'true', 'false',
  // filter language
  'if', 'then', 'else', 'case', 'accept', 'reject', 'return', 'print',
  // route destinations and attributes
  'blackhole', 'unreachable', 'prohibit', 'via', 'net', 'dest', 'gw', 'proto', 'source', 'scope', 'preference',
  'ifname', 'ifindex', 'igp_metric',
  // BGP attributes
  'bgp_origin', 'bgp_path', 'bgp_next_hop', 'bgp_med', 'bgp_local_pref', 'bgp_atomic_aggr', 'bgp_aggregator',
  'bgp_community', 'bgp_ext_community', 'bgp_large_community', 'bgp_originator_id', 'bgp_cluster_list',
  'bgp_aigp', 'bgp_otc',
]);

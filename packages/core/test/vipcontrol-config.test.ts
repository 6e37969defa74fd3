import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/config-error.js';
import { BIRD_RESERVED_NAMES } from '../src/bird-keywords.js';
import { parseVipcontrolConfig } from '../src/vipcontrol-config.js';
import { parseRedisUrl, RedisUrlError } from '../src/redis-url.js';
import { FLEET_LIMIT_DEFAULTS } from '../src/fleet-model.js';

// DESIGN.md's minimal vipcontrol.yaml, verbatim.
const MINIMAL = `node: n1                                  # defaults to the hostname
bird:
  socket: /run/bird/bird.ctl
  includeFile: /etc/bird/vipcontrol.conf
api:
  socket: /run/vipcontrol/vipcontrol.sock
stateFile: /var/lib/vipcontrol/state.json
loopback: { interface: lo, manage: true }
vips:
  - prefix: 198.51.100.10/32
    med: 100
    communities: ["65000:100"]
  - prefix: 2001:db8::10/128
    med: 100
# redis: { url: redis://127.0.0.1:6379/0 }  # optional: fleet mode
`;

/** The error message of parsing `text` as v.yaml. */
function errorOf(text: string, hostname = 'h1'): string {
  try {
    parseVipcontrolConfig(text, 'v.yaml', { hostname });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.file, 'v.yaml');
    assert.ok(err.issues.length > 0);
    return err.message;
  }
  assert.fail(`accepted:\n${text}`);
}

test("DESIGN.md's minimal config parses with defaults filled in", () => {
  const c = parseVipcontrolConfig(MINIMAL, 'v.yaml', { hostname: 'ignored' });
  assert.deepStrictEqual(c, {
    node: 'n1',
    bird: {
      socket: '/run/bird/bird.ctl',
      includeFile: '/etc/bird/vipcontrol.conf',
      configureTimeoutSec: 30,
      commandTimeoutMs: 5000,
      protocol4: 'vipcontrol4',
      protocol6: 'vipcontrol6',
      operatorConfigureHoldMs: 30_000,
      watchIntervalMs: 2_000,
    },
    api: { socket: '/run/vipcontrol/vipcontrol.sock', socketMode: 0o660 },
    stateFile: '/var/lib/vipcontrol/state.json',
    loopback: { interface: 'lo', manage: true, removeOnWithdraw: false },
    drainPenalty: 100000,
    health: { leaseMs: 10000, leasePolicy: { action: 'hold' }, firstReportWaitMs: 10000 },
    vips: [
      { prefix: '198.51.100.10/32', family: 4, med: 100, communities: ['65000:100'], largeCommunities: [], minAnnouncers: 0 },
      { prefix: '2001:db8::10/128', family: 6, med: 100, communities: [], largeCommunities: [], minAnnouncers: 0 },
    ],
    maintenance: [],
    guardPenalty: 1000000,
    log: { level: 'info' },
  });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.vips[0]) && Object.isFrozen(c.vips[0]?.communities));
});

test('every optional section parses', () => {
  const c = parseVipcontrolConfig(
    `vips:
  - { prefix: "2001:DB8::0010", med: 5, largeCommunities: ["65000:1:2"], localPref: 200, minAnnouncers: 2 }
bird: { configureTimeout: 1m, commandTimeout: 500ms, protocol4: v4, protocol6: v6, watchInterval: 0s }
api: { socketMode: "0600", socketGroup: vipcontrol }
health: { lease: 3s, leasePolicy: { penalty: 5000 }, firstReportWait: 0s }
drainPenalty: 7
guardPenalty: 9
maintenance: [{ cron: "0 3 * * 1", duration: 1h, action: withdraw, timezone: Europe/Berlin }]
redis: { url: "redis://:pw@127.0.0.1:6379/0", heartbeat: 1s, ttl: 5s }
log: { level: debug }
`,
    'v.yaml',
    { hostname: 'host-1.example.net' },
  );
  assert.equal(c.node, 'host-1.example.net');
  assert.deepStrictEqual(c.vips[0], {
    prefix: '2001:db8::10/128', family: 6, med: 5, communities: [], largeCommunities: ['65000:1:2'], localPref: 200, minAnnouncers: 2,
  });
  assert.deepStrictEqual([c.bird.configureTimeoutSec, c.bird.commandTimeoutMs, c.bird.protocol4, c.bird.watchIntervalMs], [60, 500, 'v4', 0]);
  assert.deepStrictEqual(c.api, { socket: '/run/vipcontrol/vipcontrol.sock', socketMode: 0o600, socketGroup: 'vipcontrol' });
  assert.deepStrictEqual(c.health, { leaseMs: 3000, leasePolicy: { action: 'penalty', penalty: 5000 }, firstReportWaitMs: 0 });
  assert.deepStrictEqual(c.maintenance, [{ cron: '0 3 * * 1', durationMs: 3_600_000, action: 'withdraw', timezone: 'Europe/Berlin' }]);
  assert.deepStrictEqual(c.redis, { url: 'redis://:pw@127.0.0.1:6379/0', keyPrefix: 'vipcontrol:', heartbeatMs: 1000, ttlMs: 5000, limits: FLEET_LIMIT_DEFAULTS });
  assert.equal(parseVipcontrolConfig('health: { leasePolicy: withdraw }', 'v', { hostname: 'h' }).health.leasePolicy.action, 'withdraw');
});

test('errors name file, line, column, field path and reason', () => {
  const table: [string, string][] = [
    // YAML syntax error
    ['vips: [\n  {prefix: 1.2.3.4/32\n', 'v.yaml:3:1: YAML BAD_INDENT'],
    ['node: n1\nnode: n2\n', 'v.yaml:2:1: YAML DUPLICATE_KEY: Map keys must be unique'],
    ['node: !evil n1\n', 'v.yaml:1:7: YAML TAG_RESOLVE_FAILED: Unresolved tag: !evil'],
    ['', 'v.yaml:1:1: empty document (expected a mapping)'],
    ['- a\n', 'v.yaml:1:1: expected object, got list'],
    // wrong types and ranges
    ['vips:\n  - prefix: 198.51.100.10/32\n    med: 4294967296\n', 'v.yaml:3:10: vips[0].med: must be ≤ 4294967295'],
    ['vips:\n  - prefix: 198.51.100.10/32\n    med: "100"\n', 'v.yaml:3:10: vips[0].med: expected number, got string'],
    ['vips:\n  - prefix: 198.51.100.10/32\n    med: 1.5\n', 'v.yaml:3:10: vips[0].med: must be an integer'],
    ['vips:\n  - prefix: 198.51.100.10/32\n    med:\n', 'v.yaml:3:9: vips[0].med: expected number, got null'],
    ['vips:\n  - prefix: 198.51.100.10/32\n    med: .inf\n', 'v.yaml:3:10: vips[0].med: must be a finite number, got Infinity'],
    ['a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n', 'v.yaml: YAML: Excessive alias count'],
    ['vips:\n  - prefix: 198.51.100.10/32\n', 'v.yaml:2:5: vips[0].med: required'],
    ['vips:\n  - prefix: 198.51.100.10/32\n    med: 1\n    meed: 2\n', 'v.yaml:4:5: vips[0].meed: unknown key'],
    ['loopback: { manage: yes }\n', 'v.yaml:1:21: loopback.manage: expected boolean, got string'],
    // duplicate prefix after canonicalisation
    [
      'vips:\n  - { prefix: 2001:db8::10/128, med: 1 }\n  - { prefix: "2001:DB8:0::10", med: 2 }\n',
      'v.yaml:3:15: vips[1].prefix: duplicate of vips[0].prefix (2001:db8::10/128)',
    ],
    // bad communities
    [
      'vips:\n  - { prefix: 192.0.2.1/32, med: 1, communities: ["65000:65536"] }\n',
      'v.yaml:2:51: vips[0].communities[0]: invalid community "65000:65536": each part must be 0..65535',
    ],
    [
      'vips:\n  - { prefix: 192.0.2.1/32, med: 1, communities: ["1:1", "01:1"] }\n',
      'v.yaml:2:58: vips[0].communities[1]: duplicate community',
    ],
    [
      'vips:\n  - { prefix: 192.0.2.1/32, med: 1, largeCommunities: ["1:2"] }\n',
      'v.yaml:2:56: vips[0].largeCommunities[0]: invalid community "1:2": expected "a:b:c" with each part in 0..4294967295',
    ],
    ['vips:\n  - { prefix: 192.0.2.1/24, med: 1 }\n', 'v.yaml:2:15: vips[0].prefix: invalid prefix "192.0.2.1/24": host bits set beyond /24'],
    // injection attempts
    [
      "vips:\n  - prefix: '1.2.3.4/32 blackhole; }; protocol x'\n    med: 1\n",
      'v.yaml:2:13: vips[0].prefix: invalid prefix "1.2.3.4/32 blackhole; }; protocol x": length must be 0..32',
    ],
    [
      'bird: { protocol4: "x\\"; }" }\n',
      'v.yaml:1:20: bird.protocol4: must be a BIRD name: a letter or _ then up to 31 letters, digits or _',
    ],
    [
      'bird: { protocol6: "v6\\nprotocol" }\n',
      'v.yaml:1:20: bird.protocol6: must be a BIRD name: a letter or _ then up to 31 letters, digits or _',
    ],
    ['bird: { protocol6: vipcontrol4 }\n', 'v.yaml:1:20: bird.protocol6: must differ from bird.protocol4'],
    [
      'bird: { includeFile: "/etc/bird/x\\";.conf" }\n',
      'v.yaml:1:22: bird.includeFile: must not contain control characters, quotes or backslashes',
    ],
    ['stateFile: relative/state.json\n', 'v.yaml:1:12: stateFile: must be an absolute path'],
    ['loopback: { interface: "lo; rm" }\n', 'v.yaml:1:24: loopback.interface: must be a Linux interface name: 1-15 of A-Z a-z 0-9 _ . -'],
    ['node: "n1\\nx"\n', 'v.yaml:1:7: node: must be a host-like name: letters, digits, _ . - (max 253), starting with a letter or digit'],
    // other sections
    ['api: { socketMode: 0660 }\n', 'v.yaml:1:20: api.socketMode: expected string, got number'],
    ['health: { leasePolicy: { penalty: "x" } }\n', 'v.yaml:1:35: health.leasePolicy.penalty: expected number, got string'],
    ['health: { leasePolicy: drop }\n', 'v.yaml:1:24: health.leasePolicy: must be one of "hold", "withdraw" or a mapping'],
    ['health: { lease: 10 }\n', 'v.yaml:1:18: health.lease: expected string, got number'],
    ['health: { firstReportWait: 11m }\n', 'v.yaml:1:28: health.firstReportWait: must be at most 10m'],
    ['health: { lease: 10x }\n', 'v.yaml:1:18: health.lease: invalid duration "10x": expected e.g. "200ms", "30s", "1h30m", "2d"'],
    ['bird: { configureTimeout: 1500ms }\n', 'v.yaml:1:27: bird.configureTimeout: must be whole seconds, at most 1h'],
    ['bird: { watchInterval: 50ms }\n', 'v.yaml:1:24: bird.watchInterval: must be 0 (off) or 200ms to 1m'],
    ['bird: { watchInterval: 2m }\n', 'v.yaml:1:24: bird.watchInterval: must be 0 (off) or 200ms to 1m'],
    ['redis: { heartbeat: 5s, ttl: 1s }\n', 'v.yaml:1:8: redis.url: needs url or sentinels\nv.yaml:1:30: redis.ttl: must be longer than heartbeat'],
    ['redis: { url: "http://x" }\n', 'v.yaml:1:15: redis.url: must be a redis:// or rediss:// URL, got http://'],
    // The URL rules are core parseRedisUrl's, the ones the fleet adapter connects with.
    ['redis: { url: "redis://x/abc" }\n', 'v.yaml:1:15: redis.url: database must be a number, got "abc"'],
    ['redis: { url: "redis:///0" }\n', 'v.yaml:1:15: redis.url: needs a host, e.g. redis://127.0.0.1:6379/0'],
    // Sentinel names the server: only a private CA stops a reconfigured Sentinel from choosing it.
    [
      'redis: { url: "rediss://x", sentinels: [{ host: s1, port: 26379 }], name: m }\n',
      'v.yaml:1:8: redis.tls.ca: required with sentinels and a rediss:// url (the server Sentinel names is verified against this CA only)',
    ],
    ['redis: { url: "redis://x", tls: { ca: /etc/ca.pem } }\n', 'v.yaml:1:33: redis.tls: needs a rediss:// url (TLS is chosen by the scheme)'],
    ['redis: { url: "rediss://x", tls: { ca: ca.pem } }\n', 'v.yaml:1:40: redis.tls.ca: must be an absolute path'],
    ['maintenance: [{ cron: "0 3 * * *", duration: 1h, timezone: Mars/Base }]\n', 'v.yaml:1:60: maintenance[0].timezone: must be an IANA time zone such as "Europe/Berlin" or "UTC"'],
    // node-cron (the daemon's scheduler) rejects minute 99: config validate must reject it too.
    ['maintenance: [{ cron: "99 3 * * 2", duration: 1h }]\n', 'v.yaml:1:23: maintenance[0].cron: must be a cron expression node-cron accepts'],
    ['maintenance: [{ cron: "0 3 * * 8", duration: 1h }]\n', 'v.yaml:1:23: maintenance[0].cron: must be a cron expression node-cron accepts'],
    ['metrics: { listen: "127.0.0.1" }\n', 'v.yaml:1:20: metrics.listen: must be host:port or [ipv6]:port with port 1-65535'],
    ['metrics: { listen: "127.0.0.1:0" }\n', 'v.yaml:1:20: metrics.listen: must be host:port or [ipv6]:port with port 1-65535'],
    ['unknown: 1\n', 'v.yaml:1:1: unknown: unknown key'],
  ];
  const wrong = table
    .map(([text, want]) => ({ text, want, got: errorOf(text) }))
    .filter((r) => !r.got.startsWith(r.want));
  assert.deepStrictEqual(wrong, []);
});

test('redis.url: parts parsed once by core parseRedisUrl; TLS follows the scheme as the URL parser reads it', () => {
  assert.deepStrictEqual(parseRedisUrl('redis://fleet:p%40ss@[2001:db8::1]:6380/2'), { host: '2001:db8::1', port: 6380, db: 2, tls: false, username: 'fleet', password: 'p@ss' });
  assert.deepStrictEqual(parseRedisUrl('rediss://redis.example'), { host: 'redis.example', port: 6379, db: 0, tls: true });
  // The message never repeats the text: it may hold a password.
  assert.throws(() => parseRedisUrl('redis://:hunter2@'), (e: Error) => e instanceof RedisUrlError && !e.message.includes('hunter2'));
  assert.throws(() => parseRedisUrl('not a url :hunter2'), (e: Error) => e instanceof RedisUrlError && !e.message.includes('hunter2'));
  // A scheme in capitals is TLS too (the URL parser lowercases it): tls: is allowed, as the connection uses TLS.
  const upper = parseVipcontrolConfig('node: n\nredis: { url: "REDISS://x", tls: { ca: /etc/ca.pem } }\n', 'v.yaml');
  assert.deepStrictEqual(upper.redis?.tls, { ca: '/etc/ca.pem', insecure: false });
  // Sentinel + rediss:// passes with a CA (or insecure, for a test Redis).
  for (const tls of ['{ ca: /etc/ca.pem }', '{ insecure: true }']) {
    assert.ok(parseVipcontrolConfig(`node: n\nredis: { url: "rediss://x", sentinels: [{ host: s1, port: 26379 }], name: m, tls: ${tls} }\n`, 'v.yaml').redis);
  }
});

test('node defaults to the hostname and must then be valid', () => {
  assert.equal(parseVipcontrolConfig('vips: []', 'v', { hostname: 'n7' }).node, 'n7');
  assert.equal(errorOf('vips: []', 'bad host!'), 'v.yaml:1:1: node: hostname "bad host!" is not a valid node name; set node explicitly');
  assert.throws(() => parseVipcontrolConfig('vips: []', 'v'), /node: required/);
});

test('every issue is reported, not only the first', () => {
  const err = errorOf('vips:\n  - { prefix: x, med: -1 }\n  - { prefix: 192.0.2.1, med: 1, extra: 1 }\n');
  assert.deepStrictEqual(err.split('\n').map((l) => l.split(': ')[1]), ['vips[0].prefix', 'vips[0].med', 'vips[1].extra']);
});

test("the daemon's own files cannot be BIRD's main config, BIRD's socket or one another", () => {
  // The include file is replaced wholesale on every apply: pointed at bird.conf, the first apply would
  // leave BIRD with two static protocols and no BGP sessions.
  assert.equal(
    errorOf('bird: { includeFile: /etc/bird/bird.conf }\n'),
    "v.yaml:1:22: bird.includeFile: must be vipcontrol's own include file, not BIRD's main config (it is rewritten on every apply)",
  );
  assert.match(errorOf('bird: { includeFile: /etc/bird/./bird6.conf }\n'), /bird\.includeFile: must be vipcontrol's own include file/);
  assert.equal(
    errorOf('bird: { includeFile: /var/lib/vipcontrol/state.json }\n'),
    'v.yaml:1:1: stateFile: must differ from bird.includeFile (/var/lib/vipcontrol/state.json)',
  );
  assert.match(errorOf('bird: { socket: /run/x.sock }\napi: { socket: /run//x.sock }\n'), /api\.socket: must differ from bird\.socket \(\/run\/\/x\.sock\)/);
  // Names that merely contain "bird.conf" are fine.
  assert.equal(parseVipcontrolConfig('bird: { includeFile: /etc/bird/vipcontrol-bird.conf.d }\n', 'v.yaml', { hostname: 'h' }).bird.includeFile, '/etc/bird/vipcontrol-bird.conf.d');
});

test('BIRD keywords are refused as protocol names (BIRD would not parse the include)', () => {
  assert.equal(
    errorOf('bird: { protocol4: static }\n'),
    'v.yaml:1:20: bird.protocol4: must not be a BIRD keyword (BIRD cannot parse it as a protocol name)',
  );
  for (const word of ['bgp', 'ipv4', 'table', 'bgp_med', 'dest', 'filter', 'function', 'route', 'define']) {
    assert.ok(BIRD_RESERVED_NAMES.has(word), word);
    assert.match(errorOf(`bird: { protocol6: ${word} }\n`), /^v\.yaml:1:20: bird\.protocol6: must not be a BIRD keyword/, word);
  }
  // Keywords are case-sensitive in BIRD, and names merely containing one are plain symbols.
  const c = parseVipcontrolConfig('bird: { protocol4: Static, protocol6: bgp_med6 }\n', 'v.yaml', { hostname: 'h' });
  assert.deepEqual([c.bird.protocol4, c.bird.protocol6], ['Static', 'bgp_med6']);
});

test('with loopback.manage, every VIP must be a host route; without it, shorter prefixes are allowed', () => {
  // `ip addr add 10.0.0.0/16 dev lo` would make the whole /16 local to the node.
  const vips = 'vips:\n  - { prefix: 198.51.100.10/32, med: 1 }\n  - { prefix: 10.0.0.0/16, med: 1 }\n  - { prefix: "2001:db8::/64", med: 1 }\n';
  const lines = errorOf(vips).split('\n');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0] ?? '', /^v\.yaml:3:15: vips\[1\]\.prefix: must be a \/32 while loopback\.manage is true: on the loopback, 10\.0\.0\.0\/16 would make every address in it local to this node .*set loopback\.manage: false$/);
  assert.match(lines[1] ?? '', /^v\.yaml:4:15: vips\[2\]\.prefix: must be a \/128 while loopback\.manage is true: .*2001:db8::\/64/);
  // manage defaults to true, so an explicit true behaves the same.
  assert.match(errorOf(`loopback: { manage: true }\n${vips}`), /vips\[1\]\.prefix: must be a \/32/);
  const c = parseVipcontrolConfig(`loopback: { manage: false }\n${vips}`, 'v.yaml', { hostname: 'h' });
  assert.deepEqual(c.vips.map((v) => v.prefix), ['198.51.100.10/32', '10.0.0.0/16', '2001:db8::/64']);
});

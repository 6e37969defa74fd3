/**
 * docs/configuration.md, generated from the configs' own zod schemas (core): every key, its type and
 * default come from the schema; what it means and whether a reload applies it come from KEY_DOCS below.
 * `configReferenceProblems()` lists schema keys without a description and descriptions of keys the
 * schema no longer has — a test fails on either, so the reference cannot drift from the code.
 */
import { z } from 'zod';
import { vipcontrolFileSchema, viphealthFileSchema } from '@vipcontrol/core';

/** When a changed key takes effect. */
type Reload = 'reload' | 'restart';

interface KeyDoc {
  readonly doc: string;
  readonly reload: Reload;
  /** The schema's type says "string" where the grammar matters: say which. */
  readonly type?: string;
  /** A default applied outside the schema (viphealth normalises after validation). */
  readonly default?: string;
}

const DURATION = 'duration ("200ms", "30s", "1h30m")';
const PATH = 'absolute path';

const VIPCONTROL_KEYS: Record<string, KeyDoc> = {
  node: { doc: 'This node\'s name in logs, status and the fleet (host-like). Defaults to the hostname.', reload: 'restart', default: 'hostname' },
  bird: { doc: 'How vipcontrol reaches and drives BIRD.', reload: 'restart' },
  'bird.socket': { doc: "BIRD's control socket (the one birdc uses).", reload: 'restart', type: PATH },
  'bird.includeFile': { doc: "The one file vipcontrol owns and rewrites atomically; bird.conf includes it. Never bird.conf itself.", reload: 'restart', type: PATH },
  'bird.configureTimeout': { doc: '`configure timeout N`: BIRD undoes an apply by itself unless vipcontrol confirms it within this time. Whole seconds, at most 1h.', reload: 'restart', type: DURATION },
  'bird.commandTimeout': { doc: 'Timeout of one command on the control socket.', reload: 'restart', type: DURATION },
  'bird.protocol4': { doc: 'Name of the static protocol rendered for IPv4 VIPs (bird.conf exports `proto = "<name>"`).', reload: 'restart', type: 'BIRD name' },
  'bird.protocol6': { doc: 'Name of the static protocol rendered for IPv6 VIPs.', reload: 'restart', type: 'BIRD name' },
  'bird.fabricProtocols': { doc: 'BGP protocols towards the fabric: status verifies what they export (`show route export P`). Absent: every BGP protocol BIRD has. See bird.md.', reload: 'restart', type: 'list of BIRD names' },
  'bird.operatorConfigureHold': { doc: "How long changes wait for someone else's pending `configure timeout` (confirm or undo) before vipcontrol applies over it, logging an error. At most 10m. See bird.md.", reload: 'restart', type: DURATION },
  'bird.watchInterval': { doc: 'How often vipcontrol looks at BIRD (`show status`, `show protocols`) for what others changed — `birdc configure`, `disable`, a fabric session lost — and then reads everything back, so status follows within this time. 0 turns it off (the periodic verify, every 30 s, remains). 200ms to 1m. See bird.md.', reload: 'restart', type: DURATION },
  api: { doc: 'The local API (HTTP/JSON over a Unix socket) that vipctl and viphealth use.', reload: 'restart' },
  'api.socket': { doc: 'Path of the API socket.', reload: 'restart', type: PATH },
  'api.socketMode': { doc: 'Mode of the socket, as an octal string ("0660": quoted, since YAML reads 0660 as decimal).', reload: 'restart', type: 'octal string' },
  'api.socketGroup': { doc: 'Group of the socket (its members may operate vipcontrol).', reload: 'restart', type: 'group name' },
  stateFile: { doc: 'Runtime overrides, withdraws and drain, persisted atomically across restarts.', reload: 'restart', type: PATH },
  loopback: { doc: 'Management of the VIP addresses on the loopback.', reload: 'restart' },
  'loopback.interface': { doc: 'Interface the VIP addresses go on.', reload: 'restart', type: 'interface name' },
  'loopback.manage': { doc: 'Add (and optionally remove) the VIP addresses; false leaves the interface to the operator.', reload: 'restart' },
  'loopback.removeOnWithdraw': { doc: 'Remove a VIP\'s address when it is withdrawn (the route goes first).', reload: 'reload' },
  drainPenalty: { doc: 'MED added to every VIP while the node is drained without withdraw.', reload: 'reload' },
  guardPenalty: { doc: 'MED used instead of a withdraw the minAnnouncers guard refused.', reload: 'reload' },
  gracefulShutdown: { doc: 'While drained (operator or maintenance window), also tag the RFC 8326 GRACEFUL_SHUTDOWN community 65535:0 on every VIP (docs/bird.md 2c).', reload: 'reload' },
  health: { doc: 'How vipcontrol treats viphealth\'s reports.', reload: 'reload' },
  'health.lease': { doc: 'How long vipcontrol trusts viphealth\'s last report before the lease policy applies.', reload: 'restart', type: DURATION },
  'health.leasePolicy': { doc: 'What happens when the lease expires: `hold` the last verdicts, `withdraw`, or `{penalty: N}`.', reload: 'reload' },
  'health.leasePolicy.penalty': { doc: 'MED penalty while the lease is expired.', reload: 'reload' },
  'health.firstReportWait': { doc: 'A fresh node (no health snapshot, nothing announced in BIRD yet) announces nothing until viphealth\'s first report, for at most this long; then each VIP waits for the first verdicts of its checks. "0s": announce at once (a node without viphealth).', reload: 'restart', type: DURATION },
  vips: { doc: 'The VIPs this node announces.', reload: 'reload' },
  'vips[].prefix': { doc: 'The VIP: a host route (/32, /128) while loopback.manage is true.', reload: 'reload', type: 'prefix' },
  'vips[].med': { doc: 'Configured MED (before overrides and penalties).', reload: 'reload' },
  'vips[].communities': { doc: 'Standard communities ("65000:100") set on the route.', reload: 'reload', type: 'list of communities' },
  'vips[].largeCommunities': { doc: 'Large communities ("65000:1:2") set on the route.', reload: 'reload', type: 'list of large communities' },
  'vips[].localPref': { doc: 'LOCAL_PREF set on the route (iBGP).', reload: 'reload' },
  'vips[].minAnnouncers': { doc: 'Fleet mode: this node withdraws the VIP only with a withdraw slot from Redis, granted while at least this many other nodes announce it; otherwise guardPenalty. 0 = no guard.', reload: 'reload' },
  'vips[].gracefulShutdown': { doc: 'Overrides the top-level gracefulShutdown for this VIP.', reload: 'reload', default: 'the top-level gracefulShutdown' },
  maintenance: { doc: 'Scheduled maintenance windows (node-cron).', reload: 'reload' },
  'maintenance[].cron': { doc: 'When a window starts: a cron expression node-cron accepts (5 or 6 fields).', reload: 'reload', type: 'cron expression' },
  'maintenance[].duration': { doc: 'How long the window lasts.', reload: 'reload', type: DURATION },
  'maintenance[].action': { doc: '`drain` (MED penalty) or `withdraw` during the window.', reload: 'reload' },
  'maintenance[].timezone': { doc: 'IANA time zone of the cron expression; default: the system\'s.', reload: 'reload', type: 'IANA time zone' },
  redis: { doc: 'Fleet mode: the Redis the fleet shares. Absent: single node, no Redis code loaded.', reload: 'restart' },
  'redis.url': { doc: 'redis:// or rediss:// URL (user, password, DB number).', reload: 'restart', type: 'URL' },
  'redis.sentinels': { doc: 'Sentinels to ask for the master; url\'s host is then the name the master\'s certificate must carry.', reload: 'restart' },
  'redis.sentinels[].host': { doc: 'Sentinel host.', reload: 'restart', type: 'host' },
  'redis.sentinels[].port': { doc: 'Sentinel port.', reload: 'restart' },
  'redis.name': { doc: 'Sentinel master name (required with sentinels).', reload: 'restart' },
  'redis.keyPrefix': { doc: 'Prefix of every fleet key and channel.', reload: 'restart' },
  'redis.heartbeat': { doc: 'How often the node refreshes its record.', reload: 'restart', type: DURATION },
  'redis.ttl': { doc: 'How long a record lives without a heartbeat (longer than heartbeat).', reload: 'restart', type: DURATION },
  'redis.tls': { doc: 'TLS for rediss:// URLs.', reload: 'restart' },
  'redis.tls.ca': { doc: 'CA bundle to verify the server with; default: the system CAs. Required with sentinels.', reload: 'restart', type: PATH },
  'redis.tls.servername': { doc: 'Name the server certificate must carry; default: url\'s host (pinned with Sentinel, whatever address it names).', reload: 'restart', type: 'host' },
  'redis.passwordFile': { doc: 'File whose first line is the Redis password (instead of the URL\'s).', reload: 'restart', type: PATH },
  'redis.sentinel': { doc: 'Sentinel\'s own credentials; the Redis password is never sent to a Sentinel.', reload: 'restart' },
  'redis.sentinel.username': { doc: 'ACL user for the Sentinels.', reload: 'restart' },
  'redis.sentinel.passwordFile': { doc: 'File whose first line is the Sentinels\' password.', reload: 'restart', type: PATH },
  'redis.sentinel.followAnnounced': { doc: 'Also use Sentinels the configured ones announce (off: only the listed ones).', reload: 'restart' },
  'redis.limits': { doc: 'Bounds on what is read back from Redis (docs/fleet.md, Safety).', reload: 'restart' },
  'redis.limits.maxNodes': { doc: 'Nodes read for the fleet view and fleet status (most recent heartbeats first).', reload: 'restart' },
  'redis.limits.maxFields': { doc: 'Fields of a node\'s desired hash; a hash with more is refused whole.', reload: 'restart' },
  'redis.limits.maxValueBytes': { doc: 'Largest node record read; a larger one is not fetched.', reload: 'restart' },
  'redis.tls.insecure': { doc: 'Skip certificate verification (test setups only).', reload: 'restart' },
  metrics: { doc: 'Prometheus `/metrics` listener (docs/metrics.md). Absent: not served. It has no authentication: keep it on loopback or a management address.', reload: 'restart' },
  'metrics.listen': { doc: 'Address to serve on, e.g. "127.0.0.1:9651" or "[::1]:9651".', reload: 'restart', type: 'host:port' },
  log: { doc: 'Logging (JSON lines on stdout).', reload: 'restart' },
  'log.level': { doc: 'pino level.', reload: 'restart' },
};

const CHECK = 'reload';
const VIPHEALTH_KEYS: Record<string, KeyDoc> = {
  vipcontrol: { doc: 'Where viphealth reports to.', reload: 'reload' },
  'vipcontrol.socket': { doc: "vipcontrol's API socket.", reload: 'reload', type: PATH, default: '"/run/vipcontrol/vipcontrol.sock"' },
  heartbeat: { doc: 'A full report is sent at least this often (vipcontrol\'s lease counts from the last one).', reload: 'reload', type: DURATION, default: '"1s"' },
  log: { doc: 'Logging (JSON lines on stdout).', reload: 'reload' },
  'log.level': { doc: 'pino level.', reload: 'reload', default: '"info"' },
  metrics: { doc: 'Prometheus `/metrics` listener (docs/metrics.md). Absent: not served. No authentication: keep it on loopback.', reload: 'restart' },
  'metrics.listen': { doc: 'Address to serve on, e.g. "127.0.0.1:9652".', reload: 'restart', type: 'host:port' },
  checks: { type: 'list of checks', doc: 'The health checks (at least one). A reload keeps unchanged checks as they are and starts changed ones afresh.', reload: CHECK },
  'checks[].name': { doc: 'Unique name, shown in status and logs.', reload: CHECK },
  'checks[].type': { doc: 'What the check runs; the keys below marked exec:, tcp:, … belong to that type.', reload: CHECK, type: '"exec" \\| "tcp" \\| "http" \\| "process" \\| "bird-protocol"' },
  'checks[].interval': { doc: 'Time between runs while stable.', reload: CHECK, type: DURATION, default: '"1s"' },
  'checks[].fastInterval': { doc: 'Time between runs while a transition is in progress (never slower than interval).', reload: CHECK, type: DURATION, default: '"200ms"' },
  'checks[].timeout': { doc: 'A run that takes longer fails.', reload: CHECK, type: DURATION, default: '"1s"' },
  'checks[].rise': { doc: 'Consecutive passes to go up.', reload: CHECK, default: '3' },
  'checks[].fall': { doc: 'Consecutive failures to go down.', reload: CHECK, default: '3' },
  'checks[].startup': { doc: 'State before the first verdict: unknown (vipcontrol holds the previous verdict), up or down.', reload: CHECK, default: '"unknown"' },
  'checks[].disableFile': { doc: 'While this file exists the check reports `disabled` without running (maintenance).', reload: CHECK, type: PATH },
  'checks[].damping': { doc: 'Flap damping: after `flaps` transitions within `window`, hold the check down.', reload: CHECK },
  'checks[].damping.flaps': { doc: 'Transitions within the window that trigger a hold-down.', reload: CHECK },
  'checks[].damping.window': { doc: 'Window the flaps are counted in.', reload: CHECK, type: DURATION },
  'checks[].damping.holdDown': { doc: 'First hold-down; doubles on repeated flapping.', reload: CHECK, type: DURATION },
  'checks[].damping.maxHoldDown': { doc: 'Longest hold-down.', reload: CHECK, type: DURATION, default: '64 × holdDown' },
  'checks[].hooks': { doc: 'Commands run on transitions.', reload: CHECK },
  'checks[].hooks.onChange': { doc: 'argv run on every transition, with the state in the environment.', reload: CHECK, type: 'list of strings (argv)' },
  'checks[].hooks.timeout': { doc: 'Hook run time limit.', reload: CHECK, type: DURATION, default: '"10s"' },
  'checks[].vips': { doc: 'The VIPs this check gates.', reload: CHECK, type: 'list of prefixes' },
  'checks[].penalty': { doc: 'MED added while failing (exactly one of penalty or withdraw).', reload: CHECK },
  'checks[].withdraw': { doc: 'Withdraw the VIPs while failing.', reload: CHECK },
  'checks[].command': { doc: 'exec: argv (no shell), or one script string with shell: true. Exit 0 passes.', reload: CHECK, type: 'list of strings (argv)' },
  'checks[].shell': { doc: 'exec: run command[0] with /bin/sh -c.', reload: CHECK, default: 'false' },
  'checks[].target': { doc: 'tcp: host:port to connect to.', reload: CHECK, type: 'host:port' },
  'checks[].url': { doc: 'http: http:// or https:// URL.', reload: CHECK, type: 'URL' },
  'checks[].status': { doc: 'http: accepted status, 200 or an inclusive range "200-399".', reload: CHECK, type: 'status code or range', default: '"200-399"' },
  'checks[].bodyMatch': { doc: 'http: a regular expression the body must match.', reload: CHECK, type: 'regular expression' },
  'checks[].tls': { doc: 'http: TLS settings for https:// URLs.', reload: CHECK },
  'checks[].tls.insecure': { doc: 'Skip certificate verification.', reload: CHECK, default: 'false' },
  'checks[].tls.ca': { doc: 'CA bundle to verify the server with.', reload: CHECK, type: PATH },
  'checks[].pidfile': { doc: 'process: pidfile of the service (exactly one of pidfile or processName).', reload: CHECK, type: PATH },
  'checks[].processName': { doc: 'process: exact kernel comm name (≤ 15 characters).', reload: CHECK },
  'checks[].socket': { doc: "bird-protocol: BIRD's control socket.", reload: CHECK, type: PATH, default: '"/run/bird/bird.ctl"' },
  'checks[].protocols': { doc: 'bird-protocol: BIRD protocol names to look at.', reload: CHECK, type: 'list of BIRD names' },
  'checks[].state': { doc: 'bird-protocol: the state that counts as up.', reload: CHECK, default: '"Established"' },
  'checks[].minUp': { doc: 'bird-protocol: how many of the protocols must be in that state.', reload: CHECK, default: 'all of them' },
  'checks[].bfd': { doc: 'bird-protocol: a protocol counts only while the BFD session to its neighbour is Up too.', reload: CHECK },
};

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
};

interface SchemaKey {
  readonly path: string;
  readonly schema: JsonSchema;
}

/** Every key of a schema, depth first; `[]` marks list items; union variants are merged. */
function schemaKeys(schema: JsonSchema, prefix = ''): SchemaKey[] {
  const out: SchemaKey[] = [];
  const visit = (s: JsonSchema, path: string): void => {
    if (s.properties) {
      for (const [key, child] of Object.entries(s.properties)) {
        const p = `${path}${key}`;
        if (!out.some((k) => k.path === p)) out.push({ path: p, schema: child });
        visit(child, `${p}.`);
      }
    } else if (s.type === 'array' && s.items) {
      visit(s.items, `${path.slice(0, -1)}[].`);
    }
    for (const variant of s.oneOf ?? s.anyOf ?? []) visit(variant, path);
  };
  visit(schema, prefix);
  return out;
}

function typeOf(s: JsonSchema): string {
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return variants.map(typeOf).join(' or ');
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === 'integer') {
    if (s.minimum === undefined) return 'integer';
    return s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? `integer ${s.minimum}–${s.maximum}` : `integer ≥ ${s.minimum}`;
  }
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object') return 'mapping';
  return s.type ?? 'value';
}

function defaultOf(s: JsonSchema, doc: KeyDoc | undefined): string {
  if (doc?.default !== undefined) return doc.default;
  if (s.default === undefined) return '';
  if (typeof s.default === 'object' && s.default !== null && Object.keys(s.default).length === 0) return '';
  return JSON.stringify(s.default);
}

const FILES = [
  { name: 'vipcontrol.yaml', path: '/etc/vipcontrol/vipcontrol.yaml', schema: vipcontrolFileSchema, docs: VIPCONTROL_KEYS, reloadHow: '`systemctl reload vipcontrol` (= `vipctl reload`, SIGHUP)' },
  { name: 'viphealth.yaml', path: '/etc/vipcontrol/viphealth.yaml', schema: viphealthFileSchema, docs: VIPHEALTH_KEYS, reloadHow: '`systemctl reload viphealth` (SIGHUP)' },
] as const;

function keysOf(schema: z.ZodType): SchemaKey[] {
  return schemaKeys(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
}

/** Keys without a description, and descriptions of keys the schema does not have. */
export function configReferenceProblems(): string[] {
  const problems: string[] = [];
  for (const f of FILES) {
    const keys = keysOf(f.schema).map((k) => k.path);
    for (const k of keys) if (!(k in f.docs)) problems.push(`${f.name}: ${k} has no description in KEY_DOCS`);
    for (const k of Object.keys(f.docs)) if (!keys.includes(k)) problems.push(`${f.name}: ${k} is described but not in the schema`);
  }
  return problems;
}

/** The whole of docs/configuration.md. */
export function renderConfigurationDoc(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated by `bash scripts/gen-docs.sh` from the zod schemas in packages/core; do not edit by hand:',
    '     a test fails when this file and the schemas differ. -->',
    '',
    'Both files are YAML; unknown keys are errors. `vipctl config validate FILE` (Puppet\'s `validate_cmd`)',
    'checks a file with exactly the daemon\'s parser and names file, line and field on error.',
    '"Reload" says whether a changed key takes effect on a reload, or only on the next restart',
    '(a reload then logs `reloadNeedsRestart` and keeps the running value).',
  ];
  for (const f of FILES) {
    lines.push('', `## ${f.name}`, '', `Default path \`${f.path}\`. Reload: ${f.reloadHow}.`, '');
    lines.push('| key | type | default | reload | meaning |', '|---|---|---|---|---|');
    for (const key of keysOf(f.schema)) {
      const doc = (f.docs as Record<string, KeyDoc>)[key.path];
      const type = doc?.type ?? typeOf(key.schema);
      const def = defaultOf(key.schema, doc);
      lines.push(`| \`${key.path}\` | ${type} | ${def ? `\`${def}\`` : ''} | ${doc?.reload ?? '?'} | ${doc?.doc ?? '(undocumented)'} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

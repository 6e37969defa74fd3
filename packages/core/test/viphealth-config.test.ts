import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/config-error.js';
import { checkHealthParams, parseViphealthConfig } from '../src/viphealth-config.js';

const FILE = '/etc/vipcontrol/viphealth.yaml';

// DESIGN.md's minimal viphealth.yaml, verbatim.
const MINIMAL = `vipcontrol: { socket: /run/vipcontrol/vipcontrol.sock }
checks:
  - name: ingest
    type: tcp                # exec | tcp | http | process | bird-protocol
    target: 127.0.0.1:179
    interval: 1s
    fastInterval: 200ms
    timeout: 500ms
    rise: 3
    fall: 3
    vips: [198.51.100.10/32, 2001:db8::10/128]
    penalty: 1000            # added to the MED while failing; or: withdraw: true
`;

/** The one error message parseViphealthConfig throws for `text`. */
function errorOf(text: string): string {
  try {
    parseViphealthConfig(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

const check = (body: string) => `checks:\n  - name: c1\n    vips: [192.0.2.1/32]\n${body.replace(/^/gm, '    ')}\n`;

describe('parseViphealthConfig', () => {
  it('accepts DESIGN.md minimal file and applies defaults', () => {
    const cfg = parseViphealthConfig(MINIMAL, FILE);
    assert.deepStrictEqual(cfg, {
      vipcontrol: { socket: '/run/vipcontrol/vipcontrol.sock' },
      heartbeatMs: 1000,
      log: { level: 'info' },
      checks: [
        {
          name: 'ingest',
          intervalMs: 1000,
          fastIntervalMs: 200,
          timeoutMs: 500,
          rise: 3,
          fall: 3,
          startup: 'unknown',
          hooks: { timeoutMs: 10_000 },
          vips: ['198.51.100.10/32', '2001:db8::10/128'],
          effect: { penalty: 1000 },
          type: 'tcp',
          host: '127.0.0.1',
          port: 179,
        },
      ],
    });
    assert.ok(Object.isFrozen(cfg.checks[0]!.vips));
    assert.deepStrictEqual(checkHealthParams(cfg.checks[0]!), { rise: 3, fall: 3, intervalMs: 1000, fastIntervalMs: 200 });
  });

  it('parses every check type with its specifics', () => {
    const cfg = parseViphealthConfig(
      `vipcontrol: { socket: /tmp/v.sock }
heartbeat: 500ms
log: { level: debug }
checks:
  - { name: e, type: exec, command: [/bin/true, -x], vips: [2001:DB8::0010/128], withdraw: true, startup: up }
  - { name: s, type: exec, shell: true, command: ["pidof bird"], vips: [192.0.2.1/32], penalty: 5 }
  - { name: t6, type: tcp, target: "[::1]:8080", vips: [192.0.2.1/32], penalty: 5, disableFile: /run/maint }
  - name: h
    type: http
    url: https://127.0.0.1:8443/health
    status: 200-204
    bodyMatch: "^ok"
    tls: { insecure: true, ca: /etc/ssl/ca.pem }
    vips: [192.0.2.1/32]
    penalty: 5
    hooks: { onChange: [/usr/local/bin/notify, --x], timeout: 2s }
    damping: { flaps: 3, window: 5m, holdDown: 30s }
  - { name: p1, type: process, pidfile: /run/bird/bird.pid, vips: [192.0.2.1/32], penalty: 5, interval: 100ms, fastInterval: 1s }
  - { name: p2, type: process, processName: bird, vips: [192.0.2.1/32], penalty: 5 }
  - { name: b, type: bird-protocol, protocols: [rr1, rr2], minUp: 1, vips: [192.0.2.1/32], withdraw: true }
`,
      FILE,
    );
    const [e, s, t6, h, p1, p2, b] = cfg.checks;
    assert.equal(cfg.heartbeatMs, 500);
    assert.equal(cfg.log.level, 'debug');
    assert.deepStrictEqual([e!.type === 'exec' && e.command, e!.type === 'exec' && e.shell, e!.effect, e!.vips, e!.startup], [
      ['/bin/true', '-x'],
      false,
      { withdraw: true },
      ['2001:db8::10/128'],
      'up',
    ]);
    assert.equal(s!.type === 'exec' && s.shell, true);
    assert.deepStrictEqual(t6!.type === 'tcp' && [t6.host, t6.port, t6.disableFile], ['::1', 8080, '/run/maint']);
    assert.ok(h!.type === 'http');
    assert.deepStrictEqual([h.status, h.bodyMatch, h.tls, h.hooks], [
      { min: 200, max: 204 },
      '^ok',
      { insecure: true, ca: '/etc/ssl/ca.pem' },
      { onChange: ['/usr/local/bin/notify', '--x'], timeoutMs: 2000 },
    ]);
    assert.deepStrictEqual(h.damping, { flaps: 3, windowMs: 300_000, holdDownMs: 30_000, maxHoldDownMs: 30_000 * 64 });
    assert.equal(p1!.fastIntervalMs, 100, 'fastInterval is capped at interval');
    assert.equal(p1!.type === 'process' && p1.pidfile, '/run/bird/bird.pid');
    assert.equal(p2!.type === 'process' && p2.processName, 'bird');
    assert.deepStrictEqual(b!.type === 'bird-protocol' && [b.socket, b.protocols, b.state, b.minUp], [
      '/run/bird/bird.ctl',
      ['rr1', 'rr2'],
      'Established',
      1,
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ['penalty and withdraw', check('type: tcp\ntarget: a:1\npenalty: 5\nwithdraw: true'), /:7:15: checks\[0\].withdraw: exactly one of penalty/],
    ['no effect', check('type: tcp\ntarget: a:1'), /:3:11: checks\[0\].vips: exactly one of penalty/],
    ['bad target', check('type: tcp\ntarget: "::1:80"\npenalty: 1'), /:5:13: checks\[0\]\.target: must be host:port/],
    ['port 0', check('type: tcp\ntarget: "h:0"\npenalty: 1'), /checks\[0\]\.target: must be host:port/],
    ['bad type', check('type: ping\npenalty: 1'), /:4:11: checks\[0\]\.type: /],
    ['bad duration', check('type: tcp\ntarget: h:1\npenalty: 1\ninterval: 1 s'), /:7:15: checks\[0\]\.interval: invalid duration/],
    ['bad prefix', 'checks:\n  - { name: c, type: tcp, target: h:1, penalty: 1, vips: [192.0.2.1/24] }\n', /:2:59: checks\[0\]\.vips\[0\]: invalid prefix/],
    ['shell not explicit', check('type: exec\ncommand: "true"\npenalty: 1'), /checks\[0\]\.command: expected array/],
    ['shell with argv', check('type: exec\nshell: true\ncommand: [a, b]\npenalty: 1'), /checks\[0\]\.command: with shell: true/],
    ['status range', check('type: http\nurl: http://x/\nstatus: 300-200\npenalty: 1'), /checks\[0\]\.status: must be a status code/],
    ['body regex', check('type: http\nurl: http://x/\nbodyMatch: "("\npenalty: 1'), /checks\[0\]\.bodyMatch: invalid regular expression/],
    ['url scheme', check('type: http\nurl: ftp://x/\npenalty: 1'), /checks\[0\]\.url: must be an http/],
    ['process both', check('type: process\npidfile: /run/p\nprocessName: bird\npenalty: 1'), /checks\[0\]\.pidfile: exactly one of pidfile or processName/],
    ['comm too long', check('type: process\nprocessName: averyveryverylongname\npenalty: 1'), /checks\[0\]\.processName: must be 1-15/],
    ['minUp too big', check('type: bird-protocol\nprotocols: [a]\nminUp: 2\npenalty: 1'), /checks\[0\]\.minUp: must be ≤ 1/],
    ['bird name', check('type: bird-protocol\nprotocols: ["a;b"]\npenalty: 1'), /checks\[0\]\.protocols\[0\]: must be a BIRD name/],
    ['unknown key', check('type: tcp\ntarget: h:1\npenalty: 1\nrize: 2'), /:7:5: checks\[0\]\.rize: unknown key/],
    ['rise 0', check('type: tcp\ntarget: h:1\npenalty: 1\nrise: 0'), /checks\[0\]\.rise: must be ≥ 1/],
    ['damping cap', check('type: tcp\ntarget: h:1\npenalty: 1\ndamping: { flaps: 2, window: 1m, holdDown: 1m, maxHoldDown: 1s }'), /checks\[0\]\.damping\.maxHoldDown: must be ≥ holdDown/],
    [
      'duplicate names',
      'checks:\n  - { name: c, type: tcp, target: h:1, penalty: 1, vips: [192.0.2.1/32] }\n  - { name: c, type: tcp, target: h:1, penalty: 1, vips: [192.0.2.1/32] }\n',
      /:3:13: checks\[1\]\.name: duplicate check name \(also checks\[0\]\)/,
    ],
    ['no checks', 'vipcontrol: { socket: /x }\n', /checks: required/],
    ['yaml syntax', 'checks: [\n', /viphealth\.yaml:\d+:\d+: YAML/],
    ['relative socket', 'vipcontrol: { socket: x.sock }\nchecks: []\n', /vipcontrol\.socket: must be an absolute path/],
  ];
  for (const [name, text, re] of bad) {
    it(`rejects: ${name}`, () => {
      const msg = errorOf(text);
      assert.match(msg, re);
      assert.ok(msg.startsWith(`${FILE}:`), msg);
    });
  }
});

// run() in-process, for everything that needs no daemon: usage errors, config validate, no socket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIRD_RESERVED_NAMES, parseVipcontrolConfig } from '@vipcontrol/core';
import { run } from '../src/program.js';
import { ExitCode } from '../src/errors.js';
import { birdNameRejections, findBird } from '../src/bird-name-check.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vipctl-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Env = Record<string, string | undefined>;

/** vipctl with an empty environment: no PATH, so `config validate` finds no bird to ask. */
async function vipctl(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return vipctlIn({}, ...argv);
}

async function vipctlIn(env: Env, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['--socket', join(dir, 'missing.sock'), ...argv], {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    env,
  });
  return { code, stdout, stderr };
}

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one stderr line, got: ${JSON.stringify(stderr)}`);
  return lines[0] ?? '';
}

test('bad arguments: exit 2 and one line, before any socket is touched', async () => {
  const cases: [string[], RegExp][] = [
    [['set-med', '198.51.100.10/32 blackhole; }; protocol x {', '100'], /invalid prefix/],
    [['set-med', '198.51.100.10/32', '4294967296'], /MED must be an integer/],
    [['set-med', '198.51.100.10/32', '100', '--ttl', '5 minutes'], /invalid duration/],
    [['set-med', '198.51.100.10/32', '100', '--reason', 'two\nlines'], /control/],
    [['set-med', '198.51.100.10/32'], /missing required argument 'med'/],
    [['withdraw', '198.51.100.1/24'], /host bits/],
    [['drain', '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [argv, re] of cases) {
    const r = await vipctl(...argv);
    assert.equal(r.code, ExitCode.usage, argv.join(' '));
    assert.match(oneLine(r.stderr), re);
    assert.match(r.stderr, /^vipctl: /);
  }
});

test('no daemon: exit 3 and one line naming the socket', async () => {
  const r = await vipctl('status');
  assert.equal(r.code, ExitCode.unreachable);
  assert.equal(oneLine(r.stderr), `vipctl: vipcontrol is not running (no socket at ${join(dir, 'missing.sock')})`);
});

test('VIPCTL_SOCKET is the default socket; --socket wins over it', async () => {
  const fromEnv = join(dir, 'env.sock');
  let stderr = '';
  const io = { stdout: () => undefined, stderr: (s: string) => (stderr += s), env: { VIPCTL_SOCKET: fromEnv } };
  assert.equal(await run(['status'], io), ExitCode.unreachable);
  assert.equal(oneLine(stderr), `vipctl: vipcontrol is not running (no socket at ${fromEnv})`);
  stderr = '';
  assert.equal(await run(['status', '--socket', join(dir, 'flag.sock')], io), ExitCode.unreachable);
  assert.match(oneLine(stderr), /flag\.sock/);
});

test('without --socket or VIPCTL_SOCKET, the socket comes from api.socket of VIPCTL_CONFIG', async () => {
  const file = join(dir, 'socket-from-config.yaml');
  const sock = join(dir, 'from-config.sock');
  await writeFile(file, `node: n1\napi:\n  socket: ${sock}\nvips: []\n`);
  let stderr = '';
  const io = { stdout: () => undefined, stderr: (s: string) => (stderr += s), env: { VIPCTL_CONFIG: file } };
  assert.equal(await run(['status'], io), ExitCode.unreachable);
  assert.equal(oneLine(stderr), `vipctl: vipcontrol is not running (no socket at ${sock})`);
  // VIPCTL_SOCKET still wins over the config.
  stderr = '';
  const envSock = join(dir, 'env-wins.sock');
  assert.equal(await run(['status'], { ...io, env: { VIPCTL_CONFIG: file, VIPCTL_SOCKET: envSock } }), ExitCode.unreachable);
  assert.match(oneLine(stderr), /env-wins\.sock/);
  // A config the daemon would refuse is one clear usage error naming the file, not a guess.
  await writeFile(file, 'api: { socket: relative.sock }\n');
  stderr = '';
  assert.equal(await run(['status'], io), ExitCode.usage);
  assert.match(oneLine(stderr), new RegExp(`cannot take api.socket from ${file}: .*api.socket: must be an absolute path.*pass --socket`));
  // A config that never mentions api: the default socket (without loading the config validation).
  await writeFile(file, 'node: n1\nvips:\n  - { prefix: 198.51.100.10/32, med: 100 }\n');
  stderr = '';
  assert.equal(await run(['status'], io), ExitCode.unreachable);
  assert.match(oneLine(stderr), /no socket at \/run\/vipcontrol\/vipcontrol\.sock/);
  // No config at all: the default socket.
  stderr = '';
  assert.equal(await run(['status'], { ...io, env: { VIPCTL_CONFIG: join(dir, 'absent.yaml') } }), ExitCode.unreachable);
  assert.match(oneLine(stderr), /no socket at \/run\/vipcontrol\/vipcontrol\.sock/);
});

test('--json: errors are one JSON object on stderr, usage errors included', async () => {
  const down = await vipctl('--json', 'status');
  assert.equal(down.code, ExitCode.unreachable);
  assert.deepEqual(JSON.parse(oneLine(down.stderr)), {
    error: `vipcontrol is not running (no socket at ${join(dir, 'missing.sock')})`,
    exitCode: ExitCode.unreachable,
  });
  const usage = await vipctl('--json', 'set-med', '198.51.100.10/32', 'x');
  assert.equal(usage.code, ExitCode.usage);
  const parsed = JSON.parse(oneLine(usage.stderr)) as { error: string; exitCode: number };
  assert.equal(parsed.exitCode, ExitCode.usage);
  assert.match(parsed.error, /MED must be an integer/);
  const unknown = await vipctl('--json', 'frobnicate');
  assert.equal(JSON.parse(oneLine(unknown.stderr)).exitCode, ExitCode.usage);
});

test('--help lists the exit codes', async () => {
  const r = await vipctl('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Exit codes:\n {2}0 {2}success\n {2}1 .*\n {2}2 {2}usage error.*\n {2}3 .*not running/);
  assert.match(r.stdout, /\n {2}5 {2}the change is saved but not yet applied.*\n {2}6 {2}status only:/);
  for (const cmd of ['status', 'set-med', 'reset-med', 'withdraw', 'announce', 'drain', 'undrain', 'reload', 'config']) {
    assert.match(r.stdout, new RegExp(`^ {2}${cmd}\\b`, 'm'), cmd);
  }
});

const GOOD = `node: n1
bird:
  socket: /run/bird/bird.ctl
  includeFile: /etc/bird/vipcontrol.conf
vips:
  - prefix: 198.51.100.10/32
    med: 100
    communities: ["65000:100"]
  - prefix: 2001:db8::10/128
    med: 100
`;

test('config validate: OK on a valid file, FILE:LINE:COL: path: reason otherwise', async () => {
  const good = join(dir, 'good.yaml');
  await writeFile(good, GOOD);
  const ok = await vipctl('config', 'validate', good);
  assert.deepEqual(ok, { code: 0, stdout: `${good}: OK\n`, stderr: '' });

  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, GOOD.replace('med: 100\n    communities', 'med: -5\n    communities').replace('"65000:100"', '"65000:100)); }; protocol x {"'));
  const r = await vipctl('config', 'validate', bad);
  assert.equal(r.code, ExitCode.failed);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${bad}:7:10: vips\\[0\\]\\.med: .+$`, 'm'));
  assert.match(r.stderr, new RegExp(`^${bad}:8:\\d+: vips\\[0\\]\\.communities\\[0\\]: .+$`, 'm'));

  const dup = join(dir, 'dup.yaml');
  await writeFile(dup, `${GOOD}  - prefix: 198.51.100.10/32\n    med: 5\n`);
  const d = await vipctl('config', 'validate', dup);
  assert.equal(d.code, ExitCode.failed);
  assert.match(d.stderr, new RegExp(`^${dup}:\\d+:\\d+: vips\\[2\\]`, 'm'));

  const missing = await vipctl('config', 'validate', join(dir, 'nope.yaml'));
  assert.equal(missing.code, ExitCode.failed);
  assert.match(oneLine(missing.stderr), /nope\.yaml: cannot read: ENOENT/);
});

test('config validate: a viphealth file is recognised by its checks key', async () => {
  const file = join(dir, 'viphealth.yaml');
  await writeFile(
    file,
    `vipcontrol: { socket: /run/vipcontrol/vipcontrol.sock }
checks:
  - name: ingest
    type: tcp
    target: 127.0.0.1:179
    interval: 1s
    fastInterval: 200ms
    timeout: 500ms
    rise: 3
    fall: 3
    vips: [198.51.100.10/32, 2001:db8::10/128]
    penalty: 1000
`,
  );
  assert.equal((await vipctl('config', 'validate', file)).code, 0);
  // The same file read as a vipcontrol config is wrong: --kind overrides detection.
  const r = await vipctl('config', 'validate', '--kind', 'vipcontrol', file);
  assert.equal(r.code, ExitCode.failed);
  assert.match(r.stderr, /checks: unknown key/);
});

// The suite's machine has BIRD 2.0.12 installed (see contracts): these run it for real.
const WITH_BIRD: Env = { PATH: process.env['PATH'] };

test('config validate asks the installed bird about protocol names core does not know are keywords', async () => {
  assert.ok(await findBird(WITH_BIRD), 'bird must be on PATH for this test');
  // ospf_tag and krt_metric are BIRD keywords outside core's short list: only bird itself can refuse them.
  const v4 = join(dir, 'kw4.yaml');
  await writeFile(v4, GOOD.replace('includeFile: /etc/bird/vipcontrol.conf\n', '$&  protocol4: ospf_tag\n'));
  const r4 = await vipctlIn(WITH_BIRD, 'config', 'validate', v4);
  assert.equal(r4.code, ExitCode.failed);
  assert.equal(r4.stdout, '');
  assert.equal(r4.stderr, `${v4}:5:14: bird.protocol4: BIRD rejects this name: syntax error, unexpected OSPF_TAG\n`);

  const v6 = join(dir, 'kw6.yaml');
  await writeFile(v6, GOOD.replace('includeFile: /etc/bird/vipcontrol.conf\n', '$&  protocol6: krt_metric\n'));
  const r6 = await vipctlIn(WITH_BIRD, 'config', 'validate', '--json', v6);
  assert.equal(r6.code, ExitCode.failed);
  assert.deepEqual(JSON.parse(r6.stdout), {
    file: v6,
    ok: false,
    errors: [`${v6}:5:14: bird.protocol6: BIRD rejects this name: syntax error, unexpected KRT_METRIC`],
  });

  // Accepted names stay OK, including one the stub's own device protocol could have taken.
  const fine = join(dir, 'fine.yaml');
  await writeFile(fine, GOOD.replace('includeFile: /etc/bird/vipcontrol.conf\n', '$&  protocol4: device1\n'));
  assert.deepEqual(await vipctlIn(WITH_BIRD, 'config', 'validate', fine), { code: 0, stdout: `${fine}: OK\n`, stderr: '' });

  // No bird on PATH: nothing extra is checked or said.
  const empty = join(dir, 'no-bird-here');
  await mkdir(empty, { recursive: true });
  assert.equal(await findBird({ PATH: empty }), undefined);
  assert.deepEqual(await vipctlIn({ PATH: empty }, 'config', 'validate', v4), { code: 0, stdout: `${v4}: OK\n`, stderr: '' });
});

test("every name in core's BIRD keyword list is one BIRD 2.0.12 really refuses", async () => {
  const base = parseVipcontrolConfig(GOOD, 'v.yaml');
  const accepted: string[] = [];
  for (const word of BIRD_RESERVED_NAMES) {
    const config = { ...base, bird: { ...base.bird, protocol4: word } };
    const lines = await birdNameRejections(config, GOOD, 'v.yaml', WITH_BIRD);
    if (lines.length !== 1 || !/^v\.yaml:\d+:\d+: bird\.protocol4: BIRD rejects this name: /.test(lines[0] ?? '')) accepted.push(`${word}: ${lines.join(' | ')}`);
  }
  assert.deepEqual(accepted, []);
});

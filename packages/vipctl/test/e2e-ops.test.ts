// End to end, iBGP: the real vipctl drives the real vipcontrol, which drives the node's real BIRD; every
// assertion is read from the fabric router (its RIB and its session counters).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import type { DaemonProcess, Lab, LabHost } from '@vipcontrol/testlab';
import { ApiClient } from '../src/api-client.js';
import { ApiError } from '../src/errors.js';
import { SENTINEL, V4, V6, type LabConfig, editConfig, lineOf, oneLine, reconfigurations, routeAt, sha256, startE2eLab, statusJson, vipctl, vipctlAsNobody, vipctlOk, waitGone, waitMed } from './e2e-helpers.js';

let lab: Lab;
let node: LabHost;
let daemon: DaemonProcess;
let birdConfHash: string;
let sock: string;

before(async () => {
  ({ lab, node, daemon, birdConfHash } = await startE2eLab());
  sock = daemon.apiSocket;
});

after(async () => {
  await lab?.destroy();
});

const includeFile = (): string => node.includeFile;

/** The router's counters and session identity: Since changes only if the session was reset. */
const stats = () => lab.sessionStats(node);

test('configured VIPs reach the router with MED, communities and large communities (IPv4 and IPv6)', async () => {
  const r4 = await routeAt(lab, V4);
  assert.equal(r4?.med, 100);
  assert.deepEqual(r4?.communities, ['65000:100']);
  assert.deepEqual(r4?.largeCommunities, ['65000:1:2']);
  const r6 = await routeAt(lab, V6);
  assert.equal(r6?.med, 100);
  assert.deepEqual(r6?.communities, ['65000:600']);
  assert.deepEqual(r6?.largeCommunities, ['65000:6:6']);
});

test('set-med is seen at the router with the right MED, IPv4 and IPv6; reset-med restores it', async () => {
  const out = await vipctlOk(sock, 'set-med', V4, '250', '--ttl', '1h', '--reason', 'shift traffic');
  assert.match(out, /198\.51\.100\.10\/32: announced, MED 250/);
  const r4 = await waitMed(lab, V4, 250);
  assert.deepEqual(r4.communities, ['65000:100'], 'communities survive a MED change');
  // IPv6 given in a non-canonical spelling: vipctl canonicalises before calling.
  await vipctlOk(sock, 'set-med', '2001:DB8:0::10/128', '260');
  await waitMed(lab, V6, 260);

  const s = await statusJson(sock);
  const v4 = s.vips.find((v) => v.prefix === V4);
  assert.equal(v4?.override?.med, 250);
  assert.equal(v4?.override?.reason, 'shift traffic');
  const human = await vipctlOk(sock, 'status');
  assert.match(human, /^198\.51\.100\.10\/32 +yes +250 +250 +yes +250 override = 250$/m);
  assert.match(human, /override: MED 250, expires .* reason "shift traffic" by e2e@/);

  await vipctlOk(sock, 'reset-med', V4);
  await vipctlOk(sock, 'reset-med', V6);
  await waitMed(lab, V4, 100);
  await waitMed(lab, V6, 100);
  assert.match(await vipctlOk(sock, 'status'), /^198\.51\.100\.10\/32 +yes +100 +100 +yes +100 configured = 100$/m);
});

test('20 set-med calls that change the MED: exactly one UPDATE each at the router, no session reset', async () => {
  const before = await stats();
  for (let i = 1; i <= 20; i++) {
    await vipctlOk(sock, 'set-med', V4, String(1000 + i));
    await waitMed(lab, V4, 1000 + i);
    const now = await stats();
    assert.equal(now.importUpdates, before.importUpdates + i, `updates after call ${i}`);
    assert.equal(now.importWithdraws, before.importWithdraws);
    assert.equal(now.since, before.since, 'session reset');
    assert.equal(now.state, 'Established');
  }
});

test('20 set-med calls of the same value: nothing sent, no session reset', async () => {
  await vipctlOk(sock, 'set-med', V4, '777');
  await waitMed(lab, V4, 777);
  const before = await stats();
  const reconfigured = await reconfigurations(node);
  for (let i = 0; i < 20; i++) await vipctlOk(sock, 'set-med', V4, '777');
  // Not even a `configure` reached the node's BIRD.
  assert.equal(await reconfigurations(node), reconfigured);
  // Everything sent before this change has reached the router once the router shows it.
  await vipctlOk(sock, 'set-med', SENTINEL, '101');
  await waitMed(lab, SENTINEL, 101);
  const now = await stats();
  assert.equal(now.importUpdates, before.importUpdates + 1, 'only the sentinel change was sent');
  assert.equal(now.importWithdraws, before.importWithdraws);
  assert.equal(now.since, before.since);
  await vipctlOk(sock, 'reset-med', V4);
  await vipctlOk(sock, 'reset-med', SENTINEL);
  await waitMed(lab, V4, 100);
});

test('withdraw and announce are seen at the router', async () => {
  const before = await stats();
  const out = await vipctlOk(sock, 'withdraw', V4, '--reason', 'rack move');
  assert.match(out, /198\.51\.100\.10\/32: withdrawn \(operator \(rack move\)\)/);
  await waitGone(lab, V4);
  assert.ok(await routeAt(lab, V6), 'the IPv6 VIP stays');
  const mid = await stats();
  assert.equal(mid.importWithdraws, before.importWithdraws + 1);
  assert.match(await vipctlOk(sock, 'status'), /^198\.51\.100\.10\/32 +no +.*\n +withdrawn: operator \(rack move\)$/m);

  await vipctlOk(sock, 'withdraw', V6);
  await waitGone(lab, V6);
  await vipctlOk(sock, 'announce', V4);
  await vipctlOk(sock, 'announce', V6);
  const r4 = await waitMed(lab, V4, 100);
  assert.deepEqual(r4.largeCommunities, ['65000:1:2']);
  await waitMed(lab, V6, 100);
  const after = await stats();
  assert.equal(after.importUpdates, before.importUpdates + 2, 'one UPDATE per re-announced VIP');
  assert.equal(after.importWithdraws, before.importWithdraws + 2, 'one withdraw per withdrawn VIP');
  assert.equal(after.since, before.since);
});

test('drain adds the drain penalty to every VIP; drain --withdraw withdraws all; undrain restores', async () => {
  await vipctlOk(sock, 'drain', '--reason', 'kernel upgrade');
  const s = await statusJson(sock);
  const v4 = s.vips.find((v) => v.prefix === V4);
  assert.ok(v4 && v4.med > 100 && v4.terms.some((t) => t.kind === 'drain'), JSON.stringify(v4));
  await waitMed(lab, V4, v4.med);
  await waitMed(lab, V6, s.vips.find((v) => v.prefix === V6)?.med ?? -1);
  assert.match(await vipctlOk(sock, 'status'), /^drain: +yes, MED penalty \(operator\) .*reason "kernel upgrade"/m);

  await vipctlOk(sock, 'drain', '--withdraw');
  await waitGone(lab, V4);
  await waitGone(lab, V6);
  await vipctlOk(sock, 'undrain');
  await waitMed(lab, V4, 100);
  await waitMed(lab, V6, 100);
});

test('errors from the daemon: one line, exit 1; unknown VIP', async () => {
  const r = await vipctl(sock, 'set-med', '203.0.113.99/32', '5');
  assert.equal(r.exitCode, 1);
  assert.match(oneLine(r.stderr), /^vipctl: .*203\.0\.113\.99\/32/);
});

test('injection attempts are rejected and change nothing', async () => {
  const evil = '198.51.100.10/32 blackhole; }; protocol x {';
  const snapshot = async () => ({
    include: await readFile(includeFile(), 'utf8'),
    r4: (await routeAt(lab, V4))?.med,
    r6: (await routeAt(lab, V6))?.med,
    stats: await stats(),
  });
  const before = await snapshot();

  // vipctl refuses locally (exit 2) ...
  for (const args of [['set-med', evil, '100'], ['withdraw', evil], ['set-med', V4, '100; }; protocol x {'], ['set-med', V4, '5', '--reason', 'a\n}; protocol x {']]) {
    const r = await vipctl(sock, ...args);
    assert.equal(r.exitCode, 2, args.join(' '));
    oneLine(r.stderr);
  }
  // ... and the daemon refuses too when the CLI is bypassed.
  const api = new ApiClient({ socketPath: sock, actor: 'e2e@test' });
  const refused = async (method: 'PUT' | 'POST', path: string, body: unknown) => {
    await assert.rejects(api.request(method, path, body), (err: unknown) => err instanceof ApiError && err.status >= 400 && err.status < 500, `${method} ${path} ${JSON.stringify(body)}`);
  };
  await refused('PUT', `/v1/vips/${encodeURIComponent(evil)}/med`, { med: 100 });
  await refused('PUT', `/v1/vips/${encodeURIComponent(V4)}/med`, { med: '100; }; protocol x {' });
  await refused('PUT', `/v1/vips/${encodeURIComponent(V4)}/med`, { med: 4294967296 });
  await refused('PUT', `/v1/vips/${encodeURIComponent(V4)}/med`, { med: 5, reason: 'a\n}; protocol x {' });
  await refused('POST', `/v1/vips/${encodeURIComponent(V4)}/withdraw`, { reason: 'x'.repeat(201) });

  // A config whose community carries BIRD syntax is refused by reload, naming the line.
  const original = await readFile(daemon.configPath, 'utf8');
  try {
    for (const edit of [
      (c: LabConfig) => void (c.vips[0]!.communities = ['65000:100)); }; protocol x {']),
      (c: LabConfig) => void (c.vips[0]!.largeCommunities = ['65000:1:2)); protocol x {']),
      (c: LabConfig) => void (c.vips[1]!.prefix = '2001:db8::10/128 blackhole; }; protocol x {'),
      (c: LabConfig) => void (c.bird = { ...c.bird, protocol4: 'vipcontrol4 { }; protocol x' }),
    ]) {
      const bad = await editConfig(daemon.configPath, original, edit);
      const r = await vipctl(sock, 'reload');
      assert.equal(r.exitCode, 1, bad);
      assert.match(oneLine(r.stderr), /^vipctl: .*:\d+:\d+: (vips\[\d\]|bird)\.\w+/);
    }
  } finally {
    await writeFile(daemon.configPath, original);
  }

  // A printable reason is free text: stored and shown, never rendered into BIRD's file.
  const odd = '"; }; protocol x { ipv4; }; #';
  await vipctlOk(sock, 'withdraw', SENTINEL, '--reason', odd);
  await waitGone(lab, SENTINEL);
  assert.match(await vipctlOk(sock, 'status'), /withdrawn: operator \("; }; protocol x \{ ipv4; }; #\)/);
  const include = await readFile(includeFile(), 'utf8');
  assert.doesNotMatch(include, /protocol x|rack|#\)/);
  await vipctlOk(sock, 'announce', SENTINEL);
  await waitMed(lab, SENTINEL, 100);

  const after = await snapshot();
  assert.equal(after.include, before.include);
  assert.equal(after.r4, before.r4);
  assert.equal(after.r6, before.r6);
  assert.equal(after.stats.since, before.stats.since);
  // Only the sentinel's withdraw and re-announce reached the router.
  assert.equal(after.stats.importUpdates, before.stats.importUpdates + 1);
  assert.equal(after.stats.importWithdraws, before.stats.importWithdraws + 1);
  const protos = await node.bird.client.showProtocols();
  assert.ok(!protos.some((p) => p.name === 'x'), 'no protocol x in BIRD');
});

test('a bad config reload is rejected with its line, and the running state stays at the router', async () => {
  await vipctlOk(sock, 'set-med', V4, '333');
  await waitMed(lab, V4, 333);
  const before = await stats();
  const original = await readFile(daemon.configPath, 'utf8');
  try {
    const unknownKey = await editConfig(daemon.configPath, original, (c) => void (c.bogusKey = 1));
    const r = await vipctl(sock, 'reload');
    assert.equal(r.exitCode, 1);
    assert.match(oneLine(r.stderr), new RegExp(`${daemon.configPath}:${lineOf(unknownKey, '"bogusKey"')}:3: bogusKey: unknown key`));

    const badMed = await editConfig(daemon.configPath, original, (c) => void (c.vips[0]!.med = -5));
    const r2 = await vipctl(sock, 'reload');
    assert.equal(r2.exitCode, 1);
    assert.match(oneLine(r2.stderr), new RegExp(`:${lineOf(badMed, '"med": -5')}:\\d+: vips\\[0\\]\\.med: `));

    const s = await statusJson(sock);
    assert.equal(s.vips.find((v) => v.prefix === V4)?.med, 333, 'override still in force');
    assert.equal((await routeAt(lab, V4))?.med, 333);
    assert.equal((await routeAt(lab, V6))?.med, 100);

    // The same reload path does apply a valid change (so the refusals above could have failed).
    await editConfig(daemon.configPath, original, (c) => void (c.vips[1]!.med = 150));
    await vipctlOk(sock, 'reload');
    await waitMed(lab, V6, 150);
  } finally {
    await writeFile(daemon.configPath, original);
  }
  await vipctlOk(sock, 'reload');
  await vipctlOk(sock, 'reset-med', V4);
  await waitMed(lab, V6, 100);
  await waitMed(lab, V4, 100);
  const after = await stats();
  assert.equal(after.since, before.since);
});

test('permission denied on the socket names its group (unprivileged user)', async () => {
  const r = await vipctlAsNobody(sock, 'status');
  assert.equal(r.exitCode, 4, r.stderr);
  assert.match(oneLine(r.stderr), /^vipctl: permission denied on .* \(group [\w-]+, mode 0\d{3}\): run as root or join group /);
});

test("the operator's bird.conf is never touched", async () => {
  assert.equal(await sha256(node.bird.configPath), birdConfHash);
});

// End to end, iBGP: what must never reach the wire — daemon restarts, no-op reloads, BIRD restarts,
// and a daemon killed mid-write. Asserted from the fabric router's RIB and session counters.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor, type DaemonProcess, type Lab, type LabHost } from '@vipcontrol/testlab';
import { ApiClient } from '../src/api-client.js';
import {
  SENTINEL,
  V4,
  V6,
  VIPS,
  birdParses,
  oneLine,
  reconfigurations,
  routeAt,
  sha256,
  startE2eLab,
  statusJson,
  vipctl,
  vipctlOk,
  waitInSync,
  waitMed,
} from './e2e-helpers.js';

let lab: Lab;
let node: LabHost;
let daemon: DaemonProcess;
let birdConfHash: string;

before(async () => {
  ({ lab, node, daemon, birdConfHash } = await startE2eLab());
});

after(async () => {
  await lab?.destroy();
});

const includeFile = (): string => node.includeFile;
const stats = () => lab.sessionStats(node);

test('5 vipcontrol restarts and a reload with unchanged config: no UPDATE, no withdraw, no session reset', async () => {
  // A persisted override makes the restarts adopt runtime state too, not just the config.
  await vipctlOk(daemon.apiSocket, 'set-med', V4, '250', '--ttl', '1h', '--reason', 'deploy test');
  await waitMed(lab, V4, 250);
  const before = await stats();
  const include = await readFile(includeFile(), 'utf8');
  const reconfigured = await reconfigurations(node);
  for (let i = 0; i < 5; i++) {
    await daemon.stop();
    // A stopped daemon leaves BIRD announcing exactly what it announced.
    assert.equal((await routeAt(lab, V4))?.med, 250);
    daemon = await lab.startVipcontrol(node, { vips: VIPS });
    await waitInSync(daemon.apiSocket);
  }
  await vipctlOk(daemon.apiSocket, 'reload');
  // Start-up adopted BIRD's state: not one `configure` was sent.
  assert.equal(await reconfigurations(node), reconfigured);
  const s = await statusJson(daemon.apiSocket);
  assert.equal(s.vips.find((v) => v.prefix === V4)?.override?.med, 250, 'override survived the restarts');
  // Flush: once the router sees this change, anything sent before it has arrived too.
  await vipctlOk(daemon.apiSocket, 'set-med', SENTINEL, '102');
  await waitMed(lab, SENTINEL, 102);
  const after = await stats();
  assert.equal(after.since, before.since, 'session reset');
  assert.equal(after.importUpdates, before.importUpdates + 1, 'only the sentinel change was sent');
  assert.equal(after.importWithdraws, before.importWithdraws);
  assert.equal((await routeAt(lab, V4))?.med, 250);
  assert.equal((await routeAt(lab, V6))?.med, 100);
  assert.equal(
    (await readFile(includeFile(), 'utf8')).replace(/(route 198\.51\.100\.11\/32[^\n]*bgp_med = )\d+/, '$1X'),
    include.replace(/(route 198\.51\.100\.11\/32[^\n]*bgp_med = )\d+/, '$1X'),
    'include file rewritten only for the sentinel',
  );
  await vipctlOk(daemon.apiSocket, 'reset-med', SENTINEL);
  await waitMed(lab, SENTINEL, 100);
});

test('vipctl with no daemon: one line naming the socket, exit 3', async () => {
  await daemon.stop();
  try {
    const r = await vipctl(daemon.apiSocket, 'status');
    assert.equal(r.exitCode, 3);
    assert.match(oneLine(r.stderr), /^vipctl: vipcontrol is not running \((no socket at|nothing listening on) .*\)$/);
    const r2 = await vipctl(join(node.dir, 'no-such.sock'), 'set-med', V4, '5');
    assert.equal(r2.exitCode, 3);
    assert.equal(oneLine(r2.stderr), `vipctl: vipcontrol is not running (no socket at ${join(node.dir, 'no-such.sock')})`);
  } finally {
    daemon = await lab.startVipcontrol(node, { vips: VIPS });
  }
  await waitInSync(daemon.apiSocket);
});

test('BIRD restarted under vipcontrol: routes recovered at the router, daemon reconnects', async () => {
  await node.bird.restart();
  // BIRD reloads the include file from disk, so the routes come back with the override's MED ...
  await waitMed(lab, V4, 250, 30_000);
  await waitMed(lab, V6, 100, 30_000);
  await waitFor(async () => (await stats()).state === 'Established', { timeoutMs: 30_000, message: 'session re-established' });
  // Status follows the fabric within seconds of the session coming back (a quick re-verify while out of
  // sync), not at the next 30 s periodic verify.
  await waitInSync(daemon.apiSocket, 12_000);
  // ... and the daemon must have reconnected to the new BIRD to apply this.
  await vipctlOk(daemon.apiSocket, 'set-med', V4, '260');
  await waitMed(lab, V4, 260);
  const s = await statusJson(daemon.apiSocket);
  assert.equal(s.bird.connected, true);
});

test('BIRD crashed, a change made while it is down, BIRD back: the change reaches the router', async (t) => {
  await node.bird.kill();
  await waitFor(async () => !(await statusJson(daemon.apiSocket)).bird.connected, { timeoutMs: 15_000, message: 'vipcontrol to notice BIRD is gone' });
  // `vipctl status` is usable as a check: exit 6 and one line saying why, unless --exit-zero.
  const degraded = await vipctl(daemon.apiSocket, 'status');
  assert.equal(degraded.exitCode, 6);
  assert.match(oneLine(degraded.stderr), /^vipctl: status degraded: BIRD disconnected/);
  assert.match(degraded.stdout, /NOT CONNECTED/);
  assert.equal((await vipctl(daemon.apiSocket, 'status', '--exit-zero')).exitCode, 0);
  const asJson = await vipctl(daemon.apiSocket, '--json', 'status');
  assert.equal(asJson.exitCode, 6);
  assert.equal((JSON.parse(oneLine(asJson.stderr)) as { exitCode: number }).exitCode, 6);
  // The daemon may answer this only once applied (after BIRD is back) or fail it as "retried later":
  // either way the override must be kept and applied once BIRD returns.
  const pending = vipctl(daemon.apiSocket, 'set-med', V4, '270');
  await waitFor(async () => (await statusJson(daemon.apiSocket)).vips.find((v) => v.prefix === V4)?.override?.med === 270, {
    timeoutMs: 15_000,
    message: 'the override to be recorded while BIRD is down',
  });
  await node.bird.restart();
  const r = await pending;
  t.diagnostic(`set-med while BIRD was down: exit ${r.exitCode} ${r.stderr.trim()}`);
  // Answered once applied (0), or "saved, retrying" (5) — never "rejected" (1): the change is kept.
  assert.ok(r.exitCode === 0 || (r.exitCode === 5 && /saved/.test(oneLine(r.stderr))), `set-med while BIRD is down: exit ${r.exitCode} ${r.stderr}`);
  await waitMed(lab, V4, 270, 30_000);
  await waitInSync(daemon.apiSocket, 30_000);
});

test('kill -9 during a burst of set-med never leaves a half-written include file', async () => {
  const api = () => new ApiClient({ socketPath: daemon.apiSocket, actor: 'e2e@burst' });
  const normalise = (text: string) => text.replace(/(route 198\.51\.100\.10\/32[^\n]*bgp_med = )\d+/, '$1X');
  const medIn = (text: string) => Number(/route 198\.51\.100\.10\/32[^\n]*bgp_med = (\d+)/.exec(text)?.[1]);
  const before = await readFile(includeFile(), 'utf8');
  const reference = normalise(before);
  // A kill before the first apply of a round leaves the MED the file had: count it as requested.
  const sent = new Set<number>([medIn(before)]);
  // Kill 2, 10 and 30 ms into a closed-loop burst (20 callers, each sending its next request as soon
  // as the last is answered, up to 1,000 in all: far longer than 30 ms). The daemon coalesces what
  // arrives together into one apply and answers it all at once, so a kill timed by an answer would
  // always fall between two applies; a timer lands anywhere in one (write, configure, read-back, confirm).
  for (const [round, killAtMs] of [2, 10, 30].entries()) {
    const client = api();
    const pid = daemon.pid;
    let answered = 0;
    let next = 0;
    const caller = async (): Promise<void> => {
      while (next < 1000) {
        const med = 5000 + round * 1000 + next++;
        sent.add(med);
        try {
          await client.request('PUT', `/v1/vips/${encodeURIComponent(V4)}/med`, { med });
          answered += 1;
        } catch {
          return; // expected: the requests in flight at the kill fail
        }
      }
    };
    const callers = Array.from({ length: 20 }, caller);
    const timer = setTimeout(() => process.kill(pid, 'SIGKILL'), killAtMs);
    await Promise.all(callers);
    clearTimeout(timer);
    assert.equal(await daemon.exited, null, 'vipcontrol died of the SIGKILL');
    assert.ok(answered < 1000, `round ${round}: the whole burst was answered before the kill`);
    const text = await readFile(includeFile(), 'utf8');
    assert.equal(normalise(text), reference, `round ${round}: include file is not a complete rendering:\n${text}`);
    const med = medIn(text);
    assert.ok(sent.has(med), `round ${round}: MED ${med} in the file was never requested`);
    const parsed = await birdParses(node.bird.configPath);
    assert.ok(parsed.ok, `bird -p rejects the node config after kill -9: ${parsed.output}`);

    daemon = await lab.startVipcontrol(node, { vips: VIPS });
    await waitInSync(daemon.apiSocket);
    const s = await statusJson(daemon.apiSocket);
    const effective = s.vips.find((v) => v.prefix === V4)?.med ?? -1;
    assert.ok(sent.has(effective), `round ${round}: restarted daemon wants MED ${effective}`);
    await waitMed(lab, V4, effective);
  }
  const leftovers = (await readdir(node.dir)).filter((f) => f.startsWith('vipcontrol.conf') && f !== 'vipcontrol.conf');
  assert.deepEqual(leftovers, [], 'temp files left beside the include file after restart');
  await vipctlOk(daemon.apiSocket, 'reset-med', V4);
  await waitMed(lab, V4, 100);
});

test("the operator's bird.conf is never touched", async () => {
  assert.equal(await sha256(node.bird.configPath), birdConfHash);
});

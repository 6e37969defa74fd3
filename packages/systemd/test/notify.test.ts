// SystemdNotifier against the real systemd-notify binary, with a stand-in service manager
// (testlab's startNotifyListener: records each message, answers systemd-notify's barrier like systemd).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNotifyListener, type NotifyListener } from '@vipcontrol/testlab';
import { JournalPriorityStream, journalPriorityPrefix, SystemdNotifier } from '../src/index.js';

let dir: string;
let manager: NotifyListener;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-notify-'));
  manager = await startNotifyListener(dir);
});

after(async () => {
  await manager?.close();
  await rm(dir, { recursive: true, force: true });
});

const messages = () => manager.messages();

test('READY=1 with its status arrives as one message, before the next one, in order', async () => {
  const errors: Error[] = [];
  const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: join(dir, 'notify.sock') }, onError: (e) => errors.push(e) });
  assert.equal(notifier.enabled, true);
  manager.clear();
  void notifier.ready('3 VIPs announced\nBIRD connected');
  await notifier.status('reloaded');
  assert.deepEqual(errors, []);
  assert.deepEqual(messages(), ['READY=1\nSTATUS=3 VIPs announced; BIRD connected', 'STATUS=reloaded']);
});

test('status lines are coalesced: the latest text wins, at most one a second', async () => {
  const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: join(dir, 'notify.sock') } });
  manager.clear();
  await notifier.status('one');
  const pending = [notifier.status('two'), notifier.status('three'), notifier.status('four')];
  await Promise.all(pending);
  assert.deepEqual(messages(), ['STATUS=one', 'STATUS=four']);
});

test('the watchdog pings at half of WATCHDOG_USEC, only when WATCHDOG_PID is this process', async () => {
  const env = { NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid) };
  assert.equal(new SystemdNotifier({ env: { ...env, WATCHDOG_PID: '1' } }).watchdogMs, undefined);
  const notifier = new SystemdNotifier({ env });
  assert.equal(notifier.watchdogMs, 400);
  manager.clear();
  notifier.startWatchdog();
  await new Promise((r) => setTimeout(r, 700));
  notifier.stopWatchdog();
  await notifier.send([]); // waits for the pings in flight
  const pings = messages().filter((m) => m === 'WATCHDOG=1').length;
  assert.ok(pings >= 2 && pings <= 4, `expected 2-4 pings in 0.7 s at 0.2 s intervals, got ${pings}`);
});

test('without NOTIFY_SOCKET nothing is sent and nothing fails', async () => {
  const notifier = new SystemdNotifier({ env: {}, command: join(dir, 'no-such-binary'), onError: () => assert.fail('no send expected') });
  assert.equal(notifier.enabled, false);
  notifier.startWatchdog();
  await notifier.ready('x');
});

test('a failed send is reported to onError, not thrown', async () => {
  const errors: Error[] = [];
  const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: join(dir, 'absent.sock') }, onError: (e) => errors.push(e) });
  await notifier.ready('x');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /systemd-notify READY=1/);
});

test('journal priority prefixes follow pino level labels', async () => {
  assert.equal(journalPriorityPrefix('{"level":"error","msg":"x"}\n'), '<3>');
  assert.equal(journalPriorityPrefix('{"level":"fatal"}\n'), '<2>');
  assert.equal(journalPriorityPrefix('{"level":"warn"}\n'), '<4>');
  assert.equal(journalPriorityPrefix('{"level":"info"}\n'), '<6>');
  assert.equal(journalPriorityPrefix('{"level":"debug"}\n'), '<7>');
  assert.equal(journalPriorityPrefix('not json\n'), '');
  const out: string[] = [];
  new JournalPriorityStream({ write: (s: string) => out.push(s) }).write('{"level":"error"}\n');
  assert.deepEqual(out, ['<3>{"level":"error"}\n']);
  // JOURNAL_STREAM names another device:inode than this fd: not the journal.
  const st = await stat('/dev/null');
  assert.equal(JournalPriorityStream.wanted({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }), false);
  assert.equal(JournalPriorityStream.wanted({}), false);
});

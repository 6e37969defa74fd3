// The state file: atomic persistence, coalesced writes, corrupt and unreadable files.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { makeTempDir } from '@vipcontrol/testlab';
import { StateStore, type RuntimeDraft } from '../src/state-store.js';

const logger = pino({ level: 'silent' });

describe('StateStore', async () => {
  const tmp = await makeTempDir('vc-state-');
  after(() => tmp.cleanup());

  it('missing file → empty state; an update is on disk before it resolves', async () => {
    const file = join(tmp.path, 'a.json');
    const store = new StateStore({ file, logger });
    assert.deepEqual(await store.load(), { version: 1, overrides: {}, withdrawn: {} });
    await store.update((s) => ({ ...s, overrides: { '198.51.100.10/32': { med: 7, setAt: 1 } } }));
    const onDisk = JSON.parse(await readFile(file, 'utf8')) as { overrides: Record<string, { med: number }> };
    assert.equal(onDisk.overrides['198.51.100.10/32']!.med, 7);
    // A new store reads back exactly what was written.
    const again = new StateStore({ file, logger });
    assert.deepEqual(await again.load(), store.state);
    // No temp files left behind.
    assert.deepEqual((await readdir(tmp.path)).filter((n) => n.includes('.tmp-')), []);
  });

  it("temp files a crash left beside the state file are removed at load; a live writer's are kept", async () => {
    const dir = join(tmp.path, 'stale');
    await mkdir(dir);
    const file = join(dir, 'state.json');
    await writeFile(file, `${JSON.stringify({ version: 1, overrides: { '198.51.100.10/32': { med: 7, setAt: 1 } }, withdrawn: {} })}\n`);
    // Above Linux's highest pid (2^22): a writer that cannot be alive. Our parent is alive.
    const dead = '.state.json.tmp-4194305-deadbeef';
    const live = `.state.json.tmp-${process.ppid}-cafe0123`;
    await writeFile(join(dir, dead), '{"version": 1, "overr');
    await writeFile(join(dir, live), 'being written');
    const logs: Record<string, unknown>[] = [];
    const store = new StateStore({ file, logger: pino({ level: 'info' }, { write: (l: string) => logs.push(JSON.parse(l) as Record<string, unknown>) }) });
    assert.equal((await store.load()).overrides['198.51.100.10/32']?.med, 7);
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('.tmp-')), [live]);
    assert.deepEqual(logs.find((l) => l['event'] === 'staleTempFilesRemoved')?.['files'], [dead]);
  });

  it('a change the loader would refuse is never written: the file stays loadable (issue 12)', async () => {
    const file = join(tmp.path, 'refuse.json');
    const store = new StateStore({ file, logger });
    await store.load();
    await store.update((d) => { d.withdrawn['198.51.100.11/32'] = { at: 1, reason: 'local operator' }; });
    const before = await readFile(file, 'utf8');
    for (const bad of [
      (d: RuntimeDraft) => { d.overrides['198.51.100.10/32'] = { med: 7, setAt: 1, setBy: 'x\u2028y' }; },
      (d: RuntimeDraft) => { d.overrides['198.51.100.10/32'] = { med: 7, setAt: 1, expiresAt: 9e15 }; },
      (d: RuntimeDraft) => { d.drain = { withdraw: true, at: 1, source: 'operator', by: 'x\u2029' }; },
    ]) {
      await assert.rejects(store.update(bad), /invalid state: .*(setBy|expiresAt|drain\.by)/);
    }
    assert.equal(await readFile(file, 'utf8'), before);
    const again = new StateStore({ file, logger });
    assert.deepEqual((await again.load()).withdrawn, { '198.51.100.11/32': { at: 1, reason: 'local operator' } });
    assert.equal(again.status().corrupt, undefined);
  });

  it('a burst of updates is applied in order and every caller resolves with the state that includes it', async () => {
    const file = join(tmp.path, 'burst.json');
    const store = new StateStore({ file, logger });
    await store.load();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.update((s) => ({ ...s, overrides: { ...s.overrides, [`198.51.100.${i % 50}/32`]: { med: i, setAt: i } } })),
      ),
    );
    assert.equal(Object.keys(store.state.overrides).length, 50);
    assert.equal(store.state.overrides['198.51.100.49/32']!.med, 199, 'last writer wins, in request order');
    results.forEach((r, i) => assert.ok(r.overrides[`198.51.100.${i % 50}/32`]!.med >= i));
  });

  it('a corrupt file is moved aside, reported, and the daemon starts from the empty state', async () => {
    const file = join(tmp.path, 'corrupt.json');
    await writeFile(file, '{"version": 1, "overrides": {"198.51.100.10/32": {"med": "lots"}}');
    const store = new StateStore({ file, logger });
    assert.deepEqual(await store.load(1_700_000_000_000), { version: 1, overrides: {}, withdrawn: {} });
    const corrupt = store.status().corrupt;
    assert.ok(corrupt, 'status reports the corrupt file');
    assert.match(corrupt.movedTo, /corrupt\.json\.corrupt-2023-11-14T22-13-20-000Z$/);
    assert.match(await readFile(corrupt.movedTo, 'utf8'), /lots/, 'the original bytes are kept for the operator');
    await assert.rejects(readFile(file), { code: 'ENOENT' });
  });

  it('stage: `current` shows the change while it is written, `pending()` tells how far; a refused write falls back to the persisted state', async () => {
    const dir = join(tmp.path, 'staged');
    await mkdir(dir);
    const file = join(dir, 'state.json');
    const store = new StateStore({ file, logger });
    await store.load();
    const write = store.stage((d) => {
      d.overrides['198.51.100.7/32'] = { med: 70, setAt: 1 };
    });
    assert.equal(await write.inCurrent, true);
    assert.equal(store.current.overrides['198.51.100.7/32']?.med, 70, 'current includes the change being written');
    assert.equal(store.state.overrides['198.51.100.7/32'], undefined, 'state is only what is on disk');
    const pending = store.pending();
    await pending.staged;
    assert.equal(store.state.overrides['198.51.100.7/32'], undefined, 'staged is before durable');
    await pending.durable;
    await write.durable;
    const written = store.pending();
    await Promise.all([written.staged, written.durable]);
    assert.equal(store.state, store.current);
    assert.equal((JSON.parse(await readFile(file, 'utf8')) as { overrides: Record<string, { med: number }> }).overrides['198.51.100.7/32']!.med, 70);

    await rm(dir, { recursive: true });
    const refused = store.stage((d) => {
      d.overrides['198.51.100.8/32'] = { med: 80, setAt: 2 };
    });
    // The file system refuses the write (here: no directory; a full disk alike): never staged, so an
    // apply that rendered it never configures BIRD (announcer), and `current` falls back.
    assert.equal(await refused.inCurrent, true);
    const inFlight = store.pending();
    await assert.rejects(inFlight.staged, /cannot write/);
    await assert.rejects(inFlight.durable, /cannot write/);
    await assert.rejects(refused.durable, /cannot write/);
    assert.equal(store.current.overrides['198.51.100.8/32'], undefined, 'current stays the persisted state');
    assert.equal(store.current, store.state);
  });

  it('a failed write rejects the update and leaves the state as last persisted', async () => {
    const dir = join(tmp.path, 'gone');
    await mkdir(dir);
    const store = new StateStore({ file: join(dir, 'state.json'), logger });
    await store.load();
    await store.update((s) => ({ ...s, withdrawn: { '198.51.100.1/32': { at: 1 } } }));
    // The directory disappearing makes the temp-file open fail even for root.
    await rm(dir, { recursive: true });
    await assert.rejects(store.update((s) => ({ ...s, withdrawn: {} })), /cannot write/);
    assert.deepEqual(Object.keys(store.state.withdrawn), ['198.51.100.1/32']);
    assert.match(store.status().error ?? '', /cannot write/);
  });
});

import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import {
  birdBinaries, deepMerge, EMPTY_VIPCONTROL_INCLUDE, freePort, longTier, makeTempDir, renderExabgpConfig, renderNodeConfig,
  renderRouterConfig, repoPath, selectedBirdVersion, TESTED_BIRD_VERSIONS, uniqueId, waitFor, WaitTimeoutError,
} from '../src/index.js';

/** vipcontrol's include files as core renders them (core's render test keeps them as golden files). */
const GOLDEN_DIR = repoPath('packages/core/test/golden');
import { planTopology } from '../src/lab-topology.js';

describe('uniqueId', () => {
  it('is 6 characters, starts with a letter, and does not repeat', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => uniqueId()));
    assert.equal(ids.size, 2000);
    for (const id of ids) assert.match(id, /^[a-z][a-z0-9]{5}$/);
  });
});

describe('waitFor', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    assert.deepEqual(value, { calls: 3 });
  });

  it('times out naming what it waited for and keeping the last error as cause', async () => {
    const boom = new Error('socket not there');
    await assert.rejects(
      waitFor(() => { throw boom; }, { timeoutMs: 50, intervalMs: 5, message: 'the socket' }),
      (err: unknown) => {
        assert.ok(err instanceof WaitTimeoutError);
        assert.match(err.message, /waiting for the socket: last error: socket not there/);
        assert.equal(err.cause, boom);
        return true;
      },
    );
  });
});

describe('freePort / makeTempDir', () => {
  it('freePort returns a port that can be bound on loopback', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('makeTempDir creates a private dir and cleanup removes it (twice is fine)', async () => {
    const dir = await makeTempDir('vc-test-');
    assert.ok((await stat(dir.path)).isDirectory());
    await dir.cleanup();
    await dir.cleanup();
    await assert.rejects(stat(dir.path), { code: 'ENOENT' });
  });
});

describe('deepMerge', () => {
  it('merges nested objects and replaces arrays and scalars', () => {
    const merged = deepMerge({ bird: { socket: 'a', includeFile: 'b' }, vips: [1] }, { bird: { socket: 'c' }, vips: [2, 3] });
    assert.deepEqual(merged, { bird: { socket: 'c', includeFile: 'b' }, vips: [2, 3] });
  });
});

describe('topology', () => {
  it('keeps every interface name within 15 bytes and derives all names from the id', () => {
    const id = uniqueId();
    const hosts = planTopology(id, 'ebgp', 80, 50);
    for (const h of hosts) {
      for (const name of [h.iface, h.routerIface].filter((n) => n !== undefined)) {
        assert.ok(name.length <= 15, name);
        assert.ok(name.startsWith(`vc${id}`), name);
      }
      assert.ok(h.netns.startsWith(`vc${id}`));
    }
    assert.equal(new Set(hosts.map((h) => h.addr4)).size, hosts.length);
    assert.deepEqual(hosts.slice(0, 3).map((h) => h.asn), [65000, 65001, 65002]);
  });

  it('rejects ids and sizes that would break names', () => {
    assert.throws(() => planTopology('Bad-id', 'ibgp', 1, 0), RangeError);
    assert.throws(() => planTopology('abcdef', 'ibgp', 0, 0), RangeError);
  });
});

describe('rendered configs are accepted by the real bird -p of every tested BIRD', () => {
  const dirs: { cleanup(): Promise<void> }[] = [];
  after(() => Promise.all(dirs.map((d) => d.cleanup())));

  /** `bird -p` of `version` on `text` (saved as `name` in `dir`): exit status 0, or BIRD's message. */
  async function assertParses(version: string, dir: string, name: string, text: string): Promise<void> {
    await writeFile(`${dir}/${name}`, text);
    const parsed = await execa((await birdBinaries(version)).bird, ['-p', '-c', `${dir}/${name}`], { reject: false });
    assert.equal(parsed.exitCode, 0, `BIRD ${version}, ${name}:\n${text}\n${parsed.stderr}`);
  }

  for (const version of TESTED_BIRD_VERSIONS) {
    // The selected BIRD always; the others may need building on a fresh machine, so they are long tier.
    const tier = version === selectedBirdVersion() ? {} : longTier(`bird ${version}`);
    describe(`BIRD ${version}`, tier, () => {
      for (const mode of ['ibgp', 'ebgp'] as const) {
        for (const bfd of [true, false]) {
          it(`lab router and node, ${mode}, bfd ${bfd ? 'on' : 'off'}`, async () => {
            const dir = await makeTempDir('vc-conf-');
            dirs.push(dir);
            const include = `${dir.path}/vipcontrol.conf`;
            await writeFile(include, EMPTY_VIPCONTROL_INCLUDE);
            const router = renderRouterConfig({
              mode, bfd, asn: 65000, addr4: '10.0.0.1', addr6: 'fd00:10::1', logFile: `${dir.path}/r.log`,
              peers: [{ name: 'n1', addr4: '10.0.0.11', addr6: 'fd00:10::11', asn: mode === 'ebgp' ? 65001 : 65000, bfd: true },
                { name: 'x1', addr4: '10.0.0.101', addr6: 'fd00:10::101', asn: 65000, bfd: false }],
            });
            const node = renderNodeConfig({
              mode, bfd, asn: mode === 'ebgp' ? 65001 : 65000, addr4: '10.0.0.11', addr6: 'fd00:10::11',
              router: { asn: 65000, addr4: '10.0.0.1', addr6: 'fd00:10::1' }, includeFile: include, logFile: `${dir.path}/n.log`,
            });
            await assertParses(version, dir.path, 'router.conf', router);
            await assertParses(version, dir.path, 'node.conf', node);
            assert.equal(router.includes('bfd on;'), bfd);
            assert.match(router, /timeformat protocol "%s\.%3f";/);
            assert.match(node, new RegExp(`include "${include}";`));
          });
        }
      }

      it("vipcontrol's rendered include files (core's golden files), under a node config", async () => {
        const dir = await makeTempDir('vc-conf-');
        dirs.push(dir);
        const goldens = (await readdir(GOLDEN_DIR)).filter((f) => f.endsWith('.conf'));
        assert.ok(goldens.length >= 3, goldens.join());
        for (const golden of goldens) {
          await assertParses(version, dir.path, `main-${golden}`, `router id 192.0.2.1;\nprotocol device {}\ninclude "${GOLDEN_DIR}/${golden}";\n`);
        }
      });
    });
  }

  it('ExaBGP config quotes process arguments and validates names', () => {
    const text = renderExabgpConfig({ addr4: '10.0.0.101', addr6: 'fd00:10::101', asn: 65000 },
      { asn: 65000, addr4: '10.0.0.1', addr6: 'fd00:10::1' },
      [{ name: 'hc', run: ['exabgp', '--run', 'healthcheck', '--cmd', "test -f '/x y'"] }]);
    assert.match(text, /run exabgp --run healthcheck --cmd 'test -f '\\''\/x y'\\''';/);
    assert.match(text, /neighbor fd00:10::1 \{/);
    assert.throws(() => renderExabgpConfig({ addr4: 'a', addr6: 'b', asn: 1 }, { asn: 1, addr4: 'c', addr6: 'd' },
      [{ name: 'bad name;', run: ['x'] }]), RangeError);
  });
});

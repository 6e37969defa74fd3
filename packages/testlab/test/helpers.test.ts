import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import {
  deepMerge, freePort, makeTempDir, renderExabgpConfig, renderNodeConfig, renderRouterConfig, uniqueId, waitFor,
  WaitTimeoutError,
} from '../src/index.js';
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

describe('rendered configs are accepted by the real bird -p', () => {
  const dirs: { cleanup(): Promise<void> }[] = [];
  after(() => Promise.all(dirs.map((d) => d.cleanup())));

  for (const mode of ['ibgp', 'ebgp'] as const) {
    for (const bfd of [true, false]) {
      it(`${mode}, bfd ${bfd ? 'on' : 'off'}`, async () => {
        const dir = await makeTempDir('vc-conf-');
        dirs.push(dir);
        const include = `${dir.path}/vipcontrol.conf`;
        await execa('sh', ['-c', `printf '%s\\n' 'protocol static vipcontrol4 { ipv4; }' 'protocol static vipcontrol6 { ipv6; }' > ${include}`]);
        const router = renderRouterConfig({
          mode, bfd, asn: 65000, addr4: '10.0.0.1', addr6: 'fd00:10::1', logFile: `${dir.path}/r.log`,
          peers: [{ name: 'n1', addr4: '10.0.0.11', addr6: 'fd00:10::11', asn: mode === 'ebgp' ? 65001 : 65000, bfd: true },
            { name: 'x1', addr4: '10.0.0.101', addr6: 'fd00:10::101', asn: 65000, bfd: false }],
        });
        const node = renderNodeConfig({
          mode, bfd, asn: mode === 'ebgp' ? 65001 : 65000, addr4: '10.0.0.11', addr6: 'fd00:10::11',
          router: { asn: 65000, addr4: '10.0.0.1', addr6: 'fd00:10::1' }, includeFile: include, logFile: `${dir.path}/n.log`,
        });
        for (const [name, text] of [['router.conf', router], ['node.conf', node]] as const) {
          await execa('sh', ['-c', `cat > ${dir.path}/${name}`], { input: text });
          const parsed = await execa('bird', ['-p', '-c', `${dir.path}/${name}`], { reject: false });
          assert.equal(parsed.exitCode, 0, `${name}:\n${text}\n${parsed.stderr}`);
        }
        assert.equal(router.includes('bfd on;'), bfd);
        assert.match(router, /timeformat protocol "%s\.%3f";/);
        assert.match(node, new RegExp(`include "${include}";`));
      });
    }
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

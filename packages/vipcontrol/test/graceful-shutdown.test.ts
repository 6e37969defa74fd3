// Issue 10: drain tags RFC 8326 GRACEFUL_SHUTDOWN (65535:0) where configured, and a router that
// honours it (the lab router's import filter: local-pref 0, as docs/bird.md shows) moves traffic to the
// other node even with no MED change at all (drainPenalty 0) — which is what an eBGP fabric that does
// not compare MEDs across neighbour ASes needs. Real BIRD in namespaces, iBGP and eBGP.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bestPath, Lab, waitFor, type DaemonProcess, type LabMode } from '@vipcontrol/testlab';

const V4 = '198.51.100.40/32';
const V6 = '2001:db8::40/128';
const VIPCTL = fileURLToPath(new URL('../../../vipctl/bin/vipctl.js', import.meta.url));
const labs: Lab[] = [];
after(async () => {
  await Promise.allSettled(labs.map((l) => l.destroy()));
});

for (const mode of ['ibgp', 'ebgp'] as LabMode[]) {
  test(`${mode}: drain with gracefulShutdown tags 65535:0; the router lowers local-pref and prefers the other node`, async () => {
    const lab = await Lab.create({ nodes: 2, mode, bfd: false });
    labs.push(lab);
    const [n1, n2] = lab.nodes as [typeof lab.nodes[0], typeof lab.nodes[0]];
    const daemons: DaemonProcess[] = [];
    for (const node of lab.nodes) {
      daemons.push(await lab.startVipcontrol(node, {
        // n1: node-wide, except V6 opts out; n2: off.
        vips: [{ prefix: V4, med: 100 }, { prefix: V6, med: 100, ...(node === n1 ? { gracefulShutdown: false } : {}) }],
        drainPenalty: 0,
        gracefulShutdown: node === n1,
      }));
    }
    const from = async (prefix: string, addr: string) => (await lab.routerRoutes(prefix)).find((r) => r.from === addr || r.nextHop === addr);
    await lab.waitForRouterRoutes(V4, (r) => r.length === 2, { message: 'both paths' });
    const drain = await execa('node', [VIPCTL, '--socket', daemons[0]!.apiSocket, 'drain', '--reason', 'gshut'], { reject: false });
    assert.equal(drain.exitCode, 0, String(drain.stderr));
    const tagged = await waitFor(async () => {
      const p = await from(V4, n1.addr4);
      return p?.communities.some((c) => /65535[,:] ?0\b/.test(c)) ? p : undefined;
    }, { message: 'n1 path tagged 65535:0' });
    assert.equal(tagged.localPref, 0);
    assert.equal(tagged.med, 100, 'no MED change: the community alone moves traffic');
    const best = bestPath(await lab.routerRoutes(V4));
    assert.ok(best?.from === n2.addr4 || best?.nextHop === n2.addr4, `best path via n2, got ${JSON.stringify(best)}`);
    // The VIP that opted out is untouched; status shows the community (status = what BIRD exports).
    const v6 = await waitFor(async () => (await lab.routerRoutes(V6)).find((r) => r.communities.length === 0 && r.localPref !== 0 && r.from !== n2.addr6 && r.nextHop !== n2.addr6) ?? undefined, { message: 'V6 untagged' });
    assert.ok(v6);
    const st = await execa('node', [VIPCTL, '--socket', daemons[0]!.apiSocket, '--json', 'status']);
    const vip = (JSON.parse(st.stdout) as { vips: { prefix: string; communities: string[]; inSync: boolean }[] }).vips.find((v) => v.prefix === V4)!;
    assert.deepEqual([vip.communities, vip.inSync], [['65535:0'], true]);
    // Undrain: the tag goes, local-pref is back.
    await execa('node', [VIPCTL, '--socket', daemons[0]!.apiSocket, 'undrain']);
    await waitFor(async () => ((await from(V4, n1.addr4))?.communities.length === 0) || undefined, { message: 'tag removed' });
  });
}

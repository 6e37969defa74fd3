// Issue 10: while BIRD is down vipcontrol logs the outage once and its recovery once — not an error
// per reconnect attempt or per apply retry. Real BIRD in a lab namespace, SIGKILLed and restarted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Lab, type DaemonProcess } from '@vipcontrol/testlab';

const V4 = '198.51.100.60/32';
const VIPCTL = fileURLToPath(new URL('../../../vipctl/bin/vipctl.js', import.meta.url));
let lab: Lab;
let daemon: DaemonProcess;

before(async () => {
  lab = await Lab.create({ nodes: 1, bfd: false });
  daemon = await lab.startVipcontrol(lab.nodes[0]!, { vips: [{ prefix: V4, med: 100 }] });
  await lab.waitForRouterRoutes(V4, (r) => r.length === 1, { message: 'announced' });
});
after(async () => {
  await lab?.destroy();
});

test('BIRD down for a while: one outage line, one recovery line, the change made meanwhile applied after', async () => {
  const node = lab.nodes[0]!;
  const from = daemon.logEntries().length;
  await node.bird.kill();
  // A change during the outage: saved, applied when BIRD is back (the apply is retried meanwhile).
  const setMed = execa('node', [VIPCTL, '--socket', daemon.apiSocket, 'set-med', V4, '300'], { reject: false });
  await new Promise((r) => setTimeout(r, 4000));
  await node.bird.restart();
  await lab.waitEstablished();
  await lab.waitForRouterRoutes(V4, (r) => r[0]?.med === 300, { timeoutMs: 20_000, message: 'change applied after BIRD is back' });
  await setMed;
  const lines = daemon.logEntries().slice(from);
  // The operator's own request that failed meanwhile (component api) is answered and logged as such.
  const loud = lines.filter((l) => (l.level === 'warn' || l.level === 'error') && l.component !== 'api').map((l) => String(l.event));
  assert.equal(lines.filter((l) => l.event === 'birdDisconnected').length, 1, JSON.stringify(loud));
  assert.equal(lines.filter((l) => l.event === 'birdRecovered').length, 1);
  assert.equal(loud.length, 1, `one warn/error line for the whole outage, got ${JSON.stringify(loud)}`);
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { computeEffective } from '../src/effective.js';
import { canonicalPrefix } from '../src/prefix.js';
import { renderBirdInclude, RenderError } from '../src/render.js';
import { MAX_U32 } from '../src/vocabulary.js';
import type { EffectiveVip } from '../src/types.js';
import { check, configWith, runtime, vip } from './core-fixtures.js';

// Tests run from dist/test; goldens live in the source tree so they are reviewed in diffs.
const GOLDEN_DIR = fileURLToPath(new URL('../../test/golden/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'vipcontrol-core-render-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const PROTOCOLS = { protocol4: 'vipcontrol4', protocol6: 'vipcontrol6' };

/** Runs `bird -p` on a main config that includes `include`; returns exit status and stderr. */
function birdParse(include: string): { status: number | null; stderr: string } {
  const name = `inc-${Math.random().toString(36).slice(2)}`;
  const inc = join(tmp, `${name}.conf`);
  const main = join(tmp, `${name}-main.conf`);
  writeFileSync(inc, include);
  writeFileSync(main, `router id 192.0.2.1;\nprotocol device {}\ninclude "${inc}";\n`);
  const r = spawnSync('bird', ['-p', '-c', main], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error;
  return { status: r.status, stderr: r.stderr };
}

const CASES: Record<string, () => string> = {
  empty: () => renderBirdInclude([], PROTOCOLS),
  minimal: () => {
    const config = configWith('  - { prefix: 198.51.100.10/32, med: 100, communities: ["65000:100"] }\n  - { prefix: "2001:db8::10/128", med: 100 }');
    return renderBirdInclude(computeEffective({ config, runtime: runtime(), health: { checks: [], leaseExpired: false }, now: 0 }), PROTOCOLS);
  },
  mixed: () => {
    const config = configWith(
      `  - { prefix: "2001:db8::10/128", med: 100, largeCommunities: ["4294967295:0:1", "65000:1:2"] }
  - { prefix: "2001:DB8::9", med: 5, localPref: 4294967295 }
  - { prefix: 198.51.100.10/32, med: 100, communities: ["65000:100", "0:0", "65535:65535"], localPref: 200 }
  - { prefix: 198.51.100.2/32, med: 0 }
  - { prefix: 192.0.2.0/24, med: 4294967295 }
  - { prefix: 203.0.113.7/32, med: 1 }
  - { prefix: "::/0", med: 3 }`,
      // Shorter prefixes need an unmanaged loopback (see vipcontrol-config).
      'bird: { protocol4: v4_test, protocol6: _V6 }\nloopback: { manage: false }',
    );
    const health = { checks: [check('ingest', 'down', ['198.51.100.2/32'], 1000), check('dead', 'down', ['203.0.113.7/32'], 'withdraw')], leaseExpired: false };
    const rt = runtime({ overrides: { '2001:db8::10/128': { med: 4294967295, setAt: 0 } }, withdrawn: { '::/0': { at: 0, reason: 'x"; }; protocol evil {' } } });
    return renderBirdInclude(computeEffective({ config, runtime: rt, health, now: 0 }), {
      protocol4: config.bird.protocol4,
      protocol6: config.bird.protocol6,
      header: 'Managed by vipcontrol - test header\n\nsecond line',
    });
  },
};

for (const [name, render] of Object.entries(CASES)) {
  test(`golden ${name}.conf: matches and parses with bird -p`, () => {
    const file = join(GOLDEN_DIR, `${name}.conf`);
    const text = render();
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
    assert.equal(text, readFileSync(file, 'utf8'), `render differs from ${file}; rerun with UPDATE_GOLDEN=1 if intended`);
    const r = birdParse(text);
    assert.equal(r.status, 0, r.stderr);
  });
}

test('bird -p really rejects a broken include (the golden check can fail)', () => {
  const r = birdParse(CASES.minimal?.().replace('bgp_med = 100;', 'bgp_med = 100; }; protocol x') ?? '');
  assert.notEqual(r.status, 0);
});

test('render refuses anything off-grammar (defence in depth)', () => {
  const bad: [string, EffectiveVip][] = [
    ['injected prefix', vip('1.2.3.4/32 blackhole; }; protocol x', 1)],
    ['non-canonical prefix', vip('2001:DB8::1/128', 1)],
    ['host bits', vip('192.0.2.1/24', 1)],
    ['family mismatch', { ...vip('192.0.2.1/32', 1), family: 6 }],
    ['med too big', vip('192.0.2.1/32', MAX_U32 + 1)],
    ['med fraction', vip('192.0.2.1/32', 1.5)],
    ['med NaN', vip('192.0.2.1/32', NaN)],
    ['community', vip('192.0.2.1/32', 1, { communities: ['1:2)); bgp_med = 0; #'] })],
    ['large community', vip('192.0.2.1/32', 1, { largeCommunities: ['1:2:4294967296'] })],
    ['local pref', vip('192.0.2.1/32', 1, { localPref: -1 })],
  ];
  for (const [name, v] of bad) assert.throws(() => renderBirdInclude([v], PROTOCOLS), RenderError, name);
  assert.throws(() => renderBirdInclude([vip('192.0.2.1/32', 1), vip('192.0.2.1/32', 2)], PROTOCOLS), RenderError, 'duplicate');
  assert.throws(() => renderBirdInclude([], { protocol4: 'a"b', protocol6: 'c' }), RenderError);
  assert.throws(() => renderBirdInclude([], { protocol4: 'a', protocol6: 'a' }), RenderError);
  assert.throws(() => renderBirdInclude([], { ...PROTOCOLS, header: 'x\rprotocol evil' }), RenderError);
  // Only announced routes reach the file, so only they are validated; withdrawn ones are dropped first.
  assert.doesNotThrow(() => renderBirdInclude([{ ...vip('192.0.2.1/32', 1), announced: false }], PROTOCOLS));
});

// ---- property: arbitrary valid inputs stay inside the fixed grammar ----

const u32 = fc.integer({ min: 0, max: MAX_U32 });
const arbVip: fc.Arbitrary<EffectiveVip> = fc
  .record({
    addr: fc.oneof(fc.ipV4(), fc.ipV6()),
    med: u32,
    announced: fc.boolean(),
    communities: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })).map(([a, b]) => `${a}:${b}`), { maxLength: 3 }),
    largeCommunities: fc.uniqueArray(fc.tuple(u32, u32, u32).map((t) => t.join(':')), { maxLength: 3 }),
    localPref: fc.option(u32, { nil: undefined }),
  })
  .map(({ addr, localPref, ...rest }) => {
    const { prefix, family } = canonicalPrefix(addr);
    return { ...vip(prefix, rest.med), ...rest, family, ...(localPref !== undefined ? { localPref } : {}) };
  });
const arbVips = fc.uniqueArray(arbVip, { selector: (v) => v.prefix, maxLength: 8 });

const LINE = [
  /^# [\x20-\x7e]*$/,
  /^protocol static vipcontrol[46] \{$/,
  /^ {2}ipv[46];$/,
  /^ {2}route [0-9a-f.:]+\/\d{1,3} blackhole \{ bgp_med = \d+;( bgp_community\.add\(\(\d+,\d+\)\);)*( bgp_large_community\.add\(\(\d+,\d+,\d+\)\);)*( bgp_local_pref = \d+;)? \};$/,
  /^\}$/,
];

test('property: rendered text stays within the fixed grammar, one route line per announced VIP', () => {
  const samples: string[] = [];
  fc.assert(
    fc.property(arbVips, (vips) => {
      const text = renderBirdInclude(vips, PROTOCOLS);
      if (samples.length < 2 && vips.some((v) => v.announced)) samples.push(text);
      assert.ok(!text.includes('"'));
      const lines = text.split('\n');
      assert.equal(lines.pop(), '', 'ends with a newline');
      for (const line of lines) assert.ok(LINE.some((re) => re.test(line)), `off-grammar line: ${JSON.stringify(line)}`);
      const routes = lines.filter((l) => l.startsWith('  route '));
      assert.equal(routes.length, vips.filter((v) => v.announced).length);
      // The render is a pure function of the set, not of input order.
      assert.equal(renderBirdInclude([...vips].reverse(), PROTOCOLS), text);
    }),
    { numRuns: 200 },
  );
  assert.equal(samples.length, 2);
  for (const s of samples) assert.equal(birdParse(s).status, 0, s);
});

test('property: re-renders that reuse unchanged blocks of lines equal a render from scratch', () => {
  // 700 IPv4 VIPs: three blocks of lines, so changes land in, and shift, different blocks.
  const base = Array.from({ length: 700 }, (_, i) => vip(`198.18.${i >> 8}.${i & 255}/32`, 100));
  const arbStep = fc.array(fc.record({ at: fc.nat(699), med: fc.nat(1000), announced: fc.boolean() }), { minLength: 1, maxLength: 4 });
  let fresh = 0;
  fc.assert(
    fc.property(fc.array(arbStep, { minLength: 1, maxLength: 6 }), (steps) => {
      const vips = [...base];
      renderBirdInclude(vips, PROTOCOLS);
      for (const step of steps) {
        for (const { at, med, announced } of step) vips[at] = { ...vips[at]!, med, announced };
        // Protocol names never used before: nothing of a previous render can be reused.
        fresh += 1;
        const scratch = renderBirdInclude(vips, { protocol4: `scratch${fresh}v4`, protocol6: `scratch${fresh}v6` });
        assert.equal(renderBirdInclude(vips, PROTOCOLS), scratch.replace(`scratch${fresh}v4`, 'vipcontrol4').replace(`scratch${fresh}v6`, 'vipcontrol6'));
      }
    }),
    { numRuns: 60 },
  );
});

test('property: renders patched from the last one (same VIPs, changed attributes) equal a render from scratch', async () => {
  // A second instance of the module: its memo is its own, so its renders are independent of ours.
  const reference = (await import(`../src/render.js?reference=${Date.now()}`)) as typeof import('../src/render.js');
  const frozen = (v: EffectiveVip): EffectiveVip => Object.freeze({ ...v, communities: Object.freeze([...v.communities]), largeCommunities: Object.freeze([...v.largeCommunities]) });
  // 600 IPv4 + 100 IPv6 VIPs, every other one frozen (as computeEffective hands out untouched VIPs).
  const base = Array.from({ length: 700 }, (_, i) => {
    const v = vip(i < 600 ? `198.18.${i >> 8}.${i & 255}/32` : `2001:db8::${(i - 599).toString(16)}/128`, 100, { communities: ['65000:1'] });
    return i % 2 === 0 ? frozen(v) : v;
  });
  const arbChange = fc.record({
    at: fc.nat(699),
    med: fc.nat(1000),
    how: fc.constantFrom('replace', 'replace-frozen', 'in-place', 'flip', 'same'),
  });
  let n = 0;
  fc.assert(
    fc.property(fc.array(fc.array(arbChange, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), (steps) => {
      const vips = [...base].map((v, i) => (i % 2 === 0 ? v : { ...v }));
      renderBirdInclude(vips, PROTOCOLS);
      for (const step of steps) {
        for (const { at, med, how } of step) {
          const v = vips[at]!;
          if (how === 'replace') vips[at] = { ...v, med };
          else if (how === 'replace-frozen') vips[at] = frozen({ ...v, med });
          else if (how === 'flip') vips[at] = { ...v, announced: !v.announced };
          // In place, on an object that is not frozen (skipped on frozen ones): must not go unnoticed.
          else if (how === 'in-place' && !Object.isFrozen(v)) (v as { med: number }).med = med;
        }
        n += 1;
        const names = { protocol4: `ref${n}v4`, protocol6: `ref${n}v6` };
        const scratch = reference.renderBirdInclude(vips, names);
        assert.equal(renderBirdInclude(vips, PROTOCOLS), scratch.replace(names.protocol4, 'vipcontrol4').replace(names.protocol6, 'vipcontrol6'));
      }
    }),
    { numRuns: 80 },
  );
});

test('a bad value in a patched render throws and leaves the next render correct', () => {
  const vips = Array.from({ length: 300 }, (_, i) => Object.freeze(vip(`198.18.${1 + (i >> 8)}.${i & 255}/32`, 100)));
  const good = renderBirdInclude(vips, PROTOCOLS);
  const bad = [...vips];
  bad[5] = { ...vips[5]!, med: MAX_U32 + 1 };
  assert.throws(() => renderBirdInclude(bad, PROTOCOLS), RenderError);
  assert.equal(renderBirdInclude(vips, PROTOCOLS), good);
  bad[5] = { ...vips[5]!, med: 7 };
  assert.equal(renderBirdInclude(bad, PROTOCOLS), good.replace('route 198.18.1.5/32 blackhole { bgp_med = 100;', 'route 198.18.1.5/32 blackhole { bgp_med = 7;'));
});

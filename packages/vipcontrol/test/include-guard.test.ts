// Which include file the daemon may overwrite (pure logic; the daemon-level behaviour with a real
// BIRD is in include-ownership.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderBirdInclude, type EffectiveVip } from '@vipcontrol/core';
import { EMPTY_VIPCONTROL_INCLUDE } from '@vipcontrol/testlab';
import { includeRefusal } from '../src/include-guard.js';

const NAMES = { protocol4: 'vipcontrol4', protocol6: 'vipcontrol6' };
const FILE = '/etc/bird/vipcontrol.conf';
const VIP: EffectiveVip = { prefix: '198.51.100.10/32', family: 4, announced: true, med: 100, terms: [], withdrawReasons: [], communities: [], largeCommunities: [] };

describe('includeRefusal', () => {
  it('accepts what vipcontrol renders, with or without routes', () => {
    assert.equal(includeRefusal(renderBirdInclude([], NAMES), FILE, NAMES), undefined);
    const withRoute = renderBirdInclude([VIP], NAMES);
    assert.match(withRoute, /route 198\.51\.100\.10\/32/);
    assert.equal(includeRefusal(withRoute, FILE, NAMES), undefined);
  });

  it('accepts an empty skeleton written by hand or by the lab (comments and layout ignored)', () => {
    assert.equal(includeRefusal(EMPTY_VIPCONTROL_INCLUDE, FILE, NAMES), undefined);
    assert.equal(includeRefusal('protocol static vipcontrol4 { ipv4; }\nprotocol static vipcontrol6 { ipv6; }\n', FILE, NAMES), undefined);
    assert.equal(includeRefusal('# puppet\nprotocol static vipcontrol4 {\n\tipv4;\n}\n\nprotocol static vipcontrol6{ipv6;}', FILE, NAMES), undefined);
  });

  it('adopts an empty or comments-only file (touch, Puppet ensure => file): nothing in it can be lost', () => {
    for (const empty of ['', '\n\n', '# managed by puppet\n', '  # a\n\t# b\n']) assert.equal(includeRefusal(empty, FILE, NAMES), undefined, JSON.stringify(empty));
  });

  it('refuses a file someone else wrote', () => {
    for (const foreign of [
      'protocol static vipcontrol4 { ipv4; route 203.0.113.0/24 blackhole; }\nprotocol static vipcontrol6 { ipv6; }\n',
      'protocol static anchors4 { ipv4; route 192.0.2.0/24 blackhole; }\n',
      'router id 192.0.2.1;\n',
    ]) {
      const why = includeRefusal(foreign, FILE, NAMES);
      assert.match(why ?? '', /^refusing to overwrite \/etc\/bird\/vipcontrol\.conf: it was not written by vipcontrol .*move it away or point bird\.includeFile elsewhere$/, foreign);
    }
  });

  it('refuses a rename: our file or skeleton under other protocol names', () => {
    const renamed = { protocol4: 'vc4', protocol6: 'vc6' };
    for (const text of [renderBirdInclude([VIP], NAMES), EMPTY_VIPCONTROL_INCLUDE]) {
      const why = includeRefusal(text, FILE, renamed);
      assert.match(why ?? '', /refusing to rename the BIRD protocols vipcontrol4\/vipcontrol6 \(in \/etc\/bird\/vipcontrol\.conf\) to vc4\/vc6/);
      assert.match(why ?? '', /proto = "vipcontrol4" would stop matching .* docs\/operations\.md$/);
    }
    // Swapped names are a rename too (the v4 filter would match the v6 protocol).
    assert.match(includeRefusal(renderBirdInclude([], NAMES), FILE, { protocol4: 'vipcontrol6', protocol6: 'vipcontrol4' }) ?? '', /refusing to rename/);
  });
});

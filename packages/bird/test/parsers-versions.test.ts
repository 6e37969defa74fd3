// The same capture (scripts/capture-fixtures.sh) recorded from each BIRD line reads the same by meaning:
// BIRD 3 spells attributes `bgp_med` where BIRD 2 prints `BGP.med`, adds counter columns, moves `from`
// and the preference into attribute lines — none of which may change what the parsers report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { versionOfBanner } from '../src/client.js';
import { BirdParseError } from '../src/errors.js';
import { parseConfigureReply, parseReconfigurationState } from '../src/parse/configure.js';
import { parseProtocols } from '../src/parse/protocols.js';
import { parseRoutes } from '../src/parse/routes.js';
import { parseStatus } from '../src/parse/status.js';
import type { BirdReply, RouteInfo } from '../src/types.js';
import { RECORDED_VERSIONS, decode, fixture, recorded, replyOf } from './fixture-files.js';

/** What a route means, without BIRD's spelling, times and interface names. */
function meaning(r: RouteInfo) {
  return {
    prefix: r.prefix,
    table: r.table,
    protocol: r.protocol,
    primary: r.primary,
    kind: r.kind,
    source: r.source,
    preference: r.preference,
    nextHop: r.nextHop,
    // BIRD 2 prints "from X" only when X is not the next hop (nest/rt-show.c); BIRD 3 always prints `from:`.
    from: r.from ?? r.nextHop,
    med: r.med,
    localPref: r.localPref,
    origin: r.origin,
    // The 130-hop path is cut by BIRD at its line limit, at a version-dependent place.
    asPath: r.asPath && r.asPath.length > 10 ? 'long' : r.asPath,
    communities: r.communities,
    largeCommunities: r.largeCommunities,
  };
}

const byPrefix = (a: { prefix: string }, b: { prefix: string }) => a.prefix.localeCompare(b.prefix);

const ROUTER_ROUTES = [
  { prefix: '198.51.100.10/32', med: 100, communities: ['65000:100', '65000:200'], largeCommunities: ['65000:1:2'], asPath: [65001, 65001] },
  { prefix: '198.51.100.11/32', med: 250, communities: [], largeCommunities: ['65000:1:2', '65000:3:4'], asPath: [65001, 65001] },
  { prefix: '198.51.100.99/32', med: 999, communities: [], largeCommunities: [], asPath: 'long' as const },
].map((r) => ({
  table: 'master4',
  protocol: 'node1',
  primary: true,
  kind: 'unicast',
  source: 'BGP',
  preference: 100,
  nextHop: '192.0.2.1',
  from: '192.0.2.1',
  localPref: 100,
  origin: 'IGP',
  ...r,
}));

const NODE_ROUTES = [
  { prefix: '198.51.100.10/32', med: 100, communities: ['65000:100', '65000:200'], largeCommunities: ['65000:1:2'] },
  { prefix: '198.51.100.11/32', med: 250, communities: [], largeCommunities: ['65000:1:2', '65000:3:4'] },
  { prefix: '198.51.100.99/32', med: 999, communities: [], largeCommunities: [] },
].map((r) => ({
  table: 'master4',
  protocol: 'vip4',
  primary: true,
  kind: 'blackhole',
  source: 'static',
  preference: 200,
  nextHop: undefined,
  from: undefined as string | undefined,
  localPref: undefined,
  origin: undefined,
  ...r,
}));

for (const version of RECORDED_VERSIONS) {
  const reply = (name: string): BirdReply => replyOf(recorded(version, name));
  const ctx = { version };

  describe(`recorded from BIRD ${version}`, () => {
    it('the banner and show status name the version', () => {
      const [banner] = decode([fixture(recorded(version, 'banner'))]);
      assert.ok(banner && 'reply' in banner);
      assert.equal(versionOfBanner(banner.reply.text), version);
      const s = parseStatus(reply('show-status'), ctx);
      assert.deepEqual([s.version, s.routerId, s.hostname !== undefined, s.message], [version, '192.0.2.2', true, 'Daemon is up and running']);
      assert.match(s.lastReconfiguration ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    });

    it('configure replies by code, with the undo timeout', () => {
      const table: [string, string, number?][] = [
        ['configure', 'reconfigured'],
        ['configure-check', 'ok'],
        ['configure-soft', 'reconfigured'],
        ['configure-timeout', 'reconfigured', 30],
        ['configure-timeout-1', 'reconfigured', 1],
        ['configure-confirm', 'confirmed'],
        ['configure-confirm-nothing', 'nothing'],
        ['configure-undo', 'reconfigured'],
        ['configure-undo-after-8002', 'nothing'],
        // Removing a BGP protocol outlives the command: 0004, then `configure status` until it is done.
        ['configure-remove-protocol', 'in-progress', 30],
        ['configure-confirm-after-remove', 'confirmed'],
        ['configure-add-protocol', 'reconfigured'],
      ];
      assert.deepEqual(
        table.map(([name]) => {
          const r = parseConfigureReply(reply(name), ctx);
          return [name, r.status, r.undoTimeoutSec];
        }),
        table.map(([name, status, undo]) => [name, status, undo]),
      );
    });

    it('configure status: running, with and without a pending undo', () => {
      assert.deepEqual(parseReconfigurationState(reply('configure-status'), ctx), { state: 'running', messages: ['Daemon is up and running'] });
      const unconfirmed = parseReconfigurationState(reply('configure-status-unconfirmed'), ctx);
      assert.equal(unconfirmed.state, 'running');
      assert.ok(unconfirmed.undoInSec! > 29 && unconfirmed.undoInSec! <= 30, String(unconfirmed.undoInSec));
      assert.equal(parseReconfigurationState(reply('configure-status-settled'), ctx).undoInSec, undefined);
    });

    it('show protocols all: session facts and counters read by their column headers', () => {
      const [p] = parseProtocols(reply('show-protocols-all-bgp'), ctx);
      assert.ok(p);
      assert.deepEqual([p.name, p.proto, p.state, p.info, p.bgpState, p.neighborAddress], ['node1', 'BGP', 'up', 'Established', 'Established', '192.0.2.1']);
      assert.equal(p.details?.['Neighbor AS'], '65001');
      assert.match(p.since, /^\d\d:\d\d:\d\d\.\d{3}$/);
      const [c] = p.channels;
      assert.deepEqual([c?.name, c?.state, c?.table, c?.routes], ['ipv4', 'UP', 'master4', { imported: 3, exported: 0, preferred: 3 }]);
      // received/accepted by header: BIRD 3's extra "RX limit" and "limit" columns sit before "accepted".
      assert.deepEqual([c?.importUpdates?.received, c?.importUpdates?.rejected, c?.importUpdates?.filtered, c?.importUpdates?.accepted], [3, 0, 0, 3]);
      assert.deepEqual([c?.importWithdraws?.received, c?.importWithdraws?.filtered, c?.importWithdraws?.accepted], [0, undefined, 0]);
      assert.deepEqual([c?.exportUpdates?.rejected, c?.exportUpdates?.accepted], [3, 0]);
      assert.equal(c?.importUpdates?.rxLimit, version.startsWith('3.') ? 0 : undefined);
      assert.deepEqual(
        parseProtocols(reply('show-protocols-all'), ctx).map((x) => [x.name, x.channels.map((ch) => `${ch.name}:${ch.importUpdates?.accepted}`)]),
        [
          ['device1', []],
          ['node1', ['ipv4:3']],
          ['node1v6', ['ipv6:1']],
        ],
      );
    });

    it('show route all at the router: MED, communities, large communities, AS path, next hop, sender', () => {
      assert.deepEqual(parseRoutes(reply('show-route-all-v4'), ctx).map(meaning).sort(byPrefix), ROUTER_ROUTES);
      const all = parseRoutes(reply('show-route-all'), ctx).map(meaning).sort(byPrefix);
      assert.deepEqual(all.slice(0, 3), ROUTER_ROUTES);
      assert.deepEqual(all[3], {
        ...ROUTER_ROUTES[0],
        prefix: '2001:db8::10/128',
        table: 'master6',
        protocol: 'node1v6',
        nextHop: '2001:db8:ffff::1',
        from: '2001:db8:ffff::1',
        asPath: [65001],
        communities: ['65000:100'],
        largeCommunities: [],
      });
      assert.deepEqual(parseRoutes(reply('show-route-for'), ctx).map(meaning), [ROUTER_ROUTES[0]]);
    });

    it('show route protocol P all and show route export P all at the node', () => {
      const node = parseRoutes(reply('show-route-node'), ctx).map(meaning).sort(byPrefix);
      assert.deepEqual(node.map((r) => ({ ...r, asPath: undefined })), NODE_ROUTES.map((r) => ({ ...r, asPath: undefined })));
      // The export filter prepends 65001: `show route export` shows the route as the filter left it.
      const exported = parseRoutes(reply('show-route-export'), ctx).map(meaning).sort(byPrefix);
      assert.deepEqual(
        exported.map((r) => [r.prefix, r.med, r.asPath, r.communities, r.largeCommunities]),
        NODE_ROUTES.map((r) => [r.prefix, r.med, r.prefix.endsWith('99/32') ? 'long' : [65001], r.communities, r.largeCommunities]),
      );
    });

    it('a community list BIRD wraps onto "\\t\\t" lines is read whole (64 + 64 on one route)', () => {
      const [r] = parseRoutes(reply('show-route-long-communities'), ctx);
      assert.equal(r?.med, 100);
      assert.deepEqual(r?.communities, Array.from({ length: 64 }, (_, i) => `65000:${1000 + i}`));
      assert.deepEqual(r?.largeCommunities, Array.from({ length: 64 }, (_, i) => `4200000000:${4200000000 + i}:${4200000000 + i}`));
    });
  });
}

describe('a reply the parser does not understand is an error naming the line and the version', () => {
  /** The recorded BIRD 3.3.2 reply with one line's text replaced. */
  function edited(name: string, from: string, to: string): BirdReply {
    const r = replyOf(recorded('3.3.2', name));
    const lines = r.lines.map((l) => (l.text === from ? { ...l, text: to } : l));
    assert.notDeepEqual(lines, r.lines, `${from} is in ${name}`);
    return { ...r, lines };
  }
  const ctx = { version: '3.3.2' };

  it('an unknown spelling of a BGP attribute (a MED that would otherwise go missing)', () => {
    const r = edited('show-route-node', '\tbgp_med: 100', '\tbgp.med: 100');
    assert.throws(() => parseRoutes(r, ctx), (e: unknown) => {
      assert.ok(e instanceof BirdParseError);
      assert.equal(e.version, '3.3.2');
      assert.equal(e.line, '\tbgp.med: 100');
      assert.match(e.message, /^cannot read a route from BIRD 3\.3\.2: unknown BGP attribute bgp\.med: "\\tbgp\.med: 100"$/);
      return true;
    });
  });

  it('a MED that is not a number, a community list that is not tuples, a line of no known shape', () => {
    assert.throws(() => parseRoutes(edited('show-route-node', '\tbgp_med: 100', '\tbgp_med: 1e2'), ctx), /bgp_med is not a whole number/);
    assert.throws(
      () => parseRoutes(edited('show-route-node', '\tbgp_community: (65000,100) (65000,200)', '\tbgp_community: (65000,100) no-export'), ctx),
      /bgp_community holds something other than community tuples/,
    );
    assert.throws(() => parseRoutes(edited('show-route-node', '\tsource: static', '\tsomething new'), ctx), /not an attribute line/);
  });

  it('other attributes of other protocols are kept raw, not refused', () => {
    const [r] = parseRoutes(edited('show-route-node', '\tsource: static', '\tospf_metric1: 20'), ctx);
    assert.equal(r?.attributes.ospf_metric1, '20');
  });

  it('an unknown counter column, a counter row of the wrong width', () => {
    const header = '    Route change stats:     received   rejected   filtered    ignored   RX limit      limit   accepted';
    assert.throws(() => parseProtocols(edited('show-protocols-all-bgp', header, header.replace('limit   accepted', 'limit   kept')), ctx), /unknown counter column "kept"/);
    const row = '      Import updates:              3          0          0          0          0          0          3';
    assert.throws(() => parseProtocols(edited('show-protocols-all-bgp', row, `${row}          9`), ctx), /8 counters under 7 column headers/);
  });

  it('a configure reply code BIRD does not document, a status without its version', () => {
    const unknown: BirdReply = { code: 42, lines: [{ code: 42, text: 'Reconfiguring elsewhere' }], text: 'Reconfiguring elsewhere' };
    assert.throws(() => parseConfigureReply(unknown, ctx), /cannot read a configure reply from BIRD 3\.3\.2: unknown reply code 42/);
    assert.throws(() => parseStatus(edited('show-status', 'BIRD 3.3.2', 'BIRD'), ctx), /no "BIRD <version>" line/);
    const status: BirdReply = { code: 0, lines: [{ code: 7, text: 'Pondering' }, { code: 0, text: '' }], text: '' };
    assert.throws(() => parseReconfigurationState(status), /cannot read configure status from BIRD \(unknown version\): unknown line code 7: "Pondering"/);
  });
});

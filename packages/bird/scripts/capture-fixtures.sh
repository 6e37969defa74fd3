#!/usr/bin/env bash
# Regenerates test/fixtures/*.txt from a real BIRD (run as root, on purpose, never from the tests).
# Usage: capture-fixtures.sh [--bird VERSION] [OUTDIR]. Without --bird: the system's BIRD (Debian 12's
# 2.0.12) into test/fixtures; with it: BIRD VERSION (scripts/bird-sbin.sh builds it when needed) into
# test/fixtures/VERSION.
# Two BIRDs in two network namespaces joined by a veth: "node" (AS 65001) announces static routes with
# MED / communities / large communities over eBGP to "router" (AS 65000), whose replies we record.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=
if [[ ${1:-} == --bird ]]; then version=${2:?--bird needs a VERSION}; shift 2; fi
if [[ -n $version ]]; then
  sbin=$(bash "$here/../../../scripts/bird-sbin.sh" "$version")
  PATH="$sbin:$PATH"
  out=${1:-$here/../test/fixtures/$version}
else
  out=${1:-$here/../test/fixtures}
fi
mkdir -p "$out"
echo "capturing from $(command -v bird): $(bird --version 2>&1)" >&2
id=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
ns_n="vcbn$id" ns_r="vcbr$id" dir=$(mktemp -d "/tmp/vcb-capture-$id.XXXX")
cleanup() {
  for p in "$dir"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  ip netns del "$ns_n" 2>/dev/null || true
  ip netns del "$ns_r" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$ns_n"; ip netns add "$ns_r"
ip link add "vcb${id}n" netns "$ns_n" type veth peer name "vcb${id}r" netns "$ns_r"
ip -n "$ns_n" addr add 192.0.2.1/24 dev "vcb${id}n"; ip -n "$ns_n" addr add 2001:db8:ffff::1/64 dev "vcb${id}n" nodad
ip -n "$ns_r" addr add 192.0.2.2/24 dev "vcb${id}r"; ip -n "$ns_r" addr add 2001:db8:ffff::2/64 dev "vcb${id}r" nodad
for ns in "$ns_n" "$ns_r"; do ip -n "$ns" link set lo up; done
ip -n "$ns_n" link set "vcb${id}n" up; ip -n "$ns_r" link set "vcb${id}r" up

# A 130-hop AS path is longer than BIRD's 512-byte CLI line (nest/cli.c CLI_LINE_SIZE): BIRD 2.0.12
# truncates it with "..." itself rather than answering 8000, which the parser must survive.
long_path=$(for _ in $(seq 130); do printf 'bgp_path.prepend(65001); '; done)
cat >"$dir/node.conf" <<CONF
router id 192.0.2.1;
protocol device { }
protocol static vip4 {
  ipv4;
  route 198.51.100.10/32 blackhole { bgp_med = 100; bgp_community.add((65000,100)); bgp_community.add((65000,200)); bgp_large_community.add((65000,1,2)); };
  route 198.51.100.11/32 blackhole { bgp_med = 250; bgp_large_community.add((65000,1,2)); bgp_large_community.add((65000,3,4)); };
  route 198.51.100.99/32 blackhole { bgp_med = 999; $long_path };
}
protocol static vip6 {
  ipv6;
  route 2001:db8::10/128 blackhole { bgp_med = 100; bgp_community.add((65000,100)); };
}
protocol bgp fabric4 {
  local 192.0.2.1 as 65001; neighbor 192.0.2.2 as 65000;
  ipv4 { import none; export filter { if proto != "vip4" then reject; if defined(bgp_med) then bgp_med = bgp_med; bgp_path.prepend(65001); accept; }; };
}
protocol bgp fabric6 {
  local 2001:db8:ffff::1 as 65001; neighbor 2001:db8:ffff::2 as 65000;
  ipv6 { import none; export filter { if proto != "vip6" then reject; if defined(bgp_med) then bgp_med = bgp_med; accept; }; };
}
CONF
cat >"$dir/router.conf" <<CONF
router id 192.0.2.2;
protocol device { }
protocol bgp node1 { local 192.0.2.2 as 65000; neighbor 192.0.2.1 as 65001; ipv4 { import all; export none; }; }
protocol bgp node1v6 { local 2001:db8:ffff::2 as 65000; neighbor 2001:db8:ffff::1 as 65001; ipv6 { import all; export none; }; }
CONF
ip netns exec "$ns_n" bird -c "$dir/node.conf" -s "$dir/node.sock" -P "$dir/node.pid"
ip netns exec "$ns_r" bird -c "$dir/router.conf" -s "$dir/router.sock" -P "$dir/router.pid"
for _ in $(seq 100); do
  birdc -s "$dir/router.sock" show protocols | grep -q 'node1v6.*Established' &&
    birdc -s "$dir/router.sock" show protocols | grep -q 'node1 .*Established' && break
  sleep 0.2
done
sleep 1 # let the UPDATEs land
cap() { node "$here/raw-capture.mjs" "$@"; }

cap "$dir/router.sock" "$out" banner \
  show-protocols='show protocols' \
  show-protocols-all='show protocols all' \
  show-protocols-all-bgp='show protocols all node1' \
  show-protocols-nomatch='show protocols "nosuch*"' \
  show-route-all='show route all' \
  show-route-all-v4='show route protocol node1 all' \
  show-route-for='show route for 198.51.100.10 all' \
  show-route-notfound='show route for 203.0.113.1' \
  show-route-count='show route count' \
  show-status='show status' \
  configure-status='configure status' \
  parse-error='show rooute' \
  show-symbol='show symbols node1' \
  eval='eval 1+2' \
  show-memory='show memory'
cap "$dir/node.sock" "$out" \
  show-route-node='show route protocol vip4 all' \
  show-route-export='show route export fabric4 all' \
  configure="configure \"$dir/node.conf\"" \
  configure-check="configure check \"$dir/node.conf\"" \
  configure-timeout="configure \"$dir/node.conf\" timeout 30" \
  configure-confirm='configure confirm' \
  configure-confirm-nothing='configure confirm' \
  configure-timeout-undo="configure \"$dir/node.conf\" timeout 30" \
  configure-undo='configure undo'
cp "$dir/node.conf" "$dir/node.good"
printf 'protocol static broken {\n  ipv4;\n  route 198.51.100.20/32 blackhole { bgp_med = ; };\n}\n' >>"$dir/node.conf"
cap "$dir/node.sock" "$out" \
  configure-timeout-ok="configure \"$dir/node.good\" timeout 30" \
  configure-8002="configure \"$dir/node.conf\"" \
  configure-undo-after-8002='configure undo' \
  configure-8002-missing="configure \"$dir/missing.conf\"" \
  configure-soft="configure soft \"$dir/node.good\""
# The undo timer fires on the connection that issued `configure timeout` (main.c cmd_reconfig_undo_notify).
cap "$dir/node.sock" "$out" configure-timeout-1="configure \"$dir/node.good\" timeout 1" listen:spontaneous-undo:2500 \
  show-status-after-undo='show status'
# Removing a BGP protocol: its shutdown outlives the command, so BIRD answers 0004 "Reconfiguration in
# progress" (every line; BIRD 3 runs it on the protocol's own thread). With a timeout, `configure status`
# then shows the pending undo; the confirm keeps it.
sed '/^protocol bgp fabric6 {/,/^}/d' "$dir/node.good" >"$dir/node-no-fabric6.conf"
cap "$dir/node.sock" "$out" configure-remove-protocol="configure \"$dir/node-no-fabric6.conf\" timeout 30" \
  configure-status-unconfirmed='configure status' sleep:1000 configure-confirm-after-remove='configure confirm' \
  configure-status-settled='configure status'
# Changing a route of a static protocol (what vipcontrol does on every apply). BIRD 3 answers 0003 when
# the old config is released at once, 0004 when another thread still holds it (conf/conf.c: "obstacles";
# seen under load in the benchmark's lab), so this records whichever came.
sed 's/bgp_med = 100;/bgp_med = 101;/' "$dir/node.good" >"$dir/node-med.conf"
cap "$dir/node.sock" "$out" configure-change-route="configure \"$dir/node-med.conf\"" configure-status-after-change='configure status'
# Adding a static protocol (answered 0003 by every line). It holds one route with 64 communities and
# 64 large communities, which BIRD wraps onto "\t\t" continuation lines.
communities=$(for i in $(seq 0 63); do printf 'bgp_community.add((65000,%d)); bgp_large_community.add((4200000000,%d,%d)); ' $((1000 + i)) $((4200000000 + i)) $((4200000000 + i)); done)
{ cat "$dir/node.good"; printf 'protocol static vipcontrol4 {\n  ipv4;\n  route 198.51.100.50/32 blackhole { bgp_med = 100; %s};\n}\n' "$communities"; } >"$dir/node-big.conf"
cap "$dir/node.sock" "$out" configure-add-protocol="configure \"$dir/node-big.conf\"" show-route-long-communities='show route protocol vipcontrol4 all'
echo "fixtures written to $out"

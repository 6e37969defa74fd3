#!/usr/bin/env bash
# The fault-injection soak (issue 7): a router and two nodes in network namespaces (real BIRD, real
# redis-server, vipcontrol + viphealth per node), a seeded random schedule of operations through
# vipctl and `vipctl fleet`, interleaved with SIGKILL/restart of vipcontrol, viphealth and BIRD, SIGSTOP
# of BIRD, disk-full episodes on the state directory and Redis restarts; after each quiet period it
# checks that the router, `vipctl status --json` and the accepted operations agree, and that no BGP
# session was reset. Prints every step, then a summary table, and writes it to docs/benchmarks.md.
# Needs root (ip netns, mount). Runs scripts/setup.sh first unless --no-setup (then only rebuilds).
#
#   bash scripts/soak.sh [--seconds N] [--seed S] [--no-docs] [--no-setup] [--artifacts DIR]
#
# Default 180 s and a random seed (printed). Exit status: 0 no violation; 1 violations (replay the same
# schedule with --seed S; the schedule log and the daemons' logs stay in .soak/seed-S/); 2 the soak
# itself failed.
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1
args=()
for arg in "$@"; do
  if [[ "$arg" == --no-setup ]]; then setup=0; else args+=("$arg"); fi
done
if ((setup == 1)); then bash scripts/setup.sh; else npx tsc -b packages/testlab packages/vipcontrol packages/viphealth packages/vipctl; fi
exec node packages/testlab/dist/src/soak/soak-main.js "${args[@]}"

#!/usr/bin/env bash
# Benchmarks. Each prints a Markdown table and rewrites its own section of docs/benchmarks.md.
# Needs root (BIRD, network namespaces). Runs scripts/setup.sh first (Debian packages, npm ci, build)
# unless --no-setup, in which case only the packages a benchmark needs are rebuilt (incremental tsc).
#
#   bash scripts/bench.sh [core|health|health-scale|fleet|trust|startup|all] [--no-setup] [ARGS...]      default: all
#
#   core    issue 2: vipcontrol vs bare BIRD — MED change latency at 1 / 1,000 / 10,000 VIPs, burst of
#           1,000 set-med, vipctl wall time, RSS; once on BIRD 2.0.12 and once on 3.3.2 (`--bird LIST`)
#           (packages/bench/src/core/apply-bench.ts; ~2 min per BIRD)
#   health  viphealth failover/recovery vs ExaBGP's healthcheck, footprint, then health-scale (packages/bench/src/health)
#   health-scale  viphealth at 1 and 10,000 VIPs x 5 checks: report size and latency, decision → router, CPU, RSS (~3 min)
#   fleet   fleet round trip over Redis, fleet status at 1,000 nodes (packages/bench/src/fleet); then the lab
#           fleet at 2 / 8 / 16 nodes: cold start, RSS/PSS, drain, silent death with BFD, rolling restart,
#           flow spread, guard decision time (packages/bench/src/fleet/fleet-scale-bench.ts; ~3 min)
#   trust   issue 12: health withdraws / status with junk in Redis, BIRD reply decoder heap (packages/bench/src/fleet/trust-bench.ts)
#   startup `vipctl status` round trip, packaged and tree builds, against bare `node -e 0` as a ratio
#           (packages/bench/src/startup; ~30 s)
# ARGS go to the one benchmark named (e.g. `bench.sh core --quick --scales 1,1000 --no-docs`).
# Exit status: 0 all targets met; otherwise the highest status of the benchmarks run (core: 1 = a
# target missed, 2 = the benchmark itself failed).
set -euo pipefail
cd "$(dirname "$0")/.."

what=all
setup=1
args=()
named=0
for arg in "$@"; do
  if ((named == 0)) && [[ "$arg" =~ ^(core|health|health-scale|fleet|trust|startup|all)$ ]]; then
    what=$arg named=1
  elif [[ "$arg" == --no-setup ]]; then
    setup=0
  else
    args+=("$arg")
  fi
done
if [[ "$what" == all && ${#args[@]} -gt 0 ]]; then
  echo "bench: arguments (${args[*]}) need one benchmark named: core, health, health-scale, fleet, trust or startup" >&2
  exit 2
fi

if ((setup == 1)); then bash scripts/setup.sh; fi

# run NAME SOURCE PROGRAM PACKAGES... — builds PACKAGES (with --no-setup), runs PROGRAM with ARGS;
# a benchmark whose source is not in the tree is skipped with a message, not an error.
status=0
run() {
  local name=$1 source=$2 program=$3
  shift 3
  if [[ ! -e "$source" ]]; then
    echo "bench: $name: $source is not in this tree — skipped" >&2
    return 0
  fi
  if ((setup == 0)); then npx tsc -b "$@"; fi
  echo "bench: === $name: node $program ${args[*]:-}" >&2
  local rc=0
  node "$program" "${args[@]}" || rc=$?
  if ((rc != 0)); then echo "bench: $name exited $rc" >&2; fi
  if ((rc > status)); then status=$rc; fi
}

case "$what" in core | all)
  run core packages/bench/src/core/apply-bench.ts packages/bench/dist/src/core/apply-bench.js \
    packages/bench packages/vipcontrol packages/vipctl ;;
esac
case "$what" in health | all)
  run health packages/bench/src/health/failover-bench.ts packages/bench/dist/src/health/failover-bench.js \
    packages/bench packages/vipcontrol packages/viphealth ;;
esac
case "$what" in health | health-scale | all)
  run health-scale packages/bench/src/health/scale-bench.ts packages/bench/dist/src/health/scale-bench.js \
    packages/bench packages/vipcontrol packages/viphealth ;;
esac
case "$what" in fleet | all)
  run fleet packages/bench/src/fleet/fleet-bench.ts packages/bench/dist/src/fleet/fleet-bench.js \
    packages/bench packages/vipcontrol packages/vipctl
  run fleet-scale packages/bench/src/fleet/fleet-scale-bench.ts packages/bench/dist/src/fleet/fleet-scale-bench.js \
    packages/bench packages/vipcontrol packages/vipctl ;;
esac
case "$what" in startup | all)
  run startup packages/bench/src/startup/startup-bench.ts packages/bench/dist/src/startup/startup-bench.js \
    tsconfig.prod.json packages/bench ;;
esac
case "$what" in trust | all)
  run trust packages/bench/src/fleet/trust-bench.ts packages/bench/dist/src/fleet/trust-bench.js \
    packages/bench packages/vipcontrol packages/bird ;;
esac
exit "$status"

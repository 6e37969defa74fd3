#!/usr/bin/env bash
# Benchmarks: `scripts/bench.sh NAME`. Each prints a table and rewrites its own section of
# docs/benchmarks.md. Needs root (BIRD, network namespaces) and a built workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  fleet)
    npx tsc -b packages/fleet packages/vipcontrol packages/vipctl
    exec node packages/fleet/dist/bench/fleet-bench.js
    ;;
  health)
    npx tsc -b packages/vipcontrol packages/viphealth
    exec node packages/viphealth/dist/src/bench/failover-bench.js "${@:2}"
    ;;
  *)
    echo "usage: scripts/bench.sh fleet|health" >&2
    exit 2
    ;;
esac

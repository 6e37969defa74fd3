#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: setup, typecheck, lint, unit and integration tests
# (real BIRD 2, real redis-server, network namespaces; run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
# --quick: skip the long tiers (other BIRD lines, soak, systemd container, 16-node fleet) for the inner loop.
if [[ "${1:-}" == --quick ]]; then export VIPCONTROL_TEST_QUICK=1; shift; fi
bash scripts/setup.sh
npm run lint
shopt -s nullglob
tests=(packages/*/dist/test/*.test.js)
if ((${#tests[@]} == 0)); then echo "test: no compiled tests found" >&2; exit 1; fi
# Files run in parallel (one per core); each integration test names its namespaces, sockets and ports
# uniquely, so they do not collide.
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-300000}" "${tests[@]}"

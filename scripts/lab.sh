#!/usr/bin/env bash
# README command 1: set up this machine (Debian packages, npm ci, build) and run the local lab —
# a fabric router and two nodes in network namespaces, a real BIRD in each; on each node a stand-in
# BGP-terminating service (TCP :1179), vipcontrol announcing 198.51.100.10/32 and 2001:db8::10/128
# (MED 100 on n1, 200 on n2) and viphealth checking the service. Prints the router's view, shifts
# traffic with `vipctl set-med` / `reset-med`, runs a live failover (SIGKILL n1's service: the best
# path moves to n2, and back once the service passes its rise checks), drains and undrains n1, and
# shows that no BGP session was reset. Takes ~10 s after set-up. Needs root (ip netns).
#
#   bash scripts/lab.sh [--ebgp] [--no-bfd] [--bird VERSION]
#                                             run the demo and tear everything down; --bird runs every
#                                             BIRD as 2.0.12 (default), 2.19.2 or 3.3.2 (built on first use)
#   bash scripts/lab.sh --nodes N [--ebgp]     the fleet demo: N ≤ 16 nodes, uniform mode (equal MEDs, ECMP at the
#                                             router), flow spread over the nodes and what a drain does to it
#   bash scripts/lab.sh --keep [--ebgp] ...   run it and leave the lab up (prints how to reach it)
#   bash scripts/lab.sh down                  tear a kept lab down (daemons, services, BIRDs, namespaces,
#                                             temp dirs), remove leftovers of killed runs
set -euo pipefail
cd "$(dirname "$0")/.."
demo=packages/testlab/dist/src/lab-demo.js

if [[ "${1:-}" == down ]]; then
  exec node "$demo" --down
fi

bash scripts/setup.sh

keep=0
for arg in "$@"; do [[ "$arg" == --keep ]] && keep=1; done
if ((keep == 0)); then
  exec node "$demo" "$@"
fi

# --keep: the demo process owns the lab (it tears it down on SIGTERM), so it runs detached from this
# shell; its output is appended to .lab/lab.log (never truncated: a refused second --keep must not
# clobber the running lab's log) and shown here until it says LAB READY.
mkdir -p .lab
log=.lab/lab.log
echo "=== $(date -Is) bash scripts/lab.sh $*" >>"$log"
shown=$(wc -l <"$log")
setsid node "$demo" "$@" >>"$log" 2>&1 </dev/null &
pid=$!
while :; do
  lines=$(wc -l <"$log")
  if ((lines > shown)); then
    new=$(tail -n +"$((shown + 1))" "$log" | head -n "$((lines - shown))")
    printf '%s\n' "$new"
    shown=$lines
    grep -q '^LAB READY$' <<<"$new" && exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n +"$((shown + 1))" "$log"
    echo "lab: the lab process exited before it was ready (log: $log)" >&2
    exit 1
  fi
  sleep 0.2
done

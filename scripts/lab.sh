#!/usr/bin/env bash
# README command 1: set up this machine (Debian packages, npm ci, build) and run the local lab —
# a fabric router and two nodes in network namespaces, a real BIRD in each, vipcontrol on both nodes
# announcing 198.51.100.10/32 and 2001:db8::10/128 with MEDs 100 and 200; prints the router's view,
# shifts traffic with `vipctl set-med` and shows the best path move. Needs root (ip netns).
#
#   bash scripts/lab.sh [--ebgp] [--no-bfd]   run the demo and tear everything down
#   bash scripts/lab.sh --keep [--ebgp] ...   run it and leave the lab up (prints how to reach it)
#   bash scripts/lab.sh down                  tear a kept lab down, remove leftovers of killed runs
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
# shell; its output goes to .lab/lab.log and is shown here until it says LAB READY.
mkdir -p .lab
log=.lab/lab.log
: >"$log"
setsid node "$demo" "$@" >"$log" 2>&1 </dev/null &
pid=$!
shown=0
while :; do
  lines=$(wc -l <"$log")
  if ((lines > shown)); then tail -n +"$((shown + 1))" "$log" | head -n "$((lines - shown))"; shown=$lines; fi
  grep -q '^LAB READY$' "$log" && exit 0
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n +"$((shown + 1))" "$log"
    echo "lab: the lab process exited before it was ready (log: $log)" >&2
    exit 1
  fi
  sleep 0.2
done

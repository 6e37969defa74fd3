#!/usr/bin/env bash
# bird-sbin.sh VERSION: prints the directory holding `bird` and `birdc` of BIRD VERSION, building it
# first when needed. The one place that maps a BIRD version to binaries (testlab, lab.sh, bench.sh and
# the fixture capture all call it). VERSION "2.0.12" or "system" is the system's BIRD (Debian 12's bird2);
# any other version is built by build-bird (from $VIPCONTROL_BUILD_BIRD, else ../shared/tools/build-bird
# next to the repository, else /work/shared/tools/build-bird), once per machine: a lock keeps parallel
# test files from building the same version twice.
set -euo pipefail
version=${1:?usage: bird-sbin.sh VERSION}
repo=$(cd "$(dirname "$0")/.." && pwd)
system_bird=$(command -v bird || true)
if [[ -n $system_bird ]]; then
  system_version=$("$system_bird" --version 2>&1 | sed -n 's/^BIRD version //p')
else
  system_version=
fi
if [[ $version == system || ($version == "$system_version" && -n $system_version) ]]; then
  [[ -n $system_bird ]] || { echo "bird-sbin: no system bird on PATH" >&2; exit 1; }
  dirname "$system_bird"
  exit 0
fi
builder=${VIPCONTROL_BUILD_BIRD:-}
if [[ -z $builder ]]; then
  for candidate in "$repo/../shared/tools/build-bird" /work/shared/tools/build-bird; do
    if [[ -x $candidate ]]; then builder=$candidate; break; fi
  done
fi
[[ -n $builder ]] || { echo "bird-sbin: BIRD $version is not the system's ($system_version) and no build-bird was found (set VIPCONTROL_BUILD_BIRD)" >&2; exit 1; }
exec 9>"/tmp/vipcontrol-build-bird-$version.lock"
flock 9
"$builder" "$version"

#!/usr/bin/env bash
# Installs what vipcontrol's lab and tests need on a fresh Debian machine, then builds the workspace.
# Idempotent: a second run installs nothing new. Needs root (apt-get, network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
for spec in bird:bird2 redis-server:redis-server redis-sentinel:redis-sentinel ip:iproute2 exabgp:exabgp \
  openssl:openssl setpriv:util-linux curl:curl strip:binutils dpkg-shlibdeps:dpkg-dev; do
  cmd=${spec%%:*} pkg=${spec#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if ((${#need_pkgs[@]})); then
  echo "setup: installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps Debian from starting the packaged bird/redis services: the lab and tests start
  # their own instances on private sockets and ports.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run build

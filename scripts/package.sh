#!/usr/bin/env bash
# Builds build/vipcontrol_<version>_<arch>.deb from the tree (production code only).
#
#   bash scripts/package.sh            (npm run package)
#
# The package carries its Node.js runtime privately (/usr/lib/vipcontrol/node): Debian 12's nodejs is
# 18, below what vipcontrol needs (20.19). The runtime is the build machine's own node binary — the
# one the test suite ran against — checked to be >= 20.19 and a plain ELF linked only against the C
# and C++ runtimes (dpkg-shlibdeps turns those into Depends:). The programs are an esbuild bundle of
# the production build (scripts/bundle.mjs): no node_modules, no tests, fixtures, benchmarks or lab.
# gzip, not xz: xz takes ~4 min for the 100 MB runtime on these machines, gzip 9 s (36 MB vs 25 MB).
# Needs: binutils (strip), dpkg-dev (dpkg-shlibdeps), dpkg-deb (--root-owner-group: no fakeroot), gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
node_bin=$(node -p 'process.execPath')
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) { console.error(`package: node ${process.versions.node} is below 20.19`); process.exit(1); }
'

if [[ ! -d node_modules ]]; then npm ci --no-audit --no-fund; fi
npx tsc --build tsconfig.prod.json

out=build
stage=$out/stage
rm -rf "$stage" && mkdir -p "$stage"
umask 022
lib=$stage/usr/lib/vipcontrol
doc=$stage/usr/share/doc/vipcontrol
install -d "$lib/app" "$stage/usr/bin" "$stage/usr/sbin" "$stage/lib/systemd/system" "$stage/usr/lib/sysusers.d" \
  "$stage/etc/vipcontrol" "$doc/docs" "$stage/usr/share/man/man1" "$stage/usr/share/man/man8" \
  "$stage/usr/share/bash-completion/completions" "$stage/DEBIAN"

# Programs: the bundle, the runtime, and /usr/bin + /usr/sbin entry points.
node scripts/bundle.mjs "$lib/app"
mv "$lib/app/bundled-packages.json" "$out/bundled-packages.json"
# Stripped (Debian policy 10.1): --strip-unneeded keeps what the runtime needs (86 MB instead of 99).
strip --strip-unneeded -o "$lib/node" "$node_bin" && chmod 0755 "$lib/node"
for prog in vipctl:bin vipcontrol:sbin viphealth:sbin; do
  name=${prog%%:*} dir=${prog#*:}
  printf '#!/bin/sh\nexec /usr/lib/vipcontrol/node /usr/lib/vipcontrol/app/%s.mjs "$@"\n' "$name" >"$stage/usr/$dir/$name"
  chmod 0755 "$stage/usr/$dir/$name"
done

# systemd, the system user, configs (conffiles).
install -m 0644 systemd/vipcontrol.service systemd/viphealth.service "$stage/lib/systemd/system/"
install -m 0644 packaging/debian/sysusers.conf "$stage/usr/lib/sysusers.d/vipcontrol.conf"
install -m 0644 packaging/etc/vipcontrol.yaml packaging/etc/viphealth.yaml "$stage/etc/vipcontrol/"

# Man pages and completion from the programs' own commander definitions.
node scripts/cli-docs.mjs "$out/cli-docs"
gzip -9n -c "$out/cli-docs/vipctl.1" >"$stage/usr/share/man/man1/vipctl.1.gz"
gzip -9n -c "$out/cli-docs/vipcontrol.8" >"$stage/usr/share/man/man8/vipcontrol.8.gz"
gzip -9n -c "$out/cli-docs/viphealth.8" >"$stage/usr/share/man/man8/viphealth.8.gz"
install -m 0644 "$out/cli-docs/vipctl.bash-completion" "$stage/usr/share/bash-completion/completions/vipctl"
install -d "$stage/usr/share/lintian/overrides"
install -m 0644 packaging/debian/lintian-overrides "$stage/usr/share/lintian/overrides/vipcontrol"

# Docs, the Puppet module, changelog and copyright.
install -m 0644 README.md "$doc/"
install -m 0644 docs/*.md "$doc/docs/"
if [[ -d puppet/vipcontrol ]]; then
  install -d "$doc/puppet"
  cp -r puppet/vipcontrol "$doc/puppet/vipcontrol"
  find "$doc/puppet" -type d -exec chmod 0755 {} + && find "$doc/puppet" -type f -exec chmod 0644 {} +
fi
date=$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" packaging/debian/changelog.in | gzip -9n >"$doc/changelog.gz"
node scripts/deb-copyright.mjs "$out/bundled-packages.json" "$node_bin" >"$doc/copyright"

# Control: Depends of the runtime from dpkg-shlibdeps (it needs a debian/control to run in).
shl=$out/shlibs
rm -rf "$shl" && mkdir -p "$shl/debian"
printf 'Source: vipcontrol\n\nPackage: vipcontrol\nArchitecture: any\n' >"$shl/debian/control"
shlibs=$(cd "$shl" && dpkg-shlibdeps -O -e "$root/$lib/node" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n "$shlibs" ]] || { echo "package: dpkg-shlibdeps found no dependencies for $node_bin" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
  packaging/debian/control.in >"$stage/DEBIAN/control"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
printf '/etc/vipcontrol/vipcontrol.yaml\n/etc/vipcontrol/viphealth.yaml\n' >"$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/control"

deb=$out/vipcontrol_${version}_${arch}.deb
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s) dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "$deb"

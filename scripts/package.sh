#!/usr/bin/env bash
# Builds the release artifacts into dist/ (see README, "Packaging"):
#
#   dist/smrun                     fully static x86-64 executable, stripped, GNU debuglink to:
#   dist/smrun.debug               its debug info
#   dist/smrun_<version>_<arch>.deb  installs /usr/bin/smrun, depends on nothing
#
# Configures build-static/ (SMRUN_PACKAGE_BUILD_DIR overrides) with -DSMRUN_STATIC=ON, which
# builds the smrun target only, then checks what it made: no dynamic section, size, debuglink,
# `smrun version`, the package's contents, and (as root) that the binary runs in a root
# filesystem that holds nothing else. Usage: scripts/package.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/setup-deps.sh"

dir="${SMRUN_PACKAGE_BUILD_DIR:-build-static}"
max_bytes=$((12 * 1024 * 1024))

echo "== package: configure $dir (static, RelWithDebInfo, smrun only)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMRUN_STATIC=ON \
  -DSMRUN_BUILD_TESTS=OFF -DSMRUN_BUILD_EXAMPLES=OFF >/dev/null
echo "== package: build smrun, strip into smrun + smrun.debug"
# glibc warns that getaddrinfo & co. in a static program want its shared NSS modules at run time:
# expected (files and dns are built into glibc >= 2.34; cmake/static.cmake), so not shown.
if ! cmake --build "$dir" -j "$(nproc)" --target smrun_dist 2>&1 |
  { grep -v -e 'in statically linked applications requires at runtime' -e ': in function `' || true; }; then
  echo "package: build failed"
  exit 1
fi
echo "== package: .deb (cpack)"
rm -rf "$dir/package"
(cd "$dir" && cpack -G DEB -B package >/dev/null)

rm -rf dist
mkdir dist
cp "$dir/dist/smrun" "$dir/dist/smrun.debug" dist/
debs=("$dir"/package/smrun_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "package: expected one .deb in $dir/package"; exit 1; }
cp "${debs[0]}" dist/
deb="dist/$(basename "${debs[0]}")"

fail() { echo "package: FAILED: $*"; exit 1; }
echo "== package: checks"
ldd_out="$(ldd dist/smrun 2>&1 || true)"
echo "$ldd_out" | grep -q "not a dynamic executable" || fail "ldd dist/smrun: $ldd_out"
readelf -l dist/smrun | grep -q INTERP && fail "dist/smrun has a program interpreter"
readelf -S dist/smrun | grep -q '\.debug_info' && fail "dist/smrun still has debug info"
[ "$(readelf --string-dump=.gnu_debuglink dist/smrun | awk '/\]/ {print $3; exit}')" = smrun.debug ] ||
  fail "dist/smrun has no debuglink to smrun.debug"
readelf -S dist/smrun.debug | grep -q '\.debug_info' || fail "dist/smrun.debug has no debug info"
size="$(stat -c %s dist/smrun)"
[ "$size" -le "$max_bytes" ] || fail "dist/smrun is $size bytes, more than $max_bytes"
version="$(dist/smrun version)"
echo "$version" | grep -Eq '^smrun [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{7,}|unknown), RelWithDebInfo, static\)$' ||
  fail "dist/smrun version printed: $version"
dpkg-deb --contents "$deb" | grep -Eq ' \./usr/bin/smrun$' || fail "$deb does not install /usr/bin/smrun"
[ -z "$(dpkg-deb --field "$deb" Depends)" ] || fail "$deb has dependencies"
unpacked="$(mktemp -d)"
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb --extract "$deb" "$unpacked"
cmp -s "$unpacked/usr/bin/smrun" dist/smrun || fail "$deb's /usr/bin/smrun is not dist/smrun"

# In a root filesystem with nothing but smrun (no libc, no loader, no /etc): it starts and packs.
if [ "$(id -u)" -eq 0 ]; then
  bare="$unpacked/bare"
  mkdir -p "$bare/model/sub"
  cp dist/smrun "$bare/smrun"
  echo weights >"$bare/model/sub/w.bin"
  chroot "$bare" /smrun version >/dev/null || fail "dist/smrun version in an empty root"
  chroot "$bare" /smrun pack /model /model.tar.gz >/dev/null 2>&1 || fail "dist/smrun pack in an empty root"
  [ "$(tar -xzOf "$bare/model.tar.gz" sub/w.bin)" = weights ] || fail "the packed archive is wrong"
  echo "package: runs in an empty root (version, pack)"
else
  echo "package: not root: the empty-root check is skipped"
fi

echo "== package: done"
echo "$version"
ls -l dist/

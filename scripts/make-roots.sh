#!/usr/bin/env bash
# Makes the Debian root filesystems that the portable tests (tests/portable) run dist/smrun in,
# cached OUTSIDE the repository:
#
#   $SMRUN_ROOTS_DIR/<suite>-<hash>   the root (debootstrap --variant=minbase --include=python3)
#   $SMRUN_ROOTS_DIR/<suite>          symlink to the current one (what the tests open)
#
# <hash> is a hash of the recipe (suite, variant, packages, architecture, RECIPE_VERSION below),
# so changing the recipe makes a new root and the old one is deleted. Idempotent: a root whose
# recipe is unchanged is kept and the script returns at once. Roots are built in a temporary
# directory and renamed into place, so an interrupted run never leaves a half-made root behind.
# Tests never write into a root (they mount an overlay on it).
#
# Usage: scripts/make-roots.sh [--refresh] [SUITE...]      (default suites: bullseye trixie)
#   --refresh       delete and rebuild the named roots even when they are current
# Environment:
#   SMRUN_ROOTS_DIR       cache directory (default /var/cache/smrun-roots)
#   SMRUN_DEBIAN_MIRROR   Debian mirror (default: the first .../debian URI of this machine's apt
#                         sources, else http://deb.debian.org/debian). Suites the mirror no longer
#                         carries are on http://archive.debian.org/debian.
# Needs root (debootstrap) and Debian's debootstrap + debian-archive-keyring (setup-deps.sh).
set -euo pipefail

# Bump when anything below changes what ends up in a root (not needed for suites/packages:
# they are part of the hash already).
RECIPE_VERSION=1
VARIANT=minbase
INCLUDE=python3

cache="${SMRUN_ROOTS_DIR:-/var/cache/smrun-roots}"
refresh=0
suites=()
for arg in "$@"; do
  case "$arg" in
    --refresh) refresh=1 ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "make-roots: unknown option $arg" >&2; exit 64 ;;
    *) suites+=("$arg") ;;
  esac
done
[ ${#suites[@]} -gt 0 ] || suites=(bullseye trixie)

if [ "$(id -u)" -ne 0 ]; then
  echo "make-roots: needs root (debootstrap); run with sudo" >&2
  exit 77
fi
command -v debootstrap >/dev/null || { echo "make-roots: debootstrap missing (scripts/setup-deps.sh)" >&2; exit 1; }

# The mirror this machine's apt already uses: deb822 "URIs:" lines and one-line "deb URI ..."
# entries, the first one ending in /debian (not debian-security).
apt_mirror() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+' "${files[@]}" \
    | grep -oE '[a-z]+://[^[:space:]]+' | sed 's:/*$::' | grep -E '/debian$' | head -n 1
}
mirror="${SMRUN_DEBIAN_MIRROR:-$(apt_mirror)}"
mirror="${mirror:-http://deb.debian.org/debian}"
arch="$(dpkg --print-architecture)"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one make-roots at a time per cache

# Makes (or finds) the root of one suite and points <suite> at it.
make_root() {
  local suite="$1" recipe hash dir tmp start log attempt old
  recipe="smrun-root v$RECIPE_VERSION suite=$suite variant=$VARIANT include=$INCLUDE arch=$arch"
  hash="$(printf '%s\n' "$recipe" | sha256sum | cut -c1-12)"
  dir="$cache/$suite-$hash"
  if [ "$refresh" = 1 ]; then rm -rf "$dir"; fi
  if [ -f "$dir/.smrun-root-recipe" ] && [ "$(cat "$dir/.smrun-root-recipe")" = "$recipe" ]; then
    echo "make-roots: $suite: cached at $dir"
  else
    tmp="$cache/.tmp-$suite-$hash"
    rm -rf "$tmp" "$dir"
    echo "make-roots: $suite: debootstrap --variant=$VARIANT --include=$INCLUDE from $mirror"
    start=$(date +%s)
    log="$cache/.debootstrap-$suite.log"
    # A second attempt rides out a transient mirror error; a real problem fails twice.
    attempt=1
    until debootstrap --variant="$VARIANT" --include="$INCLUDE" --arch="$arch" \
        "$suite" "$tmp" "$mirror" >"$log" 2>&1; do
      tail -n 30 "$log" >&2
      rm -rf "$tmp"
      if [ "$attempt" -ge 2 ]; then
        echo "make-roots: debootstrap of $suite from $mirror failed twice (full log: $log);" \
          "if the mirror no longer carries $suite, set SMRUN_DEBIAN_MIRROR=http://archive.debian.org/debian" >&2
        exit 1
      fi
      attempt=$((attempt + 1))
      echo "make-roots: $suite: debootstrap failed, trying once more" >&2
    done
    # Downloaded packages and index files are not needed to run anything; dropping them makes
    # the root (and the image imported from it) about a third smaller.
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_* "$tmp"/var/log/*.log
    printf '%s\n' "$recipe" >"$tmp/.smrun-root-recipe"
    mv -T "$tmp" "$dir"
    echo "make-roots: $suite: made $dir in $(($(date +%s) - start)) s ($(du -sh "$dir" | cut -f1))"
  fi
  # Point <suite> at the current root (atomically), then drop roots of older recipes.
  ln -sfn "$suite-$hash" "$cache/.link-$suite"
  mv -T "$cache/.link-$suite" "$cache/$suite"
  for old in "$cache/$suite"-*; do
    if [ -d "$old" ] && [ "$old" != "$dir" ]; then
      echo "make-roots: removing stale $old"
      rm -rf "$old"
    fi
  done
}

# The suites are made side by side: debootstrap mostly waits on the mirror and on dpkg's fsyncs.
pids=()
declare -A started=()
for suite in "${suites[@]}"; do
  [ -z "${started[$suite]:-}" ] || continue
  started[$suite]=1
  make_root "$suite" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit "$status"

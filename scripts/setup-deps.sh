#!/usr/bin/env bash
# Installs smrun's build and test dependencies from Debian's archive. Idempotent and
# non-interactive: packages already present are not touched, and apt-get runs only if something
# is missing. Needs root (or sudo) when it has to install.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config git
  libboost-dev nlohmann-json3-dev libcxxopts-dev libspdlog-dev libfmt-dev
  libarchive-dev libdeflate-dev liburing-dev zlib1g-dev nettle-dev libssl-dev libpugixml-dev
  # static archives libarchive.a needs, and objcopy: the static package (scripts/package.sh)
  libacl1-dev liblzma-dev libbz2-dev libzstd-dev binutils
  libgtest-dev libgmock-dev
  python3 python3-venv python3-pip python3-torch pigz tar gzip procps clang-format ccache
  clang libclang-rt-14-dev
  libtorch-dev libgloo-dev
  busybox-static strace
  python3-botocore openssl nodejs
  openmpi-bin libopenmpi-dev openssh-server openssh-client
  debootstrap debian-archive-keyring podman runc
  # headless rendering of output/data/metrics.svg (tests/metrics/svg_render_test.cpp)
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Configures and builds smrun. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# The binary ends up at BUILD_DIR/smrun (default build/smrun).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"

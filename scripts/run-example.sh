#!/usr/bin/env bash
# README command 1: set up, build, and run the bundled example job end to end with
# `smrun local`: the PyTorch DDP example (examples/pytorch-ddp/train.py, gloo on CPU) on two
# simulated hosts with two ranks each, every host its own `smrun train` on its own loopback
# address and /opt/ml tree, no Docker and no root needed. Prints where model.tar.gz landed.
#
# Builds only what it runs: the smrun target in build/ (not the tests, benchmarks and examples
# as well). build/ is configured exactly as scripts/build.sh configures it, so README command 2
# (scripts/test.sh) later builds the rest there and reuses smrun.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target smrun

out="$(mktemp -d /tmp/smrun-example-XXXXXX)"
echo "== smrun local: 2 hosts x 2 ranks of examples/pytorch-ddp/train.py into $out/job"
set +e
# Debian's python3-torch lives under /usr/bin/python3.
SMRUN_PYTHON=/usr/bin/python3 "$root/build/smrun" local \
  --hosts 2 --nproc-per-node 2 \
  --program train.py --source-dir "$root/examples/pytorch-ddp" \
  --hp epochs=20 --hp lr=0.1 \
  --output "$out/job"
status=$?
set -e
echo "== smrun local exited with $status"
if [ "$status" -ne 0 ]; then
  for f in "$out"/job/algo-*/output/failure; do
    [ -f "$f" ] && { echo "== $f:"; cat "$f"; }
  done
  exit "$status"
fi
echo "== model archive: $out/job/model.tar.gz"
tar -tzvf "$out/job/model.tar.gz"
echo "== output archive: $out/job/output.tar.gz"
tar -tzvf "$out/job/output.tar.gz"

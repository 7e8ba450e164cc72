#!/usr/bin/env bash
# README command 1: set up, build, and run the bundled quickstart job end to end through
# `build/smrun train` on a temporary /opt/ml tree. Prints where model.tar.gz landed.
#
# Builds only what it runs: the smrun target in build/ (about 100 compile steps, not the tests,
# benchmarks and examples as well). build/ is configured exactly as scripts/build.sh configures
# it, so README command 2 (scripts/test.sh) later builds the rest there and reuses smrun.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target smrun

job="$(mktemp -d /tmp/smrun-quickstart-XXXXXX)"
cp -r "$root/examples/quickstart/opt_ml/." "$job/"
# The code travels as a sourcedir.tar.gz, the way the SageMaker SDK ships it.
tar -czf "$job/sourcedir.tar.gz" -C "$root/examples/quickstart/code" .

echo "== running the quickstart job in $job"
set +e
SAGEMAKER_BASE_DIR="$job" SAGEMAKER_SUBMIT_DIRECTORY="file://$job/sourcedir.tar.gz" \
  SMRUN_PYTHON="$(command -v python3)" "$root/build/smrun" train
status=$?
set -e
echo "== smrun exited with $status"
if [ "$status" -ne 0 ]; then
  echo "== output/failure:"; cat "$job/output/failure" 2>/dev/null || true
  exit "$status"
fi
echo "== model archive: $job/output/model.tar.gz"
tar -tzvf "$job/output/model.tar.gz"
echo "== model.json:"
tar -xzOf "$job/output/model.tar.gz" model.json

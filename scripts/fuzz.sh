#!/usr/bin/env bash
# Builds smrun's libFuzzer targets (fuzz/) with clang + ASan + UBSan in build-fuzz/ and runs each
# over its seed corpus (fuzz/corpus/<target>/) for a bounded number of executions. Fails on the
# first crash, sanitizer report, leak, timeout or broken invariant; the input that triggered it is
# saved as build-fuzz/fuzz/artifacts/<target>/crash-* (rerun: build-fuzz/fuzz/<target> FILE).
#
#   scripts/fuzz.sh [RUNS_PER_TARGET] [TARGET...]     default: 20000 runs, all targets (-1: no limit)
#   SMRUN_FUZZ_MAX_TIME=SECONDS caps each target's run (default 300)
#
# New inputs a run discovers go to a scratch directory, never into the committed seeds. A long
# run of one target (an hour; -jobs=N -workers=N for several cores; TMPDIR=/dev/shm speeds up
# the targets that write file trees):
#   mkdir -p /tmp/fuzz-extract && build-fuzz/fuzz/fuzz_extract -max_total_time=3600 -timeout=30 \
#       /tmp/fuzz-extract fuzz/corpus/fuzz_extract
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

runs="${1:-20000}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_py_json fuzz_job_config fuzz_hyperparams fuzz_extract fuzz_s3_url
  fuzz_s3_xml fuzz_shared_file fuzz_credentials_json)
max_time="${SMRUN_FUZZ_MAX_TIME:-300}"
dir="${SMRUN_FUZZ_BUILD_DIR:-build-fuzz}"

echo "== fuzz: build ${targets[*]} (clang, libFuzzer + ASan + UBSan) in $dir"
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSMRUN_BUILD_FUZZERS=ON >/dev/null
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/smrun-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
# The targets make their temp trees under $TMPDIR: keep them (and crash leftovers) in the scratch.
export TMPDIR="$scratch/tmp"
mkdir -p "$TMPDIR"
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "$dir/fuzz/artifacts/$t"
  log="$dir/fuzz/artifacts/$t/last-run.log"
  echo "== fuzz: $t ($runs runs, at most ${max_time}s)"
  if "$dir/fuzz/$t" -runs="$runs" -max_total_time="$max_time" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/fuzz/artifacts/$t/" \
    "$scratch/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|(INITED|DONE) +cov:' "$log" |
      sed "s/^/  /" || true
  else
    echo "  FAILED: $t (log: $log)"
    tail -n 40 "$log" | sed "s/^/  | /"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) passed"

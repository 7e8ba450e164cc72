#!/usr/bin/env bash
# README command 2 (and what CI runs): install dependencies, check formatting, build, run the
# whole test suite, package dist/smrun and run it in foreign roots and images, then build and
# run the suite again under AddressSanitizer + UBSan.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/setup-deps.sh"
"$root/scripts/setup-s3rver.sh"  # npm s3rver for the s3 tests (tests/s3/s3rver)

echo "== formatting (clang-format --dry-run)"
git ls-files '*.cpp' '*.hpp' | grep -v '^src/base/unicode_tables' | xargs clang-format --dry-run -Werror

jobs="$(nproc)"
echo "== build (RelWithDebInfo)"
"$root/scripts/build.sh" build
echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300 -LE portable
echo "== bench smoke (bench/run --quick: the benchmarks work; no timing is asserted)"
bench/run --quick --smrun build/smrun --out build/bench-quick

if [ "${SMRUN_SKIP_PORTABLE:-0}" != "1" ]; then
  # The packaged static binary in foreign roots and in the docker/ images (tests/portable):
  # dist/smrun, the cached Debian roots (made once, reused while their recipe is unchanged),
  # then the tests, which fail rather than skip when any of that is missing.
  if [ "$(id -u)" -ne 0 ]; then
    echo "== portable tests SKIPPED: they need root (debootstrap, chroot, namespaces, podman)"
  else
    portable_start=$SECONDS
    echo "== package (scripts/package.sh -> dist/smrun)"
    "$root/scripts/package.sh"
    echo "== foreign roots (scripts/make-roots.sh)"
    "$root/scripts/make-roots.sh" bullseye trixie
    echo "== portable tests (dist/smrun in foreign roots and podman images)"
    SMRUN_PORTABLE_REQUIRED=1 ctest --test-dir build --output-on-failure -j "$jobs" -L portable
    echo "== portable stage: $((SECONDS - portable_start)) s"
  fi
fi

if [ "${SMRUN_SKIP_FUZZ:-0}" != "1" ]; then
  # A smoke run of the libFuzzer targets over their seed corpora (scripts/fuzz.sh; long runs are
  # documented there and in docs/reliability.md). Builds only the five libraries they link.
  echo "== fuzz smoke (libFuzzer + ASan + UBSan, clang)"
  SMRUN_FUZZ_MAX_TIME=60 "$root/scripts/fuzz.sh" 3000
fi

if [ "${SMRUN_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== build (ASan + UBSan)"
  BUILD_TYPE=Debug "$root/scripts/build.sh" build-asan -DSMRUN_SANITIZE=ON -DSMRUN_BUILD_EXAMPLES=OFF
  echo "== tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 600
fi

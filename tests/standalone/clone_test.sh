#!/usr/bin/env bash
# The repository stands alone: clone SOURCE_DIR's HEAD into WORK_DIR/clone/smrun (a folder with
# nothing beside it, so no sibling folder such as a shared/ can be found), configure and build
# smrun plus smrun_vectors_test (the acceptance-vector tests, reading tests/data) there, check that
# no build file names the original checkout, and run the tests.
#
#   tests/standalone/clone_test.sh SOURCE_DIR WORK_DIR       (ctest: standalone_clone)
#
# Cheap on purpose: a Debug build (no optimisation) of the smrun target and five test sources,
# at a fixed path so that ccache serves every re-run. Exit 77 (skipped) outside a git checkout.
set -euo pipefail
src="$(cd "$1" && pwd)"
work="$2"

if ! head="$(git -C "$src" rev-parse --verify -q HEAD)"; then
  echo "standalone_clone: $src is not a git checkout with a commit: skipped"
  exit 77
fi

parent="$work/clone"
clone="$parent/smrun"
rm -rf "$parent"
mkdir -p "$parent"
git clone -q --no-checkout "$src" "$clone"
git -C "$clone" -c advice.detachedHead=false checkout -q --detach "$head"
echo "standalone_clone: $head cloned into $clone"

# Nothing outside the documentation names the shared folder that used to sit beside checkouts.
if git -C "$clone" grep -n -e '\.\./shared' -- . ':!*.md'; then
  echo "standalone_clone: FAILED: the files above still point beside the checkout"
  exit 1
fi

others="$(ls -A "$parent" | grep -vx smrun || true)"
if [ -n "$others" ]; then
  echo "standalone_clone: FAILED: the clone's parent is not empty: $others"
  exit 1
fi

cmake -S "$clone" -B "$clone/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DSMRUN_BUILD_EXAMPLES=OFF >"$parent/configure.log" ||
  { cat "$parent/configure.log"; exit 1; }
cmake --build "$clone/build" -j "$(nproc)" --target smrun smrun_vectors_test

# Nothing in the clone's build may point back at the original checkout (the clone itself may
# live inside it, under its build directory).
python3 - "$src" "$clone" "$clone/build/build.ninja" "$clone/build/compile_commands.json" <<'PY'
import sys
src, clone, files = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = [f for f in files if src + "/" in open(f).read().replace(clone, "<clone>")]
if bad:
    sys.exit(f"standalone_clone: FAILED: {', '.join(bad)} name {src}")
PY

"$clone/build/tests/smrun_vectors_test" --gtest_brief=1 | tee "$parent/tests.log"
grep -Eq '^\[  PASSED  \] [0-9]+ tests?\.' "$parent/tests.log"
rm -rf "$parent"
echo "standalone_clone: the clone built and passed its vector tests without anything beside it"

#!/usr/bin/env bash
# Distributed launcher overhead and teardown latency on one host: smrun's `native` launcher
# against Debian's torchrun (python3-torch), measured in the same run, N ranks on this machine.
#
#   overhead   wall time from launch to launcher exit for a job whose ranks exit 0 at once
#              (a Python script without imports, so the launcher's own cost dominates)
#   teardown   rank N-1 writes time.time_ns() to a file and exits 3 while the other ranks block
#              in signal.pause(); time from that stamp to the launcher's exit (taken by this
#              script with `date +%s%N` right after `wait` returns)
#   gloo       (LAUNCHER_BENCH_GLOO=1) end to end: every rank imports torch.distributed,
#              init_process_group("gloo"), barrier, destroy
#
# torchrun is run as `torchrun --redirects 2 --tee 1 --log_dir DIR --nproc_per_node N
# --standalone script.py`: Debian's torchrun 1.13 crashes at start-up on Python 3.11 unless
# --redirects/--tee are given (an AttributeError in elastic/multiprocessing/api.py to_map), and
# with them it tees stdout with a rank prefix, as smrun relays rank output. Its default monitor
# interval (5 s) bounds both how soon it notices that the ranks are done and how soon it notices
# a failure; LAUNCHER_BENCH_TUNED=1 adds a row with --monitor_interval 0.1 for comparison.
#
# Usage: bench/launcher_bench.sh [RANKS] [RUNS]     (defaults 4 and 10; about 2.5-3 min)
# Environment:
#   SMRUN_BIN              smrun binary (default build/smrun)
#   TORCHRUN               torchrun program (default /usr/bin/torchrun)
#   LAUNCHER_BENCH_TUNED=1 also torchrun --monitor_interval 0.1 (adds ~1 min)
#   LAUNCHER_BENCH_GLOO=1  also the gloo end-to-end case, LAUNCHER_BENCH_GLOO_RUNS runs each
#                          (default 3; each run imports torch in every rank)
# A benchmark, not a test: nothing runs it in CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ranks="${1:-4}"
runs="${2:-10}"
smrun="${SMRUN_BIN:-$root/build/smrun}"
torchrun="${TORCHRUN:-/usr/bin/torchrun}"
py=/usr/bin/python3
[[ $ranks =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: $0 [RANKS] [RUNS]" >&2
  exit 64
}
[ -x "$smrun" ] || { echo "$smrun not found: run scripts/build.sh first" >&2; exit 1; }
[ -x "$torchrun" ] || { echo "$torchrun not found: apt-get install python3-torch" >&2; exit 1; }

work="$(mktemp -d /tmp/smrun-launcher-bench-XXXXXX)"
bg_pid=
cleanup() {
  # A launcher left running by an interrupted run: let it stop its ranks (SIGTERM), then kill
  # whatever is left of its process group, then remove the tree.
  if [[ -n $bg_pid ]]; then
    kill -TERM "$bg_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$bg_pid" 2>/dev/null && sleep 0.5; done
    kill -KILL -- "-$bg_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export TMPDIR="$work" # torchrun and Python's tempfile stay inside the work tree
set -m                # background jobs get their own process group (see cleanup)

# -- the worker programs -------------------------------------------------------------------------
mkdir -p "$work/code" "$work/logs"
printf 'import sys\nsys.exit(0)\n' >"$work/code/noop.py"
cat >"$work/code/teardown.py" <<'PY'
import os, signal, sys, time
if os.environ["RANK"] == str(int(os.environ["WORLD_SIZE"]) - 1):
    stamp = os.environ["BENCH_STAMP"]
    with open(stamp + ".tmp", "w") as f:
        f.write(str(time.time_ns()))
    os.rename(stamp + ".tmp", stamp)
    os._exit(3)
while True:
    signal.pause()
PY
cat >"$work/code/gloo.py" <<'PY'
import torch.distributed as dist
dist.init_process_group("gloo")
dist.barrier()
dist.destroy_process_group()
PY

# An /opt/ml tree for smrun running PROGRAM under the native launcher (single host).
make_job() { # make_job DIR PROGRAM
  mkdir -p "$1/input/config" "$1/code" "$1/model"
  cp "$work/code/$2" "$1/code/"
  printf '{"sagemaker_program": "\\"%s\\"", "sagemaker_torch_distributed_enabled": "true"}\n' \
    "$2" >"$1/input/config/hyperparameters.json"
  echo '{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"}' \
    >"$1/input/config/resourceconfig.json"
  echo '{}' >"$1/input/config/inputdataconfig.json"
}
for p in noop.py teardown.py gloo.py; do make_job "$work/ml-${p%.py}" "$p"; done

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The launcher commands, as arrays filled by launcher_argv.
launcher_argv() { # launcher_argv NAME CASE RUN  -> sets argv and launcher_env
  local name=$1 case=$2 run=$3
  launcher_env=(BENCH_STAMP="$work/stamp")
  case $name in
  smrun)
    rm -rf "$work/ml-$case/output"
    argv=("$smrun" train)
    launcher_env+=(SAGEMAKER_BASE_DIR="$work/ml-$case" SMRUN_PYTHON="$py"
      SMRUN_NPROC_PER_NODE="$ranks" SMRUN_PACK_MODEL=0 SMRUN_MASTER_PORT="$(free_port)"
      SMRUN_HOST_ADDRESSES=algo-1=127.0.0.1 SMRUN_MASTER_ADDR_IP=1 GLOO_SOCKET_IFNAME=lo)
    ;;
  torchrun | torchrun-0.1)
    argv=("$torchrun" --redirects 2 --tee 1 --log_dir "$work/logs/$name-$case-$run"
      --nproc_per_node "$ranks" --standalone)
    [[ $name == torchrun-0.1 ]] && argv+=(--monitor_interval 0.1)
    argv+=("$work/code/$case.py")
    launcher_env+=(GLOO_SOCKET_IFNAME=lo)
    ;;
  esac
}

now_ns() { date +%s%N; }
median_ms() { # median of the nanosecond values on stdin, in ms with 1 decimal
  sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f", m / 1e6 }'
}

# Runs CASE with launcher NAME RUNS times; sets `median` (ms). Not run in a subshell, so that
# bg_pid stays visible to cleanup. The launcher must exit with
# EXPECT (0, or "fail": any non-zero code).
measure() { # measure NAME CASE RUNS EXPECT
  local name=$1 case=$2 n=$3 expect=$4 run rc t0 t1 stamp samples="$work/samples"
  : >"$samples"
  for ((run = 0; run < n; run++)); do
    launcher_argv "$name" "$case" "$run"
    rm -f "$work/stamp"
    local log="$work/logs/$name-$case-$run.log"
    t0=$(now_ns)
    env "${launcher_env[@]}" "${argv[@]}" >"$log" 2>&1 </dev/null &
    bg_pid=$!
    rc=0
    wait "$bg_pid" || rc=$?
    t1=$(now_ns)
    bg_pid=
    if [[ $expect == 0 && $rc != 0 ]] || [[ $expect == fail && $rc == 0 ]]; then
      echo "$name $case run $run: exit code $rc, expected $expect; log:" >&2
      tail -n 30 "$log" >&2
      exit 1
    fi
    if [[ $case == teardown ]]; then
      [[ -s $work/stamp ]] || { echo "$name: rank $((ranks - 1)) wrote no stamp" >&2; exit 1; }
      stamp=$(cat "$work/stamp")
      echo $((t1 - stamp)) >>"$samples"
    else
      echo $((t1 - t0)) >>"$samples"
    fi
  done
  median=$(median_ms <"$samples")
}

launchers=(smrun torchrun)
[[ ${LAUNCHER_BENCH_TUNED:-0} == 1 ]] && launchers+=(torchrun-0.1)
cases=("overhead noop $runs 0" "teardown teardown $runs fail")
[[ ${LAUNCHER_BENCH_GLOO:-0} == 1 ]] && cases+=("gloo gloo ${LAUNCHER_BENCH_GLOO_RUNS:-3} 0")

# Warm the page cache untimed: one no-op smrun job, and an import of torchrun's modules (cheaper
# than a whole torchrun job, which would spend seconds in its monitor interval).
measure smrun noop 1 0
"$py" -c 'import torch.distributed.run' >/dev/null 2>&1

declare -A result
for c in "${cases[@]}"; do
  read -r label case n expect <<<"$c"
  for l in "${launchers[@]}"; do
    echo "measuring $label: $l ($n runs) ..." >&2
    measure "$l" "$case" "$n" "$expect"
    result[$label,$l]=$median
  done
done

gloo_note=
[[ ${LAUNCHER_BENCH_GLOO:-0} == 1 ]] && gloo_note=" (gloo: ${LAUNCHER_BENCH_GLOO_RUNS:-3})"
echo "$ranks ranks on one host, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg);" \
  "median of $runs runs$gloo_note"
printf '%-10s' case
for l in "${launchers[@]}"; do printf ' %14s' "$l ms"; done
for l in "${launchers[@]:1}"; do printf ' %14s' "$l/smrun"; done
echo
for c in "${cases[@]}"; do
  read -r label _ <<<"$c"
  printf '%-10s' "$label"
  for l in "${launchers[@]}"; do printf ' %14s' "${result[$label,$l]}"; done
  for l in "${launchers[@]:1}"; do
    printf ' %13sx' "$(awk -v a="${result[$label,$l]}" -v b="${result[$label,smrun]}" \
      'BEGIN { printf "%.1f", a / b }')"
  done
  echo
done

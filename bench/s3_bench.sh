#!/usr/bin/env bash
# Benchmark: S3 download and upload throughput of smrun (`smrun s3 cp`, the client `train` uses
# for the code download and the intermediate-output upload) against the AWS CLI (`aws s3 cp`,
# Debian's awscli) and boto3's transfer manager (Debian's python3-boto3, or the python3 on PATH
# when it has boto3), all against the same local S3 server (npm s3rver on 127.0.0.1), in the same run.
#
#   bench/s3_bench.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
# Environment:
#   S3_BENCH_MB     object size in MiB (default 512)
#   S3_BENCH_RUNS   timed runs per contender and direction (default 3; the median is reported)
#   S3_BENCH_DIR    parent of the temporary directory (default: $TMPDIR or /tmp)
#
# Every client uses 8 concurrent requests and 16 MiB parts. s3rver (one Node.js process) is the
# ceiling for all of them, so the ratios say how much of that ceiling each client reaches; on real
# S3 the differences grow with the part parallelism. Only loopback traffic; everything started is
# stopped and removed on exit.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir=$(cd "${1:-$root/build}" && pwd)
mb=${S3_BENCH_MB:-512}
runs=${S3_BENCH_RUNS:-3}
py=/usr/bin/python3
smrun="$build_dir/smrun"
[ -x "$smrun" ] || { echo "no $smrun: build first" >&2; exit 1; }
[ -d "$root/tests/s3/s3rver/node_modules/s3rver" ] || "$root/scripts/setup-s3rver.sh"
command -v aws >/dev/null || { echo "aws CLI missing: apt-get install awscli" >&2; exit 1; }

work=$(mktemp -d "${S3_BENCH_DIR:-${TMPDIR:-/tmp}}/smrun-s3-bench-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# s3rver on a port the kernel picks; serve.js reports it on fd 3.
mkfifo "$work/port.fifo"
node "$root/tests/s3/s3rver/serve.js" \
  "{\"directory\": \"$work/data\", \"address\": \"127.0.0.1\", \"port\": 0, \"silent\": true, \"buckets\": [\"bench\"]}" \
  3>"$work/port.fifo" >"$work/s3rver.log" 2>&1 &
server_pid=$!
port=$("$py" -c 'import json,sys; print(json.loads(sys.stdin.readline())["port"])' <"$work/port.fifo")
endpoint="http://127.0.0.1:$port"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true HOME="$work/home"
export S3_ENDPOINT_URL="$endpoint" SMRUN_S3_CONCURRENCY=8 SMRUN_S3_PART_SIZE_MB=16
export SMRUN_S3_PROGRESS_SECONDS=3600
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/config" <<CFG
[default]
s3 =
  max_concurrent_requests = 8
  multipart_threshold = 16MB
  multipart_chunksize = 16MB
CFG

echo "generating a ${mb} MiB object ..." >&2
head -c $((mb << 20)) /dev/urandom >"$work/object.bin"
"$smrun" s3 cp "$work/object.bin" s3://bench/seed.bin 2>/dev/null

# boto3: Debian's python3-boto3 under /usr/bin/python3, else the python3 on PATH if it has one.
boto3_py=""
for candidate in "$py" python3; do
  if "$candidate" -c 'import boto3' 2>/dev/null; then
    boto3_py=$candidate
    break
  fi
done
boto3_cp() {  # boto3_cp get|put SRC DST
  "$boto3_py" - "$endpoint" "$@" <<'PY'
import sys
endpoint, op, src, dst = sys.argv[1:5]
import boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
cfg = TransferConfig(multipart_threshold=16 << 20, multipart_chunksize=16 << 20, max_concurrency=8)
if op == "get":
    bucket, key = src[5:].split("/", 1)
    s3.download_file(bucket, key, dst, Config=cfg)
else:
    bucket, key = dst[5:].split("/", 1)
    s3.upload_file(src, bucket, key, Config=cfg)
PY
}
have_boto3=0
[ -n "$boto3_py" ] && have_boto3=1
[ $have_boto3 = 1 ] || echo "boto3 missing (apt-get install python3-boto3): measuring without it" >&2

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() {  # time_ms CMD... -> milliseconds of one run
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
measure() {  # measure NAME DIRECTION CMD...
  local name=$1 dir=$2
  shift 2
  local samples=()
  for _ in $(seq "$runs"); do
    rm -f "$work/out.bin"
    samples+=("$(time_ms "$@")")
    if [ "$dir" = get ]; then cmp -s "$work/out.bin" "$work/object.bin" || {
      echo "$name: downloaded bytes differ" >&2
      exit 1
    }; fi
  done
  local ms
  ms=$(printf '%s\n' "${samples[@]}" | median)
  printf '%s %s %s\n' "$dir" "$name" "$ms" >>"$work/results"
}

for dir in get put; do
  if [ "$dir" = get ]; then
    measure smrun get "$smrun" s3 cp s3://bench/seed.bin "$work/out.bin"
    measure "aws s3 cp" get aws --endpoint-url "$endpoint" s3 cp s3://bench/seed.bin "$work/out.bin"
    [ $have_boto3 = 1 ] && measure boto3 get boto3_cp get s3://bench/seed.bin "$work/out.bin"
  else
    measure smrun put "$smrun" s3 cp "$work/object.bin" s3://bench/up-smrun.bin
    measure "aws s3 cp" put aws --endpoint-url "$endpoint" s3 cp "$work/object.bin" s3://bench/up-aws.bin
    [ $have_boto3 = 1 ] && measure boto3 put boto3_cp put "$work/object.bin" s3://bench/up-boto3.bin
  fi
done

echo
echo "S3 throughput, ${mb} MiB object, median of $runs runs, $(nproc) cores, $(date -u +%F), load $(cut -d' ' -f1 /proc/loadavg)"
echo "| direction | client | time | MiB/s | smrun speed-up |"
echo "|---|---|---|---|---|"
while read -r dir rest; do
  ms=${rest##* }
  name=${rest% *}
  base=$(awk -v d="$dir" '$1 == d && $2 == "smrun" {print $3}' "$work/results")
  awk -v d="$dir" -v n="$name" -v ms="$ms" -v mb="$mb" -v base="$base" 'BEGIN {
    printf "| %s | %s | %.2f s | %.0f | %s |\n", (d == "get" ? "download" : "upload"), n,
      ms / 1000, mb / (ms / 1000), (n == "smrun" ? "-" : sprintf("%.2fx", ms / base)) }'
done <"$work/results"

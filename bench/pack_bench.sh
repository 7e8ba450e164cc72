#!/usr/bin/env bash
# Benchmark: smrun's parallel pack vs `tar | pigz -6 -p N` vs `tar czf`, on a model-like corpus.
#
#   bench/pack_bench.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
# Environment:
#   PACK_BENCH_MB      approximate corpus size in MB (default 400)
#   PACK_BENCH_DIR     parent directory for the temporary corpus (default: $TMPDIR or /tmp)
#   PACK_BENCH_ARGS    extra arguments for the standalone driver, e.g. "--block-size 4194304"
#   PACK_BENCH_SKIP_TAR_CZF=1   skip the (slow) single-threaded tar czf run
#
# The packer is timed through `BUILD_DIR/smrun pack DIR OUT` when that subcommand works, otherwise
# through the standalone driver BUILD_DIR/bench/smrun_pack_bench (same library call). The input is
# read once before timing so every contender starts from a warm page cache. Everything created is
# removed on exit.
set -euo pipefail

build_dir=${1:-build}
corpus_mb=${PACK_BENCH_MB:-400}
threads=$(nproc)
py=/usr/bin/python3

work=$(mktemp -d "${PACK_BENCH_DIR:-${TMPDIR:-/tmp}}/smrun-pack-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
model="$work/model"
mkdir -p "$model/tokenizer" "$model/checkpoints"

echo "generating a ~${corpus_mb} MB model-like corpus in $model ..." >&2
"$py" - "$model" "$corpus_mb" <<'PY'
# float32/float16 weights drawn from N(0, 0.02) (what trained transformer weights look like to a
# compressor: random mantissas, clustered exponents), plus tokenizer/config text files.
import json, os, random, struct, sys
root, total_mb = sys.argv[1], int(sys.argv[2])
try:
    import numpy as np
    rng = np.random.default_rng(1234)
    def weights(path, count, dtype):
        rng.normal(0.0, 0.02, count).astype(dtype).tofile(path)
except ImportError:  # slower pure-Python fallback
    rnd = random.Random(1234)
    def weights(path, count, dtype):
        fmt = "e" if dtype == "float16" else "f"
        with open(path, "wb") as f:
            for start in range(0, count, 65536):
                n = min(65536, count - start)
                f.write(struct.pack("<%d%s" % (n, fmt), *(rnd.gauss(0, 0.02) for _ in range(n))))
mb = 1 << 20
text_mb = max(1, total_mb // 50)
weight_mb = total_mb - 2 * text_mb
shards = 4
for i in range(shards):
    weights(os.path.join(root, "model-%05d-of-%05d.bin" % (i + 1, shards)),
            (weight_mb * 3 // 4 // shards) * mb // 4, "float32")
weights(os.path.join(root, "checkpoints", "optimizer-fp16.bin"), (weight_mb // 4) * mb // 2,
        "float16")
rnd = random.Random(99)
letters = "abcdefghijklmnopqrstuvwxyz"
vocab, approx = {}, 0
while approx < text_mb * mb:
    word = "".join(rnd.choice(letters) for _ in range(rnd.randint(2, 12)))
    if word not in vocab:
        vocab[word] = len(vocab)
        approx += len(word) + 16  # '    "word": 12345,\n' once indented
with open(os.path.join(root, "tokenizer", "tokenizer.json"), "w") as f:
    json.dump({"version": "1.0", "model": {"type": "BPE", "vocab": vocab}}, f, indent=2)
with open(os.path.join(root, "tokenizer", "vocab.txt"), "w") as f:
    f.write("\n".join(vocab))
with open(os.path.join(root, "config.json"), "w") as f:
    json.dump({"hidden_size": 1024, "num_layers": 24, "vocab_size": len(vocab)}, f, indent=2)
open(os.path.join(root, "README.md"), "w").write("# model\n" * 100)
PY
cat "$model"/*.bin "$model"/*/* >/dev/null
input_bytes=$(find "$model" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')

# Wall and CPU (user+sys, children included) seconds of a command or pipeline, via bash's `time`
# keyword. CPU time is reported too because the machine may be shared: wall time then depends on
# the neighbours, CPU time much less so.
TIMEFORMAT='%R %U %S'
timed() {  # timed RESULT_FILE CMD...   (CMD may be a function running a pipeline)
  local out=$1
  shift
  { time "$@" >/dev/null 2>"$out.stderr"; } 2>"$out"
}
wall_of() { cut -d' ' -f1 "$1"; }
cpu_of() { "$py" -c "import sys; r, u, s = open(sys.argv[1]).read().split(); print(float(u) + float(s))" "$1"; }

# -- smrun ---------------------------------------------------------------------------------------
smrun_bin="$build_dir/smrun"
driver="$build_dir/bench/smrun_pack_bench"
probe="$work/probe"
mkdir -p "$probe/d"
echo x >"$probe/d/f"
if [[ -x $smrun_bin ]] && "$smrun_bin" pack "$probe/d" "$probe/o.tar.gz" >/dev/null 2>&1 &&
  [[ -s $probe/o.tar.gz ]]; then
  packer=("$smrun_bin" pack "$model" "$work/smrun.tar.gz")
  packer_name="smrun pack"
elif [[ -x $driver ]]; then
  # shellcheck disable=SC2206 # word splitting of the extra flags is intended
  packer=("$driver" "$model" "$work/smrun.tar.gz" ${PACK_BENCH_ARGS:-})
  packer_name="smrun_pack_bench"
else
  echo "neither '$smrun_bin pack' nor $driver works; build first" >&2
  exit 1
fi

timed "$work/t_smrun" "${packer[@]}"
smrun_size=$(stat -c %s "$work/smrun.tar.gz")
gzip -t "$work/smrun.tar.gz"

# -- tar | pigz ----------------------------------------------------------------------------------
tar_pigz() { tar -C "$model" -cf - . | pigz -6 -p "$threads" >"$work/pigz.tar.gz"; }
timed "$work/t_pigz" tar_pigz
pigz_size=$(stat -c %s "$work/pigz.tar.gz")

# -- tar czf -------------------------------------------------------------------------------------
echo "0 0 0" >"$work/t_tar"
tar_size=0
if [[ ${PACK_BENCH_SKIP_TAR_CZF:-0} != 1 ]]; then
  timed "$work/t_tar" tar -C "$model" -czf "$work/tar.tar.gz" .
  tar_size=$(stat -c %s "$work/tar.tar.gz")
fi

"$py" - "$input_bytes" "$threads" "$packer_name" "$smrun_size" "$pigz_size" "$tar_size" \
  "$work/t_smrun" "$work/t_pigz" "$work/t_tar" <<'PY'
import sys
inp, threads = int(sys.argv[1]), int(sys.argv[2])
def times(path):
    real, user, sys_ = (float(x) for x in open(path).read().split())
    return real, user + sys_
names = [sys.argv[3], "tar | pigz -6 -p %d" % threads, "tar czf"]
rows = [(n, *times(t), int(size)) for n, size, t in zip(names, sys.argv[4:7], sys.argv[7:10])]
print("input: %.1f MB, %d cores" % (inp / 1e6, threads))
print("%-20s %8s %8s %8s %14s %7s" % ("tool", "wall s", "MB/s", "cpu s", "output bytes", "ratio"))
for name, wall, cpu, size in rows:
    if wall <= 0:
        print("%-20s %8s" % (name, "skipped"))
        continue
    print("%-20s %8.2f %8.1f %8.2f %14d %7.4f" % (name, wall, inp / 1e6 / wall, cpu, size, size / inp))
ours, pigz, tar = rows
print("vs pigz:    %.2fx wall throughput, %.2fx cpu efficiency, %.4fx size (target >= 2x, <= 1.02x)"
      % (pigz[1] / ours[1], pigz[2] / ours[2], ours[3] / pigz[3]))
if tar[1] > 0:
    print("vs tar czf: %.2fx wall throughput, %.2fx cpu efficiency, %.4fx size (target >= 4x)"
          % (tar[1] / ours[1], tar[2] / ours[2], ours[3] / tar[3]))
PY

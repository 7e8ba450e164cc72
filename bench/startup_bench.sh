#!/usr/bin/env bash
# Start-up latency: wall time of a whole no-op training job (config read, environment, launch of
# a program that exits at once, report) through smrun, against peers measured in the same run:
#   direct      the no-op program exec'd directly (the floor)
#   py-floor    a minimal Python launcher: reads the three config files, sets SM_* and runs the
#               program with subprocess — a lower bound for any Python entrypoint such as the
#               reference toolkit (which also imports boto3, psutil, ... before launching)
#   py+boto3    the same plus `import boto3` as the reference does at start-up (only if Debian's
#               python3-boto3 is installed)
# Usage: bench/startup_bench.sh [RUNS]   (needs build/smrun; default 40 runs each)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-40}"
smrun="${SMRUN_BIN:-$root/build/smrun}"
[ -x "$smrun" ] || { echo "build/smrun not found: run scripts/build.sh first" >&2; exit 1; }
work="$(mktemp -d /tmp/smrun-startup-XXXXXX)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/ml/input/config" "$work/ml/code" "$work/ml/model"
cp /bin/true "$work/ml/code/noop"
cat > "$work/ml/input/config/hyperparameters.json" <<'JSON'
{"epochs": "10", "lr": "0.01", "sagemaker_program": "\"noop\"", "sagemaker_job_name": "\"bench\""}
JSON
echo '{"current_host": "algo-1", "hosts": ["algo-1"]}' > "$work/ml/input/config/resourceconfig.json"
echo '{"train": {"TrainingInputMode": "File"}}' > "$work/ml/input/config/inputdataconfig.json"

cat > "$work/py_launcher.py" <<'PY'
import json, os, subprocess, sys
base = os.environ["SAGEMAKER_BASE_DIR"]
if sys.argv[1:] == ["boto3"]:
    import boto3  # noqa: F401  (the reference imports it at start-up)
cfg = {n: json.load(open(os.path.join(base, "input/config", n + ".json")))
       for n in ("hyperparameters", "resourceconfig", "inputdataconfig")}
hps = {}
for k, v in cfg["hyperparameters"].items():
    try:
        hps[k] = json.loads(v)
    except ValueError:
        hps[k] = v
env = dict(os.environ, SM_HPS=json.dumps(hps, sort_keys=True), SM_HOSTS=json.dumps(cfg["resourceconfig"]["hosts"]))
argv = [os.path.join(base, "code", hps.pop("sagemaker_program"))]
for k in sorted(k for k in hps if not k.startswith("sagemaker_")):
    argv += ["--" + k, str(hps[k])]
sys.exit(subprocess.run(argv, env=env, cwd=os.path.join(base, "code")).returncode)
PY

/usr/bin/python3 - "$runs" "$work" "$smrun" <<'PY'
import os, statistics, subprocess, sys, time
runs, work, smrun = int(sys.argv[1]), sys.argv[2], sys.argv[3]
env = dict(os.environ, SAGEMAKER_BASE_DIR=f"{work}/ml", SMRUN_PACK_MODEL="0")
cases = [("direct", [f"{work}/ml/code/noop"]),
         ("smrun", [smrun, "train"]),
         ("py-floor", ["/usr/bin/python3", f"{work}/py_launcher.py"])]
if subprocess.run(["/usr/bin/python3", "-c", "import boto3"], capture_output=True).returncode == 0:
    cases.append(("py+boto3", ["/usr/bin/python3", f"{work}/py_launcher.py", "boto3"]))
results = {}
for name, argv in cases:
    times = []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        r = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"{name} failed with {r.returncode}")
        if i >= 3:  # warm-up runs are dropped
            times.append(dt * 1000)
    results[name] = statistics.median(times)
print(f"{'launcher':<10} {'median ms':>10} {'vs smrun':>9}")
for name, ms in results.items():
    print(f"{name:<10} {ms:>10.2f} {ms / results['smrun']:>8.2f}x")
PY

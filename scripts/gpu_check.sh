#!/usr/bin/env bash
# The whole GPU check in one command, for a CUDA machine that has a compiler, CMake, nvcc and
# PyTorch 2.11 + CUDA 13 importable by python3, and nothing else (no package registry): builds
# lra_train (Release, CUDA code paths on) against the Debian packages of gpu_bundle/ and that
# PyTorch, then runs the attention benchmark on CUDA, the train-step benchmark of every backend
# on ListOps, a short bf16 ListOps training run and ctest, each under its own time limit inside
# one overall budget, and writes one JSON summary: every step's status, wall time and log tail,
# with the benchmarks' JSON embedded.
#
# Here first (Debian 12 with apt lists; the bundle is git-ignored, so it travels only as carry):
#   scripts/make_gpu_bundle.sh
# Then one call of the device machine's `run` tool:
#   run(command="bash scripts/gpu_check.sh", carry=["gpu_bundle"], timeout_s=600)
# It writes $OUT/gpu_check.json, with attention.json, train_step.json, bf16_report.json,
# bf16_metrics.jsonl and logs.tar.gz beside it, refreshed after every step, so that a command
# stopped at its limit still brings back everything done until then. Without $OUT the summary is
# gpu_check/summary.json. Exit code 0 only when every step is ok.
#
# env: GPU_CHECK_BUDGET_S (overall seconds, default 560: the tool stops the command at 600),
#      BUILD_DIR (default build_gpu, so that a run on a development machine leaves build/ alone),
#      BUNDLE (default gpu_bundle), JOBS (default: all cores), GPU_CHECK_SKIP_BUILD=1 (use
#      BUILD_DIR as it is), GPU_CHECK_DEVICE (default cuda), GPU_CHECK_QUICK=1 (tiny sizes: with
#      GPU_CHECK_DEVICE=cpu, a smoke test of this script on any machine).
set -euo pipefail
cd "$(dirname "$0")/.."
SELF="$PWD/scripts/gpu_check.sh"
BUILD_DIR="${BUILD_DIR:-build_gpu}"
BUNDLE="${BUNDLE:-gpu_bundle}"
JOBS="${JOBS:-$(nproc)}"
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
WORK="$PWD/gpu_check"

# A python3 that imports torch: the repository's .venv where there is one, else the machine's.
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
# The machine's cmake and ninja may be the pip ones beside that python.
PY_BIN=$(dirname "$("$PY" -c 'import sys; print(sys.executable)' 2>/dev/null || echo /usr/bin/python3)")
PATH="$PATH:$PY_BIN"

# nvcc: on PATH, in /usr/local/cuda, or one that pip put beside torch's CUDA libraries.
NVCC=$(command -v nvcc || true)
if [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ]; then NVCC=/usr/local/cuda/bin/nvcc; fi
if [ -z "$NVCC" ]; then
  NVCC=$("$PY" -c 'import glob, nvidia, os
print(next(iter(sorted(glob.glob(os.path.join(nvidia.__path__[0], "cu*", "bin", "nvcc")))), ""))' \
    2>/dev/null || true)
fi
CUDA_ARGS=()
if [ -n "$NVCC" ]; then
  CUDA_ROOT=$(cd "$(dirname "$NVCC")/.." && pwd)
  PATH="$CUDA_ROOT/bin:$PATH"
  CUDA_ARGS=(-DCUDAToolkit_ROOT="$CUDA_ROOT")
fi
export PATH

PREFIX="$PWD/$BUNDLE/root/usr"
# libspdlog's own need for libfmt.so.9 is not covered by the executables' RUNPATH, and this
# machine has no system libfmt behind it; the build itself runs lra_tests to list its tests.
export LD_LIBRARY_PATH="$PREFIX/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
GENERATOR="Unix Makefiles"
command -v ninja >/dev/null 2>&1 && GENERATOR=Ninja

step_environment() {
  (. /etc/os-release && echo "os: $PRETTY_NAME, kernel $(uname -r), $(nproc) cores")
  nvidia-smi || true
  echo "g++: $(command -v g++ || echo none)"; g++ --version | head -1 || true
  echo "cmake: $(command -v cmake || echo none)"; cmake --version | head -1 || true
  echo "generator: $GENERATOR; nvcc: ${NVCC:-none}"
  if [ -n "$NVCC" ]; then "$NVCC" --version | tail -2; fi
  ldd --version | head -1
  cat "$BUNDLE/MANIFEST.txt" || true
  GENERATOR="$GENERATOR" NVCC="$NVCC" "$PY" - "$WORK/environment.json" <<'EOF'
import json, os, platform, subprocess, sys
import torch

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:
        return f"error: {e}"

nvcc = os.environ["NVCC"]
env = {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
       "cuda_available": torch.cuda.is_available(), "python": sys.executable,
       "os": sh(". /etc/os-release && echo $PRETTY_NAME"), "kernel": platform.release(),
       "cpus": os.cpu_count(), "glibc": sh("ldd --version | head -1"),
       "gxx": sh("g++ --version | head -1"), "cmake": sh("cmake --version | head -1"),
       "generator": os.environ["GENERATOR"], "nvcc": nvcc or None,
       "nvcc_version": sh(f"'{nvcc}' --version | tail -1") if nvcc else None,
       "nvidia_smi": sh("nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem "
                        "--format=csv,noheader"),
       "git_commit": sh("git rev-parse HEAD 2>/dev/null") or None}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    env["gpu"] = {"name": p.name, "capability": f"{p.major}.{p.minor}",
                  "multiprocessors": p.multi_processor_count,
                  "memory_gib": round(p.total_memory / 2**30, 1)}
json.dump(env, open(sys.argv[1], "w"), indent=1)
print(json.dumps(env, indent=1))
EOF
}

step_configure() {
  [ -f "$BUNDLE/bundle.cmake" ] || { echo "no $BUNDLE/bundle.cmake: carry the folder scripts/make_gpu_bundle.sh made"; exit 1; }
  local torch_prefix
  torch_prefix=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  # CMAKE_POLICY_VERSION_MINIMUM: the bundle's configs declare policies from CMake 2.6 on, which
  # CMake 4 refuses without it (CMake 3 ignores it). TORCH_CUDA_ARCH_LIST: the H200's 9.0
  # instead of LibTorch probing the device at configure time.
  set -x
  cmake -S . -B "$BUILD_DIR" -G "$GENERATOR" -C "$BUNDLE/bundle.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$PREFIX;$torch_prefix" -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
    -DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}" "${CUDA_ARGS[@]}"
}

# Steps that are shell functions run through this script again, so that `timeout` can run them.
if [ "${1:-}" = --step ]; then
  "step_$2"
  exit
fi

T0=$(date +%s)
BUDGET="${GPU_CHECK_BUDGET_S:-560}"
DEADLINE=$((T0 + BUDGET))
rm -rf "$WORK"
mkdir -p "$WORK/logs" "$WORK/runs"
SUMMARY="${OUT:+$OUT/gpu_check.json}"
SUMMARY="${SUMMARY:-$WORK/summary.json}"
: > "$WORK/steps.tsv"

write_summary() {
  T0="$T0" BUDGET="$BUDGET" DEVICE="$DEVICE" BUILD_DIR="$BUILD_DIR" \
    "$PY" - "$WORK" "$SUMMARY" "${OUT:-}" <<'EOF' || echo "gpu_check: writing the summary failed" >&2
import json, os, re, shutil, sys, tarfile, time

work, summary, out = sys.argv[1:4]

def load(path):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except Exception as e:
        return {"unreadable": str(e)}

def tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""

steps = []
for line in open(os.path.join(work, "steps.tsv")):
    name, status, rc, wall, limit, note, cmd = line.rstrip("\n").split("\t")
    steps.append({"name": name, "status": status, "rc": int(rc), "wall_s": float(wall),
                  "limit_s": int(limit), "note": note, "command": cmd,
                  "log_tail": tail(os.path.join(work, "logs", name + ".log"),
                                   15 if status == "ok" else 60)})
by_name = {s["name"]: s for s in steps}

def fail(name, why):
    s = by_name.get(name)
    if s and s["status"] == "ok":
        s["status"] = "failed"
        s["note"] = (s["note"] + " | " if s["note"] else "") + why

attention = load(os.path.join(work, "attention.json"))
attention_partial = None
if attention is None and "attention_bench" in by_name:
    # The benchmark writes its JSON at the end; its per-case lines survive a cut-off run.
    attention_partial = re.findall(r"^(attention|block) (forward\+backward|forward) (\S+) L=(\d+): (.*)$",
                                   tail(os.path.join(work, "logs", "attention_bench.log"), 1000), re.M)
    attention_partial = [{"scope": s, "pass": p, "backend": b, "length": int(L), "result": r}
                         for s, p, b, L, r in attention_partial]
train_step = load(os.path.join(work, "train_step.json"))
train_step_partial = None
if train_step is None and "train_step" in by_name:
    log = tail(os.path.join(work, "logs", "train_step.log"), 1000)
    train_step_partial = [{"backend": b, "samples_per_s": float(sps), "ms_per_step_median": float(ms)}
                          for b, sps, ms in re.findall(r"^(\w+): ([\d.]+) samples/s, ([\d.]+) ms/step$", log, re.M)]
    train_step_partial += [{"backend": b, "error": e}
                           for b, e in re.findall(r"^lra_bench train-step: (\w+): (.*)$", log, re.M)]
if isinstance(train_step, dict) and "train_step" in by_name:
    # A backend failing inside train-step leaves the exit code 0: name it.
    got = [r.get("backend") for r in train_step.get("results", [])]
    missing = [b for b in by_name["train_step"]["note"].split() if b not in got]
    if missing:
        fail("train_step", "failed backends: " + " ".join(missing))
bf16 = load(os.path.join(work, "runs", "listops_bf16", "report.json"))
if isinstance(bf16, dict) and bf16.get("status") != "completed":
    fail("bf16_train", f"report status {bf16.get('status')}: {bf16.get('error')}")
ctest = None
if "ctest" in by_name and by_name["ctest"]["status"] != "skipped":
    text = tail(os.path.join(work, "logs", "ctest.log"), 100000)
    m = re.search(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", text)
    registered = re.search(r"(\d+)", by_name["ctest"]["note"])
    ctest = {"registered": int(registered.group(1)) if registered else None,
             "run": int(m.group(3)) if m else None, "failed": int(m.group(2)) if m else None,
             "stopped_at_stop_time": "The stop time has been passed" in text}
    try:
        import xml.etree.ElementTree as ET
        cases = ET.parse(os.path.join(work, "ctest_junit.xml")).getroot().iter("testcase")
        rows = [(c.get("name", "").split("  #")[0], c.get("status"), float(c.get("time") or 0)) for c in cases]
        ctest["failed_tests"] = [f"{n} ({t:.1f} s)" for n, st, t in rows if st == "fail"]
        ctest["not_run"] = [n for n, st, t in rows if st not in ("run", "fail")]
        ctest["slowest"] = [f"{n} ({t:.1f} s)" for n, st, t in sorted(rows, key=lambda r: -r[2])[:8]]
    except Exception as e:  # no JUnit file when ctest was cut off: the log's list instead
        ctest["junit"] = f"unreadable: {e}"
        ctest["failed_tests"] = re.findall(r"^\s*\d+ - (\S+).*$", text.split("The following tests FAILED:")[-1], re.M) \
            if "The following tests FAILED:" in text else []
    if ctest["registered"] and (ctest["run"] or 0) < ctest["registered"]:
        fail("ctest", f"only {ctest['run']} of {ctest['registered']} tests ran")

doc = {
    "format": "lra_train.gpu_check", "version": 1,
    "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "elapsed_s": round(time.time() - int(os.environ["T0"]), 1),
    "budget_s": int(os.environ["BUDGET"]), "device": os.environ["DEVICE"],
    "build_dir": os.environ["BUILD_DIR"],
    "ok": bool(steps) and all(s["status"] in ("ok", "not_requested") for s in steps),
    "failed_steps": [s["name"] for s in steps if s["status"] not in ("ok", "not_requested")],
    "steps": steps, "environment": load(os.path.join(work, "environment.json")), "ctest": ctest,
    "attention_bench": attention, "attention_bench_partial": attention_partial,
    "train_step_bench": train_step, "train_step_bench_partial": train_step_partial,
    "bf16_train_report": bf16,
}
os.makedirs(os.path.dirname(summary), exist_ok=True)
with open(summary + ".tmp", "w") as f:
    json.dump(doc, f, indent=1)
os.replace(summary + ".tmp", summary)
if out:
    # At most 8 files come back from $OUT: the summary, the benchmarks' own files, one archive.
    for src, dst in [("attention.json", "attention.json"), ("train_step.json", "train_step.json"),
                     ("runs/listops_bf16/report.json", "bf16_report.json"),
                     ("runs/listops_bf16/metrics.jsonl", "bf16_metrics.jsonl")]:
        if os.path.exists(os.path.join(work, src)):
            shutil.copyfile(os.path.join(work, src), os.path.join(out, dst))
    with tarfile.open(os.path.join(out, "logs.tar.gz.tmp"), "w:gz") as t:
        for name in ["logs", "attention.md", "ctest_junit.xml", "environment.json", "steps.tsv"]:
            if os.path.exists(os.path.join(work, name)):
                t.add(os.path.join(work, name), arcname=name)
    os.replace(os.path.join(out, "logs.tar.gz.tmp"), os.path.join(out, "logs.tar.gz"))
EOF
}

record() {  # record NAME STATUS RC WALL LIMIT NOTE COMMAND
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$WORK/steps.tsv"
  write_summary
}

skip() {  # skip NAME REASON [STATUS]: "skipped" counts as a failure, "not_requested" does not
  echo "gpu_check: $1 ${3:-skipped}: $2" | tee "$WORK/logs/$1.log"
  record "$1" "${3:-skipped}" -1 0 0 "$2" ""
}

# run_step NAME CAP_S RESERVE_S NOTE COMMAND...: COMMAND with its output in logs/NAME.log, for at
# most CAP_S seconds and never into the last RESERVE_S seconds, kept for the steps after it (both
# given for the default 560 s budget and scaled to another).
run_step() {
  local name=$1 cap=$((${2} * BUDGET / 560)) reserve=$((${3} * BUDGET / 560)) note=$4; shift 4
  local left limit start end rc status wall
  left=$((DEADLINE - $(date +%s) - reserve))
  limit=$((cap < left ? cap : left))
  if ((limit < 15)); then
    skip "$name" "out of time (${limit} s left for it)"
    return 0
  fi
  echo "gpu_check: $name (limit ${limit} s): $*"
  start=$(date +%s.%N)
  set +e
  timeout --kill-after=10 "$limit" "$@" > "$WORK/logs/$name.log" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  case $rc in
    0) status=ok ;;
    124|137) status=timeout ;;
    *) status=failed ;;
  esac
  wall=$(awk "BEGIN{printf \"%.1f\", $end - $start}")
  echo "gpu_check: $name: $status (rc $rc, ${wall} s)"
  [ "$status" = ok ] || tail -n 20 "$WORK/logs/$name.log" | sed 's/^/  | /'
  record "$name" "$status" "$rc" "$wall" "$limit" "$note" "$*"
}

B="$BUILD_DIR"
ATTENTION_ARGS=(--lengths 1024 2048 4096 8192 16384 --time-cap 10)
TRAIN_STEPS=50
BF16_ARGS=(--set train.steps=1000 --set train.warmup=100 --set train.log_every=50
           --set eval.every=250 --set eval.batches=10)
DATA_ARGS=()
if [ "${GPU_CHECK_QUICK:-0}" = 1 ]; then
  ATTENTION_ARGS=(--lengths 256 512 --scopes attention --passes forward --repeats 2)
  TRAIN_STEPS=3
  BF16_ARGS=(--set train.steps=20 --set train.warmup=2 --set train.log_every=5
             --set eval.every=10 --set eval.batches=2)
  DATA_ARGS=(--set data.max_length=128 --set data.synthetic.min_length=8
             --set data.synthetic.max_length=128 --set data.synthetic.max_depth=4
             --set data.synthetic.train_size=500 --set data.synthetic.val_size=100
             --set data.synthetic.test_size=100)
fi
# Expected on 16 cores (docs/gpu.md): configure under a minute, build 2 to 4 minutes, then the
# GPU steps, a minute or less each, and ctest last with what is left (CPU CI runs it anyway).
# Each reserve keeps a little time for the steps after it, so that a slow build squeezes them
# rather than leaving them out; the build itself may take what they do not need.
run_step environment 60 480 "" bash "$SELF" --step environment
if [ "${GPU_CHECK_SKIP_BUILD:-0}" = 1 ]; then
  skip configure "GPU_CHECK_SKIP_BUILD=1: $B used as it is" not_requested
  skip build "GPU_CHECK_SKIP_BUILD=1" not_requested
else
  run_step configure 150 300 "$GENERATOR" bash "$SELF" --step configure
  if [ -f "$B/CMakeCache.txt" ]; then
    # Keep going past a failing file, so that whatever does build can still run below.
    keep_going=(-k); [ "$GENERATOR" = Ninja ] && keep_going=(-k 0)
    run_step build 400 150 "-j $JOBS" cmake --build "$B" -j "$JOBS" -- "${keep_going[@]}"
  else
    skip build "configure wrote no $B/CMakeCache.txt"
  fi
fi

if [ -x "$B/lra_bench" ]; then
  run_step attention_bench 100 110 "" "$B/lra_bench" attention --device "$DEVICE" \
    "${ATTENTION_ARGS[@]}" --json "$WORK/attention.json" --markdown "$WORK/attention.md"
else
  skip attention_bench "no $B/lra_bench"
fi

BACKENDS=()
if [ -x "$B/lra_train" ]; then
  # Every registered backend, from the registry itself.
  mapfile -t BACKENDS < <("$B/lra_train" --backends | sed -n 's/^| `\([a-z_]*\)` |.*/\1/p')
fi
if [ -x "$B/lra_bench" ] && ((${#BACKENDS[@]})); then
  run_step train_step 120 60 "${BACKENDS[*]}" "$B/lra_bench" train-step \
    --config configs/listops.yaml --backends "${BACKENDS[@]}" --set device="$DEVICE" \
    "${DATA_ARGS[@]}" --steps "$TRAIN_STEPS" --json "$WORK/train_step.json"
else
  skip train_step "no $B/lra_bench, or lra_train --backends listed none"
fi

if [ -x "$B/lra_train" ]; then
  # The ListOps protocol (softmax, L = 2,000, batch 32) for 1,000 steps under bf16 autocast; its
  # ms/step sits beside train_step's float32 softmax row.
  run_step bf16_train 120 20 "" "$B/lra_train" --config configs/listops.yaml \
    --set device="$DEVICE" --set train.precision=bf16 "${BF16_ARGS[@]}" "${DATA_ARGS[@]}" \
    --set name=listops_bf16 --set output.dir="$WORK/runs" --overwrite
else
  skip bf16_train "no $B/lra_train"
fi

if [ -x "$B/tests/lra_tests" ]; then
  # ctest starts no test after --stop-time and cuts running ones there, so it ends on its own,
  # with its summary and JUnit file, before the outer limit.
  registered=$(ctest --test-dir "$B" -N 2>/dev/null | sed -n 's/^Total Tests: *//p')
  run_step ctest 600 0 "registered ${registered:-?} tests" ctest --test-dir "$B" --output-on-failure \
    -j "$JOBS" --timeout 180 --stop-time "$(date -d "@$((DEADLINE - 20))" +%H:%M:%S)" --output-junit "$WORK/ctest_junit.xml"
else
  skip ctest "no $B/tests/lra_tests"
fi

echo
echo "gpu_check: $(($(date +%s) - T0)) s of $BUDGET; summary: $SUMMARY"
# The reply shows the end of the output: a short digest of the summary comes last.
"$PY" - "$SUMMARY" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["steps"]:
    print(f"  {s['name']:<16} {s['status']:<13} {s['wall_s']:7.1f} s (limit {s['limit_s']} s) {s['note'][:70]}")
c = d.get("ctest")
if c:
    print(f"ctest: {c.get('run')} of {c.get('registered')} run, {c.get('failed')} failed: "
          + ", ".join(c.get("failed_tests", [])[:10]))
a = d.get("attention_bench")
if isinstance(a, dict) and "cases" in a:
    cases = a["cases"]
    print(f"attention: {sum(1 for x in cases if x.get('status') == 'ok')} of {len(cases)} cases ok")
t = d.get("train_step_bench")
if isinstance(t, dict):
    print("train-step ms/step: " + ", ".join(f"{r['backend']} {r['ms_per_step_median']:.1f}"
                                             for r in t.get("results", [])))
r = d.get("bf16_train_report")
if isinstance(r, dict):
    tp, test = r.get("train_throughput") or {}, r.get("test") or {}
    print(f"bf16 run: {r.get('status')}, {tp.get('ms_per_step_median')} ms/step median, "
          f"test accuracy {test.get('accuracy')}, error {r.get('error')}")
print("gpu_check:", "all steps ok" if d["ok"] else "not ok: " + " ".join(d["failed_steps"]))
sys.exit(0 if d["ok"] else 1)
EOF

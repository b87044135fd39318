#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS seconds (default 5) from the seed corpus in fuzz/corpus/<target>/.
# Usage: fuzz/run.sh [SECONDS] [TARGET ...]      e.g. fuzz/run.sh 600 fuzz_npy
# New interesting inputs go to build-fuzz/corpus/<target>/ (kept between runs); a crash writes
# build-fuzz/artifacts/<target>-crash-* and makes this script fail. Every target runs under a
# memory limit (MEMORY_MB, default 2048): one allocation above it, or a resident size above it,
# is a finding (build-fuzz/artifacts/<target>-oom-*), not a machine driven into swap.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-5}"
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(fuzz_npy fuzz_prepared_meta fuzz_png fuzz_config)
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing; run scripts/install_deps.sh" >&2; exit 1; }
TORCH_PREFIX=$(.venv/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')
source scripts/cuda_toolkit_env.sh  # sets CUDA_ARGS
mkdir -p "$BUILD_DIR"
cmake -S fuzz -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
  "${CUDA_ARGS[@]}" \
  >"$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target "${TARGETS[@]}" >"$BUILD_DIR/build.log" 2>&1 ||
  { tail -50 "$BUILD_DIR/build.log" >&2; exit 1; }

# LibTorch keeps allocations alive until exit by design: leak reports would be about it.
# allocator_may_return_null=0: an allocation ASan refuses is a report, not a null pointer or a
# std::bad_alloc that a target could swallow.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=0:${ASAN_OPTIONS:-}"
MEMORY_MB="${MEMORY_MB:-2048}"

# Memory: libFuzzer's -malloc_limit_mb sees every malloc and operator new through ASan's hooks,
# so one oversized request is reported (oom-*) as it is made. Many small ones are watched here:
# libFuzzer's own -rss_limit_mb report first prints ASan's heap profile, which is quadratic in
# the allocation stacks and ran for hours on the heap of an endless config parse (yaml-cpp at
# ",[", refused since) without ever writing the input. So a target whose resident size passes MEMORY_MB gets SIGABRT, which
# libFuzzer answers by writing the input at once; its -rss_limit_mb stays as a backstop.
watch_rss() {  # pid, file that records the resident size when the limit was passed
  local kb
  while kill -0 "$1" 2>/dev/null; do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
    if ((${kb:-0} > MEMORY_MB * 1024)); then
      echo "$kb" >"$2"
      kill -ABRT "$1" 2>/dev/null || true
      return
    fi
    sleep 0.2
  done
}

mkdir -p "$BUILD_DIR/artifacts"
for target in "${TARGETS[@]}"; do
  seeds="fuzz/corpus/${target#fuzz_}"
  found="$BUILD_DIR/corpus/$target"
  log="$BUILD_DIR/$target.log" over="$BUILD_DIR/$target.over_memory"
  mkdir -p "$found"
  rm -f "$over"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s (seeds: $seeds)"
  "$BUILD_DIR/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=20 \
    -malloc_limit_mb="$MEMORY_MB" -rss_limit_mb=$((2 * MEMORY_MB)) \
    -print_final_stats=1 -artifact_prefix="$BUILD_DIR/artifacts/$target-" "$found" "$seeds" \
    2>"$log" &
  pid=$!
  watch_rss "$pid" "$over" &
  watcher=$!
  status=0
  wait "$pid" || status=$?
  wait "$watcher" || true
  if [[ -s "$over" ]]; then
    # The input was written as crash-*; it is an out-of-memory finding.
    unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    [[ -n "$unit" && -f "$unit" ]] && mv "$unit" "${unit/-crash-/-oom-}" && unit="${unit/-crash-/-oom-}"
    tail -30 "$log" >&2
    echo "fuzz: $target: out of memory: resident size $(($(cat "$over") / 1024)) MiB passed" \
      "MEMORY_MB=$MEMORY_MB; input: ${unit:-not written}" >&2
    exit 1
  fi
  ((status == 0)) || { tail -60 "$log" >&2; exit 1; }
  grep -E "^stat::number_of_executed_units|^Done " "$log" | tr '\n' ' '
  echo
done

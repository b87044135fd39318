#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS seconds (default 5) from the seed corpus in fuzz/corpus/<target>/.
# Usage: fuzz/run.sh [SECONDS] [TARGET ...]      e.g. fuzz/run.sh 600 fuzz_npy
# New interesting inputs go to build-fuzz/corpus/<target>/ (kept between runs); a crash writes
# build-fuzz/artifacts/<target>-crash-* and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-5}"
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(fuzz_npy fuzz_prepared_meta fuzz_config)
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
export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
mkdir -p "$BUILD_DIR/artifacts"
for target in "${TARGETS[@]}"; do
  seeds="fuzz/corpus/${target#fuzz_}"
  found="$BUILD_DIR/corpus/$target"
  mkdir -p "$found"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s (seeds: $seeds)"
  "$BUILD_DIR/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$BUILD_DIR/artifacts/$target-" "$found" "$seeds" \
    2>"$BUILD_DIR/$target.log" || { tail -60 "$BUILD_DIR/$target.log" >&2; exit 1; }
  grep -E "^stat::number_of_executed_units|^Done " "$BUILD_DIR/$target.log" | tr '\n' ' '
  echo
done

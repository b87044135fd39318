#!/usr/bin/env bash
# Configures and builds lra_train into ./build (Release), against the LibTorch in ./.venv.
# Usage: scripts/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
PY=.venv/bin/python
[ -x "$PY" ] || { echo "build: .venv missing; run scripts/install_deps.sh first" >&2; exit 1; }
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
source scripts/cuda_toolkit_env.sh  # sets CUDA_ARGS
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" "${CUDA_ARGS[@]}" "$@"
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"

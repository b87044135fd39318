#!/usr/bin/env bash
# Configures and builds lra_train into ./build (Release), against the LibTorch in ./.venv.
# Usage: scripts/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
PY=.venv/bin/python
[ -x "$PY" ] || { echo "build: .venv missing; run scripts/install_deps.sh first" >&2; exit 1; }
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
CUDA_ARGS=()
# No system nvcc: use the one install_deps.sh put next to the wheel's CUDA libraries.
if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  for nvcc in .venv/lib/python3*/site-packages/nvidia/cu*/bin/nvcc; do
    [ -x "$nvcc" ] || continue
    CUDA_ROOT=$(cd "$(dirname "$nvcc")/.." && pwd)
    export PATH="$CUDA_ROOT/bin:$PATH"
    CUDA_ARGS=(-DCUDAToolkit_ROOT="$CUDA_ROOT")
  done
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" "${CUDA_ARGS[@]}" "$@"
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"

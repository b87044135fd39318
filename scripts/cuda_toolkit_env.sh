# Sourced by scripts/build.sh and fuzz/run.sh: LibTorch's CMake config wants a CUDA toolkit.
# With no system nvcc, use the one install_deps.sh put next to the wheel's CUDA libraries.
# Sets CUDA_ARGS (extra cmake arguments) and, when needed, puts that nvcc on PATH.
CUDA_ARGS=()
if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  for nvcc in .venv/lib/python3*/site-packages/nvidia/cu*/bin/nvcc; do
    [ -x "$nvcc" ] || continue
    CUDA_ROOT=$(cd "$(dirname "$nvcc")/.." && pwd)
    export PATH="$CUDA_ROOT/bin:$PATH"
    CUDA_ARGS=(-DCUDAToolkit_ROOT="$CUDA_ROOT")
  done
fi

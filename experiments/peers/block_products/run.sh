#!/usr/bin/env bash
# Builds block_products.cpp in the project's build (build/ from scripts/build.sh: the CMake
# target block_products, linked with the attention library) and runs it, then times a copy of
# a 72 MB tensor with the .venv torch (the memory rate the kernel's buffers would stream at).
#   experiments/peers/block_products/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
cmake --build "$BUILD" --target block_products -j2
OMP_WAIT_POLICY=PASSIVE "$BUILD/block_products"
.venv/bin/python - <<'PY'
import time, torch
torch.set_num_threads(2)
a = torch.randn(18 * 1024 * 1024); b = torch.empty_like(a)
for _ in range(3): b.copy_(a)
t = time.perf_counter()
for _ in range(20): b.copy_(a)
dt = (time.perf_counter() - t) / 20
print(f"copy of 72 MB, 2 threads: {dt * 1e3:.2f} ms, {2 * a.numel() * 4 / dt / 1e9:.1f} GB/s read + write")
PY

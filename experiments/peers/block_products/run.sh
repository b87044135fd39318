#!/usr/bin/env bash
# Builds block_products.cpp against the project's build (build/ from scripts/build.sh: its
# attention library and LibTorch, with lra_bench's link line) and runs it, then times a copy of
# a 72 MB tensor with the .venv torch (the memory rate the kernel's buffers would stream at).
#   experiments/peers/block_products/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
TORCH=$(.venv/bin/python -c 'import torch, os; print(os.path.dirname(torch.__file__))')
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
c++ -O3 -DNDEBUG -fopenmp -std=gnu++17 -Isrc -isystem "$TORCH/include" \
  -isystem "$TORCH/include/torch/csrc/api/include" \
  -c experiments/peers/block_products/block_products.cpp -o "$OUT/block_products.o"
# lra_bench's own link line, with this object in place of its main.
link=$(sed "s#CMakeFiles/lra_bench.dir/[^ ]*\.o -o lra_bench#$OUT/block_products.o -o $OUT/block_products#" \
  "$BUILD/CMakeFiles/lra_bench.dir/link.txt")
(cd "$BUILD" && eval "$link")
OMP_WAIT_POLICY=PASSIVE "$OUT/block_products"
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

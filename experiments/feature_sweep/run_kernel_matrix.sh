#!/usr/bin/env bash
# The random-feature matrix on kernel approximation error: every favor component function x
# weight sampler (the pairs Spectraformer trains, plus the i.i.d. Gaussian sampler and
# trigonometric features), m = 16 ... 1024, 10 seeds, random inputs (lra_bench kernel-error,
# float64), pivoted into one table per error measure: the comparison that Spectraformer reports
# only as accuracy. fastfood stands for fastfood_learned too: before training they are the same
# draw.
# Usage: experiments/feature_sweep/run_kernel_matrix.sh   (env: BUILD=build OUT=runs/kernel_matrix
#        SEEDS=10 FEATURES="16 32 64 128 256 512 1024" LENGTH=256 QK_SCALE=0.5)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${OUT:-runs/kernel_matrix}
SEEDS=${SEEDS:-10}
FEATURES=${FEATURES:-16 32 64 128 256 512 1024}
LENGTH=${LENGTH:-256}
QK_SCALE=${QK_SCALE:-0.5}
HERE=experiments/feature_sweep
mkdir -p "$OUT"

start=$(date +%s)
# shellcheck disable=SC2086  # FEATURES is a list
"$BUILD/lra_bench" kernel-error --methods favor \
  --components positive oprf saderf trigonometric \
  --weight-samplers gaussian orthogonal sorf qmc moment_matching quadrature fastfood \
  -m $FEATURES --seeds "$SEEDS" --length "$LENGTH" --qk-scale "$QK_SCALE" \
  --csv "$OUT/kernel_error_matrix.csv" > "$OUT/kernel_error_matrix_raw.md"
wall=$(( $(date +%s) - start ))

{
  echo "# Kernel approximation error of every favor component x weight sampler"
  echo
  head -n 2 "$OUT/kernel_error_matrix_raw.md"
  echo
  python3 "$HERE/pivot_kernel_error.py" "$OUT/kernel_error_matrix.csv"
  echo
  echo "Command: SEEDS=$SEEDS experiments/feature_sweep/run_kernel_matrix.sh. Wall time:" \
    "$((wall / 60)) min $((wall % 60)) s on $(nproc) cores" \
    "($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(date -u +%Y-%m-%d)."
} > "$HERE/kernel_error_matrix.md"
echo "table: $HERE/kernel_error_matrix.md"

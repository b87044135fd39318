#!/usr/bin/env bash
# Feature dimension m = 16 ... 1024 for the random-feature backends: accuracy after training on
# the CPU-sized ListOps, and the kernel approximation error (lra_bench kernel-error).
# Usage: experiments/feature_sweep/run.sh   (env: BUILD=build OUT=runs/feature_sweep JOBS=2
#        SEEDS=1 FEATURES=16,32,64,128,256,512,1024). Rerun to finish an interrupted sweep.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${OUT:-runs/feature_sweep}
JOBS=${JOBS:-2}
SEEDS=${SEEDS:-1}
FEATURES=${FEATURES:-16,32,64,128,256,512,1024}
KERNEL_FEATURES=${KERNEL_FEATURES:-16,32,64,128,256,512,1024}  # seconds to measure: always all
HERE=experiments/feature_sweep
source experiments/common.sh
mkdir -p "$OUT"

start=$(date +%s)
"$BUILD/lra_bench" kernel-error --kernels exp sqrt -m ${KERNEL_FEATURES//,/ } --csv "$OUT/kernel_error.csv" > "$OUT/kernel_error.md"
status=0
"$BUILD/lra_sweep" --config experiments/paper_tables/cpu/listops.yaml \
  --grid attention.type=favor,favor_sharp,schoenbat --grid "attention.features=$FEATURES" \
  --seeds "$SEEDS" --jobs "$JOBS" --out "$OUT/listops" || status=$?
[ "$status" -ge 128 ] && exit "$status"
wall=$(( $(date +%s) - start ))
"$BUILD/lra_report" "$OUT/listops" --csv-dir "$OUT/csv" --md "$OUT/results.md" \
  --title "Feature sweep on CPU-sized ListOps" > /dev/null
{
  cat "$OUT/results.md"
  echo
  echo "## Kernel approximation error (lra_bench kernel-error, random inputs)"
  echo
  cat "$OUT/kernel_error.md"
  echo
  echo "Command: FEATURES=$FEATURES SEEDS=$SEEDS JOBS=$JOBS experiments/feature_sweep/run.sh." \
    "Wall time: $((wall / 60)) min $((wall % 60)) s with $JOBS runs at a time on" \
    "$(machine_line)."
} > "$HERE/results_cpu.md"
plot_csv "$OUT/csv" "$HERE/plots_cpu"
echo "table: $HERE/results_cpu.md"
exit "$status"

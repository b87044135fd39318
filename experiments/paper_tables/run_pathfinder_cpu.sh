#!/usr/bin/env bash
# CPU-sized Pathfinder on the built-in generator (no download): 32x32 curv_baseline, 20,000
# images, a 1-layer width-32 model, 1,500 steps of batch 32, exact softmax against two linear
# backends; then the table and the training curves.
# Usage: experiments/paper_tables/run_pathfinder_cpu.sh   (env: BUILD=build
#        OUT=runs/pathfinder_cpu JOBS=1 SEEDS=1). Rerun after an interruption: finished runs are
#        skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${OUT:-runs/pathfinder_cpu}
JOBS=${JOBS:-1}
SEEDS=${SEEDS:-1}
BACKENDS=${BACKENDS:-softmax,favor,linear_transformer}
HERE=experiments/paper_tables
source experiments/common.sh
export OMP_WAIT_POLICY=PASSIVE
start=$(date +%s)
status=0
"$BUILD/lra_sweep" --config "$HERE/cpu/pathfinder.yaml" --grid attention.type=$BACKENDS \
  --seeds "$SEEDS" --jobs "$JOBS" --out "$OUT" || status=$?
[ "$status" -ge 128 ] && exit "$status"  # stopped by a signal: rerun to finish
wall=$(( $(date +%s) - start ))
"$BUILD/lra_report" "$OUT" --csv-dir "$OUT/csv" \
  --title "Pathfinder 32x32 curv_baseline (generated), CPU-sized" --md "$OUT/results.md" > /dev/null
{
  cat "$OUT/results.md"
  echo
  echo "Wall time of this invocation (runs already completed are skipped, not rerun):" \
    "$((wall / 60)) min $((wall % 60)) s with $JOBS runs at a time on $(machine_line)."
} > "$HERE/results_pathfinder_cpu.md"
plot_csv "$OUT/csv" "$HERE/plots_cpu"
echo "table: $HERE/results_pathfinder_cpu.md"
exit "$status"

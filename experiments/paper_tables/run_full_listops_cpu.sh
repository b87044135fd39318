#!/usr/bin/env bash
# Full-length ListOps at the protocol SchoenbAt's code ships (configs/protocols/schoenbat/
# listops.yaml: sequences of 500-2,000 tokens, 96,000 training examples from the built-in
# generator, 10,000 steps of batch 32), one seed per backend, on a CPU; then the table beside
# Skyformer's Table 1 and the training curves. A run takes hours here: the sweep resumes, so
# rerun this script after an interruption (runs checkpoint every 100 steps).
# Usage: experiments/paper_tables/run_full_listops_cpu.sh   (env: BUILD=build
#        OUT=runs/paper_tables_full/listops JOBS=2 THREADS=1 BACKENDS=schoenbat,softmax,...)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${OUT:-runs/paper_tables_full/listops}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
BACKENDS=${BACKENDS:-schoenbat,softmax,favor,favor_sharp,kernelized}
HERE=experiments/paper_tables
source experiments/common.sh
export OMP_WAIT_POLICY=PASSIVE
start=$(date +%s)
status=0
"$BUILD/lra_sweep" --config configs/protocols/schoenbat/listops.yaml \
  --grid attention.type=$BACKENDS --set train.checkpoint_every=100 \
  --jobs "$JOBS" --threads "$THREADS" --out "$OUT" || status=$?
[ "$status" -ge 128 ] && exit "$status"  # stopped by a signal: rerun to finish
wall=$(( $(date +%s) - start ))
"$BUILD/lra_report" "$OUT" --paper skyformer --csv-dir "$OUT/csv" \
  --title "ListOps, full length (SchoenbAt protocol, 10,000 steps), CPU" --md "$OUT/results.md" \
  > /dev/null
{
  cat "$OUT/results.md"
  echo
  echo "Wall time of this invocation (runs already completed are skipped, not rerun):" \
    "$((wall / 60)) min $((wall % 60)) s with $JOBS runs at a time, $THREADS thread(s) each," \
    "on $(machine_line)."
} > "$HERE/results_full_listops_cpu.md"
plot_csv "$OUT/csv" "$HERE/plots_full_listops_cpu"
echo "table: $HERE/results_full_listops_cpu.md"
exit "$status"

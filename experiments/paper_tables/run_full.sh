#!/usr/bin/env bash
# The full paper-table grid with the published protocol: the five LRA tasks (configs/*.yaml, the
# Skyformer/SchoenbAt protocol, 50,000 steps each) x every attention backend x 3 seeds, then the
# table with published numbers beside ours. Needs the prepared data (data_scripts/README.md) and
# GPUs: about 75 runs of hours each.
# Usage: experiments/paper_tables/run_full.sh [--devices 0,1,2,3 | --slurm DIR]
#   env: BUILD=build OUT=runs/paper_tables SEEDS=3. Rerun to finish what an interruption left.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${OUT:-runs/paper_tables}
SEEDS=${SEEDS:-3}
BACKENDS=softmax,kernelized,favor,favor_sharp,schoenbat
MODE=(--devices "${DEVICES:-0}")
SLURM_DIR=""
case "${1:-}" in
  --devices) MODE=(--devices "$2") ;;
  --slurm) SLURM_DIR=$2; mkdir -p "$SLURM_DIR" ;;
  "") ;;
  *) echo "usage: $0 [--devices 0,1,... | --slurm DIR]" >&2; exit 2 ;;
esac

for task in listops text retrieval image pathfinder; do
  args=(--config "configs/$task.yaml" --grid attention.type=$BACKENDS --seeds "$SEEDS"
        --out "$OUT/$task")
  if [ -n "$SLURM_DIR" ]; then
    "$BUILD/lra_sweep" "${args[@]}" --slurm "$SLURM_DIR/$task.sbatch"
  else
    "$BUILD/lra_sweep" "${args[@]}" "${MODE[@]}" || true  # failed runs show as missing
  fi
done
[ -n "$SLURM_DIR" ] && { echo "submit: for f in $SLURM_DIR/*.sbatch; do sbatch \$f; done"; exit 0; }
"$BUILD/lra_report" "$OUT" --paper skyformer --paper lra --csv-dir "$OUT/csv" \
  --title "LRA paper table (published protocol)" --md experiments/paper_tables/results_full.md

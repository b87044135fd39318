#!/usr/bin/env bash
# The full paper-table grid with the published protocol: the five LRA tasks (configs/*.yaml, the
# Skyformer/SchoenbAt protocol, 50,000 steps each) x every attention backend and every
# Spectraformer component x weight-sampler pair of favor x 3 seeds, then the table with published
# numbers beside ours. Needs the prepared data (data_scripts/README.md) and GPUs: about 400 runs
# of hours each.
# Usage: experiments/paper_tables/run_full.sh [--devices 0,1,2,3 | --slurm DIR]
#   env: BUILD=build OUT=runs/paper_tables SEEDS=3. Rerun to finish what an interruption left.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${OUT:-runs/paper_tables}
SEEDS=${SEEDS:-3}
BACKENDS=${BACKENDS:-softmax,kernelized,gaussian_kernelized,favor,favor_sharp,schoenbat,linear_transformer,nystromformer,linformer,skyformer}
SAMPLERS=orthogonal,sorf,qmc,moment_matching,quadrature,fastfood_learned
# (component list, sampler list, folder suffix): PosRF-ORF is favor's default, already above.
MATRIX=("positive ${SAMPLERS#orthogonal,} positive" "oprf,saderf $SAMPLERS gerf")
MODE=(--devices "${DEVICES:-0}")
SLURM_DIR=""
case "${1:-}" in
  --devices) MODE=(--devices "$2") ;;
  --slurm) SLURM_DIR=$2; mkdir -p "$SLURM_DIR" ;;
  "") ;;
  *) echo "usage: $0 [--devices 0,1,... | --slurm DIR]" >&2; exit 2 ;;
esac

sweep() {  # name, lra_sweep arguments...
  local name=$1; shift
  if [ -n "$SLURM_DIR" ]; then
    "$BUILD/lra_sweep" "$@" --slurm "$SLURM_DIR/$name.sbatch"
  else
    "$BUILD/lra_sweep" "$@" "${MODE[@]}" || true  # failed runs show as missing
  fi
}
for task in listops text retrieval image pathfinder; do
  sweep "$task" --config "configs/$task.yaml" --grid attention.type=$BACKENDS --seeds "$SEEDS" \
    --out "$OUT/$task"
  for grid in "${MATRIX[@]}"; do
    read -r components samplers suffix <<< "$grid"
    sweep "$task-$suffix" --config "configs/$task.yaml" --grid attention.type=favor \
      --grid "attention.component=$components" --grid "attention.weight_sampler=$samplers" \
      --seeds "$SEEDS" --out "$OUT/$task-matrix-$suffix"
  done
done
[ -n "$SLURM_DIR" ] && { echo "submit: for f in $SLURM_DIR/*.sbatch; do sbatch \$f; done"; exit 0; }
"$BUILD/lra_report" "$OUT" --paper skyformer --paper spectraformer --paper lra --csv-dir "$OUT/csv" \
  --title "LRA paper table (published protocol)" --md experiments/paper_tables/results_full.md

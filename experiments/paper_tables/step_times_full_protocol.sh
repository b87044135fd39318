#!/usr/bin/env bash
# Seconds per training step of the Skyformer-protocol models on this machine, per backend and
# task shape, to extrapolate what the whole published-protocol table (five tasks, 50,000 steps
# each) would take here. lra_bench train-step times the trainer's own step; the data only needs
# the right shape, so the tasks with no local data are timed on a generator of the same shape:
#   listops     configs/listops.yaml                    2,048 tokens, batch 32
#   text        the same model at 4,000 tokens          batch 32 (as configs/text.yaml)
#   retrieval   two towers of 4,000 tokens, batch 16 = text's 32 sequences: timed as text
#   pathfinder  configs/pathfinder.yaml                 1,024 pixels, batch 128
#   image       the same model, batch 256               (as configs/image.yaml)
# Usage: experiments/paper_tables/step_times_full_protocol.sh   (env: BUILD=build STEPS=6
#        THREADS=0 (all cores) BACKENDS="softmax kernelized ...")
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
STEPS=${STEPS:-6}
OUT=experiments/paper_tables/results/step_times_full_protocol
read -r -a BACKENDS <<< "${BACKENDS:-softmax kernelized favor favor_sharp schoenbat nystromformer linformer skyformer}"
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$OUT"
few=(--set data.synthetic.train_size=512 --set data.synthetic.val_size=32 --set data.synthetic.test_size=32)
pixels=(--set data.pathfinder.images=2000 --set data.pathfinder.cache_dir=runs/step_times_cache)
bench() {  # name, then lra_bench train-step arguments
  local name=$1; shift
  "$BUILD/lra_bench" train-step "$@" --backends "${BACKENDS[@]}" --steps "$STEPS" \
    --threads "${THREADS:-0}" --json "$OUT/$name.json" > "$OUT/$name.txt"
}
bench listops --config configs/listops.yaml "${few[@]}"
bench text --config configs/listops.yaml "${few[@]}" --set data.max_length=4000
bench pathfinder --config configs/pathfinder.yaml "${pixels[@]}"
bench image --config configs/pathfinder.yaml "${pixels[@]}" --set train.batch_size=256
python3 experiments/paper_tables/extrapolate_full_protocol.py "$OUT" > "$OUT/extrapolation.md"
echo "per-task tables: $OUT/*.txt; the whole table's hours: $OUT/extrapolation.md"

#!/usr/bin/env bash
# FAVOR#'s headline (variance of the softmax-kernel estimate cut by up to e^10 against earlier
# positive features), measured: lra_bench kernel-variance over the input scale sigma, for
# d = 16, 64 and m = 16, 64, 256, on random inputs and on the queries and keys of a trained
# quickstart model (its two blocks); the checked-in tables (random.md, checkpoint.md, CSVs)
# and plots (log_variance_d16.png, log_variance_d64.png) are what this script writes.
# Usage: experiments/kernel_variance/run.sh   (env: BUILD=build OUT=runs/kernel_variance
#        DRAWS=64 INPUTS=8 SIGMAS="...")
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/common.sh
BUILD=${BUILD:-build}
OUT=${OUT:-runs/kernel_variance}
DRAWS=${DRAWS:-64}
INPUTS=${INPUTS:-8}
SIGMAS=${SIGMAS:-0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 1.0 1.25 1.5 2.0}
HERE=experiments/kernel_variance
mkdir -p "$OUT"

start=$(date +%s)
# shellcheck disable=SC2086  # SIGMAS is a list
"$BUILD/lra_bench" kernel-variance -d 16 64 -m 16 64 256 --sigmas $SIGMAS --draws "$DRAWS" \
  --inputs "$INPUTS" --csv "$HERE/random.csv" > "$OUT/random.md"
random_wall=$(( $(date +%s) - start ))

# A trained model's queries and keys: the quickstart (softmax attention, head_dim 32), unless
# its run folder is already there.
[ -f "$OUT/quickstart/report.json" ] ||
  "$BUILD/lra_train" --config configs/quickstart.yaml --set output.dir="$OUT" --quiet --overwrite
: > "$OUT/checkpoint.md"
for layer in 0 1; do
  "$BUILD/lra_bench" kernel-variance --run "$OUT/quickstart" --layer "$layer" -m 16 64 256 \
    --sigmas 0.5 1.0 1.5 2.0 --draws "$DRAWS" --csv "$OUT/checkpoint_layer$layer.csv" \
    >> "$OUT/checkpoint.md"
  echo >> "$OUT/checkpoint.md"
done
for layer in 0 1; do  # one CSV, with the block as its first column
  awk -v layer="$layer" 'NR == 1 { if (layer == 0) print "layer," $0; next } { print layer "," $0 }' \
    "$OUT/checkpoint_layer$layer.csv"
done > "$HERE/checkpoint.csv"
wall=$(( $(date +%s) - start ))

footer="Command: experiments/kernel_variance/run.sh (DRAWS=$DRAWS INPUTS=$INPUTS). Wall time"
{
  echo "# Relative variance of softmax-kernel random features, random inputs"
  echo
  cat "$OUT/random.md"
  echo
  echo "$footer $((random_wall / 60)) min $((random_wall % 60)) s on $(machine_line)."
} > "$HERE/random.md"
{
  echo "# Relative variance of softmax-kernel random features, a trained model's q and k"
  echo
  echo "sigma multiplies the trained queries and keys (1 = as trained)."
  echo
  cat "$OUT/checkpoint.md"
  echo "$footer (both parts, training included) $((wall / 60)) min $((wall % 60)) s on $(machine_line)."
} > "$HERE/checkpoint.md"

py=${PY:-.venv/bin/python}
if "$py" -c 'import matplotlib' 2>/dev/null; then
  "$py" "$HERE/plot.py" "$HERE/random.csv" "$HERE"
else
  echo "plots skipped: $py has no matplotlib (run scripts/install_deps.sh)" >&2
fi

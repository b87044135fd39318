#!/usr/bin/env bash
# Lockstep: lra_train against the reference code (Skyformer's LRA model and training step, with
# SchoenbAt's official attention), step by step on 512-token ListOps; writes the table.
# Usage: SKYFORMER_REPO=/path/to/Skyformer SCHOENBAT_REPO=/path/to/SchoenbAt \
#          experiments/lockstep/run.sh
#   env: BUILD=build OUT=runs/lockstep TYPES=softmax,favor,nystromformer,linformer,skyformer,schoenbat
#        STEPS=200 THREADS=2
# Needs the reference's Python packages once:
#   .venv/bin/pip install --no-deps -r experiments/lockstep/requirements.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SKYFORMER_REPO:?set SKYFORMER_REPO to a checkout of github.com/pkuzengqi/Skyformer}"
BUILD=${BUILD:-build}
OUT=${OUT:-runs/lockstep}
TYPES=${TYPES:-softmax,favor,nystromformer,linformer,skyformer,schoenbat}
HERE=experiments/lockstep
source experiments/common.sh
export OMP_WAIT_POLICY=PASSIVE
[ -f "$OUT/data/meta.json" ] ||
  "$BUILD/lra_prepare" listops -q --from-config "$HERE/listops_lockstep.yaml" --out "$OUT/data"
commit() { git -C "$1" rev-parse --short HEAD 2>/dev/null || echo "unknown commit"; }
references="Skyformer $(commit "$SKYFORMER_REPO")"
[ -n "${SCHOENBAT_REPO:-}" ] && references+=", SchoenbAt $(commit "$SCHOENBAT_REPO")"
mkdir -p "$HERE/results"
.venv/bin/python "$HERE/run.py" --types "$TYPES" --data "$OUT/data" --out "$OUT" \
  --lra-train "$BUILD/lra_train" --steps "${STEPS:-200}" --threads "${THREADS:-2}" \
  --json "$HERE/results/lockstep.json" --md "$HERE/results/lockstep.md" \
  --footer "References: $references. Machine: $(machine_line). lra_train $(git rev-parse --short HEAD)."
echo "table: $HERE/results/lockstep.md"

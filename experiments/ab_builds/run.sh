#!/usr/bin/env bash
# Two builds of lra_bench, A/B: `lra_bench attention` at one length, one process per (build,
# backend), the two builds alternating, ROUNDS rounds; then the median of each case's medians
# per build and their ratio. One process per backend keeps what ran before a case (allocator
# and page state) the same for both builds.
#   experiments/ab_builds/run.sh BEFORE/lra_bench AFTER/lra_bench [OUT]
#   env: L=4096 ROUNDS=3 THREADS=2 BACKENDS="softmax kernelized ..." (default: every backend
#   but gaussian_kernelized, whose quadratic Gaussian kernel takes seconds per run)
set -euo pipefail
before=$1 after=$2 out=${3:-$(mktemp -d)}
L=${L:-4096} ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-2}
read -r -a backends <<< "${BACKENDS:-softmax kernelized favor favor_sharp schoenbat linear_transformer nystromformer linformer skyformer}"
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$out"
for round in $(seq "$ROUNDS"); do
  for backend in "${backends[@]}"; do
    for side in before after; do
      bin=$before; [ "$side" = after ] && bin=$after
      "$bin" attention -L "$L" --scopes attention --passes forward forward+backward \
        --threads "$THREADS" --backends "$backend" \
        --json "$out/$side.$backend.$round.json" > /dev/null
    done
  done
done
python3 "$(dirname "$0")/summarize.py" "$out"

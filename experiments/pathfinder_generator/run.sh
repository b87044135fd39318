#!/usr/bin/env bash
# Speed and statistics of the built-in Pathfinder generator at the LRA resolutions (32 =
# Pathfinder, 128 = Path-X) and every difficulty, the sample grids in docs/, and one full
# LRA-sized pathfinder32 hard set and one Path-X-sized set (easy, 1 thread) written end to end
# by lra_prepare (timed, with peak memory).
# Usage: experiments/pathfinder_generator/run.sh   (env: BUILD=build THREADS=0 FULL=1
#        PATHX_THREADS=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
THREADS=${THREADS:-0}
HERE=experiments/pathfinder_generator
export OMP_WAIT_POLICY=PASSIVE
"$BUILD/lra_bench" pathfinder --resolutions 32 --images 10000 --threads "$THREADS" \
  --grid docs/images --json "$HERE/bench_32.json" --markdown "$HERE/bench_32.md"
"$BUILD/lra_bench" pathfinder --resolutions 128 --images 1000 --threads "$THREADS" \
  --grid docs/images --json "$HERE/bench_128.json" --markdown "$HERE/bench_128.md"
if [ "${FULL:-1}" = 1 ]; then
  out=$(mktemp -d)
  /usr/bin/time -v "$BUILD/lra_prepare" pathfinder --generate --images 200000 \
    --threads "$THREADS" --out "$out/pathfinder32-hard" 2> "$out/time.txt" | tee "$HERE/full_set.txt"
  grep -E 'Elapsed|Maximum resident' "$out/time.txt" | sed 's/^\s*//' >> "$HERE/full_set.txt"
  # Path-X streams to disk: a 3.3 GB set with a peak far below it (the easy set, to keep it short).
  /usr/bin/time -v "$BUILD/lra_prepare" pathx --generate --difficulty curv_baseline \
    --images 200000 --threads "${PATHX_THREADS:-1}" --out "$out/pathx-easy" 2> "$out/time.txt" \
    | tee "$HERE/full_set_pathx_easy.txt"
  grep -E 'Elapsed|Maximum resident' "$out/time.txt" | sed 's/^\s*//' >> "$HERE/full_set_pathx_easy.txt"
  rm -rf "$out"
fi
echo "results: $HERE/bench_32.md $HERE/bench_128.md $HERE/full_set.txt; grids: docs/images/"

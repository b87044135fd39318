#!/usr/bin/env bash
# Block sizes of the blocked CPU softmax (src/attention/cpu/blocked_softmax.cpp) against SDPA:
# each round times SDPA and then every block size (LRA_SOFTMAX_BLOCKS=<queries>x<keys>), one
# attention layer forward+backward (batch 4, heads 2, head_dim 32), per length; prints the
# median ms and SDPA/ours per round (median, min-max).
# Usage: experiments/peers/softmax_blocks.sh [OUT_FILE]
# env: ROUNDS=5 LENGTHS="1024 4096" BLOCKS="64x512 128x256 128x128 256x256" THREADS=2 BUILD=build
#   PY=.venv/bin/python
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
LENGTHS=${LENGTHS:-1024 4096}
BLOCKS=${BLOCKS:-64x512 128x256 128x128 256x256}
THREADS=${THREADS:-2}
BUILD=${BUILD:-build}
PY=${PY:-.venv/bin/python}
OUT=${1:-/dev/stdout}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$THREADS
shape=(--batch 4 --heads 2 --head-dim 32 --passes forward+backward --repeats 5 --warmup 2 --threads "$THREADS")
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
echo "load before: $(uptime)" >&2
for round in $(seq "$ROUNDS"); do
  for L in $LENGTHS; do
    ms=$("$PY" experiments/peers/peer_attention.py --peers sdpa --lengths "$L" "${shape[@]}" \
      2>/dev/null | awk -F'|' '/^\| sdpa/ {print $5}')
    echo "$round $L sdpa $ms" >> "$raw"
    for b in $BLOCKS; do
      ms=$(LRA_SOFTMAX_BLOCKS=$b "$BUILD/lra_bench" attention --backends softmax --lengths "$L" \
        --scopes attention --features 128 "${shape[@]}" 2>/dev/null | awk -F'|' '/^\| attention/ {print $6}')
      echo "$round $L $b $ms" >> "$raw"
    done
  done
done
echo "load after: $(uptime)" >&2
python3 - "$raw" > "$OUT" <<'PY'
import collections, statistics, sys
ms = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r, L, cfg, t = line.split()
    ms[(int(L), cfg)][int(r)] = float(t)
configs = sorted({c for _, c in ms if c != "sdpa"}, key=lambda c: list(ms).index(next(k for k in ms if k[1] == c)))
print("| L | block (queries x keys) | ours median ms | SDPA median ms | SDPA/ours median | min-max |")
print("|---:|---|---:|---:|---:|---:|")
for L in sorted({L for L, _ in ms}):
    sdpa = ms[(L, "sdpa")]
    for c in configs:
        ours = ms[(L, c)]
        ratio = [sdpa[r] / ours[r] for r in ours if r in sdpa]
        print(f"| {L} | {c} | {statistics.median(ours.values()):.1f} | {statistics.median(sdpa.values()):.1f} | "
              f"{statistics.median(ratio):.2f}x | {min(ratio):.2f}x-{max(ratio):.2f}x |")
PY

#!/usr/bin/env bash
# The README's picture: time and peak memory of one attention layer (forward+backward) against
# the sequence length, for every backend registered in the build, one lra_bench process.
#
# Usage: experiments/figures/attention_scaling.sh
# env: LENGTHS="512 1024 2048 4096" THREADS=2 REPEATS=5 WARMUP=2 TIME_CAP=15 BUILD=build
#   PY=.venv/bin/python OUT=experiments/figures/results/<date>-<commit> FIGURES=docs/figures
# Writes $OUT/{machine.txt,backends.md,attention.json,attention.md,attention.log} and the figures
# (PNG and SVG) in $OUT, then copies the PNGs to $FIGURES/attention_time.png and
# $FIGURES/attention_memory.png. The shape is the one experiments/peers/run.sh times (batch 4,
# heads 2, head_dim 32, m = 128); every backend runs with its registered defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."

LENGTHS=${LENGTHS:-512 1024 2048 4096}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
WARMUP=${WARMUP:-2}
TIME_CAP=${TIME_CAP:-15}
BUILD=${BUILD:-build}
PY=${PY:-.venv/bin/python}
FIGURES=${FIGURES:-docs/figures}

commit=$(git rev-parse --short HEAD)
[ -n "$(git status --porcelain -- src cmake CMakeLists.txt 2>/dev/null)" ] && commit="$commit-dirty"
OUT=${OUT:-experiments/figures/results/$(date -u +%Y-%m-%d)-$commit}
mkdir -p "$OUT" "$FIGURES"

# Private copies: build/ may be rebuilt while this runs.
scratch=$(mktemp -d /tmp/attention_scaling_XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for tool in lra_bench lra_train; do
  cp "$BUILD/$tool" "$scratch/$tool" || { echo "attention_scaling.sh: no $BUILD/$tool (build it first)" >&2; exit 1; }
done
# The registered backends, taken at run time from the build's own table.
"$scratch/lra_train" --backends > "$OUT/backends.md"
backends=$(sed -n 's/^| `\([a-z0-9_]*\)` |.*/\1/p' "$OUT/backends.md" | tr '\n' ' ')
[ -n "$backends" ] || { echo "attention_scaling.sh: no backends in lra_train --backends" >&2; exit 1; }

# Passive OpenMP waiting: on a shared 2-core machine spinning idle threads cost more than they save.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$THREADS
cmd=("$scratch/lra_bench" attention --backends $backends --lengths $LENGTHS --scopes attention
     --passes forward+backward --batch 4 --heads 2 --head-dim 32 --features 128 --repeats "$REPEATS"
     --warmup "$WARMUP" --time-cap "$TIME_CAP" --threads "$THREADS")
{
  echo "commit: $commit ($(git log -1 --format=%cd --date=iso-strict))"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, vector extensions:$(grep -m1 -ow 'avx512f\|avx2\|fma' /proc/cpuinfo | sort -u | sed 's/^/ /' | tr -d '\n')"
  echo "command: OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$THREADS $BUILD/lra_bench ${cmd[*]:1}"
  echo "load before: $(uptime)"
} > "$OUT/machine.txt"
start=$(date +%s)
"${cmd[@]}" --json "$OUT/attention.json" --markdown "$OUT/attention.md" > "$OUT/attention.log" 2>&1 ||
  { tail -20 "$OUT/attention.log" >&2; exit 1; }
wall=$(( $(date +%s) - start ))
echo "load after: $(uptime)" >> "$OUT/machine.txt"
echo "wall: $((wall / 60)) min $((wall % 60)) s" >> "$OUT/machine.txt"

"$PY" experiments/plot_results.py --bench-json "$OUT/attention.json" --out "$OUT"
cp "$OUT/bench_time_vs_length.png" "$FIGURES/attention_time.png"
cp "$OUT/bench_memory_vs_length.png" "$FIGURES/attention_memory.png"
cat "$OUT/machine.txt"
echo "results: $OUT; figures: $FIGURES/attention_time.png, $FIGURES/attention_memory.png" >&2

#!/usr/bin/env bash
# The OpenMP wait policy A/B behind the tools' default (src/util/openmp_policy.h): the
# quickstart's training step (lra_bench train-step, 2 threads) with OMP_WAIT_POLICY=ACTIVE,
# PASSIVE and DEFAULT (the variable set empty: the runtime's own default, a bounded spin) in
# rotating order, on the machine as it is ("idle") and beside one busy process that keeps one core
# computing ("loaded"). Prints the median ms/step of each policy per condition and the ratios to
# PASSIVE.
# Usage: experiments/omp_wait_policy/ab.sh   (env: ROUNDS=3 STEPS=60 BACKENDS="softmax favor"
#        BUILD=build OUT=experiments/omp_wait_policy/results/<date>-<commit>)
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/common.sh
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-60}
BACKENDS=${BACKENDS:-softmax favor}
BUILD=${BUILD:-build}
OUT=${OUT:-experiments/omp_wait_policy/results/$(date -u +%Y-%m-%d)-$(git rev-parse --short HEAD)}
mkdir -p "$OUT"
bench="$OUT/lra_bench"
cp "$BUILD/lra_bench" "$bench"  # a rebuild during the run does not change what is measured

run_round() {  # condition round policy
  local value=$3
  [ "$value" = DEFAULT ] && value=""
  # shellcheck disable=SC2086
  OMP_WAIT_POLICY=$value "$bench" train-step --config configs/quickstart.yaml --backends $BACKENDS \
    --steps "$STEPS" --threads 2 --json "$OUT/$1_r$2_$3.json" > "$OUT/$1_r$2_$3.log" 2>&1
}

for condition in idle loaded; do
  busy=""
  if [ "$condition" = loaded ]; then
    python3 -c 'while True: pass' & busy=$!
  fi
  echo "$condition: load average before $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
  for r in $(seq 1 "$ROUNDS"); do
    # Rotate which policy goes first, so a drift in the machine's speed hits all of them.
    case $((r % 3)) in
      1) order="ACTIVE PASSIVE DEFAULT" ;;
      2) order="PASSIVE DEFAULT ACTIVE" ;;
      *) order="DEFAULT ACTIVE PASSIVE" ;;
    esac
    for policy in $order; do run_round "$condition" "$r" "$policy"; done
  done
  [ -n "$busy" ] && kill "$busy"
  echo "$condition: load average after $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
done
echo "$(machine_line), commit $(git rev-parse --short HEAD)" >> "$OUT/machine.txt"

python3 - "$OUT" > "$OUT/table.md" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
rows = {}
for path in sorted(glob.glob(os.path.join(out, "*_r*_*.json"))):
    condition, _, policy = os.path.basename(path)[:-5].split("_")
    for r in json.load(open(path))["results"]:
        rows.setdefault((condition, r["backend"]), {}).setdefault(policy, []).append(
            r["ms_per_step_median"])
policies = ("PASSIVE", "ACTIVE", "DEFAULT")
print("| condition | backend | " + " | ".join(f"{p} ms/step" for p in policies) +
      " | ACTIVE / PASSIVE | DEFAULT / PASSIVE |")
print("|---|---|" + "---:|" * (len(policies) + 2))
for (condition, backend), by in sorted(rows.items()):
    med = {p: statistics.median(by[p]) for p in policies}
    cells = [f"{med[p]:.1f} ({min(by[p]):.1f}-{max(by[p]):.1f})" for p in policies]
    print(f"| {condition} | {backend} | " + " | ".join(cells) +
          f" | {med['ACTIVE'] / med['PASSIVE']:.2f}x | {med['DEFAULT'] / med['PASSIVE']:.2f}x |")
PY
rm -f "$bench"
cat "$OUT/machine.txt" "$OUT/table.md"

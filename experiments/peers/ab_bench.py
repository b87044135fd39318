"""Two builds of lra_bench against each other, alternately in one run (A first in odd rounds, B
first in even ones), on the same attention cases: for checking that a change is faster on a
shared, noisy machine. Prints per case the median of the per-round medians and the best run of
each side, and A/B for both (> 1: B is faster).

  python3 experiments/peers/ab_bench.py OLD/lra_bench NEW/lra_bench --rounds 6 --threads 1 \
      --backends favor favor_sharp schoenbat --length 4096
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("a", help="lra_bench binary A (e.g. the build before a change)")
parser.add_argument("b", help="lra_bench binary B")
parser.add_argument("--rounds", type=int, default=6)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--length", type=int, default=4096)
parser.add_argument("--repeats", type=int, default=7)
parser.add_argument("--backends", nargs="+", default=["favor", "favor_sharp", "schoenbat"])
args = parser.parse_args()

env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
runs = {}  # (backend, pass) -> side -> [(median, min)]
with tempfile.TemporaryDirectory() as scratch:
    for r in range(args.rounds):
        for side in ("a", "b") if r % 2 == 0 else ("b", "a"):
            out = os.path.join(scratch, side + ".json")
            subprocess.run([getattr(args, side), "attention", "--backends", *args.backends,
                            "-L", str(args.length), "--scopes", "attention", "--threads",
                            str(args.threads), "--repeats", str(args.repeats), "--warmup", "2",
                            "--json", out], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            for case in json.load(open(out))["cases"]:
                key = (case["backend"], case["pass"])
                runs.setdefault(key, {}).setdefault(side, []).append(
                    (case["ms"]["median"], case["ms"]["min"]))
print(f"L = {args.length}, {args.threads} thread(s), {args.rounds} rounds of {args.repeats} runs")
print("| backend | pass | A median ms | B median ms | A/B | A best ms | B best ms | A/B best |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for (backend, kind), sides in sorted(runs.items()):
    a = statistics.median(m for m, _ in sides["a"])
    b = statistics.median(m for m, _ in sides["b"])
    a_best = min(x for _, x in sides["a"])
    b_best = min(x for _, x in sides["b"])
    print(f"| {backend} | {kind} | {a:.1f} | {b:.1f} | {a / b:.2f}x | {a_best:.1f} | {b_best:.1f} |"
          f" {a_best / b_best:.2f}x |")

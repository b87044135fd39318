"""Median of each case's per-process medians for the two builds of run.sh, and their ratio."""
import collections
import glob
import json
import os
import statistics
import sys

folder = sys.argv[1]
times = collections.defaultdict(lambda: collections.defaultdict(list))
order, machine = [], ""
for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
    side, backend, _round, _ = os.path.basename(path).split(".")
    run = json.load(open(path))
    machine = run["machine"]
    for case in run["cases"]:
        key = (case["backend"], case["pass"])
        if key not in order:
            order.append(key)
        if case["status"] == "ok":
            times[key][side].append(case["ms"]["median"])
print(f"{machine}\n")
print("| backend | pass | before ms | after ms | after / before |")
print("|---|---|---:|---:|---:|")
ratios = []
for key in order:
    before, after = statistics.median(times[key]["before"]), statistics.median(times[key]["after"])
    ratios.append(after / before)
    print(f"| {key[0]} | {key[1]} | {before:.1f} | {after:.1f} | {after / before:.2f} |")
print(f"\nmedian after / before {statistics.median(ratios):.2f} "
      f"(range {min(ratios):.2f}-{max(ratios):.2f}) over {len(ratios)} cases")

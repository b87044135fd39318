"""Pivots `lra_bench kernel-error --csv` output: one Markdown table per error measure, a row per
(method, component, weight sampler), a column per feature count m, cells mean (std) over seeds.
Usage: python3 pivot_kernel_error.py kernel_error.csv"""
import csv
import sys
from collections import OrderedDict


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    features = sorted({int(r["features"]) for r in rows})
    for measure, title in (("gram_error", "Gram error ||K^ - K||_F / ||K||_F"),
                           ("attention_error", "Attention error ||out - exact||_F / ||exact||_F")):
        cells = OrderedDict()
        for r in rows:
            key = (r["method"], r["component"], r["weight_sampler"])
            if r[measure + "_mean"] == "":
                continue
            cells.setdefault(key, {})[int(r["features"])] = (
                float(r[measure + "_mean"]), float(r[measure + "_std"]))
        print(f"## {title}, mean (std) over seeds\n")
        print("| method | component | weight sampler | " +
              " | ".join(f"m={m}" for m in features) + " |")
        print("|---|---|---|" + "---:|" * len(features))
        for (method, component, sampler), by_m in cells.items():
            values = [f"{by_m[m][0]:.4f} ({by_m[m][1]:.4f})" if m in by_m else "—"
                      for m in features]
            print(f"| {method} | {component or '—'} | {sampler or '—'} | " +
                  " | ".join(values) + " |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])

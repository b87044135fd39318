#!/usr/bin/env python3
"""Plots from lra_report's CSV (and lra_bench attention JSON): accuracy against the number of
random features, throughput and memory against sequence length, and training curves.

  python3 experiments/plot_results.py --csv-dir runs/x/csv --out plots/ [--bench-json b.json]

Needs Debian's python3-matplotlib. Writes PNG and SVG for every figure it has data for.
"""
import argparse
import csv
import json
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def save(fig, out, name):
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {out}/{name}.png/.svg")


def task_slug(task):
    return task.split(" ")[0]


def plot_feature_sweep(summary, out):
    """Accuracy against attention.features, one line per backend, one figure per task."""
    if not summary or "attention.features" not in summary[0]:
        return
    by_task = defaultdict(lambda: defaultdict(list))
    for row in summary:
        if row["accuracy_mean"]:
            m = int(row["attention.features"])
            by_task[row["task"]][row["attention.type"]].append(
                (m, 100 * float(row["accuracy_mean"]), 100 * float(row["accuracy_std"] or 0)))
    for task, series in by_task.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for backend, points in sorted(series.items()):
            points.sort()
            ax.errorbar([p[0] for p in points], [p[1] for p in points],
                        yerr=[p[2] for p in points], marker="o", capsize=3, label=backend)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("random features m")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(task)
        ax.legend()
        save(fig, out, f"accuracy_vs_features_{task_slug(task)}")


def plot_training_curves(runs, out):
    """Validation accuracy against step for every completed run, one figure per task."""
    by_task = defaultdict(list)
    for run in runs:
        path = os.path.join(run["dir"], "metrics.jsonl")
        if run["status"] == "completed" and os.path.exists(path):
            by_task[run["task"]].append((run, path))
    colors = {}
    for task, members in by_task.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for run, path in members:
            steps, acc = [], []
            with open(path) as f:
                for line in f:
                    record = json.loads(line)
                    if "val_accuracy" in record:
                        steps.append(record["step"])
                        acc.append(100 * record["val_accuracy"])
            label = run["attention"]
            color = colors.setdefault(label, f"C{len(colors) % 10}")
            shown = {h.get_label() for h in ax.get_lines()}
            ax.plot(steps, acc, color=color, alpha=0.8, label=None if label in shown else label)
        ax.set_xlabel("step")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(task)
        ax.legend()
        save(fig, out, f"training_curves_{task_slug(task)}")


def plot_bench(path, out):
    """Time and memory against length from `lra_bench attention --json`: forward+backward,
    one line per backend and scope."""
    with open(path) as f:
        bench = json.load(f)
    series = defaultdict(list)
    for case in bench.get("cases", []):
        if case.get("status") == "ok" and case.get("pass") == "forward+backward":
            series[(case["backend"], case["scope"])].append(case)
    metrics = (("time", "forward+backward ms (median)", lambda c: c["ms"]["median"]),
               ("memory", "peak memory (MiB)", lambda c: c.get("peak_mib")))
    for name, ylabel, value in metrics:
        fig, ax = plt.subplots(figsize=(6, 4))
        for (backend, scope), cases in sorted(series.items()):
            points = sorted((c["length"], value(c)) for c in cases if value(c))
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                        label=f"{backend} ({scope})")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length L")
        ax.set_ylabel(ylabel)
        ax.set_title(bench.get("machine", ""), fontsize=8)
        ax.legend(fontsize=7)
        save(fig, out, f"bench_{name}_vs_length")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-dir", help="folder with lra_report's summary.csv and runs.csv")
    parser.add_argument("--bench-json", help="output of lra_bench attention --json")
    parser.add_argument("--out", required=True, help="folder for the figures")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.csv_dir:
        plot_feature_sweep(read_csv(os.path.join(args.csv_dir, "summary.csv")), args.out)
        plot_training_curves(read_csv(os.path.join(args.csv_dir, "runs.csv")), args.out)
    if args.bench_json:
        plot_bench(args.bench_json, args.out)
    if not args.csv_dir and not args.bench_json:
        sys.exit("nothing to plot: give --csv-dir and/or --bench-json")


if __name__ == "__main__":
    main()

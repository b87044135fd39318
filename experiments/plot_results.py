#!/usr/bin/env python3
"""Plots from lra_report's CSV (and lra_bench attention JSON): accuracy against the number of
random features, throughput and memory against sequence length, and training curves.

  .venv/bin/python experiments/plot_results.py --csv-dir runs/x/csv --out plots/ [--bench-json b.json]

Needs matplotlib, which scripts/install_deps.sh installs into .venv. Writes PNG and SVG for every
figure it has data for.
"""
import argparse
import csv
import json
import os
import sys
from collections import defaultdict

try:
    import matplotlib
except ModuleNotFoundError:
    sys.exit(f"plot_results.py: matplotlib is not installed for {sys.executable}. Run it with the "
             "project's interpreter, .venv/bin/python (scripts/install_deps.sh installs "
             "matplotlib there), or install matplotlib for this one.")

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


LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))


SWEPT_COLUMNS = (("features", "m"), ("kernel", "kernel"))


def curve_labels(members):
    """Each run's legend label: its backend, plus every runs.csv setting that varies among that
    backend's runs in the figure (the feature count m of a feature sweep, the kernel); seeds of
    one setting share a label."""
    values = defaultdict(lambda: defaultdict(set))
    for run, _ in members:
        for column, _ in SWEPT_COLUMNS:
            values[run["attention"]][column].add(run.get(column, ""))
    labels = []
    for run, _ in members:
        varying = values[run["attention"]]
        parts = [f"{name}={run[column]}" for column, name in SWEPT_COLUMNS
                 if len(varying[column]) > 1]
        labels.append(" ".join([run["attention"]] + parts))
    return labels


def plot_training_curves(runs, out):
    """Validation accuracy against step for every completed run, one figure per task."""
    by_task = defaultdict(list)
    for run in runs:
        path = os.path.join(run["dir"], "metrics.jsonl")
        if run["status"] == "completed" and os.path.exists(path):
            by_task[run["task"]].append((run, path))
    for task, members in by_task.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        # One colour per backend; within a backend, a line style (and a legend entry) per value of
        # each key that varies among its runs, such as the feature count m of a feature sweep.
        colors, styles_by_backend = {}, {}
        for (run, path), label in zip(members, curve_labels(members)):
            steps, acc = [], []
            with open(path) as f:
                for line in f:
                    record = json.loads(line)
                    if "val_accuracy" in record:
                        steps.append(record["step"])
                        acc.append(100 * record["val_accuracy"])
            color = colors.setdefault(run["attention"], f"C{len(colors) % 10}")
            styles = styles_by_backend.setdefault(run["attention"], {})
            style = styles.setdefault(label, LINE_STYLES[len(styles) % len(LINE_STYLES)])
            shown = {h.get_label() for h in ax.get_lines()}
            ax.plot(steps, acc, color=color, linestyle=style, alpha=0.8,
                    label=None if label in shown else label)
        ax.set_xlabel("step")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(task)
        ax.legend()
        save(fig, out, f"training_curves_{task_slug(task)}")


def plot_bench(path, out):
    """Time and memory against length from `lra_bench attention --json`: forward+backward, one
    line per backend and scope, one colour per backend. Where the `lra_train --backends` table
    lies beside the JSON as backends.md (experiments/figures/attention_scaling.sh saves it), its
    "cost in L" column sets the line style: linear solid, quadratic dashed."""
    with open(path) as f:
        bench = json.load(f)
    series, backends = defaultdict(list), []
    for case in bench.get("cases", []):
        if case.get("status") == "ok" and case.get("pass") == "forward+backward":
            series[(case["backend"], case["scope"])].append(case)
            if case["backend"] not in backends:
                backends.append(case["backend"])
    cost = {}
    table = os.path.join(os.path.dirname(os.path.abspath(path)), "backends.md")
    if os.path.exists(table):
        with open(table) as f:
            rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
                    for line in f if line.startswith("|")]
        if rows and "cost in L" in rows[0]:
            column = rows[0].index("cost in L")
            cost = {row[0].strip("`"): row[column] for row in rows[2:] if len(row) > column}
    # tab20's dark shades first, then its light ones: ~14 backends stay tellable apart.
    palette = plt.get_cmap("tab20").colors
    palette = palette[0::2] + palette[1::2]
    colour = {backend: palette[i % len(palette)] for i, backend in enumerate(backends)}
    scopes = sorted({scope for _, scope in series})
    lengths = sorted({case["length"] for cases in series.values() for case in cases})
    markers = dict(zip(scopes, "os^v"))
    shape = bench.get("shape", {})
    subtitle = ", ".join(f"{key} {shape[key]}" for key in ("batch", "heads", "head_dim", "features")
                         if key in shape)
    rates = [v for v in (bench.get("matmul_gflops") or {}).values() if v]
    if rates:  # how loaded the machine was: this process's own large-matmul rate
        subtitle += f", {bench.get('threads', '?')} threads; large matmul {max(rates):.0f} GFLOP/s"
    metrics = (("time", "forward+backward ms (median)", lambda c: c["ms"]["median"]),
               ("memory", "peak memory (MiB, RSS growth over the case)", lambda c: c.get("peak_mib")))
    for name, ylabel, value in metrics:
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        for backend in backends:
            for scope in scopes:
                points = sorted((c["length"], value(c)) for c in series.get((backend, scope), []) if value(c))
                if not points:
                    continue
                label = backend if len(scopes) == 1 else f"{backend} ({scope})"
                if backend in cost:
                    label += f" ({cost[backend]})"
                ax.plot([p[0] for p in points], [p[1] for p in points], marker=markers[scope],
                        markersize=3, color=colour[backend],
                        linestyle="--" if cost.get(backend) == "quadratic" else "-", label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("sequence length L")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{bench.get('machine', '')}\n{subtitle}", fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  title="dashed: quadratic in L" if "quadratic" in cost.values() else None,
                  title_fontsize=7)
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

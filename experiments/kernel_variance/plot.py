"""Log relative variance of each estimator against the input scale: one figure per d, one panel
per m, from the CSV that `lra_bench kernel-variance --csv` writes.

Usage: plot.py random.csv OUT_DIR
"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"trigonometric": "trigonometric RF", "positive": "positive RF (FAVOR+)",
          "oprf": "GERF optimum (FAVOR++ / OPRF)", "saderf": "SADERF (asymmetric FAVOR#)",
          "favor_sharp": "SDERF (FAVOR#)"}


def main(path, out_dir):
    rows = list(csv.DictReader(open(path)))
    series = defaultdict(list)  # (d, m, estimator) -> [(sigma, ln mean Var/K^2)]
    for r in rows:
        value = float(r["log_mean_rel_var"])
        if math.isfinite(value):
            series[(int(r["head_dim"]), int(r["features"]), r["estimator"])].append(
                (float(r["sigma"]), value))
    for d in sorted({k[0] for k in series}):
        ms = sorted({k[1] for k in series if k[0] == d})
        fig, axes = plt.subplots(1, len(ms), figsize=(5 * len(ms), 4), sharey=True)
        for ax, m in zip(axes, ms):
            for name, label in LABELS.items():
                points = sorted(series.get((d, m, name), []))
                if points:
                    ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                            markersize=3, label=label)
            ax.set_title(f"d = {d}, m = {m}")
            ax.set_xlabel("sigma (x, y ~ N(0, sigma² I))")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("ln mean over pairs of Var[K^] / K²")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(f"{out_dir}/log_variance_d{d}.png", dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

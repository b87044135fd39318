"""Hours the Skyformer-protocol table would take on this machine, from the step times that
step_times_full_protocol.sh measured: each task's median step x its 50,000 steps, per backend;
retrieval (two towers of 4,000 tokens, batch 16) is timed as text (32 sequences of 4,000).
Usage: python3 experiments/paper_tables/extrapolate_full_protocol.py [results folder]"""
import json
import pathlib
import sys

STEPS = 50_000
# task -> the step-time file it is timed by
TASKS = {"listops": "listops", "text": "text", "retrieval": "text", "image": "image",
         "pathfinder": "pathfinder"}


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                          "experiments/paper_tables/results/step_times_full_protocol")
    runs = {name: json.loads((folder / f"{name}.json").read_text()) for name in set(TASKS.values())}
    backends = [r["backend"] for r in runs["listops"]["results"]]
    step_s = {name: {r["backend"]: r["ms_per_step_median"] / 1000 for r in run["results"]}
              for name, run in runs.items()}
    print(f"Hours for {STEPS:,} steps per task (median step x steps; {runs['listops']['machine']})")
    print()
    print("| backend | " + " | ".join(TASKS) + " | all five |")
    print("|---|" + "---:|" * (len(TASKS) + 1))
    total = 0.0
    for backend in backends:
        hours = [step_s[timed][backend] * STEPS / 3600 for timed in TASKS.values()]
        total += sum(hours)
        print(f"| {backend} | " + " | ".join(f"{h:.0f}" for h in hours) + f" | {sum(hours):.0f} |")
    print()
    print(f"Every backend, one seed: {total:,.0f} hours ({total / 24:,.0f} days) on this machine.")


if __name__ == "__main__":
    main()

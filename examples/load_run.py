#!/usr/bin/env python3
"""Load one lra_train run into pandas and PyTorch: its report, its per-step metrics and the
weights of its best checkpoint, by name.

  .venv/bin/python examples/load_run.py runs/quickstart

report.json is one JSON object (nested: config, environment, data, ...); metrics.jsonl has one
JSON object per line (training records carry `loss`, validation records `val_accuracy`); best.pt
is a TorchScript archive of the model's parameters and buffers that torch.jit.load reads.
"""
import json
import os
import sys

import pandas as pd
import torch


def load_report(run_dir):
    """report.json as a one-row DataFrame; nested keys become columns like `config.seed`."""
    with open(os.path.join(run_dir, "report.json")) as f:
        return pd.json_normalize(json.load(f))


def load_metrics(run_dir):
    """metrics.jsonl as a DataFrame, one row per record, indexed by nothing (steps repeat: a
    validation record shares its step with a training record)."""
    return pd.read_json(os.path.join(run_dir, "metrics.jsonl"), lines=True)


def load_weights(run_dir, name="best.pt"):
    """{name: tensor} for every parameter and buffer, with lra_train's module names
    (`encoder.blocks.0.wq.weight`), ready for a PyTorch module's load_state_dict after renaming."""
    return dict(torch.jit.load(os.path.join(run_dir, name), map_location="cpu").state_dict())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run_dir = sys.argv[1]
    report = load_report(run_dir)
    row = report.iloc[0]
    print(f"run {row['name']}: {row['status']}, attention {row['config.attention.type']}, "
          f"test accuracy {row['test.accuracy']:.4f}")
    metrics = load_metrics(run_dir)
    train = metrics.dropna(subset=["loss"])
    val = metrics.dropna(subset=["val_accuracy"])
    print(f"metrics: {len(train)} training records (last loss {train['loss'].iloc[-1]:.4f}), "
          f"{len(val)} validation records (best {val['val_accuracy'].max():.4f} at step "
          f"{int(val.loc[val['val_accuracy'].idxmax(), 'step'])})")
    weights = load_weights(run_dir)
    count = sum(t.numel() for t in weights.values())
    print(f"best.pt: {len(weights)} tensors, {count} numbers; first: " +
          ", ".join(f"{k} {tuple(v.shape)}" for k, v in list(weights.items())[:2]))


if __name__ == "__main__":
    main()

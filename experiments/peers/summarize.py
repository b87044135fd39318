#!/usr/bin/env python3
"""Ours against the peers from a run.sh results folder (standard library only).

Reads <dir>/raw/round*/{ours,peer}_{attention,sparse,train}_L*.json and <dir>/machine.txt, prints
a Markdown table and writes it to <dir>/table.md: per case, our median ms and the peer's (each the
median over rounds of that round's median), and peer/ours, the ratio computed within each round
(both sides measured back to back) and then summarised as median and min-max over the rounds.
A ratio above 1 means the peer is slower. Two tables of ours alone follow: the growth t(2L)/t(L)
per doubling of L, and our softmax's time over each backend's at the same length (both from the
same lra_bench run), each per round, then median and min-max.

Usage: summarize.py experiments/peers/results/<date>-<commit>
"""

import glob
import json
import os
import re
import statistics
import sys

PEER_LABEL = {"softmax": "sdpa", "favor": "performer", "favor_sharp": "favor_sharp_plain",
              "schoenbat": "schoenbat_plain", "bigbird": "Skyformer's BigBirdAttention (HF block-sparse)",
              "reformer": "Skyformer's LSHAttention (HF LSHSelfAttention)",
              "informer": "Skyformer's ProbAttention",
              "local": "the faster of PyTorch's dense mask and block form",
              "longformer": "the faster of PyTorch's dense mask and block form",
              "sparse_transformer": "the faster of PyTorch's dense mask and block form",
              "sinkhorn": "the faster of PyTorch's dense mask and block form"}
TRAIN_PEER_LABEL = {"softmax": "SDPA", "favor": "performer FastAttention", "schoenbat": "schoenbat_plain"}
BACKEND_ORDER = ["softmax", "favor", "favor_sharp", "schoenbat", "bigbird", "reformer", "informer",
                 "local", "longformer", "sparse_transformer", "sinkhorn"]
SPARSE_KIND = "attention, Skyformer's modules"
LRA_SPARSE_KIND = "attention, LRA patterns in PyTorch"


def load(path):
    with open(path) as f:
        return json.load(f)


def round_number(path):
    return int(re.search(r"round(\d+)", path).group(1))


def attention_cases(ours_path, peer_path, kind):
    """{(kind, pass, L, backend): (ours ms, peer ms)} of one round and length; None where a
    side has no ok measurement."""
    ours = {(c["pass"], c["length"], c["backend"]): c for c in load(ours_path)["cases"] if c["scope"] == "attention"}
    # Where a backend has several peer forms (peer_lra_sparse.py: the dense mask and the block
    # form), the faster one of this round stands for it.
    peer = {}
    for c in load(peer_path)["cases"]:
        key = (c["pass"], c["length"], c["ours"])
        if c["status"] == "ok" and (key not in peer or peer[key]["status"] != "ok" or
                                    c["ms"]["median"] < peer[key]["ms"]["median"]):
            peer[key] = c
        elif key not in peer:
            peer[key] = c
    cases = {}
    for key in set(ours) | set(peer):
        o, p = ours.get(key), peer.get(key)
        cases[(kind,) + key] = (o["ms"]["median"] if o and o["status"] == "ok" else None,
                                       p["ms"]["median"] if p and p["status"] == "ok" else None)
    return cases


def train_cases(ours_path, peer_path, length):
    ours = {r["backend"]: r["ms_per_step_median"] for r in load(ours_path)["results"]}
    peer = {r["attention"]: r["ms_per_step_median"] for r in load(peer_path)["results"]}
    return {("train-step", "step", length, b): (ours.get(b), peer.get(b)) for b in set(ours) | set(peer)}


def collect(folder):
    """{case: [(round, ours ms, peer ms), ...]}."""
    per_case = {}
    for ours_path in sorted(glob.glob(os.path.join(folder, "raw", "round*", "ours_*_L*.json"))):
        peer_path = ours_path.replace(os.sep + "ours_", os.sep + "peer_")
        if not os.path.exists(peer_path):
            print(f"summarize: {peer_path} missing; {ours_path} left out", file=sys.stderr)
            continue
        name = os.path.basename(ours_path)
        length = int(re.search(r"_L(\d+)\.json$", name).group(1))
        kind = ("attention, last 1/8 of keys padded" if "_masked_" in name
                else LRA_SPARSE_KIND if name.startswith("ours_lra_sparse")
                else SPARSE_KIND if name.startswith("ours_sparse") else "attention")
        cases = (attention_cases(ours_path, peer_path, kind)
                 if name.startswith(("ours_attention", "ours_sparse", "ours_lra_sparse"))
                 else train_cases(ours_path, peer_path, length))
        for case, (o, p) in cases.items():
            per_case.setdefault(case, []).append((round_number(ours_path), o, p))
    return per_case


def fmt_ms(ms):
    if ms is None:
        return "—"
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def fmt_ratio(x):
    return f"{x:.2f}x" if x < 10 else f"{x:.1f}x"


def case_label(case, has_peer=True):
    kind, pass_name, length, backend = case
    if kind.startswith("attention"):
        peer = PEER_LABEL.get(backend, "?") if has_peer else "(no peer in this run)"
        return f"{kind} {pass_name} L={length}: {backend} vs {peer}"
    return f"train-step L={length}: {backend} vs {TRAIN_PEER_LABEL.get(backend, '?')}"


def sort_key(case):
    kind, pass_name, length, backend = case
    order = BACKEND_ORDER.index(backend) if backend in BACKEND_ORDER else len(BACKEND_ORDER)
    return (not kind.startswith("attention"), kind, pass_name, order, length)


def table(per_case):
    lines = ["| case | ours median ms | peer median ms | peer/ours median | peer/ours min–max | rounds |",
             "|---|---:|---:|---:|---:|---:|"]
    for case in sorted(per_case, key=sort_key):
        rows = per_case[case]
        ours = [o for _, o, _ in rows if o is not None]
        peer = [p for _, _, p in rows if p is not None]
        ratios = [p / o for _, o, p in rows if o is not None and p is not None and o > 0]
        ours_ms = statistics.median(ours) if ours else None
        peer_ms = statistics.median(peer) if peer else None
        if ratios:
            ratio, spread = fmt_ratio(statistics.median(ratios)), f"{fmt_ratio(min(ratios))}–{fmt_ratio(max(ratios))}"
        else:
            ratio, spread = "—", "—"
        lines.append(f"| {case_label(case, bool(peer))} | {fmt_ms(ours_ms)} | {fmt_ms(peer_ms)} | {ratio} | {spread} | "
                     f"{len(ratios)} |")
    return "\n".join(lines)


def ratio_cells(ratios):
    if not ratios:
        return "— | — | 0"
    return (f"{fmt_ratio(statistics.median(ratios))} | {fmt_ratio(min(ratios))}–{fmt_ratio(max(ratios))} | "
            f"{len(ratios)}")


def ours_by_round(per_case):
    """{(kind, pass, backend): {L: {round: ours ms}}} for the attention cases."""
    ours = {}
    for (kind, pass_name, length, backend), rows in per_case.items():
        if kind.startswith("attention"):
            for r, o, _ in rows:
                if o is not None:
                    ours.setdefault((kind, pass_name, backend), {}).setdefault(length, {})[r] = o
    return ours


def growth_table(per_case):
    """Ours' t(2L) / t(L), per round, for every pair of measured lengths one doubling apart."""
    lines = ["| ours | L → 2L | t(2L)/t(L) median | min–max | rounds |", "|---|---|---:|---:|---:|"]
    ours = ours_by_round(per_case)
    for (kind, pass_name, backend) in sorted(ours, key=lambda k: sort_key((k[0], k[1], 0, k[2]))):
        times = ours[(kind, pass_name, backend)]
        for length in sorted(times):
            if 2 * length in times:
                ratios = [times[2 * length][r] / t for r, t in times[length].items()
                          if r in times[2 * length] and t > 0]
                lines.append(f"| {kind} {pass_name}: {backend} | {length} → {2 * length} | {ratio_cells(ratios)} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def versus_softmax_table(per_case):
    """Our softmax's time over each of our backends' at the same length and round (> 1: the
    backend is faster than softmax)."""
    lines = ["| ours | L | t(softmax)/t(backend) median | min–max | rounds |", "|---|---:|---:|---:|---:|"]
    ours = ours_by_round(per_case)
    for (kind, pass_name, backend) in sorted(ours, key=lambda k: sort_key((k[0], k[1], 0, k[2]))):
        softmax = ours.get((kind, pass_name, "softmax"))
        if backend == "softmax" or not softmax:
            continue
        times = ours[(kind, pass_name, backend)]
        for length in sorted(times):
            ratios = [softmax[length][r] / t for r, t in times[length].items()
                      if r in softmax.get(length, {}) and t > 0]
            if ratios:
                lines.append(f"| {kind} {pass_name}: {backend} | {length} | {ratio_cells(ratios)} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def machine_lines(folder):
    path = os.path.join(folder, "machine.txt")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def tool_machine_lines(folder):
    """The machine line each tool printed in its first round (CPU, threads, library versions)."""
    lines = []
    for side, tool in (("ours", "lra_bench"), ("peer", "peer_attention")):
        paths = [path for kind in ("attention", "sparse")
                 for path in sorted(glob.glob(os.path.join(folder, "raw", "round1", f"{side}_{kind}_L*.json")))]
        if paths:
            lines.append(f"{tool}: {load(paths[0])['machine']}")
    return lines


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[-1])
    folder = sys.argv[1]
    per_case = collect(folder)
    if not per_case:
        sys.exit(f"summarize: no ours_*/peer_* JSON pairs under {folder}/raw/round*/")
    head = ["# lra_train vs PyTorch peers", ""]
    head += ["```"] + machine_lines(folder) + tool_machine_lines(folder) + ["```", ""]
    head += ["Shape of `attention`: batch 4, heads 2, head_dim 32, m = 128, float32, every token real; "
             "`train-step`: configs/listops.yaml (batch, steps in machine.txt). "
             "peer/ours > 1: the peer is slower. Ratios are per round (both sides back to back), "
             "then median and min–max over rounds.", ""]
    text = "\n".join(head) + "\n" + table(per_case) + "\n"
    growth, versus = growth_table(per_case), versus_softmax_table(per_case)
    if growth:
        text += "\n## Ours: growth per doubling of L\n\n" + growth + "\n"
    if versus:
        text += ("\n## Ours: softmax's time over each backend's (> 1: faster than our softmax)\n\n"
                 + versus + "\n")
    print(text)
    with open(os.path.join(folder, "table.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Do the peers compute what they stand beside? In float64, on random inputs shaped like
`lra_bench kernel-error`'s (q, k ~ N(0, 0.5^2), v ~ N(0, 1), one head, all tokens real unless
masked), the relative error ||out - exact||_F / ||exact||_F of each random-feature peer against
the exact attention it estimates, mean over seeds, for growing m:

  performer, favor_sharp_plain   vs softmax(q k^T / sqrt(d)) v
  schoenbat_plain                vs exp-kernel attention on pre-SBN inputs (what an untrained
                                 schoenbat estimates: post-SBN starts as the identity)

An unbiased estimator's error falls like m^-1/2. With --ours build/lra_bench the same table from
`lra_bench kernel-error` (our backends, same input distribution, other draws) is printed beside
it. The masked block pads the last 1/8 of the keys and compares with the exact masked attention.

Usage: check_peers.py [--features 16 64 256 1024 4096] [--seeds 3] [--length 256] [--ours build/lra_bench]
"""

import argparse
import os
import re
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_attention import (make_peer, padded_tail_mask, pre_sbn,  # noqa: E402
                            sdpa_attention)

RANDOM_FEATURE_PEERS = ("performer", "favor_sharp_plain", "schoenbat_plain")


def random_qkv(length, head_dim, seed, qk_scale):
    generator = torch.Generator().manual_seed(10007 + seed)
    shape = (1, 1, length, head_dim)
    q, k, v = (torch.randn(shape, generator=generator, dtype=torch.float64) for _ in range(3))  # (1, 1, L, d)
    return q * qk_scale, k * qk_scale, v


def exp_kernel_attention(q, k, v, key_mask=None):
    """sum_j exp(x_i . y_j) v_j / sum_j exp(x_i . y_j) with x, y = pre_sbn(.) d^-1/4."""
    scale = q.shape[-1] ** -0.25
    x, y = pre_sbn(q) * scale, pre_sbn(k) * scale
    weights = torch.exp(x @ y.transpose(-2, -1))  # (1, 1, L, L)
    if key_mask is not None:
        weights = weights.masked_fill(~key_mask[:, None, None, :], 0.0)
    return (weights / weights.sum(-1, keepdim=True)) @ v


def exact_attention(peer, q, k, v, key_mask=None):
    if peer == "schoenbat_plain":
        return exp_kernel_attention(q, k, v, key_mask)
    return sdpa_attention(q, k, v, key_mask)


def relative_error(out, exact):
    return ((out - exact).norm() / exact.norm()).item()


def peer_error(peer, m, seeds, length, head_dim, qk_scale, key_mask=None):
    errors = []
    for seed in range(seeds):
        q, k, v = random_qkv(length, head_dim, seed, qk_scale)
        torch.manual_seed(seed)  # performer-pytorch draws its projection from the global generator
        module = make_peer(peer, head_dim, m, seed=seed).double().eval()
        with torch.no_grad():
            out = module(q, k, v, key_mask)
        errors.append(relative_error(out, exact_attention(peer, q, k, v, key_mask)))
    return sum(errors) / len(errors)


def ours_errors(binary, features, seeds, length, head_dim, qk_scale):
    """{(backend, m): mean attention error} from lra_bench kernel-error's Markdown table."""
    command = [binary, "kernel-error", "--methods", "favor", "favor_sharp", "schoenbat", "--kernels", "exp",
               "-m", *map(str, features), "--seeds", str(seeds), "--length", str(length),
               "--head-dim", str(head_dim), "--qk-scale", str(qk_scale)]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    errors = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[4].isdigit():
            match = re.match(r"([0-9.]+)", cells[6])
            errors[(cells[0], int(cells[4]))] = float(match.group(1)) if match else float("nan")
    return errors


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--features", "-m", nargs="+", type=int, default=[16, 64, 256, 1024, 4096])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--length", "-L", type=int, default=256)
    p.add_argument("--head-dim", "-d", type=int, default=32)
    p.add_argument("--qk-scale", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ours", help="an lra_bench binary: print its kernel-error beside the peers'")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    shape = (args.seeds, args.length, args.head_dim, args.qk_scale)

    ours = ours_errors(args.ours, args.features, *shape) if args.ours else {}
    print(f"check_peers: float64, L={args.length}, head_dim={args.head_dim}, q,k ~ N(0, {args.qk_scale}^2), "
          f"v ~ N(0, 1), {args.seeds} seeds; attention error ||out - exact||_F / ||exact||_F, mean over seeds\n")
    print("| peer | vs (ours) | m | peer error | ours error (lra_bench kernel-error) |")
    print("|---|---|---:|---:|---:|")
    ours_name = {"performer": "favor", "favor_sharp_plain": "favor_sharp", "schoenbat_plain": "schoenbat"}
    for peer in RANDOM_FEATURE_PEERS:
        for m in args.features:
            err = peer_error(peer, m, *shape)
            theirs = ours.get((ours_name[peer], m))
            print(f"| {peer} | {ours_name[peer]} | {m} | {err:.4f} | {'—' if theirs is None else f'{theirs:.4f}'} |")

    mask = padded_tail_mask(1, args.length)  # (1, L): last 1/8 padded
    m = max(args.features)
    q, k, v = random_qkv(args.length, args.head_dim, 0, args.qk_scale)
    gap = {peer: relative_error(exact_attention(peer, q, k, v), exact_attention(peer, q, k, v, mask))
           for peer in ("performer", "schoenbat_plain")}
    print(f"\nlast 1/8 of the keys padded, m={m}: error against the exact masked attention (for scale: "
          f"the exact masked and unmasked outputs differ by {gap['performer']:.4f} for softmax, "
          f"{gap['schoenbat_plain']:.4f} for the exp kernel)\n")
    print("| peer | error vs masked exact |")
    print("|---|---:|")
    for peer in ("favor_sharp_plain", "schoenbat_plain"):
        print(f"| {peer} | {peer_error(peer, m, *shape, key_mask=mask):.4f} |")
    for mode in ("v", "kv"):
        errors = []
        for seed in range(args.seeds):
            q, k, v = random_qkv(args.length, args.head_dim, seed, args.qk_scale)
            torch.manual_seed(seed)
            module = make_peer("performer", args.head_dim, m, performer_mask=mode).double().eval()
            with torch.no_grad():
                out = module(q, k, v, mask)
            errors.append(relative_error(out, sdpa_attention(q, k, v, mask)))
        print(f"| performer, {mode} zeroed at padded keys | {sum(errors) / len(errors):.4f} |")

if __name__ == "__main__":
    main()

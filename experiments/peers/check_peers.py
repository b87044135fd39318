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

--skyformer checks the Skyformer paper's bigbird, reformer and informer modules instead
(SKYFORMER_REPO names the checkout): finite outputs and gradients at L = 1024 and 4096 with the
last 1/8 of the keys padded (float32, the timed setting); the limit cases that pin what each
computes (float64): BigBird equals exact softmax restricted to its block pattern, rebuilt from
the random blocks it drew (global first and last blocks, a 3-block window, 3 random blocks per
query block, a key block listed twice counted twice, padded queries output 0); LSH attention at
L <= one chunk (64) equals exact shared-QK attention (logits q_i . q_j / |q_j|, the diagonal
set to -1e5); ProbAttention whose selected query count reaches L equals exact softmax; then each
one's error against the exact attention it approximates at the timed settings, with
`lra_bench kernel-error`'s for our backend beside it where --ours has it.

Usage: check_peers.py [--features 16 64 256 1024 4096] [--seeds 3] [--length 256] [--ours build/lra_bench]
       check_peers.py --skyformer [--seeds 3] [--ours build/lra_bench]
"""

import argparse
import math
import os
import re
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_attention import (SKYFORMER_PEERS, make_peer, padded_tail_mask,  # noqa: E402
                            pre_sbn, sdpa_attention)

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


# ---------------------------------------------------------------------------------------------
# The Skyformer paper's bigbird, reformer and informer modules


def shared_qk_attention(q, v, key_mask=None, self_logit=-1e5, eps=1e-6):
    """Exact attention of HuggingFace's LSHSelfAttention without hashing: logits q_i . q_j / |q_j|
    (keys are the queries normalised to unit length, no 1/sqrt(d); HF puts eps under the mean
    square), a token's own logit replaced by self_logit (used only when nothing else is allowed),
    padded keys excluded."""
    keys = q * torch.rsqrt(q.pow(2).mean(dim=-1, keepdim=True) + eps) / math.sqrt(q.shape[-1])  # (B, H, L, d)
    logits = q @ keys.transpose(-2, -1)      # (B, H, L, L)
    eye = torch.eye(q.shape[2], dtype=torch.bool)
    logits = logits.masked_fill(eye, self_logit)
    if key_mask is not None:
        logits = logits.masked_fill(~key_mask[:, None, None, :], -1e9)
    return torch.softmax(logits, dim=-1) @ v


def bigbird_block_counts(rand_attn, blocks):
    """(B, H, n, n) times each key block is listed for each query block: blocks 0 and n-1 for
    every query block, every block for query blocks 0 and n-1, blocks i-1..i+1 (as a set with the
    global ones) and the drawn random blocks (rand_attn, (B, H, n-2, r), with repeats) for the
    others."""
    b, h = rand_attn.shape[:2]
    counts = torch.zeros(b, h, blocks, blocks, dtype=torch.float64)  # (B, H, n, n)
    counts[:, :, 0, :] = 1
    counts[:, :, -1, :] = 1
    for i in range(1, blocks - 1):
        listed = sorted({0, blocks - 1, i - 1, i, i + 1})
        counts[:, :, i, listed] = 1
        for r in range(rand_attn.shape[-1]):
            index = rand_attn[:, :, i - 1, r].long()  # (B, H)
            counts[:, :, i].scatter_add_(-1, index[..., None], torch.ones(b, h, 1, dtype=torch.float64))
    return counts


def bigbird_pattern_attention(q, k, v, key_mask, rand_attn, block):
    """Softmax over BigBird's pattern written densely: exp(s_ij) weighted by how often key j's
    block is listed for query i's block; padded keys excluded and padded queries output 0, as
    HF's block-sparse code does."""
    length = q.shape[2]
    counts = bigbird_block_counts(rand_attn, length // block)
    weights = counts.repeat_interleave(block, dim=2).repeat_interleave(block, dim=3)  # (B, H, L, L)
    weights = weights * key_mask[:, None, None, :].to(weights.dtype)
    logits = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, L, L)
    logits = logits - logits.amax(dim=-1, keepdim=True)
    p = weights * torch.exp(logits)
    out = (p / p.sum(dim=-1, keepdim=True)) @ v  # (B, H, L, d)
    return out * key_mask[:, None, :, None].to(out.dtype)


def recording_rand_attn(module):
    """Wraps BigBirdAttention's _create_rand_mask_from_inputs to keep the rand_attn it is given
    (the random key blocks of that call, (B, H, n-2, r))."""
    attn = module.attn
    original = attn._create_rand_mask_from_inputs
    seen = {}

    def record(from_blocked_mask, to_blocked_mask, rand_attn, *rest):
        seen["rand_attn"] = rand_attn.clone()
        return original(from_blocked_mask, to_blocked_mask, rand_attn, *rest)

    attn._create_rand_mask_from_inputs = record
    return seen


def skyformer_inputs(batch, heads, length, head_dim, seed, qk_scale, dtype=torch.float64):
    generator = torch.Generator().manual_seed(20011 + seed)
    shape = (batch, heads, length, head_dim)
    q, k, v = (torch.randn(shape, generator=generator, dtype=dtype) for _ in range(3))  # (B, H, L, d)
    return q * qk_scale, k * qk_scale, v


def finite_checks(args):
    print("| peer | L | output finite | gradients finite | padded queries' output (max abs) |")
    print("|---|---:|---|---|---:|")
    for peer in SKYFORMER_PEERS:
        for length in (1024, 4096):
            module = make_peer(peer, args.head_dim, 128, heads=2, length=length).eval()
            q, k, v = skyformer_inputs(4, 2, length, args.head_dim, 0, args.qk_scale, torch.float32)
            q, k, v = (t.requires_grad_() for t in (q, k, v))
            mask = padded_tail_mask(4, length)  # (B, L)
            torch.manual_seed(0)
            out = module(q, k, v, mask)
            out.backward(torch.randn_like(out))
            used = {"dq": q, "dk": k, "dv": v}
            if peer == "reformer":
                del used["dk"]  # shared query-key: k is not read
            grads = ", ".join(f"{name} {t.grad is not None and bool(t.grad.isfinite().all())}"
                              for name, t in used.items())
            padded_out = out.detach()[:, :, ~mask[0]].abs().max().item()
            print(f"| {peer} | {length} | {bool(out.isfinite().all())} | {grads} | {padded_out:.3g} |")


def limit_checks(args):
    print("| peer | case | L | relative error vs its exact form |")
    print("|---|---|---:|---:|")
    for length, masked in ((1024, False), (1024, True), (2048, False), (2048, True)):
        module = make_peer("bigbird", args.head_dim, 128, heads=2, length=length).double().eval()
        seen = recording_rand_attn(module)
        q, k, v = skyformer_inputs(2, 2, length, args.head_dim, 0, args.qk_scale)
        mask = padded_tail_mask(2, length) if masked else torch.ones(2, length, dtype=torch.bool)
        with torch.no_grad():
            out = module(q, k, v, mask)
        exact = bigbird_pattern_attention(q, k, v, mask, seen["rand_attn"], 64)
        case = "its block pattern, dense" + (", last 1/8 of keys padded" if masked else "")
        print(f"| bigbird | {case} | {length} | {relative_error(out, exact):.2e} |")
    for masked in (False, True):
        module = make_peer("reformer", args.head_dim, 128, heads=2, length=64).double().eval()
        q, k, v = skyformer_inputs(2, 2, 64, args.head_dim, 0, args.qk_scale)
        mask = padded_tail_mask(2, 64) if masked else None
        with torch.no_grad():
            out = module(q, k, v, mask)
        case = "one chunk: exact shared-QK" + (", last 1/8 of keys padded" if masked else "")
        print(f"| reformer | {case} | 64 | {relative_error(out, shared_qk_attention(q, v, mask)):.2e} |")
    length = 1024  # in_nb_features so large that factor * ceil(ln L) >= L: every query selected
    module = make_peer("informer", args.head_dim, 1024 * 8, heads=2, length=length).double().eval()
    q, k, v = skyformer_inputs(2, 2, length, args.head_dim, 0, args.qk_scale)
    with torch.no_grad():
        out = module(q, k, v)
    print(f"| informer | every query selected (in_nb_features {1024 * 8}): exact softmax | {length} | "
          f"{relative_error(out, sdpa_attention(q, k, v)):.2e} |")


def ours_sparse_errors(binary, seeds, length, head_dim, qk_scale):
    """{backend: error cell} from lra_bench kernel-error's table for those of bigbird, reformer,
    informer it measures (each against the exact backend it approximates)."""
    help_text = subprocess.run([binary, "kernel-error", "--help"], capture_output=True, text=True).stdout
    methods = [m for m in SKYFORMER_PEERS if re.search(rf"[{{,]{m}[,}}]", help_text)]
    if not methods:
        return {}
    command = [binary, "kernel-error", "--methods", *methods, "-m", "128", "--seeds", str(seeds),
               "--length", str(length), "--head-dim", str(head_dim), "--qk-scale", str(qk_scale),
               "--heads", "2"]  # m = 128: informer's features (the peers' in_nb_features)
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    errors = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in methods:
            errors[cells[0]] = cells[-1]  # "mean ± std" over seeds
    return errors


def approximation_errors(args):
    length = args.skyformer_length
    print(f"L={length}, head_dim={args.head_dim}, 2 heads, q,k ~ N(0, {args.qk_scale}^2), v ~ N(0, 1), "
          f"{args.seeds} seeds, float64, every token real; error ||out - exact||_F / ||exact||_F, mean over seeds\n")
    ours = ours_sparse_errors(args.ours, args.seeds, length, args.head_dim, args.qk_scale) if args.ours else {}
    print("| peer | exact form it approximates | peer error | ours (lra_bench kernel-error, other draws) |")
    print("|---|---|---:|---:|")
    exact_of = {"bigbird": ("softmax", lambda q, k, v: sdpa_attention(q, k, v)),
                "reformer": ("shared-QK softmax (above)", lambda q, k, v: shared_qk_attention(q, v)),
                "informer": ("softmax", lambda q, k, v: sdpa_attention(q, k, v))}
    for peer in SKYFORMER_PEERS:
        errors = []
        for seed in range(args.seeds):
            q, k, v = skyformer_inputs(1, 2, length, args.head_dim, seed, args.qk_scale)
            torch.manual_seed(seed)  # LSH rotations and ProbAttention's key sample: global generator
            module = make_peer(peer, args.head_dim, 128, heads=2, length=length).double().eval()
            module_seed = getattr(module.attn, "seed", None)
            if module_seed is not None:
                module.attn.seed = 42 + seed  # BigBird's numpy draw of random blocks
            with torch.no_grad():
                out = module(q, k, v)
            errors.append(relative_error(out, exact_of[peer][1](q, k, v)))
        print(f"| {peer} | {exact_of[peer][0]} | {sum(errors) / len(errors):.4f} | {ours.get(peer, '—')} |")


def skyformer_main(args):
    torch.set_num_threads(args.threads)
    print("check_peers --skyformer: the Skyformer paper's modules (peer_attention.py's bigbird, reformer, informer)\n")
    print("Finite outputs and gradients, float32, batch 4, 2 heads, last 1/8 of the keys padded, forward+backward:\n")
    finite_checks(args)
    print("\nLimit cases, float64, batch 2, 2 heads:\n")
    limit_checks(args)
    print("\nApproximation error at the timed settings (block 64 with 3 random blocks; 2 hashes; in_nb_features 128):\n")
    approximation_errors(args)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--features", "-m", nargs="+", type=int, default=[16, 64, 256, 1024, 4096])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--length", "-L", type=int, default=256)
    p.add_argument("--head-dim", "-d", type=int, default=32)
    p.add_argument("--qk-scale", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ours", help="an lra_bench binary: print its kernel-error beside the peers'")
    p.add_argument("--skyformer", action="store_true",
                   help="check the Skyformer paper's bigbird, reformer, informer modules (SKYFORMER_REPO) instead")
    p.add_argument("--skyformer-length", type=int, default=1024, help="--skyformer: L of the error table")
    args = p.parse_args()
    if args.skyformer:
        skyformer_main(args)
        return
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

#!/usr/bin/env python3
"""The LRA paper's fixed-pattern sparse attentions written in plain PyTorch, timed like
`lra_bench attention --scopes attention`: forward (inference mode) and forward+backward, per
sequence length, median and min-max milliseconds.

Peers (each the counterpart of one lra_bench backend, at that backend's default settings):
  local_dense               (L x L) scores, block-diagonal mask                  <-> local
  local_blocks              the sequence reshaped into blocks, one (b x b) product per block
  longformer_dense          (L x L) scores, band + global mask (the LRA code's form) <-> longformer
  longformer_blocks         64-query blocks against their unfolded key windows, global rows apart
  sparse_transformer_dense  (L x L) scores, causal fixed-pattern mask (the LRA code's form)
                                                                                 <-> sparse_transformer
  sparse_transformer_blocks each block against its own keys and every summary key, masked

The dense forms are what the official LRA code computes for longformer and sparse_transformer
(longformer_attention.py and sparse_attention.py build (L x L) masks and add -1e10 where they
are 0); its local attention is already the block form (a reshape, then one product per block).
The block forms are the gather form a PyTorch user would write to avoid the L x L matrix. All
use the math of src/attention/backends/{local,longformer,sparse_transformer}.cpp (convention
paper): local attends within contiguous blocks of --block-size; longformer --window / 2 keys on
each side and --global-tokens first tokens attending to and attended by all; sparse_transformer
the fixed pattern (own block, causal, and the positions p mod l = 0 or >= l - c of earlier
blocks) on the positions after the global tokens. `--check` compares every peer's output with
its method's dense form in float64 at a small length.

Usage: peer_lra_sparse.py --lengths 4096 --passes forward+backward --repeats 5 --warmup 1
       --threads 2 [--masked] [--json out.json]
"""

import argparse
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_attention import machine_line, make_run, milliseconds, padded_tail_mask, summary, time_ms  # noqa: E402

PEERS = ("local_dense", "local_blocks", "longformer_dense", "longformer_blocks",
         "sparse_transformer_dense", "sparse_transformer_blocks")
OURS = {name: name.rsplit("_", 1)[0] for name in PEERS}
MASKED = -1e10  # what the LRA code adds to a masked score


# ---------------------------------------------------------------------------------------------
# Masks of each pattern, (L, L) bool, True = query i attends key j


def local_mask(length, block):
    position = torch.arange(length)
    return (position[:, None] // block) == (position[None, :] // block)


def longformer_mask(length, window, global_tokens):
    position = torch.arange(length)
    band = (position[:, None] - position[None, :]).abs() <= window // 2
    is_global = position < global_tokens
    return band | is_global[:, None] | is_global[None, :]


def fixed_pattern_mask(length, block, summary_tokens, global_tokens):
    """The LRA code's Fixed1Pattern | Fixed2Pattern on the positions after the global ones, its
    CLS row and column (use_cls_token) generalised to global_tokens."""
    p = torch.arange(length) - global_tokens
    q, k = p[:, None], p[None, :]
    same_block = torch.div(q, block, rounding_mode="floor") == torch.div(k, block, rounding_mode="floor")
    summary_key = (k.remainder(block) == 0) | (k.remainder(block) >= block - summary_tokens)
    pattern = (k <= q) & (same_block | summary_key)
    return pattern | (q < 0) | (k < 0)


def dense_masked_attention(q, k, v, allowed, key_mask):
    """softmax(q k^T / sqrt(d) + bias) v with the LRA code's -1e10 bias where a pair is not
    allowed or the key is padded."""
    if key_mask is not None:
        allowed = allowed[None, None] & key_mask[:, None, None, :]  # (B, 1, L, L)
    bias = torch.zeros(allowed.shape, dtype=q.dtype).masked_fill_(~allowed, MASKED)
    scores = torch.matmul(q, k.transpose(-2, -1)) * q.shape[-1] ** -0.5 + bias  # (B, H, L, L)
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def key_bias(key_mask, length, dtype):
    """(B, 1, L) additive bias of the padded keys, or None."""
    if key_mask is None:
        return None
    return torch.zeros(key_mask.shape[0], 1, length, dtype=dtype).masked_fill_(~key_mask[:, None, :], MASKED)


def pad_to(t, length, dim=2):
    extra = length - t.shape[dim]
    if extra == 0:
        return t
    shape = list(t.shape)
    shape[dim] = extra
    return torch.cat((t, t.new_zeros(shape)), dim=dim)


# ---------------------------------------------------------------------------------------------
# Peers


class DensePeer(nn.Module):
    def __init__(self, mask_of):
        super().__init__()
        self.mask_of = mask_of  # length -> (L, L) bool
        self.cached = {}

    def forward(self, q, k, v, key_mask=None):
        length = q.shape[2]
        if length not in self.cached:
            self.cached = {length: self.mask_of(length)}
        return dense_masked_attention(q, k, v, self.cached[length], key_mask)


class LocalBlocks(nn.Module):
    """One (b x b) product per block of the reshaped sequence (the LRA code's form, on
    contiguous blocks)."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, q, k, v, key_mask=None):
        B, H, L, d = q.shape
        b = self.block
        n = -(-L // b)
        blocks = lambda t: pad_to(t, n * b).view(B, H, n, b, d)  # noqa: E731
        scores = torch.matmul(blocks(q), blocks(k).transpose(-2, -1)) * d ** -0.5  # (B, H, n, b, b)
        real = pad_to(key_mask if key_mask is not None else torch.ones(B, L, dtype=torch.bool), n * b, dim=1)
        scores = scores + key_bias(real, n * b, q.dtype).view(B, 1, n, 1, b)
        out = torch.matmul(torch.softmax(scores, dim=-1), blocks(v))  # (B, H, n, b, d)
        return out.reshape(B, H, n * b, d)[:, :, :L]


def global_rows(q_rows, k, v, key_mask):
    """The global queries' rows: softmax over every (real) key."""
    scores = torch.matmul(q_rows, k.transpose(-2, -1)) * q_rows.shape[-1] ** -0.5  # (B, H, g, L)
    bias = key_bias(key_mask, k.shape[2], q_rows.dtype)
    if bias is not None:
        scores = scores + bias[:, :, None, :]
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class LongformerBlocks(nn.Module):
    """Query blocks of 64 against their key windows (the keys padded by w / 2 on each side and
    unfolded), the global keys as extra columns, the global queries' rows apart."""

    def __init__(self, window, global_tokens, query_block=64):
        super().__init__()
        self.half, self.g, self.e = window // 2, global_tokens, query_block

    def forward(self, q, k, v, key_mask=None):
        B, H, L, d = q.shape
        e, h, g = self.e, self.half, self.g
        n = -(-L // e)
        width = e + 2 * h
        real = key_mask if key_mask is not None else torch.ones(B, L, dtype=torch.bool)
        # Keys j = s e - h + t of block s, t < e + 2h: the window of every query of the block.
        padded = lambda t: torch.nn.functional.pad(t, (0, 0, h, n * e - L + h))  # noqa: E731
        windows = lambda t: padded(t).unfold(2, width, e).transpose(-2, -1)  # (B, H, n, width, d) # noqa: E731
        qb = pad_to(q, n * e).view(B, H, n, e, d)
        scores = torch.matmul(qb, windows(k).transpose(-2, -1)) * d ** -0.5  # (B, H, n, e, width)
        i = torch.arange(n * e).view(n, e, 1)
        j = torch.arange(n).view(n, 1, 1) * e - h + torch.arange(width).view(1, 1, width)
        real_j = torch.nn.functional.pad(real.to(torch.uint8), (h, n * e - L + h)).unfold(1, width, e).bool()  # (B, n, width)
        allowed = ((i - j).abs() <= h) & (j >= g) & (j < L)  # (n, e, width): globals apart
        allowed = allowed[None] & real_j[:, :, None, :]  # (B, n, e, width)
        scores = scores.masked_fill(~allowed[:, None], MASKED)
        parts, values = [scores], [windows(v)]
        if g > 0:  # every query also sees the global keys, listed once
            global_scores = torch.matmul(qb, k[:, :, :g].transpose(-2, -1).unsqueeze(2)) * d ** -0.5
            global_scores = global_scores.masked_fill(~real[:, None, None, None, :g], MASKED)
            parts.append(global_scores)  # (B, H, n, e, g)
            values.append(v[:, :, :g].unsqueeze(2).expand(B, H, n, g, d))
        weights = torch.softmax(torch.cat(parts, dim=-1), dim=-1)
        out = torch.matmul(weights, torch.cat(values, dim=-2)).reshape(B, H, n * e, d)[:, :, :L]
        if g == 0:
            return out
        return torch.cat((global_rows(q[:, :, :g], k, v, key_mask), out[:, :, g:]), dim=2)


class FixedPatternBlocks(nn.Module):
    """Each block of l positions (after the global tokens) against its own keys (causal) and
    the summary keys of the blocks before it, the global keys as extra columns, the global
    queries' rows apart."""

    def __init__(self, block, summary_tokens, global_tokens):
        super().__init__()
        self.l, self.c, self.g = block, summary_tokens, global_tokens

    def forward(self, q, k, v, key_mask=None):
        B, H, L, d = q.shape
        l, g = self.l, self.g
        real = key_mask if key_mask is not None else torch.ones(B, L, dtype=torch.bool)
        P = L - g  # the pattern's positions
        n = -(-P // l)
        qp, kp, vp = (pad_to(t[:, :, g:], n * l).view(B, H, n, l, d) for t in (q, k, v))
        realp = pad_to(real[:, g:], n * l, dim=1)  # (B, n l)
        own = torch.matmul(qp, kp.transpose(-2, -1)) * d ** -0.5  # (B, H, n, l, l)
        causal = torch.ones(l, l, dtype=torch.bool).tril()
        own = own.masked_fill(~(causal[None, None] & realp.view(B, n, 1, l))[:, None], MASKED)
        offset = torch.arange(l)
        offset = offset[(offset == 0) | (offset >= l - self.c)]  # each block's summary positions
        summary = (torch.arange(n)[:, None] * l + offset[None, :]).reshape(-1)  # (n K)
        ks, vs = kp.reshape(B, H, n * l, d)[:, :, summary], vp.reshape(B, H, n * l, d)[:, :, summary]
        sums = torch.matmul(qp, ks[:, :, None].transpose(-2, -1)) * d ** -0.5  # (B, H, n, l, n K)
        before = summary[None, :] < (torch.arange(n) * l)[:, None]  # (n, n K): earlier blocks only
        sums = sums.masked_fill(~(before[None, :, None, :] & realp[:, summary][:, None, None, :])[:, None], MASKED)
        parts = [own, sums]
        values = [vp, vs[:, :, None].expand(B, H, n, summary.numel(), d)]
        if g > 0:
            glob = torch.matmul(qp, k[:, :, None, :g].transpose(-2, -1)) * d ** -0.5  # (B, H, n, l, g)
            parts.append(glob.masked_fill(~real[:, None, None, None, :g], MASKED))
            values.append(v[:, :, None, :g].expand(B, H, n, g, d))
        weights = torch.softmax(torch.cat(parts, dim=-1), dim=-1)
        out = torch.matmul(weights, torch.cat(values, dim=-2)).reshape(B, H, n * l, d)[:, :, :P]
        if g == 0:
            return out
        return torch.cat((global_rows(q[:, :, :g], k, v, key_mask), out), dim=2)


def make_peer(name, args):
    if name == "local_dense":
        return DensePeer(lambda L: local_mask(L, args.block_size))
    if name == "local_blocks":
        return LocalBlocks(args.block_size)
    if name == "longformer_dense":
        return DensePeer(lambda L: longformer_mask(L, args.window, args.global_tokens))
    if name == "longformer_blocks":
        return LongformerBlocks(args.window, args.global_tokens)
    if name == "sparse_transformer_dense":
        return DensePeer(lambda L: fixed_pattern_mask(L, args.block_size, args.summary_tokens, args.global_tokens))
    if name == "sparse_transformer_blocks":
        return FixedPatternBlocks(args.block_size, args.summary_tokens, args.global_tokens)
    raise ValueError(f"unknown peer {name!r}")


# ---------------------------------------------------------------------------------------------
# Checking and timing


def check(args):
    """Every peer against its method's dense masked softmax in float64 (padded keys at exactly
    zero weight), at lengths that are and are not block multiples."""
    worst = 0.0
    for length in (200, 256):
        generator = torch.Generator().manual_seed(length)
        shape = (2, args.heads, length, args.head_dim)
        q, k, v = (torch.randn(shape, generator=generator, dtype=torch.float64) for _ in range(3))
        key_mask = padded_tail_mask(2, length, 0.3)
        for name in PEERS:
            dense = make_peer(OURS[name] + "_dense", args)
            expected = dense(q, k, v, key_mask)
            got = make_peer(name, args)(q, k, v, key_mask)
            real = key_mask[:, None, :, None]
            error = ((got - expected) * real).abs().max().item()
            worst = max(worst, error)
            print(f"check {name} L={length}: max |peer - dense| over real rows {error:.2e}", file=sys.stderr)
    return worst


def measure_case(args, peer, pass_name, length):
    """lra_bench's protocol: max(warmup, 1) untimed runs, then up to --repeats timed runs, fewer
    when they would pass --time-cap; a warm-up run over the cap stops the case."""
    case = {"peer": peer, "ours": OURS[peer], "pass": pass_name, "length": length, "status": "ok", "runs": 0}
    backward = pass_name == "forward+backward"
    try:
        module = make_peer(peer, args)
        generator = torch.Generator().manual_seed(1234 + length)
        shape = (args.batch, args.heads, length, args.head_dim)
        q, k, v = (torch.randn(shape, generator=generator).requires_grad_(backward) for _ in range(3))  # (B, H, L, d)
        grad_out = torch.randn(shape, generator=generator)  # (B, H, L, d)
        key_mask = padded_tail_mask(args.batch, length) if args.masked else None  # (B, L) or None
        run = make_run(module, q, k, v, key_mask, grad_out, backward)
        first = 0.0
        for _ in range(max(args.warmup, 1)):
            first = time_ms(run)
        if first > args.time_cap * 1e3:
            case.update(status="time cap", runs=1, ms=summary([first]))
            return case
        runs = max(1, min(args.repeats, int(args.time_cap * 1e3 / max(first, 1e-3))))
        ms = [time_ms(run) for _ in range(runs)]
        case.update(runs=runs, ms=summary(ms))
    except RuntimeError as e:  # out of memory and friends: recorded, the sweep goes on
        case["status"] = "error: " + str(e).splitlines()[0][:120]
    return case


def markdown(cases):
    lines = ["| peer | ours | pass | L | median ms | min–max ms | runs |", "|---|---|---|---:|---:|---:|---:|"]
    for c in cases:
        if c["status"] != "ok":
            lines.append(f"| {c['peer']} | {c['ours']} | {c['pass']} | {c['length']} | {c['status']} | | {c['runs']} |")
            continue
        ms = c["ms"]
        lines.append(f"| {c['peer']} | {c['ours']} | {c['pass']} | {c['length']} | {milliseconds(ms['median'])} | "
                     f"{milliseconds(ms['min'])}–{milliseconds(ms['max'])} | {c['runs']} |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    p.add_argument("--lengths", "-L", nargs="+", type=int, default=[1024, 2048, 4096])
    p.add_argument("--passes", nargs="+", default=["forward", "forward+backward"],
                   choices=["forward", "forward+backward"])
    p.add_argument("--batch", "-b", type=int, default=4)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--head-dim", "-d", type=int, default=32)
    p.add_argument("--block-size", type=int, default=64, help="local's block, sparse_transformer's l (attention.block_size)")
    p.add_argument("--window", type=int, default=512, help="longformer's window w (attention.window)")
    p.add_argument("--global-tokens", type=int, default=1, help="attention.global_tokens")
    p.add_argument("--summary-tokens", type=int, default=16, help="sparse_transformer's c (attention.summary_tokens)")
    p.add_argument("--masked", action="store_true", help="pad the last 1/8 of every sequence's keys")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs per case (at least 1)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case")
    p.add_argument("--time-cap", type=float, default=15.0, help="seconds per run before a case stops")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--check", action="store_true", help="only compare the peers with the dense forms (float64)")
    p.add_argument("--json", help="write every case as JSON to this file")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.check:
        worst = check(args)
        print(f"peer_lra_sparse check: largest difference {worst:.2e}")
        sys.exit(0 if worst < 1e-10 else 1)
    cases = []
    for peer in args.peers:
        for pass_name in args.passes:
            stopped = ""
            for length in args.lengths:
                if stopped:
                    cases.append({"peer": peer, "ours": OURS[peer], "pass": pass_name, "length": length,
                                  "status": stopped, "runs": 0})
                    continue
                case = measure_case(args, peer, pass_name, length)
                status = case["status"]
                shown = f"{milliseconds(case['ms']['median'])} ms" if status == "ok" else status
                print(f"{peer} {pass_name} L={length}: {shown}", file=sys.stderr, flush=True)
                if status != "ok":
                    stopped = "error" if status.startswith("error") else status
                cases.append(case)
    settings = (f"block_size {args.block_size}, window {args.window}, global_tokens {args.global_tokens}, "
                f"summary_tokens {args.summary_tokens}")
    head = (f"peer_lra_sparse: batch {args.batch}, heads {args.heads}, head_dim {args.head_dim}, {settings}, "
            f"float32, {'last 1/8 of the keys padded' if args.masked else 'every token real'}, cpu\n"
            f"machine: {machine_line(args.threads)}\n"
            f"warm-up {args.warmup}, up to {args.repeats} timed runs per case, time cap {args.time_cap} s")
    print(head + "\n\n" + markdown(cases))
    if args.json:
        result = {"tool": "peer_lra_sparse", "machine": machine_line(args.threads), "threads": args.threads,
                  "torch": torch.__version__,
                  "shape": {"batch": args.batch, "heads": args.heads, "head_dim": args.head_dim},
                  "settings": {"block_size": args.block_size, "window": args.window,
                               "global_tokens": args.global_tokens, "summary_tokens": args.summary_tokens},
                  "masked": args.masked, "cases": cases}
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The ListOps model of configs/listops.yaml in plain PyTorch, timed per optimizer step like
`lra_bench train-step`: W untimed warm-up steps, then N timed steps of zero_grad, forward, loss,
backward, element-wise gradient clipping, AdamW step (the schedule's step and batch assembly are
outside the timed region, as in our trainer), median and p90 ms/step.

The model is src/model/transformer.cpp's: token embedding + learned positions (N(0, 0.02)),
dropout; per block (pre-LN) h = x + dropout(W_o attn(LN(x) W_q, LN(x) W_k, LN(x) W_v)),
out = h + dropout(fc2(dropout(gelu(fc1(LN(h)))))); final LayerNorm times the mask; pooling
(the config's mean_padded: mean over the full padded length); head fc2(relu(fc1)).

Attention: softmax (SDPA, bool key mask, dropout_p = attention_dropout while training), favor
(performer_pytorch.FastAttention, values zeroed at padded keys as its SelfAttention does),
schoenbat (the plain composition of peer_attention.py).

Usage: peer_train_step.py --length 1000 --attention softmax favor schoenbat --steps 24
       --warmup 6 --threads 2 [--json out.json]
"""

import argparse
import json
import random
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from peer_attention import PerformerPeer, SchoenbatPlain, SdpaPeer, machine_line

ATTENTIONS = ("softmax", "favor", "schoenbat")
VOCAB_SIZE = 16   # pad 0, digits 1..10, [MIN [MAX [MED [SM, ] (src/data/listops.h)
NUM_CLASSES = 10


# ---------------------------------------------------------------------------------------------
# Data: ListOps-shaped batches


def listops_length(rng, limit, max_depth=10, max_args=10, leaf_prob=0.75):
    """Tokens of one tree of the official generator (operator + arguments + "]"), growth
    stopped at `limit` (such a tree is rejected anyway)."""
    count, pending = 0, [1]  # depths of the nodes still to expand; the root is depth 1
    while pending and count < limit:
        depth = pending.pop()
        if (rng.random() if depth < max_depth else 1.0) >= 1.0 - leaf_prob:
            count += 1
            continue
        count += 2
        pending.extend([depth + 1] * rng.randint(2, max_args))
    return count


def listops_lengths(n, min_length, max_length, rng):
    """n lengths by the generator's rejection rule min_length < length < max_length."""
    lengths = []
    while len(lengths) < n:
        length = listops_length(rng, max_length)
        if min_length < length < max_length:
            lengths.append(length)
    return lengths


def listops_batch(lengths, padded_length, generator):
    """Random token ids in 1..15 up to each length, padding (id 0) after; random labels."""
    batch = len(lengths)
    tokens = torch.randint(1, VOCAB_SIZE, (batch, padded_length), generator=generator)  # (B, L)
    positions = torch.arange(padded_length).unsqueeze(0)                               # (1, L)
    tokens = tokens.masked_fill(positions >= torch.tensor(lengths).unsqueeze(1), 0)     # (B, L)
    labels = torch.randint(0, NUM_CLASSES, (batch,), generator=generator)               # (B,)
    return tokens, labels


# ---------------------------------------------------------------------------------------------
# Model


def split_heads(t, heads):
    """(B, L, H d) -> (B, H, L, d)."""
    b, l, width = t.shape
    return t.view(b, l, heads, width // heads).transpose(1, 2)


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim, dropout, attention):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.ln_attention = nn.LayerNorm(dim)
        self.ln_mlp = nn.LayerNorm(dim)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(dim, dim) for _ in range(4))
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)
        self.attention = attention

    def self_attention(self, x, key_mask):
        h = self.ln_attention(x)  # (B, L, dim)
        q, k, v = (split_heads(w(h), self.heads) for w in (self.wq, self.wk, self.wv))  # (B, H, L, d) each
        out = self.attention(q, k, v, key_mask)                                      # (B, H, L, d)
        return self.wo(out.transpose(1, 2).reshape(x.shape))                         # (B, L, dim)

    def forward(self, x, key_mask):
        h = x + F.dropout(self.self_attention(x, key_mask), self.dropout, self.training)
        mlp = self.fc2(F.dropout(F.gelu(self.fc1(self.ln_mlp(h))), self.dropout, self.training))
        return h + F.dropout(mlp, self.dropout, self.training)


class ListOpsClassifier(nn.Module):
    def __init__(self, make_attention, max_length, dim=64, heads=2, layers=2, mlp_dim=128,
                 head_hidden=128, dropout=0.1, pooling="mean_padded"):
        super().__init__()
        self.dropout, self.pooling = dropout, pooling
        self.token_embedding = nn.Embedding(VOCAB_SIZE, dim)
        self.position_embedding = nn.Embedding(max_length, dim)
        nn.init.normal_(self.token_embedding.weight, 0.0, 0.02)
        nn.init.normal_(self.position_embedding.weight, 0.0, 0.02)
        self.blocks = nn.ModuleList(
            EncoderBlock(dim, heads, mlp_dim, dropout, make_attention(i)) for i in range(layers))
        self.final_norm = nn.LayerNorm(dim)
        self.head_fc1 = nn.Linear(dim, head_hidden)
        self.head_fc2 = nn.Linear(head_hidden, NUM_CLASSES)

    def forward(self, tokens):
        key_mask = tokens != 0                                   # (B, L), True = real token
        length = tokens.shape[1]
        x = self.token_embedding(tokens) + self.position_embedding.weight[:length]  # (B, L, dim)
        x = F.dropout(x, self.dropout, self.training)
        for block in self.blocks:
            x = block(x, key_mask)
        real = key_mask.unsqueeze(-1).to(x.dtype)                # (B, L, 1)
        x = self.final_norm(x) * real                            # padded rows exactly zero
        if self.pooling == "mean_padded":
            pooled = x.mean(dim=1)                               # (B, dim): pads dilute the mean
        else:
            pooled = x.sum(dim=1) / real.sum(dim=1).clamp_min(1.0)  # (B, dim): real tokens only
        return self.head_fc2(torch.relu(self.head_fc1(pooled)))  # (B, classes)


def attention_factory(name, args):
    head_dim = args.dim // args.heads
    if name == "softmax":
        return lambda layer: SdpaPeer(args.attention_dropout)
    if name == "favor":
        return lambda layer: PerformerPeer(head_dim, args.features, args.performer_mask)
    if name == "schoenbat":
        return lambda layer: SchoenbatPlain(head_dim, args.features, args.max_degree, seed=args.seed + layer)
    raise ValueError(f"unknown attention {name!r}")


# ---------------------------------------------------------------------------------------------
# Training steps


def one_cycle(optimizer, args):
    """PyTorch's linear OneCycleLR, lr/25 -> lr over the warm-up -> lr/2.5e5, beta1 fixed
    (train.schedule onecycle, train.cycle_beta1 false)."""
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.schedule_steps, pct_start=args.schedule_warmup / args.schedule_steps,
        anneal_strategy="linear", cycle_momentum=False, div_factor=25.0, final_div_factor=1e4)


def train_step(model, optimizer, tokens, labels, clip_value):
    optimizer.zero_grad(set_to_none=True)
    logits = model(tokens)  # (B, classes)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
    optimizer.step()
    return loss.item(), (logits.argmax(dim=1) == labels).float().mean().item()


def percentile(values, fraction):
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_attention(name, args):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    total = args.warmup + args.steps
    lengths = listops_lengths(total * args.batch, args.min_length, args.max_expression, rng)
    batches = [listops_batch(lengths[i * args.batch:(i + 1) * args.batch], args.length, generator)
               for i in range(total)]
    model = ListOpsClassifier(attention_factory(name, args), args.length, args.dim, args.heads, args.layers,
                              args.mlp_dim, args.head_hidden, args.dropout, args.pooling)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0)
    schedule = one_cycle(optimizer, args)
    step_ms, real_tokens = [], 0
    for step, (tokens, labels) in enumerate(batches):
        start = time.perf_counter()
        train_step(model, optimizer, tokens, labels, args.clip_value)
        elapsed = (time.perf_counter() - start) * 1e3
        schedule.step()
        if step >= args.warmup:
            step_ms.append(elapsed)
            real_tokens += int((tokens != 0).sum())
    seconds = sum(step_ms) / 1e3
    return {"attention": name, "ms_per_step_median": statistics.median(step_ms),
            "ms_per_step_p90": percentile(step_ms, 0.9), "ms_per_step_min": min(step_ms),
            "ms_per_step_max": max(step_ms), "samples_per_s": args.steps * args.batch / seconds,
            "real_tokens_per_s": real_tokens / seconds, "measured_steps": args.steps, "warmup_steps": args.warmup,
            "mean_real_length": real_tokens / (args.steps * args.batch),
            "parameters": sum(p.numel() for p in model.parameters())}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attention", nargs="+", default=list(ATTENTIONS), choices=ATTENTIONS)
    p.add_argument("--length", "-L", type=int, default=2000, help="padded length (data.max_length)")
    p.add_argument("--max-expression", type=int, default=0,
                   help="expressions are shorter than this (data.synthetic.max_length); 0 = --length")
    p.add_argument("--min-length", type=int, default=500, help="expressions are longer than this")
    p.add_argument("--batch", "-b", type=int, default=32)
    p.add_argument("--steps", type=int, default=24, help="timed steps")
    p.add_argument("--warmup", type=int, default=6, help="untimed steps first")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--mlp-dim", type=int, default=128)
    p.add_argument("--head-hidden", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--attention-dropout", type=float, default=0.1)
    p.add_argument("--pooling", choices=["mean_padded", "mean"], default="mean_padded",
                   help="configs/listops.yaml: mean_padded")
    p.add_argument("--features", "-m", type=int, default=128)
    p.add_argument("--max-degree", type=int, default=20)
    p.add_argument("--performer-mask", choices=["v", "kv"], default="v")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--schedule-steps", type=int, default=50000, help="the schedule's length (train.steps)")
    p.add_argument("--schedule-warmup", type=int, default=1000, help="train.warmup")
    p.add_argument("--clip-value", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", help="write the results as JSON to this file")
    args = p.parse_args(argv)
    if args.max_expression == 0:
        args.max_expression = args.length
    if args.max_expression - 1 > args.length:
        p.error("--max-expression - 1 exceeds --length: expressions would not fit")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    for name in args.attention:
        r = run_attention(name, args)
        print(f"{name}: {r['samples_per_s']:.1f} samples/s, {r['ms_per_step_median']:.1f} ms/step",
              file=sys.stderr, flush=True)
        results.append(r)
    machine = machine_line(args.threads)
    print(f"peer_train_step: ListOps model (padded length {args.length}, expressions {args.min_length + 1}.."
          f"{args.max_expression - 1} tokens, batch {args.batch}, {args.layers} layers, dim {args.dim}, heads "
          f"{args.heads}, features {args.features}, pooling {args.pooling}), {args.warmup} warm-up + {args.steps} "
          f"timed steps per attention\nmachine: {machine}\n")
    print("| attention | samples/s | real tokens/s | ms/step median | ms/step p90 | measured steps |\n"
          "|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['attention']} | {r['samples_per_s']:.1f} | {r['real_tokens_per_s']:.0f} | "
              f"{r['ms_per_step_median']:.1f} | {r['ms_per_step_p90']:.1f} | {r['measured_steps']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tool": "peer_train_step", "machine": machine, "threads": args.threads,
                       "torch": torch.__version__, "length": args.length, "max_expression": args.max_expression,
                       "batch": args.batch, "results": results}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""One attention layer in the PyTorch a researcher would otherwise run, timed like
`lra_bench attention --scopes attention`: forward (inference mode) and forward+backward, per
sequence length, median and min-max milliseconds.

Peers (each the counterpart of one lra_bench backend):
  sdpa               torch.nn.functional.scaled_dot_product_attention      <-> softmax
  performer          performer_pytorch.FastAttention (FAVOR+, imported)    <-> favor
  favor_sharp_plain  FAVOR# (SDERF) written as a paper's code would write it <-> favor_sharp
  schoenbat_plain    SchoenbAt (pre-SBN, random Maclaurin features, post-SBN) <-> schoenbat
  bigbird            Skyformer's BigBirdAttention (HF block-sparse BigBird)  <-> bigbird
  reformer           Skyformer's LSHAttention (HF LSHSelfAttention)        <-> reformer
  informer           Skyformer's ProbAttention (Informer's ProbSparse)     <-> informer

The last three are the modules the Skyformer paper ran, imported at run time from the checkout
that SKYFORMER_REPO names (nothing of it is in this repository); they need transformers
(requirements.txt) and are not run unless --peers names them.

The two plain compositions compute the math of src/attention/backends/{favor_sharp,schoenbat}.cpp
with materialised (B, H, L, m) features, einsum and autograd, and none of the fused slice-wise
maps or hand-written backwards of the C++ backends: the gap between them and lra_bench is what
those buy. README.md in this folder lists where each peer's math matches or differs.

Usage: peer_attention.py --lengths 1024 2048 --passes forward forward+backward --repeats 5
       --warmup 1 --threads 2 [--masked] [--json out.json]
"""

import argparse
import datetime
import importlib
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_PEERS = ("sdpa", "performer", "favor_sharp_plain", "schoenbat_plain")
SKYFORMER_PEERS = ("bigbird", "reformer", "informer")  # need SKYFORMER_REPO and transformers
PEERS = DEFAULT_PEERS + SKYFORMER_PEERS
# The lra_bench backend each peer stands beside.
OURS = {"sdpa": "softmax", "performer": "favor", "favor_sharp_plain": "favor_sharp",
        "schoenbat_plain": "schoenbat", "bigbird": "bigbird", "reformer": "reformer",
        "informer": "informer"}

DENOMINATOR_EPS = 1e-6  # attention.eps default: the floor of every linear-attention denominator
PRE_SBN_EPS = 1e-12     # the official PreSBN's epsilon under the standard deviation
POST_SBN_FLOOR = 1e-4   # keeps sign(z)|z|^beta's slope bounded near 0 once beta < 1


# ---------------------------------------------------------------------------------------------
# Masks and the shared linear-time contraction


def padded_tail_mask(batch, length, padded_fraction=0.125):
    """True = real key. The last floor(L * fraction) keys of every sequence are padding."""
    real = length - int(length * padded_fraction)
    mask = torch.zeros(batch, length, dtype=torch.bool)  # (B, L)
    mask[:, :real] = True
    return mask


def linear_attention(phi_q, phi_k, v, eps=DENOMINATOR_EPS):
    """phi(q)^T (sum_j phi(k_j) v_j^T) / phi(q)^T sum_j phi(k_j): keys times values first."""
    kv = torch.einsum("bhlm,bhld->bhmd", phi_k, v)         # (B, H, m, D)
    key_sum = phi_k.sum(dim=-2)                            # (B, H, m)
    numerator = torch.einsum("bhlm,bhmd->bhld", phi_q, kv)  # (B, H, L, D)
    denominator = torch.einsum("bhlm,bhm->bhl", phi_q, key_sum).unsqueeze(-1)  # (B, H, L, 1)
    # Signed (Maclaurin) features can push the estimated normaliser to or below zero.
    return numerator / denominator.clamp_min(eps)


# ---------------------------------------------------------------------------------------------
# sdpa


def sdpa_attention(q, k, v, key_mask=None, dropout_p=0.0):
    """softmax(q k^T / sqrt(d)) v, padded keys excluded through a boolean mask."""
    attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, L)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)


class SdpaPeer(nn.Module):
    def __init__(self, dropout_p=0.0):
        super().__init__()
        self.dropout_p = dropout_p

    def forward(self, q, k, v, key_mask=None):
        return sdpa_attention(q, k, v, key_mask, self.dropout_p if self.training else 0.0)


# ---------------------------------------------------------------------------------------------
# performer (FAVOR+ from performer-pytorch)


class PerformerPeer(nn.Module):
    """performer_pytorch.FastAttention, which takes no mask. For padded keys it is fed what
    performer-pytorch's own SelfAttention feeds it: values zeroed at padded keys (mask_mode "v");
    "kv" also zeroes the keys, as Skyformer's PerformerAttention does. Neither removes a padded
    key from the denominator (phi(k) > 0 for every k), unlike our favor."""

    def __init__(self, head_dim, features, mask_mode="v"):
        super().__init__()
        with warnings.catch_warnings():  # its distutils and torch.cuda.amp deprecation notices
            warnings.simplefilter("ignore")
            from performer_pytorch import FastAttention  # imported here: only this peer needs it
        self.fast = FastAttention(dim_heads=head_dim, nb_features=features, causal=False)
        self.mask_mode = mask_mode

    def forward(self, q, k, v, key_mask=None):
        if key_mask is not None:
            padded = ~key_mask[:, None, :, None]  # (B, 1, L, 1)
            v = v.masked_fill(padded, 0.0)
            if self.mask_mode == "kv":
                k = k.masked_fill(padded, 0.0)
        return self.fast(q, k, v)


# ---------------------------------------------------------------------------------------------
# favor_sharp_plain (FAVOR#: symmetric dense-exponential random features)


def orthogonal_gaussian_rows(features, dim, generator, dtype=torch.float64):
    """Orthogonal random features: blocks of dim Haar-orthonormal directions, each row scaled by
    the norm of an independent N(0, I_dim) vector (chi lengths), like weight_sampler orthogonal,
    row_norm chi."""
    blocks = []
    for _ in range(math.ceil(features / dim)):
        g = torch.randn(dim, dim, generator=generator, dtype=dtype)  # (d, d)
        q, r = torch.linalg.qr(g)                                     # (d, d) each
        signs = torch.sign(torch.diagonal(r))                         # (d,)
        signs[signs == 0] = 1.0
        blocks.append((q * signs).T)  # (d, d): rows are directions, exactly Haar after the signs
    directions = torch.cat(blocks, dim=0)[:features]  # (m, d)
    lengths = torch.randn(features, dim, generator=generator, dtype=dtype).norm(dim=1, keepdim=True)  # (m, 1)
    return directions * lengths  # (m, d)


def pair_second_moment(x, y, key_mask):
    """M = mean over real (i, j) of (x_i + y_j)(x_i + y_j)^T
         = E[x x^T] + E[y y^T] + mu_x mu_y^T + mu_y mu_x^T, per (batch, head)."""
    w = key_mask[:, None, :, None].to(x.dtype)    # (B, 1, L, 1)
    n = w.sum(dim=2, keepdim=True).clamp_min(1.0)  # (B, 1, 1, 1)
    second_x = torch.einsum("bhld,bhle->bhde", x * w, x) / n  # (B, H, d, d)
    second_y = torch.einsum("bhld,bhle->bhde", y * w, y) / n  # (B, H, d, d)
    mean_x = (x * w).sum(dim=2) / n.squeeze(-1)               # (B, H, d)
    mean_y = (y * w).sum(dim=2) / n.squeeze(-1)               # (B, H, d)
    cross = mean_x.unsqueeze(-1) * mean_y.unsqueeze(-2)       # (B, H, d, d)
    return second_x + second_y + cross + cross.transpose(-2, -1)


def gerf_optimal_a(eigenvalues):
    """a = (1 - 2l - sqrt((2l + 1)^2 + 8l)) / 16: the variance-optimal A per eigen-direction."""
    l = eigenvalues
    return (1.0 - 2.0 * l - torch.sqrt((2.0 * l + 1.0) ** 2 + 8.0 * l)) / 16.0


def sderf_parameters(x, y, key_mask, omega):
    """B w rows, w^T A w and log D of f(w, x) = D exp(w^T A w + w^T B x - |x|^2 / 2) with
    M = U diag(l) U^T, A = U diag(a) U^T, B = U diag(sqrt(1 - 4a)) U^T, D = det(I - 4A)^1/4.
    Without gradient, in float64: the estimate is unbiased for any valid parameters, they only
    set its variance."""
    with torch.no_grad():
        moment = pair_second_moment(x.detach(), y.detach(), key_mask).double()  # (B, H, d, d)
        moment = 0.5 * (moment + moment.transpose(-2, -1))
        eigenvalues, eigenvectors = torch.linalg.eigh(moment)  # (B, H, d), (B, H, d, d)
        a = gerf_optimal_a(eigenvalues.clamp_min(0.0))         # (B, H, d), all <= 0
        rotated = torch.einsum("md,bhde->bhme", omega.double(), eigenvectors)  # (B, H, m, d): U^T w
        quadratic = (rotated ** 2 * a.unsqueeze(-2)).sum(dim=-1)                # (B, H, m): w^T A w
        b_rows = torch.einsum("bhme,bhfe->bhmf", rotated * torch.sqrt(1.0 - 4.0 * a).unsqueeze(-2),
                              eigenvectors)                                     # (B, H, m, d): B w
        log_d = 0.25 * torch.log1p(-4.0 * a).sum(dim=-1)                        # (B, H)
    return b_rows, quadratic, log_d


def sderf_log_features(z, b_rows, offset):
    """log f(w_i, z) - log(m) / 2 = w_i^T B z - |z|^2 / 2 + (log D + w_i^T A w_i - log(m) / 2)."""
    projection = torch.einsum("bhld,bhmd->bhlm", z, b_rows)  # (B, H, L, m)
    return projection - 0.5 * (z ** 2).sum(dim=-1, keepdim=True) + offset


def stabilized_exp_features(log_q, log_k, key_mask):
    """exp of the log-features, each query row and each (batch, head) key set shifted by its
    detached maximum (the shifts cancel in the ratio); padded keys exactly zero."""
    padded = ~key_mask[:, None, :, None]  # (B, 1, L, 1)
    log_k = log_k.masked_fill(padded, float("-inf"))
    log_q = log_q - log_q.detach().amax(dim=-1, keepdim=True)
    key_max = log_k.detach().amax(dim=(-2, -1), keepdim=True)  # (B, H, 1, 1)
    log_k = log_k - key_max.masked_fill(torch.isinf(key_max), 0.0)
    return torch.exp(log_q), torch.exp(log_k)  # (B, H, L, m) each


class FavorSharpPlain(nn.Module):
    def __init__(self, head_dim, features, seed=0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.features = features
        self.register_buffer("omega", orthogonal_gaussian_rows(features, head_dim, generator).float())  # (m, d)

    def forward(self, q, k, v, key_mask=None):
        if key_mask is None:
            key_mask = torch.ones(q.shape[0], q.shape[2], dtype=torch.bool, device=q.device)  # (B, L)
        scale = q.shape[-1] ** -0.25
        x, y = q * scale, k * scale  # (B, H, L, d) each
        b_rows, quadratic, log_d = sderf_parameters(x, y, key_mask, self.omega)
        offset = (log_d.unsqueeze(-1) + quadratic - 0.5 * math.log(self.features)).unsqueeze(-2)  # (B, H, 1, m)
        b_rows, offset = b_rows.to(x.dtype), offset.to(x.dtype)
        log_q = sderf_log_features(x, b_rows, offset)  # (B, H, L, m)
        log_k = sderf_log_features(y, b_rows, offset)  # (B, H, L, m)
        phi_q, phi_k = stabilized_exp_features(log_q, log_k, key_mask)
        return linear_attention(phi_q, phi_k, v)


# ---------------------------------------------------------------------------------------------
# schoenbat_plain (SchoenbAt: pre-SBN, random Maclaurin features of exp, post-SBN)


def exp_maclaurin_coefficients(max_degree):
    """a_n = 1 / n! of exp(t), n = 0 .. max_degree."""
    return [1.0 / math.factorial(n) for n in range(max_degree + 1)]


def truncated_degree_pmf(max_degree):
    """P(N = n) proportional to 2^-(n+1) on n = 1 .. max_degree."""
    weights = torch.tensor([2.0 ** -(n + 1) for n in range(1, max_degree + 1)], dtype=torch.float64)  # (N,)
    return weights / weights.sum()


def pre_sbn(x):
    """Standardise over head_dim (biased variance), then project onto the unit sphere."""
    centered = x - x.mean(dim=-1, keepdim=True)  # (..., d)
    standardized = centered / torch.sqrt(centered.pow(2).mean(dim=-1, keepdim=True) + PRE_SBN_EPS)  # (..., d)
    return standardized / standardized.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def random_maclaurin_features(x, rademacher_by_degree, scale_by_degree, constant):
    """[sqrt(a_0), sqrt(a_N / P(N) / (m-1)) prod_{j<=N} (w_j . x) for m-1 draws]: one einsum
    (one matmul) and one torch.prod per degree group."""
    parts = [torch.full((*x.shape[:-1], 1), constant, dtype=x.dtype, device=x.device)]  # (B, H, L, 1)
    for rademacher, scale in zip(rademacher_by_degree, scale_by_degree):
        factors = torch.einsum("bhld,cnd->bhlcn", x, rademacher.to(x.dtype))  # (B, H, L, count, n)
        parts.append(factors.prod(dim=-1) * scale)                             # (B, H, L, count)
    return torch.cat(parts, dim=-1)  # (B, H, L, m)


def post_sbn(z, gamma, beta):
    """gamma sign(z) |z|^beta, written so that it is exactly z while beta = 1 (ours, see
    schoenbat.cpp: the official PostSBN.forward is undefined for negative outputs)."""
    return gamma * z * z.abs().clamp_min(POST_SBN_FLOOR).pow(beta - 1.0)


class SchoenbatPlain(nn.Module):
    def __init__(self, head_dim, features, max_degree=20, seed=0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        coefficients = exp_maclaurin_coefficients(max_degree)
        pmf = truncated_degree_pmf(max_degree)                                         # (N,)
        draws = features - 1
        degrees = torch.multinomial(pmf, draws, replacement=True, generator=generator) + 1  # (m-1,)
        groups, counts = torch.unique(degrees, sorted=True, return_counts=True)  # (G,), (G,): degrees drawn, how often
        self.constant = math.sqrt(coefficients[0])
        self.scales = []
        for n, count in zip(groups.tolist(), counts.tolist()):
            signs = torch.randint(0, 2, (count, n, head_dim), generator=generator).float() * 2 - 1  # (count, n, d)
            self.register_buffer(f"rademacher_degree_{n}", signs)
            self.scales.append(math.sqrt(coefficients[n] / pmf[n - 1].item() / draws))
        self.degree_names = [f"rademacher_degree_{n}" for n in groups.tolist()]
        self.factors = int(degrees.sum())
        self.post_gamma = nn.Parameter(torch.ones(1))        # (1,)
        self.post_beta = nn.Parameter(torch.ones(head_dim))  # (d,)

    def feature_map(self, z):
        return random_maclaurin_features(z, [getattr(self, name) for name in self.degree_names],
                                         self.scales, self.constant)

    def forward(self, q, k, v, key_mask=None):
        scale = q.shape[-1] ** -0.25  # |x.y| <= d^-1/2 after the sphere
        x, y = pre_sbn(q) * scale, pre_sbn(k) * scale  # (B, H, L, d) each
        phi_q = self.feature_map(x)  # (B, H, L, m)
        phi_k = self.feature_map(y)  # (B, H, L, m)
        if key_mask is not None:
            phi_k = phi_k.masked_fill(~key_mask[:, None, :, None], 0.0)
        out = linear_attention(phi_q, phi_k, v)  # (B, H, L, D)
        return post_sbn(out, self.post_gamma.to(out.dtype), self.post_beta.to(out.dtype))


# ---------------------------------------------------------------------------------------------
# bigbird, reformer, informer: the Skyformer paper's own attention modules, imported


SKYFORMER_HINT = ("set SKYFORMER_REPO to a checkout of github.com/pkuzengqi/Skyformer "
                  "(git clone https://github.com/pkuzengqi/Skyformer /tmp/Skyformer)")


def skyformer_module(name):
    """src/models/<name>.py of the Skyformer checkout named by SKYFORMER_REPO (the convention of
    experiments/lockstep)."""
    repo = os.environ.get("SKYFORMER_REPO")
    if not repo or not os.path.isdir(os.path.join(repo, "src", "models")):
        sys.exit(f"peer_attention: {SKYFORMER_HINT}")
    src = os.path.join(repo, "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(f"models.{name}")
    except ImportError as e:
        sys.exit(f"peer_attention: {e}: .venv/bin/pip install --no-deps -r experiments/peers/requirements.txt")


def skyformer_config(heads, head_dim, length, features):
    """The keys Skyformer's modules read, as its LRA runs set them: src/config.py's
    extra_attn_config (block_size 64, num_random_blocks 3; num_hash 2; in_nb_features 128) and
    main.py (random_seed 42, max_seq_len = the padded length, a power of two there)."""
    return {"head_dim": head_dim, "num_head": heads, "transformer_dim": heads * head_dim,
            "max_seq_len": length, "attention_dropout": 0.0, "random_seed": 42,
            "block_size": 64, "num_random_blocks": 3, "num_hash": 2, "in_nb_features": features}


def float_key_mask(q, key_mask):
    """Skyformer's models pass the mask as float (B, L), 1 = real, and always pass one."""
    if key_mask is None:
        return torch.ones(q.shape[0], q.shape[2], dtype=q.dtype, device=q.device)  # (B, L)
    return key_mask.to(q.dtype)


class BigBirdPeer(nn.Module):
    """BigBirdAttention(q, k, v, mask): HF's block-sparse attention (2 global, 3 window and
    num_random_blocks random key blocks per query block), its random blocks drawn with numpy
    from random_seed at every call, as in Skyformer's runs."""

    def __init__(self, config):
        super().__init__()
        self.attn = skyformer_module("attention_bigbird").BigBirdAttention(config)

    def forward(self, q, k, v, key_mask=None):
        return self.attn(q, k, v, float_key_mask(q, key_mask))  # (B, H, L, d)


class _Columns(nn.Module):
    """Stands in for one of LSHSelfAttention's projections: a slice of already projected states."""

    def __init__(self, start, stop):
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, hidden_states):
        return hidden_states[..., self.start:self.stop]


class ReformerPeer(nn.Module):
    """LSHAttention (HF's LSHSelfAttention with num_hashes 2 and its defaults: chunk length 64,
    one chunk before, none after, num_buckets set from the first length it sees) from projections
    already made, like every other peer: its query_key and value Linear layers are replaced by
    slices of (q as the shared query-key | v), so no projection is timed on either side. k is
    unused (Reformer shares queries and keys). The (B, H, L, d) -> (B, L, H*d) relayout this
    needs is timed with it (README: its share)."""

    def __init__(self, config):
        super().__init__()
        width = config["num_head"] * config["head_dim"]
        unused = [nn.Linear(config["transformer_dim"], width) for _ in range(3)]  # (W_q, W_k, W_v)
        self.attn = skyformer_module("attention_reformer").LSHAttention(config, *unused)
        self.attn.query_key = _Columns(0, width)
        self.attn.value = _Columns(width, 2 * width)

    def forward(self, q, k, v, key_mask=None):
        b, h, length, d = q.shape
        hidden = torch.cat((q, v), dim=1).transpose(1, 2).reshape(b, length, 2 * h * d)  # (B, L, 2*H*d): q heads, v heads
        out = self.attn(hidden, float_key_mask(q, key_mask))  # (B, L, H*d)
        return out.view(b, length, h, d).transpose(1, 2)      # (B, H, L, d), a view


class InformerPeer(nn.Module):
    """ProbAttention(q, k, v, mask): factor ceil(in_nb_features / ln max_seq_len); the top
    factor*ceil(ln L) queries by a sampled sparsity score attend exactly, the others output the
    mean of v. Its mask_flag is False, so it ignores the mask (padded keys count)."""

    def __init__(self, config):
        super().__init__()
        self.attn = skyformer_module("attention_informer").ProbAttention(config)

    def forward(self, q, k, v, key_mask=None):
        return self.attn(q, k, v, float_key_mask(q, key_mask))  # (B, H, L, d)


def make_peer(name, head_dim, features, max_degree=20, seed=0, performer_mask="v", dropout_p=0.0,
              heads=None, length=None):
    """heads and length: the Skyformer peers' modules are built for one shape."""
    if name in SKYFORMER_PEERS:
        config = skyformer_config(heads, head_dim, length, features)
        return {"bigbird": BigBirdPeer, "reformer": ReformerPeer, "informer": InformerPeer}[name](config)
    if name == "sdpa":
        return SdpaPeer(dropout_p)
    if name == "performer":
        return PerformerPeer(head_dim, features, performer_mask)
    if name == "favor_sharp_plain":
        return FavorSharpPlain(head_dim, features, seed)
    if name == "schoenbat_plain":
        return SchoenbatPlain(head_dim, features, max_degree, seed)
    raise ValueError(f"unknown peer {name!r}")


# ---------------------------------------------------------------------------------------------
# Timing


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line(threads):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{cpu_model()}, {os.cpu_count()} cores, {threads} torch threads, torch {torch.__version__}, "
            f"python {platform.python_version()}, {date}")


def time_ms(run):
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1e3


def summary(ms):
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms)}


def make_run(module, q, k, v, key_mask, grad_out, backward):
    if not backward:
        def run():
            with torch.inference_mode():
                module(q, k, v, key_mask)
        return run

    def run():
        for t in (q, k, v, *module.parameters()):
            t.grad = None
        module(q, k, v, key_mask).backward(grad_out)
    return run


def measure_case(args, peer, pass_name, length):
    """lra_bench's protocol: max(warmup, 1) untimed runs, then up to --repeats timed runs, fewer
    when they would pass --time-cap; a warm-up run over the cap stops the case."""
    case = {"peer": peer, "ours": OURS[peer], "pass": pass_name, "length": length, "status": "ok", "runs": 0}
    backward = pass_name == "forward+backward"
    try:
        module = make_peer(peer, args.head_dim, args.features, args.max_degree, args.seed, args.performer_mask,
                           heads=args.heads, length=length)
        module.eval()
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


def milliseconds(ms):
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def markdown(cases):
    lines = ["| peer | pass | L | median ms | min–max ms | runs |", "|---|---|---:|---:|---:|---:|"]
    for c in cases:
        if c["status"] != "ok":
            lines.append(f"| {c['peer']} | {c['pass']} | {c['length']} | {c['status']} | | {c['runs']} |")
            continue
        ms = c["ms"]
        lines.append(f"| {c['peer']} | {c['pass']} | {c['length']} | {milliseconds(ms['median'])} | "
                     f"{milliseconds(ms['min'])}–{milliseconds(ms['max'])} | {c['runs']} |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", nargs="+", default=list(DEFAULT_PEERS), choices=PEERS,
                   help=f"default: {' '.join(DEFAULT_PEERS)}; {' '.join(SKYFORMER_PEERS)} need SKYFORMER_REPO")
    p.add_argument("--lengths", "-L", nargs="+", type=int, default=[512, 1024, 2048, 4096])
    p.add_argument("--passes", nargs="+", default=["forward", "forward+backward"],
                   choices=["forward", "forward+backward"])
    p.add_argument("--batch", "-b", type=int, default=4)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--head-dim", "-d", type=int, default=32)
    p.add_argument("--features", "-m", type=int, default=128)
    p.add_argument("--max-degree", type=int, default=20, help="schoenbat_plain: Maclaurin truncation")
    p.add_argument("--masked", action="store_true",
                   help="pad the last 1/8 of every sequence's keys (lra_bench attention has no such case yet)")
    p.add_argument("--performer-mask", choices=["v", "kv"], default="v",
                   help="performer with --masked: zero v at padded keys (performer-pytorch's SelfAttention) "
                        "or k and v (Skyformer)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs per case (at least 1)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case")
    p.add_argument("--time-cap", type=float, default=15.0, help="seconds per run before a case stops")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0, help="random features' draw")
    p.add_argument("--json", help="write every case as JSON to this file")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
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
    head = (f"peer_attention: batch {args.batch}, heads {args.heads}, head_dim {args.head_dim}, "
            f"features {args.features}, float32, "
            f"{'last 1/8 of the keys padded' if args.masked else 'every token real'}, cpu\n"
            f"machine: {machine_line(args.threads)}\n"
            f"warm-up {args.warmup}, up to {args.repeats} timed runs per case, time cap {args.time_cap} s")
    print(head + "\n\n" + markdown(cases))
    if args.json:
        result = {"tool": "peer_attention", "machine": machine_line(args.threads), "threads": args.threads,
                  "torch": torch.__version__,
                  "shape": {"batch": args.batch, "heads": args.heads, "head_dim": args.head_dim,
                            "features": args.features, "max_degree": args.max_degree},
                  "masked": args.masked, "performer_mask": args.performer_mask, "cases": cases}
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()

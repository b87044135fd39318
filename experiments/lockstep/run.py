#!/usr/bin/env python3
"""Lockstep: lra_train against the Skyformer reference code, step by step.

For each attention type: build the reference model (pkuzengqi/Skyformer src/models; SchoenbAt's
official attention from 1911416-GuoYuhan/SchoenbAt inside it), write its seeded initial state
under our names as safetensors, train lra_train from that file (model.init_state) with dropout
off while it logs its batches, replay the same batches through the reference's training step
(src/main.py's step_LRA without AMP: mean loss, clip_grad_value_(1), AdamW, OneCycleLR), and
compare per step the training loss and the gradient's global norm, and the parameters at the end.

Modes, for lra_train / the reference: "paper" / "shipped" compares our default (the method as
its paper defines it) with the reference as published; where the two differ by design, also
"skyformer_code" / "shipped" (our attention.convention: skyformer_code, which reproduces the
reference's arithmetic) and "paper" / "aligned" (the reference with each documented deviation,
PATCHES below, replaced by the paper's form). Only the random draws the reference makes afresh
at every forward (Skyformer's landmarks) are always ours: they are in no state file.

Usage: experiments/lockstep/run.sh (sets the paths); see experiments/lockstep/README.md.
"""
import argparse
import json
import math
import os
import re
import struct
import subprocess
import sys
import types
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
TYPES = ["softmax", "favor", "nystromformer", "linformer", "skyformer", "schoenbat"]

# ---------------------------------------------------------------------------------------------
# Names: ours -> the reference's (ModelForSC). Attention draws are per type, below.

NAME_MAP = [
    (r"encoder\.token_embedding\.", "model.embeddings.word_embeddings."),
    (r"encoder\.position_embedding\.", "model.embeddings.position_embeddings."),
    (r"encoder\.blocks\.(\d+)\.ln_attention\.", r"model.transformer_\1.norm1."),
    (r"encoder\.blocks\.(\d+)\.wq\.", r"model.transformer_\1.mha.W_q."),
    (r"encoder\.blocks\.(\d+)\.wk\.", r"model.transformer_\1.mha.W_k."),
    (r"encoder\.blocks\.(\d+)\.wv\.", r"model.transformer_\1.mha.W_v."),
    (r"encoder\.blocks\.(\d+)\.wo\.", r"model.transformer_\1.mha.ff."),
    (r"encoder\.blocks\.(\d+)\.ln_mlp\.", r"model.transformer_\1.norm2."),
    (r"encoder\.blocks\.(\d+)\.fc1\.", r"model.transformer_\1.mlpblock.0."),
    (r"encoder\.blocks\.(\d+)\.fc2\.", r"model.transformer_\1.mlpblock.3."),
    (r"encoder\.final_norm\.", "model.norm."),
    (r"head_fc1\.", "seq_classifer.mlpblock.0."),
    (r"head_fc2\.", "seq_classifer.mlpblock.2."),
    # favor: performer-pytorch's FastAttention buffer, (m, d) rows of W as ours.
    (r"encoder\.blocks\.(\d+)\.attention\.projection$", r"model.transformer_\1.mha.attn.attn_fn.projection_matrix"),
    # schoenbat: post-SBN's gamma (1) and beta (d).
    (r"encoder\.blocks\.(\d+)\.attention\.post_gamma$", r"model.transformer_\1.mha.post_norm.gamma"),
    (r"encoder\.blocks\.(\d+)\.attention\.post_beta$", r"model.transformer_\1.mha.post_norm.beta"),
]
LINFORMER_MAP = (r"encoder\.blocks\.(\d+)\.attention\.projection$", r"model.transformer_\1.mha.attn.E")
# Ours only: draw bookkeeping (skyformer's seed, draw indices) and schoenbat's draws, which the
# reference keeps outside its state dict (handled by set_schoenbat_draws).
OURS_ONLY = re.compile(r"\.attention\.(draw_index|draw_seed|degrees|rademacher)$")


def to_reference_name(name, attention):
    rules = ([LINFORMER_MAP] if attention == "linformer" else []) + NAME_MAP
    for pattern, replacement in rules:
        if re.search(pattern, name):
            return re.sub(pattern, replacement, name)
    raise KeyError(f"no reference name for {name}")


# ---------------------------------------------------------------------------------------------
# safetensors in plain Python (8-byte header length, JSON header, raw little-endian data)

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def write_safetensors(path, tensors):
    names = {np.dtype(v): k for k, v in DTYPES.items()}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        array = tensors[name].detach().cpu().contiguous().numpy()
        blob = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ---------------------------------------------------------------------------------------------
# The reference model


def import_reference(skyformer, schoenbat):
    # performer.py imports these at module level for classes the LRA attention never uses.
    for name in ["local_attention", "axial_positional_embedding", "performer_pytorch",
                 "performer_pytorch.reversible"]:
        try:
            __import__(name)
        except ImportError:
            sys.exit(f"missing {name}: .venv/bin/pip install --no-deps -r "
                     "experiments/lockstep/requirements.txt")
    sys.path.insert(0, os.path.join(skyformer, "src"))
    if schoenbat:
        sys.path.insert(0, schoenbat)


def reference_config(args, attention, vocab, length):
    config = {
        "learn_pos_emb": True, "tied_weights": False, "embedding_dim": args.dim,
        "transformer_dim": args.dim, "transformer_hidden_dim": args.hidden,
        "head_dim": args.dim // args.heads, "num_head": args.heads, "num_layers": args.layers,
        "vocab_size": vocab, "max_seq_len": length, "dropout_prob": 0.0,
        "attention_dropout": 0.0, "pooling_mode": "MEAN", "num_classes": 10,
        "mixed_precision": False, "device": "cpu",
    }
    # Skyformer's config.py "extra_attn_config" for lra-listops.
    extra = {
        "softmax": ("softmax", {}),
        "favor": ("performer", {"rp_dim": args.features, "kernel_type": "exp"}),
        "nystromformer": ("nystrom", {"num_landmarks": args.features}),
        "linformer": ("linformer", {"linformer_k": args.features}),
        "skyformer": ("skyformer", {"nb_features": args.features, "sketched_kernel": "kernel_RS_RBF",
                                    "accumulation": 1, "sampling_factor": 4,
                                    "no_projection": False}),
        "schoenbat": ("softmax", {}),  # its attention replaces mha below
    }[attention]
    config["attn_type"] = extra[0]
    config.update(extra[1])
    return config


def build_reference(args, attention, vocab, length):
    from models.model_LRA import ModelForSC
    torch.manual_seed(args.seed)
    config = reference_config(args, attention, vocab, length)
    model = ModelForSC(config)
    if attention == "schoenbat":
        import rmfa
        from SchoenbAt import SchoenbAt
        rmfa.RMFA.__init__.__defaults__ = ("cpu", 20)  # its default device is cuda:0
        for i in range(args.layers):  # the official multi-head module in place of Attention
            setattr(getattr(model.model, f"transformer_{i}"), "mha",
                    SchoenbAt(args.dim, args.dim // args.heads, args.heads, 0.0,
                              {"nb_features": args.features, "dotf": "exp"}))
    return model


def skyformer_seed(layer):
    return (0x5EED0000 + layer) & 0x7FFFFFFFFFFFFFFF


_ours_names = {}  # attention type -> our state names, from a one-step probe run


def initial_state(model, attention, args):
    """The reference's seeded initial state under our names, plus the draws ours keeps in
    buffers: skyformer's landmark seed and draw index; schoenbat's Maclaurin draw (taken from the
    official projector's resample, converted to our layout)."""
    state = {}
    reference = model.state_dict()
    unmatched = set(reference)
    ours_names = _ours_names[attention]
    for ours in ours_names:
        if OURS_ONLY.search(ours):
            continue
        ref = to_reference_name(ours, attention)
        if ref not in reference:
            raise KeyError(f"{ours} -> {ref}: not in the reference model")
        state[ours] = reference[ref].detach().clone()
        unmatched.discard(ref)
    if unmatched:
        raise KeyError(f"reference tensors with no name of ours: {sorted(unmatched)}")
    for i in range(args.layers):
        prefix = f"encoder.blocks.{i}.attention."
        if prefix + "draw_index" in ours_names:
            state[prefix + "draw_index"] = torch.zeros(1, dtype=torch.int64)
        if attention == "skyformer":
            state[prefix + "draw_seed"] = torch.tensor([skyformer_seed(i)], dtype=torch.int64)
        if attention == "schoenbat":
            projector = getattr(model.model, f"transformer_{i}").mha.attn.Maclaurin_projector
            degrees, rows = [], []
            for module in projector.modules:
                for f in range(module.d_features):
                    degrees.append(module.degree)
                    rows += [node.weights[:, f] for node in module.sketch_list]
            order = np.argsort(degrees, kind="stable")  # ours: ascending, rows grouped by feature
            offsets = np.concatenate([[0], np.cumsum(degrees)])
            state[prefix + "degrees"] = torch.tensor(np.array(degrees)[order], dtype=torch.int64)
            state[prefix + "rademacher"] = torch.stack(
                [rows[offsets[f] + j] for f in order for j in range(degrees[f])])
    return state


# ---------------------------------------------------------------------------------------------
# Reference deviations, replaced by our convention in "aligned" mode (docs/attention.md)


def patch_performer_single_scale():
    """The reference scales q, k by d^-1/4 twice (kernel exp(q.k/d)), adds 1e-4 to every feature
    and leaves padded keys' features non-zero (they enter the denominator). Aligned: one d^-1/4,
    no +1e-4, padded keys' features zero."""
    from models import attention_performer, performer

    def forward(self, Q, K, V, mask):
        fn = self.attn_fn
        q = performer.softmax_kernel(Q, projection_matrix=fn.projection_matrix, is_query=True, eps=0.0)
        k = performer.softmax_kernel(K, projection_matrix=fn.projection_matrix, is_query=False, eps=0.0)
        k = k * mask[:, None, :, None]
        return performer.linear_attention(q, k, V * mask[:, None, :, None])

    attention_performer.PerformerAttention.forward = forward


def per_matrix_inverse(mat, n_iter=6, init_option="original"):
    """Our pinv start Z0 = A^T / (|A|_1 |A|_inf) of each matrix (the reference divides by one
    maximum column sum over the whole batch)."""
    eye = torch.eye(mat.size(-1), device=mat.device)
    norm1 = mat.abs().sum(-2).amax(-1)[..., None, None]
    norm_inf = mat.abs().sum(-1).amax(-1)[..., None, None]
    z = mat.transpose(-1, -2) / (norm1 * norm_inf)
    for _ in range(n_iter):
        kz = mat @ z
        z = (0.25 * z) @ (13 * eye - kz @ (15 * eye - kz @ (7 * eye - kz)))
    return z


def patch_nystrom_real_token_landmarks():
    """The reference averages fixed segments of the padded length (pads included) and starts the
    pinv from a batch-wide maximum. Aligned: segment means of each sequence's real tokens and the
    per-matrix start (our nystromformer)."""
    from models import attention_nystrom

    def landmarks(x, mask, m):  # (B, H, L, d), (B, L) -> (B, H, m, d)
        n = mask.sum(-1).long()  # (B,)
        ranks = torch.cumsum(mask, -1) - 1  # (B, L): rank of each real token
        j = torch.arange(m)
        start = (j[None] * n[:, None]) // m
        end = torch.maximum(((j[None] + 1) * n[:, None]) // m, start + 1)  # (B, m)
        r = ranks[:, None, :]
        weights = ((r >= start[..., None]) & (r < end[..., None]) & (mask[:, None, :] > 0)).float()
        weights = weights / weights.sum(-1, keepdim=True).clamp_min(1)  # (B, m, L)
        return torch.einsum("bml,bhld->bhmd", weights, x)

    def forward(self, Q, K, V, mask):
        Q = Q * mask[:, None, :, None] / math.sqrt(math.sqrt(self.head_dim))
        K = K * mask[:, None, :, None] / math.sqrt(math.sqrt(self.head_dim))
        q_l, k_l = landmarks(Q, mask, self.num_landmarks), landmarks(K, mask, self.num_landmarks)
        kernel_1 = torch.softmax(Q @ k_l.transpose(-1, -2), -1)
        kernel_2 = torch.softmax(q_l @ k_l.transpose(-1, -2), -1)
        kernel_3 = torch.softmax(q_l @ K.transpose(-1, -2) - 1e9 * (1 - mask[:, None, None, :]), -1)
        return (kernel_1 @ per_matrix_inverse(kernel_2)) @ (kernel_3 @ V)

    attention_nystrom.NystromAttention.forward = forward


def patch_skyformer_inverse():
    """Aligned: the per-matrix pinv start (the reference's is one batch-wide maximum)."""
    from models import attention_skyformer
    attention_skyformer.iterative_inv = per_matrix_inverse


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


class SkyformerDraws:
    """Our landmark draw (src/attention/backends/skyformer.cpp, landmark_generator in
    src/attention/nystrom.cpp) in the reference's layout: training forward of step s uses draw
    index s - 1 of the layer's seed; uniform u (B, a c) in float64 from a CPU generator."""
    step = 1

    @staticmethod
    def install(layers):
        from models import attention_skyformer
        for i, layer in enumerate(layers):
            layer.mha.attn.layer_seed = skyformer_seed(i)

        @torch.no_grad()
        def uniform_sketching(self, n, nb_rows, nb_columns, non_padding_num):
            index = SkyformerDraws.step - 1
            seed = splitmix64(self.layer_seed ^ splitmix64(index & 0xFFFFFFFFFFFFFFFF))
            gen = torch.Generator().manual_seed(seed)
            b = non_padding_num.shape[0]
            u = torch.rand((b, nb_rows * nb_columns), generator=gen, dtype=torch.float64)
            count = non_padding_num.double()[:, None]
            S = torch.minimum((u * count).floor(), (count - 1).clamp_min(0)).long()
            total = nb_rows * nb_columns
            S[:, total // 2:] += n
            return S.reshape(-1, nb_rows, nb_columns), torch.ones(S.shape).reshape(-1, nb_rows, nb_columns)

        attention_skyformer.Skyformer.uniform_sketching = uniform_sketching


def patch_post_sbn():
    """The official PostSBN.forward cannot run (it reads `out` before assigning it). Ours, as
    documented: gamma * z * max(|z|, 1e-4)^(beta - 1) = gamma sign(z)|z|^beta (identity at init)."""
    import ppSBN

    def forward(self, x):
        return self.gamma * x * x.abs().clamp_min(1e-4).pow(self.beta - 1)

    ppSBN.PostSBN.forward = forward


PATCHES = {
    "favor": [patch_performer_single_scale],
    "nystromformer": [patch_nystrom_real_token_landmarks],
    "skyformer": [patch_skyformer_inverse],
}

# Our settings that match the reference's, per type (the rest is the lockstep config).
OURS_ATTENTION = {
    "softmax": {},
    "favor": {"features": "F", "redraw_interval": 0, "component": "positive",
              "weight_sampler": "orthogonal"},
    "nystromformer": {"num_landmarks": "F", "pinv_iterations": 6},
    "linformer": {"linformer_k": "F"},
    "skyformer": {"features": "F", "accumulation": 1, "pinv_iterations": 6},
    # The official rfa is the prefix-sum (causal) form with the denominator clamped at 1.
    "schoenbat": {"features": "F", "redraw_interval": 0, "kernel": "exp", "causal": True, "eps": 1.0},
}


# ---------------------------------------------------------------------------------------------
# Runs


def attention_sets(attention, args):
    sets = [f"attention.type={attention}"]
    for key, value in OURS_ATTENTION[attention].items():
        value = args.features if value == "F" else value
        sets.append(f"attention.{key}={str(value).lower() if isinstance(value, bool) else value}")
    return sets


def lra_train(args, folder, sets):
    """lra_train on the lockstep config and the prepared data; the run goes to `folder`."""
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    command = [args.lra_train, "--config", args.config, "--overwrite"]
    for s in [f"name={os.path.basename(folder)}", f"output.dir={os.path.dirname(folder)}",
              "data.source=files", f"data.dir={args.data}", f"train.steps={args.steps}",
              f"train.warmup={args.warmup}", f"train.lr={args.lr}", f"threads={args.threads}",
              f"seed={args.seed}"] + sets:
        command += ["--set", s]
    with open(folder + ".log", "w") as log:
        if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            sys.exit(f"lra_train failed; see {folder}.log")


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def replay_reference(model, args, batches, data):
    tokens, labels = data
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-6,
                                  weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer=optimizer, max_lr=args.lr, pct_start=args.warmup / args.steps,
        anneal_strategy="linear", total_steps=args.steps)
    model.train()
    losses, norms = [], []
    for entry in batches:
        SkyformerDraws.step = entry["step"]
        index = torch.tensor(entry["indices"])
        ids = torch.from_numpy(tokens[index.numpy()].astype(np.int64))
        mask = (ids != 0).float()
        optimizer.zero_grad()
        outputs = model(ids, mask, torch.from_numpy(labels[index.numpy()].astype(np.int64)))
        loss = outputs["loss"].mean()
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")).item())
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=1)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses, norms


def relative(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def compare(attention, mode, ours_metrics, ref_losses, ref_norms, final, model, args):
    train = [m for m in ours_metrics if "loss" in m]
    ours_losses = [m["loss"] for m in train]
    ours_norms = [m["grad_norm"] for m in train]
    n = min(len(ours_losses), len(ref_losses))
    loss_rel = [relative(ours_losses[i], ref_losses[i]) for i in range(n)]
    norm_rel = [relative(ours_norms[i], ref_norms[i]) for i in range(n)]
    first = next((i + 1 for i, r in enumerate(loss_rel) if r > 1e-3), None)
    reference = model.state_dict()
    worst, worst_name = 0.0, ""
    for name, value in final.items():
        if OURS_ONLY.search(name):
            continue
        ref = reference[to_reference_name(name, attention)].detach().double()
        err = ((value.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()
        if err > worst:
            worst, worst_name = err, name
    return {
        "attention": attention, "mode": mode, "steps": n,
        "loss_rel_10": max(loss_rel[:10]), "loss_rel_all": max(loss_rel),
        "grad_norm_rel_10": max(norm_rel[:10]), "grad_norm_rel_all": max(norm_rel),
        "first_step_over_1e-3": first, "final_param_rel": worst, "final_param_worst": worst_name,
        "ours_loss": ours_losses, "reference_loss": ref_losses,
        "ours_grad_norm": ours_norms, "reference_grad_norm": ref_norms,
    }


def one(args, attention, mode, data):
    folder = os.path.join(args.out, f"{attention}_{mode}")
    os.makedirs(args.out, exist_ok=True)
    vocab, length = args.vocab, args.length
    # Our names (and shapes) from a one-step run of our own: the file we write must match them.
    probe = os.path.join(args.out, "probe", attention)
    if attention not in _ours_names:
        lra_train(args, probe, attention_sets(attention, args) + ["train.steps=1", "train.warmup=0"])
        _ours_names[attention] = sorted(read_safetensors(os.path.join(probe, "init.safetensors")))
    model = build_reference(args, attention, vocab, length)
    if attention == "skyformer":
        SkyformerDraws.install([getattr(model.model, f"transformer_{i}") for i in range(args.layers)])
    state = initial_state(model, attention, args)
    init_path = folder + ".init.safetensors"
    write_safetensors(init_path, state)
    sets = attention_sets(attention, args) + [f"model.init_state={init_path}"]
    if mode == "skyformer_code":
        sets.append("attention.convention=skyformer_code")
    lra_train(args, folder, sets)
    batches = read_jsonl(os.path.join(folder, "batches.jsonl"))
    ref_losses, ref_norms = replay_reference(model, args, batches, data)
    final = read_safetensors(os.path.join(folder, "final.safetensors"))
    return compare(attention, mode, read_jsonl(os.path.join(folder, "metrics.jsonl")),
                   ref_losses, ref_norms, final, model, args)


def fmt(x):
    return "—" if x is None else (f"{x:.1e}" if isinstance(x, float) else str(x))


def table(results):
    lines = ["| attention | lra_train | reference | loss rel. diff, steps 1-10 | steps 1-N | "
             "first step > 1e-3 | grad-norm rel. diff, 1-10 | 1-N | parameters after N (rel.) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ours = {"skyformer_code": "convention: skyformer_code"}.get(
            r["mode"], "causal: true, eps: 1" if r["attention"] == "schoenbat" else "default")
        reference = "with the paper's form" if r["mode"] == "aligned" else "as published"
        lines.append(f"| `{r['attention']}` | {ours} | {reference} | {fmt(r['loss_rel_10'])} | "
                     f"{fmt(r['loss_rel_all'])} | {fmt(r['first_step_over_1e-3'])} | "
                     f"{fmt(r['grad_norm_rel_10'])} | {fmt(r['grad_norm_rel_all'])} | "
                     f"{fmt(r['final_param_rel'])} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--types", default=",".join(TYPES))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--config", default="experiments/lockstep/listops_lockstep.yaml")
    parser.add_argument("--data", required=True, help="lra_prepare listops --from-config folder")
    parser.add_argument("--lra-train", default="build/lra_train")
    parser.add_argument("--skyformer", default=os.environ.get("SKYFORMER_REPO"))
    parser.add_argument("--schoenbat", default=os.environ.get("SCHOENBAT_REPO"))
    parser.add_argument("--out", default="runs/lockstep")
    parser.add_argument("--json", default=None, help="write every step's numbers here")
    parser.add_argument("--md", default=None, help="write the table here")
    parser.add_argument("--footer", default="", help="a line under the table (where it ran)")
    args = parser.parse_args()
    if not args.skyformer:
        sys.exit("set SKYFORMER_REPO to a checkout of github.com/pkuzengqi/Skyformer")
    types_ = args.types.split(",")
    if "schoenbat" in types_ and not args.schoenbat:
        sys.exit("set SCHOENBAT_REPO to a checkout of github.com/1911416-GuoYuhan/SchoenbAt")
    import_reference(args.skyformer, args.schoenbat if "schoenbat" in types_ else None)
    meta = json.load(open(os.path.join(args.data, "meta.json")))
    args.length = meta["max_length"]
    tokens = np.load(os.path.join(args.data, "train.tokens.npy"))
    labels = np.load(os.path.join(args.data, "train.labels.npy"))
    args.vocab = None
    args.dim, args.heads, args.layers, args.hidden = 64, 2, 2, 128
    torch.set_num_threads(args.threads)
    results = []
    for attention in types_:
        if attention == "schoenbat":
            patch_post_sbn()
        for mode in ["paper", "skyformer_code", "aligned"] if attention in PATCHES else ["paper"]:
            if mode == "aligned":
                for patch in PATCHES[attention]:
                    patch()
            if args.vocab is None:
                args.vocab = vocab_from_probe(args)
            r = one(args, attention, mode, (tokens, labels))
            print(f"{attention:14s} {mode:8s} loss 1-10 {fmt(r['loss_rel_10'])}  1-{r['steps']} "
                  f"{fmt(r['loss_rel_all'])}  first>1e-3 {fmt(r['first_step_over_1e-3'])}  "
                  f"grad-norm 1-10 {fmt(r['grad_norm_rel_10'])}  params {fmt(r['final_param_rel'])} "
                  f"({r['final_param_worst']})", flush=True)
            results.append(r)
    print(table(results))
    if args.md:
        with open(args.md, "w") as f:
            f.write(f"{table(results)}\n\nListOps, {args.length} tokens, batch 32, {args.steps} steps, "
                    f"seed {args.seed}, float32 on CPU, dropout off. {args.footer}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items()}, "results": results}, f)


def vocab_from_probe(args):
    """The token-embedding rows lra_train makes for this task (the reference's vocab_size)."""
    probe = os.path.join(args.out, "probe", "vocab")
    lra_train(args, probe, ["train.steps=1", "train.warmup=0"])
    return read_safetensors(os.path.join(probe, "init.safetensors"))[
        "encoder.token_embedding.weight"].shape[0]


if __name__ == "__main__":
    main()

"""The GEMM shapes of the chunked linear attention, in both orientations, on one thread.

Each product of S (m x (D+1)) with one slice of features can be computed so that the
(D+1)-wide side is the GEMM's N or its M; this times both with the same MKL as LibTorch
(run it with the project's .venv python). Best of 30 interleaved batches of 20 calls, so that
the machine's noise (other guests) falls out of the minimum.

  .venv/bin/python experiments/peers/gemm_orientation.py
"""
import time

import torch

torch.set_num_threads(1)
nb, n, m, D1 = 4, 1024, 128, 33  # one thread's slice: 4 (batch x head) rows of 1024 tokens
phi = torch.randn(nb, n, m)
S = torch.randn(nb, m, D1)
St = S.transpose(1, 2).contiguous()
g = torch.randn(nb, n, D1)
acc, acc_t = torch.zeros(nb, m, D1), torch.zeros(nb, D1, m)
cases = {
    "S = phi^T [v,1]        (N = 33)": lambda: torch.bmm(phi.transpose(1, 2), g),
    "S^T = [v,1]^T phi      (M = 33)": lambda: torch.bmm(g.transpose(1, 2), phi),
    "o = phi(q) S           (N = 33)": lambda: torch.bmm(phi, S),
    "o^T = S^T phi(q)^T     (M = 33)": lambda: torch.bmm(St, phi.transpose(1, 2)),
    "dS += phi^T d_o        (N = 33)": lambda: acc.baddbmm_(phi.transpose(1, 2), g),
    "dS^T += d_o^T phi      (M = 33)": lambda: acc_t.baddbmm_(g.transpose(1, 2), phi),
    "dphi = d_o S^T         (K = 33)": lambda: torch.bmm(g, S.transpose(1, 2)),
    "dphi = d_o S^T, S^T kept        ": lambda: torch.bmm(g, St),
}
best = {k: float("inf") for k in cases}
for f in cases.values():
    for _ in range(5):
        f()
for _ in range(30):
    for name, f in cases.items():
        start = time.perf_counter()
        for _ in range(20):
            f()
        best[name] = min(best[name], (time.perf_counter() - start) / 20 * 1e6)
print(f"torch {torch.__version__}, 1 thread, {nb} x {n} rows, m = {m}, D + 1 = {D1}")
for name, us in best.items():
    print(f"{name}  {us:7.0f} us")

#!/usr/bin/env python3
# The twelve matmuls of one thread's share of favor forward+backward (lra_bench attention,
# batch 4 x heads 2 = 8 slices over 2 threads -> 4 slices per thread, L = 4096 in chunks of 1024
# rows, d = D = 32, m = 128), as bare single-threaded torch calls (the same MKL sgemm): a floor
# for what any implementation built on those products can reach. Usage:
#   OMP_WAIT_POLICY=PASSIVE .venv/bin/python experiments/peers/favor_products.py
import time, statistics, torch
torch.set_num_threads(1)
nb, L, c, d, D, m = 4, 4096, 1024, 32, 32, 128
x = torch.randn(nb, c, d); W = torch.randn(m, d); Wt = W.t().contiguous()
phi = torch.randn(nb, c, m); v1 = torch.randn(nb, c, D + 1); S = torch.randn(nb, m, D + 1)
d_o1 = torch.randn(nb, c, D + 1); dsum = torch.randn(nb, m, D + 1); dlog = torch.randn(nb, c, m)
def chunk():
    torch.matmul(x, Wt)                                   # key projection (forward)
    torch.bmm(phi.transpose(1, 2), v1)                    # piece of S
    torch.matmul(x, Wt)                                   # query projection (forward)
    torch.bmm(phi, S)                                     # [num, den]
    torch.matmul(x, Wt)                                   # query projection (backward recompute)
    torch.bmm(d_o1, S.transpose(1, 2))                    # d phi_q
    torch.baddbmm(dsum, phi.transpose(1, 2), d_o1)        # dS
    torch.matmul(dlog, W)                                 # dq through the projection
    torch.matmul(x, Wt)                                   # key projection (backward recompute)
    torch.bmm(v1, dsum.transpose(1, 2))                   # d phi_k
    torch.matmul(dlog, W)                                 # dk through the projection
    torch.bmm(phi, dsum.narrow(2, 0, D))                  # dv
flop = 2 * nb * c * (4 * d * m + 6 * m * (D + 1) + 2 * m * d)  # per chunk, approximately
for _ in range(3): chunk()
times = []
for _ in range(15):
    t = time.perf_counter()
    for _ in range(L // c): chunk()
    times.append((time.perf_counter() - t) * 1e3)
ms = statistics.median(times)
a = torch.randn(2048, 2048); b = torch.randn(2048, 2048)
for _ in range(2): a @ b
t = time.perf_counter(); a @ b; big = 2 * 2048**3 / (time.perf_counter() - t) / 1e9
print(f"one thread's 12 products x {L // c} chunks: median {ms:.2f} ms (min {min(times):.2f}), "
      f"{flop * (L // c) / ms / 1e6:.1f} GFLOP/s; large matmul on one thread {big:.1f} GFLOP/s")

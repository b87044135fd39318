#!/usr/bin/env python3
# The twelve matmuls of one thread's share of favor forward+backward (lra_bench attention,
# batch 4 x heads 2 = 8 slices over 2 threads -> 4 slices per thread, L = 4096 in chunks of 1024
# rows, d = D = 32, m = 128), as bare single-threaded torch calls (the same MKL sgemm): a floor
# for what any implementation built on those products can reach. `chunk` is the order before
# 4f22a1c (S kept as m x (D+1)), `chunk_transposed` the one since (S^T kept, the (D+1)-wide side
# as the GEMM's M); the two alternate. Usage:
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
St = S.transpose(1, 2).contiguous(); dsum_t = dsum.transpose(1, 2).contiguous()
def chunk_transposed():
    torch.matmul(x, Wt)                                   # key projection (forward)
    torch.bmm(v1.transpose(1, 2), phi)                    # piece of S^T
    torch.matmul(x, Wt)                                   # query projection (forward)
    torch.bmm(St, phi.transpose(1, 2))                    # [num, den]^T
    torch.matmul(x, Wt)                                   # query projection (backward recompute)
    torch.bmm(d_o1, St)                                   # d phi_q
    torch.baddbmm(dsum_t, d_o1.transpose(1, 2), phi)      # dS^T
    torch.matmul(dlog, W)                                 # dq through the projection
    torch.matmul(x, Wt)                                   # key projection (backward recompute)
    torch.bmm(v1, dsum_t)                                 # d phi_k
    torch.matmul(dlog, W)                                 # dk through the projection
    torch.bmm(phi, dsum_t.narrow(1, 0, D).transpose(1, 2))  # dv
flop = 2 * nb * c * (4 * d * m + 6 * m * (D + 1) + 2 * m * d)  # per chunk, approximately
for _ in range(3): chunk(); chunk_transposed()
times = {chunk: [], chunk_transposed: []}
for _ in range(15):
    for f in times:
        t = time.perf_counter()
        for _ in range(L // c): f()
        times[f].append((time.perf_counter() - t) * 1e3)
a = torch.randn(2048, 2048); b = torch.randn(2048, 2048)
for _ in range(2): a @ b
t = time.perf_counter(); a @ b; big = 2 * 2048**3 / (time.perf_counter() - t) / 1e9
for f, ts in times.items():
    ms = statistics.median(ts)
    print(f"{f.__name__}: one thread's 12 products x {L // c} chunks: median {ms:.2f} ms "
          f"(min {min(ts):.2f}), {flop * (L // c) / ms / 1e6:.1f} GFLOP/s")
print(f"large matmul on one thread {big:.1f} GFLOP/s")

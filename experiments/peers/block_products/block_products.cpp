// One thread timing each block product of the fused linear-attention kernel
// (src/attention/cpu/fused_linear_attention.cpp) through the project's cpu::gemm, beside a 512^3
// product: how far below the large-matmul rate the kernel's small products run. Shapes: a block
// of n = 128 rows, m = 128 features, head_dim d = D = 32, F = 256 Maclaurin factors (row stride
// 272 as the kernel pads it). Median of 15 timings of 200 calls each.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include <ATen/Parallel.h>

#include "attention/cpu/gemm.h"

int main() {
  at::set_num_threads(1);
  const int n = 128, F = 256, ld = 272, d = 32, m = 128, D = 32, D1 = D + 1;
  std::vector<float> x(n * d, 0.1f), ft(d * F, 1.f), f(F * d, 1.f), proj(n * ld, .5f),
      phi(n * m, .3f), sum(D1 * m, .2f), o1(n * D1, .1f), v1(n * D1, .1f), dx(n * d), dv(n * D),
      big_a(512 * 512, 1.f), big_b(512 * 512, 1.f), big_c(512 * 512);
  using lra::cpu::gemm;
  struct Case {
    const char* name;
    double flop;
    std::function<void()> run;
  };
  const std::vector<Case> cases = {
      {"factors   x (n,d) F^T (d,F)        n x F x d", 2.0 * n * F * d,
       [&] { gemm(false, false, n, F, d, 1.f, x.data(), d, ft.data(), F, 0.f, proj.data(), ld); }},
      {"sum       [v,1]^T phi              33 x m x n", 2.0 * D1 * m * n,
       [&] { gemm(true, false, D1, m, n, 1.f, v1.data(), D1, phi.data(), m, 1.f, sum.data(), m); }},
      {"sum 32    v^T phi                  32 x m x n", 2.0 * D * m * n,
       [&] { gemm(true, false, D, m, n, 1.f, v1.data(), D1, phi.data(), m, 1.f, sum.data(), m); }},
      {"output    phi S                    n x 33 x m", 2.0 * n * D1 * m,
       [&] { gemm(false, true, n, D1, m, 1.f, phi.data(), m, sum.data(), m, 0.f, o1.data(), D1); }},
      {"output 32 phi S                    n x 32 x m", 2.0 * n * D * m,
       [&] { gemm(false, true, n, D, m, 1.f, phi.data(), m, sum.data(), m, 0.f, o1.data(), D1); }},
      {"d phi     d[num,den] S^T           n x m x 33", 2.0 * n * m * D1,
       [&] {
         gemm(false, false, n, m, D1, 1.f, o1.data(), D1, sum.data(), m, 0.f, phi.data(), m);
       }},
      {"d v       phi dS^T                 n x 32 x m", 2.0 * n * D * m,
       [&] { gemm(false, true, n, D, m, 1.f, phi.data(), m, sum.data(), m, 0.f, dv.data(), D); }},
      {"d x       d factors (n,F) F        n x d x F", 2.0 * n * d * F,
       [&] { gemm(false, false, n, d, F, 1.f, proj.data(), ld, f.data(), d, 0.f, dx.data(), d); }},
      {"large     512 x 512 x 512", 2.0 * 512 * 512 * 512,
       [&] {
         gemm(false, false, 512, 512, 512, 1.f, big_a.data(), 512, big_b.data(), 512, 0.f,
              big_c.data(), 512);
       }},
  };
  for (const auto& c : cases) {
    for (int i = 0; i < 200; ++i) c.run();
    std::vector<double> seconds;
    for (int rep = 0; rep < 15; ++rep) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < 200; ++i) c.run();
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 200);
    }
    std::sort(seconds.begin(), seconds.end());
    const double t = seconds[seconds.size() / 2];
    std::printf("%-48s %8.2f us %7.1f GFLOP/s\n", c.name, t * 1e6, c.flop / t / 1e9);
  }
}

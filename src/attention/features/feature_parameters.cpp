#include "attention/features/feature_parameters.h"

#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "attention/cpu/gemm.h"

namespace lra {
namespace {

// sum[i] += sum over n rows (ld apart) of row[i], i < d.
template <typename T>
void add_rows(const T* rows, int64_t ld, int64_t n, int64_t d, T* __restrict sum) {
  for (int64_t r = 0; r < n; ++r) {
    const T* __restrict row = rows + r * ld;
    for (int64_t i = 0; i < d; ++i) sum[i] += row[i];
  }
}

// (B, L) -> (B, 1, L, 1) weights in x's dtype, and the real-token count (B, 1, 1, 1) >= 1.
std::pair<torch::Tensor, torch::Tensor> token_weights(const torch::Tensor& x,
                                                      const torch::Tensor& mask) {
  auto w = mask.to(x.dtype()).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  return {w, w.sum(2, true).clamp_min(1.0)};
}

// Per (batch, head): sum over real tokens of x x^T + y y^T (d, d) and of x and y (d). Each run of
// consecutive real rows is one GEMM per side straight from x's memory (rows any stride apart:
// heads are usually a view of (B, L, H d); coordinates contiguous), so padding costs nothing and
// nothing is copied.
template <typename T>
void masked_moments_cpu(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask,
                        torch::Tensor& second, torch::Tensor& sum_x, torch::Tensor& sum_y) {
  const int64_t B = x.size(0), H = x.size(1), L = x.size(2), d = x.size(3);
  const T* real = mask.data_ptr<T>();  // (B, L) 0/1
  const auto xs = x.strides(), ys = y.strides();
  at::parallel_for(0, B * H, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t bh = b0; bh < b1; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const T* xh = x.data_ptr<T>() + b * xs[0] + h * xs[1];  // (L, d), rows xs[2] apart
      const T* yh = y.data_ptr<T>() + b * ys[0] + h * ys[1];
      T* s = second.data_ptr<T>() + bh * d * d;
      T *mx = sum_x.data_ptr<T>() + bh * d, *my = sum_y.data_ptr<T>() + bh * d;
      std::fill(s, s + d * d, T(0));
      std::fill(mx, mx + d, T(0));
      std::fill(my, my + d, T(0));
      for (int64_t r0 = 0; r0 < L;) {
        if (real[b * L + r0] == 0) {
          ++r0;
          continue;
        }
        int64_t r1 = r0 + 1;
        while (r1 < L && real[b * L + r1] != 0) ++r1;
        const T *xr = xh + r0 * xs[2], *yr = yh + r0 * ys[2];
        cpu::gemm(true, false, d, d, r1 - r0, T(1), xr, xs[2], xr, xs[2], T(1), s, d);
        cpu::gemm(true, false, d, d, r1 - r0, T(1), yr, ys[2], yr, ys[2], T(1), s, d);
        add_rows(xr, xs[2], r1 - r0, d, mx);
        add_rows(yr, ys[2], r1 - r0, d, my);
        r0 = r1;
      }
    }
  });
}

// The tensor form: masked copies laid out (BH, L, d), so that the d x d sums are one batched GEMM
// each (matmul on the 4-D transposed views copies its operands and takes several times as long).
// The mask is 0/1, so xw^T xw = x^T W x.
void masked_moments_ops(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w,
                        torch::Tensor& second, torch::Tensor& sum_x, torch::Tensor& sum_y) {
  const int64_t B = x.size(0), H = x.size(1), L = x.size(2), d = x.size(3);
  auto xw = torch::empty({B, H, L, d}, x.options());
  auto yw = torch::empty({B, H, L, d}, y.options());
  torch::mul_out(xw, x, w);
  torch::mul_out(yw, y, w);
  auto x3 = xw.view({B * H, L, d}), y3 = yw.view({B * H, L, d});
  second = torch::bmm(x3.transpose(1, 2), x3).baddbmm_(y3.transpose(1, 2), y3);  // (BH, d, d)
  sum_x = xw.sum(2);                                                             // (B, H, d)
  sum_y = yw.sum(2);                                                             // (B, H, d)
}

}  // namespace

torch::Tensor gerf_optimal_a(const torch::Tensor& l) {
  return (1.0 - 2.0 * l - torch::sqrt((2.0 * l + 1.0).pow(2) + 8.0 * l)) / 16.0;
}

double gerf_optimal_a(double l) {
  return (1.0 - 2.0 * l - std::sqrt((2.0 * l + 1.0) * (2.0 * l + 1.0) + 8.0 * l)) / 16.0;
}

// The sums over L run in the input precision (they only set the variance), only the d x d
// results go to float64.
torch::Tensor pair_second_moment(const torch::Tensor& x, const torch::Tensor& y,
                                 const torch::Tensor& mask, bool cpu_row_loops) {
  auto [w, n] = token_weights(x, mask);
  const int64_t B = x.size(0), H = x.size(1), d = x.size(3);
  const auto type = x.scalar_type();
  torch::Tensor second, sum_x, sum_y;
  if (cpu_row_loops && x.is_cpu() && y.is_cpu() && y.scalar_type() == type &&
      (type == torch::kFloat || type == torch::kDouble)) {
    second = torch::empty({B * H, d, d}, x.options());
    sum_x = torch::empty({B, H, d}, x.options());
    sum_y = torch::empty({B, H, d}, x.options());
    auto real = mask.to(torch::kCPU, type).contiguous();  // (B, L)
    auto xc = x.stride(3) == 1 ? x : x.contiguous(), yc = y.stride(3) == 1 ? y : y.contiguous();
    AT_DISPATCH_FLOATING_TYPES(type, "masked_moments_cpu", [&] {
      masked_moments_cpu<scalar_t>(xc, yc, real, second, sum_x, sum_y);
    });
  } else {
    masked_moments_ops(x, y, w, second, sum_x, sum_y);
  }
  auto mu_x = sum_x / n.squeeze(-1);                     // (B, H, d)
  auto mu_y = sum_y / n.squeeze(-1);                     // (B, H, d)
  auto cross = mu_x.unsqueeze(-1) * mu_y.unsqueeze(-2);  // (B, H, d, d)
  return second.view({B, H, d, d}) / n + cross + cross.transpose(-2, -1);
}

torch::Tensor oprf_optimal_a(const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  auto [w, n] = token_weights(x, mask);
  auto xd = x.detach(), yd = y.detach();
  auto sq = ((xd.pow(2) + yd.pow(2)) * w).sum({2, 3}, true) / n;     // (B, H, 1, 1)
  auto mu_x = (xd * w).sum(2, true) / n;                             // (B, H, 1, d)
  auto mu_y = (yd * w).sum(2, true) / n;                             // (B, H, 1, d)
  auto trace = (sq + 2.0 * (mu_x * mu_y).sum(-1, true)).flatten(1);  // (B, H)
  auto per_dim = trace.to(torch::kFloat64) / static_cast<double>(x.size(-1));
  return gerf_optimal_a(per_dim.clamp_min(0.0));
}

torch::Tensor saderf_scaling(const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  auto [w, n] = token_weights(x, mask);
  auto sx = (x.detach().pow(2) * w).sum(2, true).to(torch::kFloat64);  // (B, H, 1, d)
  auto sy = (y.detach().pow(2) * w).sum(2, true).to(torch::kFloat64);  // (B, H, 1, d)
  auto psi = torch::pow(sy / sx, 0.25);
  // A coordinate that is zero on one side has no moment to balance (and 0/0 or x/0 there).
  return torch::where((sx > 0) & (sy > 0), psi, torch::ones_like(psi));
}

}  // namespace lra

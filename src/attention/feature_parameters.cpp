#include "attention/feature_parameters.h"

#include <torch/torch.h>

namespace lra {
namespace {

// (B, L) -> (B, 1, L, 1) weights in x's dtype, and the real-token count (B, 1, 1, 1) >= 1.
std::pair<torch::Tensor, torch::Tensor> token_weights(const torch::Tensor& x,
                                                      const torch::Tensor& mask) {
  auto w = mask.to(x.dtype()).unsqueeze(1).unsqueeze(-1);  // (B, 1, L, 1)
  return {w, w.sum(2, true).clamp_min(1.0)};
}

}  // namespace

torch::Tensor gerf_optimal_a(const torch::Tensor& l) {
  return (1.0 - 2.0 * l - torch::sqrt((2.0 * l + 1.0).pow(2) + 8.0 * l)) / 16.0;
}

// The sums over L run in the input precision (they only set the variance), only the d x d
// results go to float64.
torch::Tensor pair_second_moment(const torch::Tensor& x, const torch::Tensor& y,
                                 const torch::Tensor& mask) {
  auto [w, n] = token_weights(x, mask);
  const int64_t B = x.size(0), H = x.size(1), L = x.size(2), d = x.size(3);
  // Masked copies laid out (BH, L, d) whatever x's strides (heads are usually a view of (B, L,
  // H d)), so that the d x d sums are one batched GEMM each: matmul on the 4-D transposed views
  // copies its operands and takes several times as long. The mask is 0/1, so xw^T xw = x^T W x.
  auto xw = torch::empty({B, H, L, d}, x.options());
  auto yw = torch::empty({B, H, L, d}, y.options());
  torch::mul_out(xw, x, w);
  torch::mul_out(yw, y, w);
  auto x3 = xw.view({B * H, L, d}), y3 = yw.view({B * H, L, d});
  auto second = torch::bmm(x3.transpose(1, 2), x3).baddbmm_(y3.transpose(1, 2), y3);  // (BH,d,d)
  auto mu_x = xw.sum(2) / n.squeeze(-1);                                              // (B, H, d)
  auto mu_y = yw.sum(2) / n.squeeze(-1);                                              // (B, H, d)
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

#include "attention/nystrom.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "attention/attention.h"

namespace lra {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

torch::Tensor iterative_pinv(const torch::Tensor& a, int64_t iterations, bool batch_wide_start) {
  auto eye = torch::eye(a.size(-1), a.options());  // (m, m)
  torch::Tensor z;
  if (batch_wide_start) {
    z = a.transpose(-2, -1) / a.sum(-2).max();  // (.., m, m)
  } else {
    // Per matrix, not one maximum over the batch: each batch element's result must not depend
    // on the others (padding invariance, batch-size invariance).
    auto magnitude = a.abs();
    auto norm_1 = magnitude.sum(-2).amax(-1, true).unsqueeze(-1);    // (.., 1, 1) max column sum
    auto norm_inf = magnitude.sum(-1).amax(-1, true).unsqueeze(-1);  // (.., 1, 1) max row sum
    z = a.transpose(-2, -1) / (norm_1 * norm_inf);                   // (.., m, m)
  }
  for (int64_t i = 0; i < iterations; ++i) {
    auto az = torch::matmul(a, z);
    z = torch::matmul(0.25 * z,
                      13 * eye - torch::matmul(az, 15 * eye - torch::matmul(az, 7 * eye - az)));
  }
  return z;
}

torch::Tensor segment_means_matrix(const torch::Tensor& key_mask, int64_t segments) {
  auto real = key_mask > 0;                                       // (B, L)
  auto rank = real.to(torch::kInt64).cumsum(-1) - 1;              // (B, L) rank among real tokens
  auto n = real.sum(-1, /*keepdim=*/true).to(torch::kInt64);      // (B, 1)
  auto j = torch::arange(segments, rank.options()).unsqueeze(0);  // (1, m)
  auto start = torch::div(j * n, segments, "floor");              // (B, m)
  auto end = torch::maximum(torch::div((j + 1) * n, segments, "floor"), start + 1);
  auto r = rank.unsqueeze(1);  // (B, 1, L)
  auto in_segment = (r >= start.unsqueeze(-1)) & (r < end.unsqueeze(-1)) & real.unsqueeze(1);
  auto weights = in_segment.to(key_mask.scalar_type());  // (B, m, L)
  return weights / weights.sum(-1, true).clamp_min(1.0);
}

torch::Tensor gaussian_kernel(const torch::Tensor& x, const torch::Tensor& y) {
  auto half_x = 0.5 * x.pow(2).sum(-1, true);          // (.., n, 1)
  auto half_y = 0.5 * y.pow(2).sum(-1).unsqueeze(-2);  // (.., 1, p)
  // In place on the product (its backward reads x and y, not it): one (n x p) tensor, where
  // each out-of-place step would write another of that size.
  return torch::matmul(x, y.transpose(-2, -1)).sub_(half_x).sub_(half_y).exp_();  // (.., n, p)
}

torch::Tensor gaussian_attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v, const torch::Tensor& key_mask) {
  const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
  auto x = q.to(torch::kFloat64) * scale, y = k.to(torch::kFloat64) * scale;
  auto distance2 = (x.unsqueeze(-2) - y.unsqueeze(-3)).pow(2).sum(-1);  // (B, H, L, L)
  auto weights = torch::exp(-0.5 * distance2).masked_fill(padded_key_columns(key_mask), 0.0);
  return torch::matmul(weights, v.to(torch::kFloat64)).to(v.scalar_type());  // (B, H, L, d)
}

at::Generator landmark_generator(uint64_t seed, int64_t index) {
  return at::make_generator<at::CPUGeneratorImpl>(
      splitmix64(seed ^ splitmix64(static_cast<uint64_t>(index))));
}

}  // namespace lra

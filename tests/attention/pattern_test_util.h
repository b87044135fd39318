// Checks shared by the tests of the fixed-pattern sparse backends (local, longformer,
// sparse_transformer): a backend against softmax over a dense (L x L) mask the test builds
// literally from the method's definition, in values and gradients; float32 against float64;
// padding.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attention_test_util.h"

namespace lra::test {

// (L, L) float64, 1 where query i attends key j.
using PatternMask = std::function<bool(int64_t i, int64_t j)>;

inline torch::Tensor dense_mask(int64_t length, const PatternMask& allowed) {
  auto mask = torch::zeros({length, length}, torch::kFloat64);
  auto m = mask.accessor<double, 2>();
  for (int64_t i = 0; i < length; ++i)
    for (int64_t j = 0; j < length; ++j) m[i][j] = allowed(i, j) ? 1.0 : 0.0;
  return mask;
}

// Softmax over the allowed real keys, the obvious way: exp(score) times the (L, L) mask and the
// key mask, normalised by its row sum (a row with no allowed real key is left 0).
inline torch::Tensor dense_pattern_attention(const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v, const torch::Tensor& key_mask,
                                             const torch::Tensor& allowed) {
  const int64_t B = q.size(0), L = q.size(2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));
  auto weight = allowed.view({1, 1, L, L}) * key_mask.view({B, 1, 1, L});  // (B, 1, L, L)
  auto e = weight * torch::exp(scores - 30.0);  // scores of unit inputs stay far below 30
  auto sum = e.sum(-1, true);
  return torch::matmul(e / torch::where(sum > 0, sum, torch::ones_like(sum)), v);
}

// Real rows (mask 1) of (B, H, L, d), others zeroed: padded queries' rows are unspecified.
inline torch::Tensor real_rows(const torch::Tensor& t, const torch::Tensor& mask) {
  return t * mask.view({mask.size(0), 1, mask.size(1), 1}).to(t.dtype());
}

// A float64 backend built for sequences of up to `length` tokens (settings up to the length
// pass the config's checks).
inline AttentionPtr backend_for(const AttentionConfig& config, int64_t length,
                                int64_t head_dim = 4) {
  auto context = test_context(2, head_dim, 0.0, 1);
  context.max_length = length;
  auto backend = make_attention(config, context);
  backend->to(torch::kFloat64);
  return backend;
}

// The backend's output and q, k, v gradients against the dense reference's, in float64.
inline void expect_matches_dense(AttentionBackend& backend, const Inputs& in,
                                 const torch::Tensor& allowed, double tolerance = 1e-12) {
  std::vector<torch::Tensor> x = {in.q.clone().requires_grad_(), in.k.clone().requires_grad_(),
                                  in.v.clone().requires_grad_()};
  auto fast = backend.forward(x[0], x[1], x[2], in.mask);
  auto slow = dense_pattern_attention(x[0], x[1], x[2], in.mask, allowed);
  EXPECT_LT(max_abs(real_rows(fast - slow, in.mask)), tolerance);
  auto weight = real_rows(torch::randn_like(in.v), in.mask);
  auto g_fast = torch::autograd::grad({(fast * weight).sum()}, x);
  auto g_slow = torch::autograd::grad({(slow * weight).sum()}, x);
  for (size_t i = 0; i < 3; ++i) EXPECT_LT(max_abs(g_fast[i] - g_slow[i]), 10 * tolerance) << i;
}

// The backend in float32 against itself in float64, values and gradients (relative).
inline void expect_float32_agrees(const AttentionConfig& config, const Inputs& in, int64_t heads) {
  auto run = [&](torch::ScalarType dtype) {
    auto backend = make_attention(config, test_context(heads, in.q.size(3), 0.0, 3));
    backend->to(dtype);
    std::vector<torch::Tensor> x = {in.q.to(dtype).requires_grad_(),
                                    in.k.to(dtype).requires_grad_(),
                                    in.v.to(dtype).requires_grad_()};
    auto out = real_rows(backend->forward(x[0], x[1], x[2], in.mask.to(dtype)), in.mask);
    auto grads = torch::autograd::grad({out.sum()}, x);
    grads.insert(grads.begin(), out);
    return grads;
  };
  const auto f32 = run(torch::kFloat32), f64 = run(torch::kFloat64);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_LT(relative_error(f32[i].to(torch::kFloat64), f64[i]), 2e-5) << config.type << " " << i;
}

// Garbage at the padded positions changes no real row, and padded values enter with weight
// exactly zero (huge values leave the real rows bit-identical).
inline void expect_padding_invariant(AttentionBackend& backend, const Inputs& in) {
  const int64_t B = in.q.size(0), L = in.q.size(2), H = in.q.size(1), d = in.q.size(3);
  auto pad = (in.mask == 0).view({B, 1, L, 1});
  auto junk = random_inputs(B, H, L, d, 99, 0, 50.0);
  auto clean = backend.forward(in.q, in.k, in.v, in.mask);
  auto dirty = backend.forward(torch::where(pad, junk.q, in.q), torch::where(pad, junk.k, in.k),
                               torch::where(pad, junk.v, in.v), in.mask);
  EXPECT_LT(max_abs(real_rows(clean - dirty, in.mask)), 1e-12);
  auto huge = backend.forward(in.q, in.k, torch::where(pad, in.v * 1e200, in.v), in.mask);
  EXPECT_TRUE(torch::equal(real_rows(clean, in.mask), real_rows(huge, in.mask)));
}

// The first error attention_config_errors gives `config` at `padded_length`, "" for none.
inline std::string first_error(const AttentionConfig& config, int64_t padded_length) {
  const auto errors = attention_config_errors(config, padded_length);
  return errors.empty() ? "" : errors.front();
}

}  // namespace lra::test

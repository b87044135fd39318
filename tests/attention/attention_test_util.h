// Helpers shared by the attention tests: backend construction, seeded float64 inputs.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/random_feature_attention.h"
#include "attention/registry.h"
#include "config/config.h"
#include "config/schema.h"

namespace lra::test {

// Backend `type` with m = features and the kernel where it reads them (defaults elsewhere); m
// also sizes the other approximations (Nystromformer's landmarks, Linformer's k, BigBird's
// block size).
inline AttentionConfig attention_config(const std::string& type, int64_t features = 64,
                                        const std::string& kernel = "exp") {
  AttentionConfig c;
  c.features = features;
  c.num_landmarks = features;
  c.linformer_k = features;
  c.block_size = features;  // bigbird: its sparse path runs above 11 m tokens (r = 3)
  c.kernel = kernel;
  return with_backend(c, type);
}

// The kernel a backend computes: `wanted` when it reads attention.kernel, else its own.
inline std::string kernel_for(const std::string& type, const std::string& wanted) {
  return attention_backend(type).reads_key("kernel") ? wanted : "exp";
}

// The largest |t|, as a number for EXPECT_LT.
inline double max_abs(const torch::Tensor& t) {
  return t.abs().max().item<double>();
}

// The longest sequence the tests' hand-built contexts allow (AttentionContext::max_length;
// linformer sizes its projections by it).
constexpr int64_t kTestMaxLength = 64;

// A context as the encoder would give it, for sequences up to kTestMaxLength.
inline AttentionContext test_context(int64_t heads, int64_t head_dim, double dropout, uint64_t seed,
                                     ExecutionOptions execution = {}) {
  AttentionContext ctx{heads, head_dim, dropout, seed, execution};
  ctx.max_length = kTestMaxLength;
  return ctx;
}

// A backend on float64 buffers and parameters.
inline AttentionPtr make_backend(const AttentionConfig& config, int64_t head_dim, uint64_t seed = 7,
                                 int64_t heads = 2, ExecutionOptions execution = {}) {
  auto backend = make_attention(config, test_context(heads, head_dim, 0.0, seed, execution));
  backend->to(torch::kFloat64);
  return backend;
}

// The registered backends built on random features (RandomFeatureAttention).
inline std::vector<std::string> random_feature_backends() {
  std::vector<std::string> names;
  for (const auto& name : attention_backend_names())
    if (std::dynamic_pointer_cast<RandomFeatureAttention>(
            make_attention(attention_config(name, 4), test_context(1, 4, 0.0, 1))))
      names.push_back(name);
  return names;
}

inline std::shared_ptr<RandomFeatureAttention> as_random_feature(const AttentionPtr& backend) {
  auto rf = std::dynamic_pointer_cast<RandomFeatureAttention>(backend);
  if (!rf) throw std::logic_error("not a random-feature backend");
  return rf;
}

struct Inputs {
  torch::Tensor q, k, v;  // (B, H, L, D) float64
  torch::Tensor mask;     // (B, L) float64
};

// Seeded normal inputs; the last `pad` positions of batch element 0 are padding.
inline Inputs random_inputs(int64_t batch, int64_t heads, int64_t length, int64_t dim,
                            uint64_t seed, int64_t pad = 0, double scale = 1.0) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  Inputs in;
  in.q = torch::randn({batch, heads, length, dim}, gen, opts) * scale;
  in.k = torch::randn({batch, heads, length, dim}, gen, opts) * scale;
  in.v = torch::randn({batch, heads, length, dim}, gen, opts);
  in.mask = torch::ones({batch, length}, opts);
  if (pad > 0) in.mask.index_put_({0, torch::indexing::Slice(length - pad)}, 0.0);
  return in;
}

inline double relative_error(const torch::Tensor& estimate, const torch::Tensor& exact) {
  return ((estimate - exact).norm() / exact.norm()).item<double>();
}

// The feature Gram matrix phi(q)^T phi(k) of batch 0, head 0 over `draws` seeded redraws.
struct GramDraws {
  torch::Tensor mean;    // (L, L) mean of phi(q_i).phi(k_j) over draws
  torch::Tensor stderr;  // (L, L) standard error of that mean
  torch::Tensor mse;     // (L, L) mean squared error against the exact kernel
  torch::Tensor exact;   // (L, L)
};

inline GramDraws gram_over_draws(RandomFeatureAttention& rf, const test::Inputs& in,
                                 int64_t draws) {
  torch::NoGradGuard no_grad;
  auto exact = rf.exact_kernel(in.q, in.k)[0][0];
  auto sum = torch::zeros_like(exact), sum_sq = torch::zeros_like(exact);
  auto sq_err = torch::zeros_like(exact);
  for (int64_t r = 0; r < draws; ++r) {
    rf.redraw(r);
    auto phi = rf.features(in.q, in.k, in.mask, /*stabilized=*/false);
    auto g = torch::matmul(phi.query, phi.key.transpose(-2, -1))[0][0];  // (L, L)
    sum += g;
    sum_sq += g * g;
    sq_err += (g - exact).pow(2);
  }
  const double n = static_cast<double>(draws);
  auto mean = sum / n;
  auto var = (sum_sq / n - mean * mean) * (n / (n - 1));
  return {mean, torch::sqrt(var.clamp_min(0) / n), sq_err / n, exact};
}

}  // namespace lra::test

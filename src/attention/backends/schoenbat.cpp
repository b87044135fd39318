// SchoenbAt: random Maclaurin features (Kar & Karnick) for a dot-product kernel
// f(t) = sum_n a_n t^n, with SchoenbAt's two-stage regularisation:
//   x = pre_sbn(q) d^-1/4 (likewise keys), so |x.y| <= d^-1/2 is inside every kernel's domain;
//   phi(x) = [sqrt(a_0), (m-1)^-1/2 sqrt(a_N / P(N)) prod_{j<=N} (w_j . x) for m-1 draws],
//     N ~ P(N=n) ∝ 2^-(n+1) on 1..max_degree, w_j Rademacher, so E[phi(x).phi(y)] = f(x.y)
//     (up to the truncation at max_degree);
//   out = post_sbn(linear attention with phi), post_sbn(z) = gamma sign(z) |z|^beta.
//
// Post-SBN: the official PostSBN.forward computes gamma * out^beta with `out` undefined, and a
// real power is undefined for negative outputs. We keep that module's form (scalar gamma,
// per-dim beta, both initialised to 1, so post-SBN starts as the identity and schoenbat starts
// as an unbiased estimate of kernelized) and extend it oddly to every sign: sign(z) |z|^beta,
// written z * max(|z|, 1e-4)^(beta - 1) so that it is exactly z while beta = 1 and its slope
// stays bounded near z = 0 when beta < 1. See docs/attention.md. Pre- and post-SBN run as fused
// row passes on the CPU (scaling_normalization.h).
//
// Two implementations of the feature map: `features()` (the reference: one matmul, then one
// reshape + prod per degree group) and the fast path forward uses (feature_maps.h: one matmul,
// factors laid out factor-major, a running product over factor slots, evaluated slice by slice
// inside chunked_linear_attention with a hand-written backward). Tests compare the two.
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "attention/features/dot_kernels.h"
#include "attention/features/feature_maps.h"
#include "attention/features/random_features.h"
#include "attention/linear_attention.h"
#include "attention/random_feature_attention.h"
#include "attention/registry.h"
#include "attention/scaling_normalization.h"

namespace lra::backends::schoenbat {
namespace {

class SchoenbatAttention : public RandomFeatureAttention {
 public:
  SchoenbatAttention(const AttentionConfig& config, const AttentionContext& context)
      : RandomFeatureAttention(config, context),
        kernel_(parse_dot_kernel(config.kernel)),
        head_dim_(context.head_dim),
        max_degree_(config.max_degree),
        causal_(config.causal),
        coefficients_(maclaurin_coefficients(kernel_, config.max_degree)) {
    degrees_ = register_buffer("degrees", torch::zeros({0}, torch::kInt64));
    rademacher_ = register_buffer("rademacher", torch::zeros({0, head_dim_}));
    post_gamma_ = register_parameter("post_gamma", torch::ones({1}));
    post_beta_ = register_parameter("post_beta", torch::ones({head_dim_}));
    redraw(0);
  }

  Features features(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& key_mask,
                    bool /*stabilized: features are bounded, no shift needed*/) override {
    auto phi_k = feature_map(normalize(k));  // (B, H, L, m)
    return {feature_map(normalize(q)), phi_k.masked_fill(padded_key_rows(key_mask), 0.0)};
  }

  torch::Tensor exact_kernel(const torch::Tensor& q, const torch::Tensor& k) override {
    auto t = torch::matmul(normalize(q), normalize(k).transpose(-2, -1));
    return dot_kernel_value(kernel_, t);  // (B, H, L, L)
  }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    if (causal_) {
      auto phi = features(q, k, key_mask, true);
      return post(causal_linear_attention(phi.query, phi.key, v, key_mask, eps_));
    }
    auto map = make_maclaurin_feature_map(layout().fast, q.options(), execution_.cpu_row_loops);
    return post(chunked_linear_attention(normalize(q), normalize(k), v, key_mask, map, eps_,
                                         execution_.chunk_rows));
  }

  // F: the Rademacher rows of the current draw, every factor of every feature.
  int64_t factors() const { return rademacher_.size(0); }

 protected:
  void draw(at::Generator& gen) override {
    auto degrees = sample_maclaurin_degrees(features_ - 1, max_degree_, gen);  // (m-1), sorted
    const int64_t factors = degrees.sum().item<int64_t>();
    assign_buffer(rademacher_, rademacher({factors, head_dim_}, gen));  // (F, d)
    assign_buffer(degrees_, degrees);
    layout_ = Layout{};
  }

 private:
  // Per-draw bookkeeping derived from the buffers (rebuilt after a redraw or a load).
  struct Layout {
    uint64_t draw_counter = 0;
    const void* storage = nullptr;  // a load onto another device swaps storage, not versions
    std::vector<std::pair<int64_t, int64_t>> groups;  // (degree n, number of features)
    torch::Tensor scales;                             // (m-1) float64: sqrt(a_N / P(N) / (m-1))
    MaclaurinLayout fast;                             // the factor-major form forward uses
  };

  const Layout& layout() {
    const void* storage = degrees_.numel() > 0 ? degrees_.data_ptr() : nullptr;
    if (layout_.scales.defined() && layout_.draw_counter == draw_counter() &&
        layout_.storage == storage)
      return layout_;
    Layout fresh;
    fresh.draw_counter = draw_counter();
    fresh.storage = storage;
    // Module::to(dtype) converts integer buffers too; read the degrees back as int64.
    auto degrees = degrees_.to(torch::kCPU, torch::kInt64);
    const auto pmf = maclaurin_degree_pmf(max_degree_);
    std::vector<double> scales;
    const double count = static_cast<double>(degrees.numel());
    auto acc = degrees.accessor<int64_t, 1>();
    for (int64_t i = 0; i < degrees.numel(); ++i) {
      const int64_t n = acc[i];
      if (n < 1 || n > max_degree_)
        throw std::runtime_error("schoenbat: degree out of range in the features buffer");
      if (fresh.groups.empty() || fresh.groups.back().first != n) fresh.groups.push_back({n, 0});
      ++fresh.groups.back().second;
      scales.push_back(std::sqrt(coefficients_[static_cast<size_t>(n)] /
                                 pmf[static_cast<size_t>(n - 1)] / count));
    }
    fresh.scales = torch::tensor(scales, torch::kFloat64);
    fresh.fast = make_maclaurin_layout(degrees, rademacher_.to(torch::kCPU, torch::kFloat64),
                                       fresh.scales, std::sqrt(coefficients_[0]));
    layout_ = std::move(fresh);
    return layout_;
  }

  // x: (B, H, L, d), already normalised -> (B, H, L, m).
  torch::Tensor feature_map(const torch::Tensor& x) {
    auto sizes = x.sizes().vec();
    sizes.back() = 1;
    auto constant = torch::full(sizes, std::sqrt(coefficients_[0]), x.options());  // (B,H,L,1)
    if (features_ == 1) return constant;
    const auto& lay = layout();
    auto proj = torch::matmul(x, rademacher_.to(x.options()).t());  // (B, H, L, F)
    std::vector<torch::Tensor> parts{constant};
    int64_t offset = 0;
    for (const auto& [degree, count] : lay.groups) {
      auto block = proj.narrow(-1, offset, degree * count);  // (B, H, L, count * degree)
      auto shape = block.sizes().vec();
      shape.back() = count;
      shape.push_back(degree);
      parts.push_back(block.reshape(shape).prod(-1));  // (B, H, L, count)
      offset += degree * count;
    }
    auto random = torch::cat(parts, -1);  // (B, H, L, m)
    auto scales = torch::cat({torch::ones({1}, torch::kFloat64), lay.scales}).to(x.options());
    return random * scales;
  }

  torch::Tensor normalize(const torch::Tensor& x) const {
    return schoenbat_normalize(x, execution_.cpu_row_loops);
  }

  torch::Tensor post(const torch::Tensor& z) const {
    return post_sbn(z, post_gamma_.to(z.dtype()), post_beta_.to(z.dtype()),
                    execution_.cpu_row_loops);
  }

  DotKernel kernel_;
  int64_t head_dim_;
  int64_t max_degree_;
  bool causal_;
  std::vector<double> coefficients_;  // a_0 .. a_max_degree
  torch::Tensor degrees_;             // (m-1) int64 buffer, sorted ascending
  torch::Tensor rademacher_;          // (F, d) buffer, F = sum of degrees; rows grouped by feature
  torch::Tensor post_gamma_;          // (1) parameter
  torch::Tensor post_beta_;           // (d) parameter
  Layout layout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<SchoenbatAttention>(config, context);
}

// The features are products of F = sum of degrees projections onto Rademacher vectors.
FlopCount flops(const AttentionShape& shape, const AttentionBackend& instance) {
  return linear_attention_flops(shape, dynamic_cast<const SchoenbatAttention&>(instance).factors());
}

// kernelized's attention: post-SBN starts as the identity (gamma = beta = 1), so an untrained
// schoenbat estimates exactly this.
torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig& config) {
  return dot_kernel_attention_reference(parse_dot_kernel(config.kernel), q, k, v, key_mask,
                                        config.causal, config.eps);
}

}  // namespace lra::backends::schoenbat

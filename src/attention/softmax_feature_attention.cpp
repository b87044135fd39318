#include "attention/softmax_feature_attention.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "attention/features/weight_samplers.h"

namespace lra {

SoftmaxFeatureAttention::SoftmaxFeatureAttention(const AttentionConfig& config,
                                                 const AttentionContext& context)
    : RandomFeatureAttention(config, context),
      head_dim_(context.head_dim),
      weight_sampler_(config.weight_sampler),
      chi_norms_(config.row_norm != "sqrt_d") {
  projection_ = register_buffer("projection", torch::zeros({features_, head_dim_}));
  redraw(0);
}

void SoftmaxFeatureAttention::draw(at::Generator& gen) {
  assign_buffer(projection_,
                sample_weights(weight_sampler_, features_, head_dim_, chi_norms_, gen));
}

torch::Tensor SoftmaxFeatureAttention::exact_kernel(const torch::Tensor& q,
                                                    const torch::Tensor& k) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::exp(torch::matmul(q, k.transpose(-2, -1)) * scale);  // (B, H, L, L)
}

RandomFeatureAttention::Features SoftmaxFeatureAttention::exp_features(
    torch::Tensor log_q, torch::Tensor log_k, const torch::Tensor& key_mask, bool stabilized) {
  log_k = log_k.masked_fill(padded_key_rows(key_mask), -std::numeric_limits<double>::infinity());
  if (stabilized) {
    log_q = log_q - std::get<0>(log_q.detach().max(-1, true));
    auto key_max = log_k.detach().amax({-2, -1}, true);  // (B, H, 1, 1)
    // Sets with no real key keep shift 0.
    log_k = log_k - key_max.masked_fill(torch::isinf(key_max), 0.0);
  }
  return {torch::exp(log_q), torch::exp(log_k)};
}

torch::Tensor SoftmaxFeatureAttention::forward(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v,
                                               const torch::Tensor& key_mask) {
  // The d^-1/4 scale goes into the map (its projection and |x|^2 term), not into two scaled
  // copies of q and k and their gradients: four fewer passes over (B, H, L, d) tensors.
  const double scale = std::pow(static_cast<double>(q.size(-1)), -0.25);
  const FastMap in = fast_map(q, k, key_mask, scale);
  return chunked_linear_attention(in.queries, in.keys, v, key_mask, in.map, eps_,
                                  execution_.chunk_rows, execution_.cpu_row_loops);
}

}  // namespace lra

// linear_transformer (Katharopoulos et al. 2020, "Transformers are RNNs", the "Linear Trans."
// row of the LRA paper): attention with the kernel phi(q)^T phi(k), phi(x) = elu(x) + 1, so
//   out_i = phi(q_i)^T sum_j phi(k_j) v_j^T / phi(q_i)^T sum_j phi(k_j),
// computed keys times values first in O(L d D). It is exact for its own kernel (it approximates
// nothing); the O(L^2) weights form is its reference.
#include <torch/torch.h>

#include "attention/linear_attention.h"
#include "attention/registry.h"

namespace lra::backends::linear_transformer {
namespace {

// (.., d) -> (.., d): positive everywhere, so every weight and denominator is > 0.
torch::Tensor elu_feature_map(const torch::Tensor& x) {
  return torch::elu(x) + 1.0;
}

class LinearTransformerAttention : public AttentionBackend {
 public:
  explicit LinearTransformerAttention(const AttentionConfig& config) : eps_(config.eps) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    return linear_attention(elu_feature_map(q), elu_feature_map(k), v, key_mask, eps_);
  }

 private:
  double eps_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext&) {
  return std::make_shared<LinearTransformerAttention>(config);
}

// The contraction of linear attention with m = d features and no projection.
FlopCount flops(const AttentionShape& shape, const AttentionBackend&) {
  AttentionShape features = shape;
  features.features = shape.head_dim;
  return linear_attention_flops(features, 0);
}

// w_ij = phi(q_i).phi(k_j) over real keys, normalised per row, times v.
torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig& config) {
  auto scores = torch::matmul(elu_feature_map(q), elu_feature_map(k).transpose(-2, -1));
  scores = scores.masked_fill(padded_key_columns(key_mask), 0.0);  // (B, H, L, L)
  return torch::matmul(scores / scores.sum(-1, true).clamp_min(config.eps), v);
}

}  // namespace lra::backends::linear_transformer

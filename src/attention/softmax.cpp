// Exact softmax attention: softmax(q k^T / sqrt(d)) v, padded keys at exactly zero weight.
#include "attention/softmax.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "attention/attention.h"

namespace lra {

torch::Tensor softmax_attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& key_mask,
                                          double dropout, bool training) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;  // (B, H, L, L)
  // -inf (not a large negative number) so that exp() gives padded keys exactly zero weight.
  auto is_pad = (key_mask == 0).unsqueeze(1).unsqueeze(2);  // (B, 1, 1, L)
  scores = scores.masked_fill(is_pad, -std::numeric_limits<float>::infinity());
  auto weights = torch::softmax(scores, -1);
  if (dropout > 0.0 && training) weights = torch::dropout(weights, dropout, true);
  return torch::matmul(weights, v);  // (B, H, L, D)
}

torch::Tensor softmax_attention_fused(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& key_mask,
                                      double dropout, bool training) {
  auto attend = (key_mask != 0).unsqueeze(1).unsqueeze(2);  // (B, 1, 1, L), true = real key
  return at::scaled_dot_product_attention(q, k, v, attend, training ? dropout : 0.0,
                                          /*is_causal=*/false);  // (B, H, L, D)
}

namespace {

class SoftmaxAttention : public AttentionBackend {
 public:
  explicit SoftmaxAttention(const AttentionContext& ctx) : dropout_(ctx.dropout) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    return softmax_attention_fused(q, k, v, key_mask, dropout_, is_training());
  }

 private:
  double dropout_;
};

}  // namespace

AttentionPtr make_softmax_attention(const AttentionConfig&, const AttentionContext& ctx) {
  return std::make_shared<SoftmaxAttention>(ctx);
}

}  // namespace lra

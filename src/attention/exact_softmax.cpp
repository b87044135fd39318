#include "attention/exact_softmax.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "attention/attention.h"
#include "attention/cpu/blocked_softmax.h"

namespace lra {

torch::Tensor softmax_attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& key_mask,
                                          double dropout, bool training) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;  // (B, H, L, L)
  // -inf (not a large negative number) so that exp() gives padded keys exactly zero weight.
  scores =
      scores.masked_fill(padded_key_columns(key_mask), -std::numeric_limits<float>::infinity());
  auto weights = torch::softmax(scores, -1);
  if (dropout > 0.0 && training) weights = torch::dropout(weights, dropout, true);
  return torch::matmul(weights, v);  // (B, H, L, D)
}

torch::Tensor softmax_attention_fused(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& key_mask,
                                      double dropout, bool training, std::optional<double> scale) {
  if (blocked_softmax_supported(q))
    return blocked_softmax_attention(
        q, k, v, key_mask, training ? dropout : 0.0,
        scale ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  auto attend = padded_key_columns(key_mask).logical_not();  // (B, 1, 1, L), true = real key
  return at::scaled_dot_product_attention(q, k, v, attend, training ? dropout : 0.0,
                                          /*is_causal=*/false, scale);  // (B, H, L, D)
}

}  // namespace lra

// linformer (Wang et al. 2020, "Linformer: Self-Attention with Linear Complexity"): a learned
// projection E (k x max_length per head) shortens the keys and values along the sequence,
//   out = softmax(q (E k)^T / sqrt(d)) (E v),
// O(L k d) per head. It approximates exact softmax attention (its reference), and computes that
// instead where k >= L (exact_forms.h; the peer code keeps projecting there, at a higher cost
// than softmax).
//
// As in the Skyformer peer code: one E per head shared by keys and values, initialised
// N(0, 0.02), keys and values masked before projecting (pads add nothing to E k, E v), no
// attention dropout. A batch shorter than max_length uses E's first L columns; the peer needs
// every batch padded to max_length.
#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/nystrom.h"
#include "attention/registry.h"

namespace lra::backends::linformer {
namespace {

class LinformerAttention : public AttentionBackend {
 public:
  LinformerAttention(const AttentionConfig& config, const AttentionContext& context)
      : k_(config.linformer_k), max_length_(context.max_length) {
    if (max_length_ < 1)
      throw std::invalid_argument(
          "linformer: its projections are sized by the longest sequence the layer sees "
          "(AttentionContext::max_length), which was not set");
    auto gen = landmark_generator(context.seed, 0);
    auto e = torch::randn({context.heads, k_, max_length_}, gen, torch::kFloat64) * 0.02;
    projection_ = register_parameter("projection", e.to(torch::kFloat32));  // (H, k, max_length)
  }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t L = q.size(2);
    if (L > max_length_)
      throw std::invalid_argument("linformer: sequence length " + std::to_string(L) +
                                  " exceeds max_length " + std::to_string(max_length_) +
                                  ", the length its projections were built for");
    // exact_forms::projection_covers_length: k >= L rows shorten nothing and cost more than the
    // exact attention they stand in for.
    if (k_ >= L) return softmax_attention_fused(q, k, v, key_mask, 0.0, false);
    auto e = projection_.narrow(-1, 0, L).to(q.scalar_type());  // (H, k, L)
    auto pads = padded_key_rows(key_mask);                      // (B, 1, L, 1)
    auto k_short = torch::matmul(e, k.masked_fill(pads, 0.0));  // (B, H, k, d)
    auto v_short = torch::matmul(e, v.masked_fill(pads, 0.0));  // (B, H, k, d)
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    auto weights = torch::softmax(torch::matmul(q, k_short.transpose(-2, -1)) * scale, -1);
    return torch::matmul(weights, v_short);  // (B, H, L, d); weights (B, H, L, k)
  }

  int64_t k() const { return k_; }

 private:
  int64_t k_, max_length_;
  torch::Tensor projection_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<LinformerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const LinformerAttention&>(instance);
  if (self.k() >= s.length) return quadratic_attention_flops(s);  // the exact branch
  const double bhlkd = static_cast<double>(s.batch * s.heads * s.length * s.head_dim) *
                       static_cast<double>(self.k());
  // E k, E v: E is a parameter, so the input gradients are one product each backwards; the
  // scores and weights times E v: two each.
  const double projections = 2 * (2 * bhlkd), attention = 2 * (2 * bhlkd);
  return {projections + attention, projections + 2 * attention};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::linformer

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
#include <utility>

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
    auto [k_short, v_short] = project(k, v, key_mask);  // (B, H, k, d) each
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    // Every shortened key is real: plain softmax attention of L queries over k keys, through
    // the fused kernel, so that no (B, H, L, k) scores or weights are kept for the backward.
    return at::scaled_dot_product_attention(q, k_short, v_short, {}, 0.0, false,
                                            scale);  // (B, H, L, d)
  }

  int64_t k() const { return k_; }

 private:
  // E [k, v] with the batch folded into the columns: one (k x L) x (L x 2 B d) product per head,
  // whose backward forms E's gradient as (H, k, L) directly. Broadcasting E over the batch
  // instead makes autograd build a (B, H, k, L) gradient and sum it: at L = 16384 a 64 MiB
  // tensor of fresh pages every step, which made the time grow faster than L.
  std::pair<torch::Tensor, torch::Tensor> project(const torch::Tensor& k, const torch::Tensor& v,
                                                  const torch::Tensor& key_mask) const {
    const int64_t B = k.size(0), H = k.size(1), L = k.size(2), d = k.size(3);
    auto e = projection_.narrow(-1, 0, L).to(k.scalar_type());                     // (H, k, L)
    auto kv = torch::cat({k, v}, -1).masked_fill(padded_key_rows(key_mask), 0.0);  // (B,H,L,2d)
    auto columns = kv.permute({1, 2, 0, 3}).reshape({H, L, B * 2 * d});            // (H, L, B 2d)
    auto shortened = torch::bmm(e, columns)                                        // (H, k, B 2d)
                         .view({H, k_, B, 2 * d})
                         .permute({2, 0, 1, 3});  // (B, H, k, 2d)
    return {shortened.narrow(-1, 0, d), shortened.narrow(-1, d, d)};
  }

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

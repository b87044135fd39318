// reformer (Kitaev et al. 2020, "Reformer: The Efficient Transformer"): LSH attention with a
// shared query-key. Each of attention.hashes rounds hashes the queries by a random rotation
// (lsh_hashing.h), sorts them by bucket and attends within chunks of attention.bucket_size
// sorted positions and their neighbours (lsh_attention.h); the rounds are combined by their
// normalisers. It estimates shared_qk, exact shared-QK softmax attention with the self-mask.
//
// As HuggingFace's LSHSelfAttention in the Skyformer code: the query vector is also the key
// (attention.k is not read; Skyformer ties it to W_q without bias, here q arrives with W_q's
// bias), rotations redrawn every training step, a sequence of at most one chunk attended whole
// without hashing, a length not a multiple of the chunk padded with masked positions (as
// HuggingFace's ReformerModel does), no attention dropout (HuggingFace's default 0).
// Rotations are draw number `training step` of the layer seed, the step kept in the buffer
// draw_index (saved with checkpoints); evaluation uses one fixed draw of the layer seed.
#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "attention/lsh_attention.h"
#include "attention/lsh_hashing.h"
#include "attention/registry.h"
#include "attention/step_draw.h"

namespace lra::backends::reformer {
namespace {

class ReformerAttention : public AttentionBackend {
 public:
  ReformerAttention(const AttentionConfig& config, const AttentionContext& context)
      : seed_(context.seed),
        heads_(context.heads),
        hashes_(config.hashes),
        num_buckets_(config.num_buckets),
        max_length_(context.max_length),
        chunking_{config.bucket_size, config.chunks_before, config.chunks_after,
                  config.convention == "paper"},
        draw_(*this) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor&, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t L = q.size(2), c = chunking_.chunk_length;
    if (L <= c) return shared_qk_attention(q, v, key_mask);
    const int64_t padded = padded_length(L);
    auto qp = pad_length(q, padded), vp = pad_length(v, padded);         // (B, H, padded, d)
    auto mask = torch::constant_pad_nd(key_mask, {0, padded - L}, 0.0);  // (B, padded)
    const auto factors = bucket_factors(padded);
    auto buckets = lsh_hash(qp, rotations(q.size(3), factors), factors, mask);  // (B, H, n, Lp)
    return lsh_attention(qp, vp, mask, buckets, chunking_).narrow(2, 0, L);
  }

  void on_train_step(int64_t step) override { draw_.on_train_step(step); }

  const LshChunking& chunking() const { return chunking_; }
  int64_t hashes() const { return hashes_; }
  int64_t padded_length(int64_t L) const {
    const int64_t c = chunking_.chunk_length;
    return (L + c - 1) / c * c;
  }
  std::vector<int64_t> bucket_factors(int64_t padded) const {
    return lsh_bucket_factors(num_buckets_, padded, chunking_.chunk_length,
                              std::max(max_length_, padded));
  }

 private:
  static torch::Tensor pad_length(const torch::Tensor& t, int64_t padded) {
    return torch::constant_pad_nd(t, {0, 0, 0, padded - t.size(2)}, 0.0);
  }

  // (H, n, d, width) float64 CPU, redrawn when the draw index or the width changes.
  torch::Tensor rotations(int64_t head_dim, const std::vector<int64_t>& factors) {
    const int64_t draw = draw_.current(is_training());
    const int64_t width = lsh_rotation_width(factors);
    const std::vector<int64_t> key = {draw, width, head_dim};
    if (key != cache_key_) {
      cache_ = lsh_rotations(seed_, draw, heads_, hashes_, head_dim, width);
      cache_key_ = key;
    }
    return cache_;
  }

  uint64_t seed_;
  int64_t heads_, hashes_, num_buckets_, max_length_;
  LshChunking chunking_;
  StepDraw draw_;  // the training step whose rotations are used
  torch::Tensor cache_;
  std::vector<int64_t> cache_key_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<ReformerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const ReformerAttention&>(instance);
  const auto& ch = self.chunking();
  if (s.length <= ch.chunk_length) return quadratic_attention_flops(s);
  const double bh = static_cast<double>(s.batch * s.heads), d = static_cast<double>(s.head_dim);
  const int64_t padded = self.padded_length(s.length);
  const double slots = static_cast<double>(self.hashes() * padded);
  const double window =
      static_cast<double>((1 + ch.chunks_before + ch.chunks_after) * ch.chunk_length);
  const double width = static_cast<double>(lsh_rotation_width(self.bucket_factors(padded)));
  // Scores and weights times values over each slot's window; the hash takes no gradient.
  const double attention = 2 * (2 * bh * slots * window * d), hashing = 2 * bh * slots * d * width;
  return {attention + hashing, 2 * attention};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor&, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return shared_qk_attention(q, v, key_mask);
}

}  // namespace lra::backends::reformer

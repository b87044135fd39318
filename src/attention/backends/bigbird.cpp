// bigbird (Zaheer et al. 2020, "Big Bird: Transformers for Longer Sequences", ITC block-sparse
// attention): softmax attention restricted to a block pattern (bigbird_pattern.h): the first and
// last global blocks attend to all and are attended by all, every other query block attends to
// its 3-block window and r random blocks. It approximates exact softmax attention (its
// reference), O(L (2 g + 3 + r) b d) per head.
//
// As HuggingFace's BigBirdModel (the Skyformer code runs its attention on pre-padded lengths):
// a length that is not a block multiple is padded with masked keys, and a sequence of at most
// (2 g + 3 + 2 r) blocks runs exact softmax attention; no attention dropout (the block-sparse
// code has none). The random blocks are a function of the layer's seed (kept in a buffer), the
// draw index (a buffer) and the padded length: convention skyformer_code draws them by the
// Skyformer code's rules and never redraws (the code reseeds at every forward); convention
// paper draws them uniformly and redraws at every training step (HuggingFace redraws at every
// training forward), evaluation taking one fixed draw.
#include <cstdint>
#include <optional>
#include <tuple>

#include <torch/torch.h>

#include "attention/bigbird_pattern.h"
#include "attention/cpu/block_sparse_attention.h"
#include "attention/exact_softmax.h"
#include "attention/registry.h"
#include "attention/step_draw.h"

namespace lra::backends::bigbird {
namespace {

using lra::bigbird::Draws;
using lra::bigbird::PatternShape;

// The seed as 8 bytes: exact in any floating dtype the module may be converted to.
torch::Tensor seed_bytes(uint64_t seed) {
  auto out = torch::empty({8}, torch::kInt64);  // (8)
  for (int64_t i = 0; i < 8; ++i) out[i] = static_cast<int64_t>((seed >> (8 * i)) & 0xFF);
  return out;
}

uint64_t seed_of(const torch::Tensor& bytes) {
  auto cpu = bytes.to(torch::kCPU, torch::kInt64);
  uint64_t seed = 0;
  for (int64_t i = 0; i < 8; ++i) seed |= static_cast<uint64_t>(cpu[i].item<int64_t>()) << (8 * i);
  return seed;
}

class BigBirdAttention : public AttentionBackend {
 public:
  BigBirdAttention(const AttentionConfig& config, const AttentionContext& context)
      : heads_(context.heads),
        block_size_(config.block_size),
        global_(config.global_blocks),
        random_(config.random_blocks),
        draws_(config.convention == "skyformer_code" ? Draws::kSkyformerCode : Draws::kUniform) {
    seed_ = register_buffer("seed", seed_bytes(context.seed));  // (8)
  }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t L = q.size(2);
    if (L <= lra::bigbird::full_attention_blocks(global_, random_) * block_size_)
      return softmax_attention_fused(q, k, v, key_mask, 0.0, false);
    return block_sparse_attention(q, k, v, key_mask, layout_for(L));
  }

  void on_train_step(int64_t step) override {
    if (draws_ == Draws::kUniform) draw_.on_train_step(step);
  }

  // The random blocks this layer uses for sequences of `length` tokens (H, nb - 2 g, r).
  torch::Tensor random_blocks(int64_t length) const {
    return lra::bigbird::draw_random_blocks(shape(length), block_size_, draws_, seed_of(seed_),
                                            current_draw());
  }

  // Training: the step's draw; evaluation: one fixed draw, so that validation and test numbers
  // do not depend on the step they are taken at.
  int64_t current_draw() const { return draw_.current(is_training(), /*eval_draw=*/0); }

  PatternShape shape(int64_t length) const {
    return {heads_, (length + block_size_ - 1) / block_size_, global_, random_};
  }

  int64_t block_size() const { return block_size_; }
  int64_t global_blocks() const { return global_; }
  int64_t random_count() const { return random_; }

 private:
  // Drawn once per (seed, draw, length): the buffers change only when loaded or redrawn.
  const BlockSparseLayout& layout_for(int64_t length) {
    const auto key = std::make_tuple(seed_of(seed_), current_draw(), shape(length).blocks);
    if (!cached_ || *cached_ != key) {
      layout_ = lra::bigbird::layout(random_blocks(length), shape(length), block_size_);
      cached_ = key;
    }
    return layout_;
  }

  int64_t heads_, block_size_, global_, random_;
  Draws draws_;
  torch::Tensor seed_;
  StepDraw draw_{*this};
  std::optional<std::tuple<uint64_t, int64_t, int64_t>> cached_;
  BlockSparseLayout layout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<BigBirdAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const BigBirdAttention&>(instance);
  const int64_t b = self.block_size(), nb = (s.length + b - 1) / b;
  const double bhd = static_cast<double>(s.batch * s.heads * s.head_dim);
  double pairs;  // query-key products of one head
  if (s.length <=
      lra::bigbird::full_attention_blocks(self.global_blocks(), self.random_count()) * b) {
    pairs = static_cast<double>(s.length) * static_cast<double>(s.length);
  } else {
    // Global rows see all nb blocks; the others their listed blocks, the first and last sparse
    // rows one fewer (their window reaches a global block).
    const int64_t g = self.global_blocks(), rows = nb - 2 * g,
                  listed = rows * (2 * g + 3 + self.random_count()) - 2;
    pairs = static_cast<double>(b * b) * static_cast<double>(2 * g * nb + listed);
  }
  // Scores and weights times values, 2 FLOPs per multiply-add; backward twice that.
  const double forward = 2 * (2 * bhd * pairs);
  return {forward, 2 * forward};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::bigbird

// longformer (Beltagy et al. 2020, "Longformer: The Long-Document Transformer"): sliding-window
// softmax attention plus global tokens. Each query attends to the keys within its window (w / 2
// = attention.window / 2 before and after it) and to the g = attention.global_tokens first
// positions; those g positions attend to every key. O(L (w + g) d) per head. It approximates
// exact softmax attention (its reference) and computes it where the window spans the sequence.
//
// attention.convention: lra_code splits the window as the official LRA code
// (longformer_attention.py) does: w - w / 2 - 1 keys before the query and w / 2 after, w keys
// with itself. The LRA runs passed no global mask: global_tokens 0 reproduces them. The window
// runs on the block-sparse engine (cpu/block_sparse_attention.h) as a band rule over each query
// block's listed keys, the global keys in its rule-exempt slots; the global rows are computed
// apart (global_tokens.h). No attention dropout (the engine has none).
#include <algorithm>
#include <optional>
#include <utility>

#include <torch/torch.h>

#include "attention/cpu/block_sparse_attention.h"
#include "attention/exact_softmax.h"
#include "attention/global_tokens.h"
#include "attention/registry.h"

namespace lra::backends::longformer {
namespace {

// Query rows per engine block: how the band is computed, never what (64 rows keep a block's
// scores in the engine's cache-sized tiles; the band wastes 64 / (w + 1) of its products).
constexpr int64_t kQueryBlock = 64;

// The keys of each query block s of kQueryBlock rows of a sequence of `length` tokens: slots
// 0 .. g - 1 the global tokens (exempt from the band rule), then the positions from
// s E - before to s E + E - 1 + after that are real positions and not global (listed once).
// Returns (S, g + E + before + after) int64, -1 = unused.
torch::Tensor band_keys(int64_t length, int64_t global, int64_t before, int64_t after) {
  const int64_t E = kQueryBlock, S = (length + E - 1) / E, W = E + before + after;
  auto start = torch::arange(S, torch::kInt64).mul_(E).sub_(before).view({S, 1});  // (S, 1)
  auto band = start + torch::arange(W, torch::kInt64).view({1, W});                // (S, W)
  band.masked_fill_(band.lt(global).logical_or_(band.ge(length)), -1);
  auto globals = torch::arange(global, torch::kInt64).view({1, global}).expand({S, global});
  return torch::cat({globals, band}, 1);  // (S, g + W)
}

class LongformerAttention : public AttentionBackend {
 public:
  LongformerAttention(const AttentionConfig& config, const AttentionContext& context)
      : config_(config), heads_(context.heads), band_(longformer_band(config)) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t L = q.size(2);
    if (exact(L)) return softmax_attention_fused(q, k, v, key_mask, 0.0, false);
    auto out = block_sparse_attention(q, k, v, key_mask, layout_for(L));  // (B, H, L, d)
    const int64_t g = config_.global_tokens;
    if (g == 0) return out;
    auto global = global_query_rows(q.narrow(2, 0, g), k, v, key_mask);  // (B, H, g, d)
    return torch::cat({global, out.narrow(2, g, L - g)}, 2);
  }

  bool exact(int64_t length) const {
    return !exact_forms::window_covers_length(config_, length).empty();
  }

  // Query-key products of one head at `length`: the engine's listed keys of every query block,
  // and the global rows against every key.
  double pairs(int64_t length) const {
    if (exact(length)) return static_cast<double>(length) * static_cast<double>(length);
    auto listed = band_keys(length, config_.global_tokens, band_.first, band_.second).ge(0);
    return static_cast<double>(kQueryBlock) * listed.sum().item<double>() +
           static_cast<double>(config_.global_tokens * length);
  }

 private:
  // Built once per length: the pattern depends on nothing else.
  const BlockSparseLayout& layout_for(int64_t length) {
    if (cached_length_ != length) {
      const int64_t g = config_.global_tokens;
      auto keys = band_keys(length, g, band_.first, band_.second);  // (S, M)
      layout_ = BlockSparseLayout{};
      layout_.block_size = kQueryBlock;
      layout_.key_tokens = keys.unsqueeze(0).expand({heads_, keys.size(0), keys.size(1)});
      layout_.sparse_rows = torch::arange(keys.size(0), torch::kInt64);
      layout_.global_rows = torch::empty({0}, torch::kInt64);
      layout_.rule = TokenRule::kBand;
      layout_.band_left = band_.first;
      layout_.band_right = band_.second;
      layout_.rule_exempt_slots = g;
      cached_length_ = length;
    }
    return layout_;
  }

  AttentionConfig config_;
  int64_t heads_;
  std::pair<int64_t, int64_t> band_;  // keys before and after each query
  std::optional<int64_t> cached_length_;
  BlockSparseLayout layout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<LongformerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const LongformerAttention&>(instance);
  const double bhd = static_cast<double>(s.batch * s.heads * s.head_dim);
  // Scores and weights times values, 2 FLOPs per multiply-add; backward twice that.
  const double forward = 2 * (2 * bhd * self.pairs(s.length));
  return {forward, 2 * forward};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::longformer

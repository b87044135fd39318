// sparse_transformer (Child et al. 2019, "Generating Long Sequences with Sparse Transformers"):
// causal softmax attention restricted to a factorized pattern, the two halves merged into one
// softmax per query. With l = attention.block_size and positions p counted from the first
// non-global token:
//  - fixed (attention.sparse_pattern, the default; what the LRA code ran): p attends to the
//    earlier positions of its own block (floor(p' / l) = floor(p / l)) and to every earlier
//    summary position p', p' mod l = 0 or p' mod l >= l - c (c = attention.summary_tokens: the
//    paper's "t = l - c ... l", its example and the LRA code's Fixed2Pattern);
//  - strided: p attends to p - l + 1 ... p and to every p - k l before (the paper's A(1), A(2)).
// The g = attention.global_tokens first positions are global (the LRA code's use_cls_token: its
// CLS token attends to every key, every token attends to it, and the pattern is built on the
// positions after it). The pattern is this backend's model, not an estimate of a registered
// exact attention: `reference` is the same attention over the dense (L x L) mask.
//
// Computation: the global tokens are moved behind the others, so that the pattern's blocks are
// the engine's query blocks (cpu/block_sparse_attention.h). fixed is one engine call (each
// block's own positions and the summaries before it, a causal rule; the global keys in the
// rule-exempt slots). strided is two, merged by their log-normalisers: the band in position
// order, and the stride in the order that makes each residue class p mod l one contiguous
// block (the CPU kernel returns the normalisers; other devices run the dense mask). O(L (l +
// (c + 1) L / l) d) per head for fixed, O(L (l + L / l) d) for strided: quadratic in L with the
// pattern's density as constant. No attention dropout (the engine has none).
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "attention/cpu/block_sparse_attention.h"
#include "attention/cpu/block_sparse_kernel.h"
#include "attention/exact_softmax.h"
#include "attention/global_tokens.h"
#include "attention/registry.h"

namespace lra::backends::sparse_transformer {
namespace {

// What one forward runs on: `length` tokens, of which the first `global` are global.
struct Geometry {
  int64_t length = 0, global = 0, pattern = 0;  // pattern = length - global tokens
  int64_t block = 1, blocks = 0;                // pattern blocks: ceil(pattern / block)
  int64_t engine_blocks = 0;                    // ceil(length / block): the moved sequence's
};

Geometry geometry(const AttentionConfig& config, int64_t length) {
  Geometry g;
  g.length = length;
  g.global = std::min(config.global_tokens, length);
  g.pattern = length - g.global;
  g.block = config.block_size;
  g.blocks = (g.pattern + g.block - 1) / g.block;
  g.engine_blocks = (length + g.block - 1) / g.block;
  return g;
}

// (L, L) bool, query i may attend key j: the pattern from its definition, over plain ops.
torch::Tensor pattern_mask(const AttentionConfig& config, int64_t length) {
  const int64_t g = std::min(config.global_tokens, length), l = config.block_size;
  auto i = torch::arange(length, torch::kInt64).view({length, 1}).sub(g);  // query's p
  auto j = torch::arange(length, torch::kInt64).view({1, length}).sub(g);  // key's p
  torch::Tensor allowed;
  if (config.sparse_pattern == "strided") {
    allowed = (i - j).lt(l).logical_or((i - j).remainder(l).eq(0));
  } else {
    auto summary = j.remainder(l).eq(0).logical_or(j.remainder(l).ge(l - config.summary_tokens));
    allowed = i.div(l, "floor").eq(j.div(l, "floor")).logical_or(summary);
  }
  allowed = allowed.logical_and(j.le(i));
  return allowed.logical_or(i.lt(0)).logical_or(j.lt(0));  // global rows and columns
}

// softmax over the allowed real keys of the dense mask: the reference, and what the strided
// pattern runs off the CPU.
torch::Tensor dense_pattern_attention(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& key_mask,
                                      const AttentionConfig& config) {
  const int64_t L = q.size(2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));  // (B,H,L,L)
  // As the engine: a padded key scores -1e30 (exactly zero weight beside any real key, uniform
  // weights where every allowed key is padded), a key outside the pattern -inf (never NaN: every
  // row allows its own position).
  scores = scores.masked_fill(padded_key_columns(key_mask), -1e30);
  auto outside = pattern_mask(config, L).logical_not().to(q.device());  // (L, L)
  scores = scores.masked_fill(outside, -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(scores, -1), v);  // (B, H, L, d)
}

// t (B, H, L, d) or (B, L): the `global` first positions moved behind the others, or back.
torch::Tensor move_globals(const torch::Tensor& t, int64_t global, bool back) {
  if (global == 0) return t;
  const int64_t axis = t.dim() == 4 ? 2 : 1, L = t.size(axis);
  const int64_t front = back ? L - global : global;
  return torch::cat({t.narrow(axis, front, L - front), t.narrow(axis, 0, front)}, axis);
}

// t (B, H, L, d) or (B, L) with `extra` zero positions appended along the length.
torch::Tensor pad_length(const torch::Tensor& t, int64_t extra) {
  if (extra == 0) return t;
  return torch::constant_pad_nd(
      t, t.dim() == 4 ? std::vector<int64_t>{0, 0, 0, extra} : std::vector<int64_t>{0, extra});
}

// The global keys, positions pattern ... length - 1 of the moved sequence: (S, g).
torch::Tensor global_slots(const Geometry& g) {
  return torch::arange(g.pattern, g.length, torch::kInt64)
      .view({1, g.global})
      .expand({g.engine_blocks, g.global});
}

// (S, M) listed keys of the fixed pattern per engine block of the moved sequence: the global
// keys (rule-exempt), the block's own positions, then the summary positions of every earlier
// block; blocks past the pattern (global rows, computed apart) list the global keys only.
torch::Tensor fixed_keys(const Geometry& g, int64_t summary_tokens) {
  const int64_t l = g.block, S = g.engine_blocks;
  auto offset = torch::arange(l, torch::kInt64);
  offset = offset.masked_select(offset.eq(0).logical_or(offset.ge(l - summary_tokens)));  // (K)
  const int64_t K = offset.numel(), earlier = std::max<int64_t>(g.blocks - 1, 0);
  auto block = torch::arange(S, torch::kInt64).view({S, 1});            // (S, 1)
  auto own = block * l + torch::arange(l, torch::kInt64).view({1, l});  // (S, l)
  own.masked_fill_(own.ge(g.pattern), -1);
  auto summaries =
      (torch::arange(earlier, torch::kInt64).view({earlier, 1}) * l + offset.view({1, K}))
          .view({1, earlier * K})
          .expand({S, earlier * K})
          .clone();  // (S, (blocks - 1) K)
  auto slot = torch::arange(earlier * K, torch::kInt64).view({1, earlier * K});
  summaries.masked_fill_(slot.ge(block * K).logical_or(block.ge(g.blocks)), -1);
  return torch::cat({global_slots(g), own, summaries}, 1);
}

// (S, M) listed keys of the strided pattern's band per engine block of the moved sequence: the
// global keys, then positions s l - l + 1 ... s l + l - 1 (a band rule keeps p - l + 1 ... p).
torch::Tensor band_keys(const Geometry& g) {
  const int64_t l = g.block, S = g.engine_blocks, W = 2 * l - 1;
  auto block = torch::arange(S, torch::kInt64).view({S, 1});
  auto band = block * l - (l - 1) + torch::arange(W, torch::kInt64).view({1, W});  // (S, W)
  band.masked_fill_(band.lt(0).logical_or(band.ge(g.pattern)).logical_or(block.ge(g.blocks)), -1);
  return torch::cat({global_slots(g), band}, 1);
}

BlockSparseLayout token_layout(const torch::Tensor& keys, int64_t heads, int64_t block,
                               int64_t exempt) {
  BlockSparseLayout layout;
  layout.block_size = block;
  layout.key_tokens = keys.unsqueeze(0).expand({heads, keys.size(0), keys.size(1)});  // (H, S, M)
  layout.sparse_rows = torch::arange(keys.size(0), torch::kInt64);
  layout.global_rows = torch::empty({0}, torch::kInt64);
  layout.rule_exempt_slots = exempt;
  return layout;
}

class SparseTransformerAttention : public AttentionBackend {
 public:
  SparseTransformerAttention(const AttentionConfig& config, const AttentionContext& context)
      : config_(config), heads_(context.heads) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const Geometry g = geometry(config_, q.size(2));
    if (g.pattern == 0) return softmax_attention_fused(q, k, v, key_mask, 0.0, false);
    const bool strided = config_.sparse_pattern == "strided";
    if (strided && !block_sparse_kernel_supported(q))
      return dense_pattern_attention(q, k, v, key_mask, config_);
    auto moved = [&](const torch::Tensor& t) { return move_globals(t, g.global, false); };
    auto mq = moved(q), mk = moved(k), mv = moved(v), mask = moved(key_mask);
    auto rows = strided ? strided_rows(g, mq, mk, mv, mask)
                        : block_sparse_attention(mq, mk, mv, mask, layout_for(g))
                              .narrow(2, 0, g.pattern);  // (B, H, P, d)
    if (g.global == 0) return rows;
    auto global = global_query_rows(q.narrow(2, 0, g.global), k, v, key_mask);  // (B, H, g, d)
    return torch::cat({global, rows}, 2);
  }

  // Query-key products of one head: the engine's listed keys per query row, and the global rows
  // against every key.
  double pairs(int64_t length) const {
    const Geometry g = geometry(config_, length);
    const double L = static_cast<double>(length), l = static_cast<double>(g.block);
    if (g.pattern == 0) return L * L;
    const double global = static_cast<double>(g.global) * L;
    if (config_.sparse_pattern != "strided")
      return l * fixed_keys(g, config_.summary_tokens).ge(0).sum().item<double>() + global;
    const double R = static_cast<double>(g.blocks);  // rows of each residue class
    return l * band_keys(g).ge(0).sum().item<double>() + l * R * R + global;
  }

 private:
  // The strided pattern's rows (B, H, P, d): the band and the earlier positions of the query's
  // residue class, each one softmax, combined with weights softmax over their log-normalisers.
  torch::Tensor strided_rows(const Geometry& g, const torch::Tensor& q, const torch::Tensor& k,
                             const torch::Tensor& v, const torch::Tensor& mask) {
    const int64_t B = q.size(0), H = q.size(1), d = q.size(3), l = g.block, R = g.blocks;
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    const int64_t extra = g.engine_blocks * l - g.length;
    auto [band, band_lse] = block_sparse_kernel_with_lse(
        pad_length(q, extra), pad_length(k, extra), pad_length(v, extra), pad_length(mask, extra),
        layout_for(g), scale, torch::Tensor());  // (B,H,Lp,d),(B,H,Lp)
    // Residue class r = p mod l as the r-th block of R rows: position p = m l + r -> r R + m.
    auto by_class = [&](const torch::Tensor& t) {
      auto pattern = pad_length(t.narrow(t.dim() == 4 ? 2 : 1, 0, g.pattern), R * l - g.pattern);
      if (t.dim() == 4)
        return pattern.reshape({B, H, R, l, d}).transpose(2, 3).reshape({B, H, l * R, d});
      return pattern.reshape({B, R, l}).transpose(1, 2).reshape({B, l * R});
    };
    BlockSparseLayout classes;
    classes.block_size = R;
    classes.key_blocks = torch::arange(l, torch::kInt64).view({1, l, 1}).expand({H, l, 1});
    classes.sparse_rows = torch::arange(l, torch::kInt64);
    classes.global_rows = torch::empty({0}, torch::kInt64);
    classes.rule = TokenRule::kBand;  // the class's earlier rows only: m' <= m - 1
    classes.band_left = R;
    classes.band_right = -1;
    auto [stride, stride_lse] = block_sparse_kernel_with_lse(
        by_class(q), by_class(k), by_class(v), by_class(mask), classes, scale, torch::Tensor());
    // Back to position order: r R + m -> m l + r.
    stride = stride.view({B, H, l, R, d}).transpose(2, 3).reshape({B, H, R * l, d});
    stride_lse = stride_lse.view({B, H, l, R}).transpose(2, 3).reshape({B, H, R * l});
    // The first row of every class has no earlier position: no weight, whatever the kernel's
    // normaliser of an empty row.
    auto first_row = torch::arange(R * l, torch::kInt64).lt(l).to(q.device());  // (R l)
    stride_lse = stride_lse.masked_fill(first_row, -std::numeric_limits<double>::infinity());
    auto cut = [&](const torch::Tensor& t) { return t.narrow(2, 0, g.pattern); };
    auto w = torch::sigmoid(cut(band_lse) - cut(stride_lse)).unsqueeze(-1);  // (B, H, P, 1)
    return w * cut(band) + (1 - w) * cut(stride);
  }

  // Built once per length: the pattern depends on nothing else.
  const BlockSparseLayout& layout_for(const Geometry& g) {
    if (cached_length_ != g.length) {
      const bool strided = config_.sparse_pattern == "strided";
      auto keys = strided ? band_keys(g) : fixed_keys(g, config_.summary_tokens);
      layout_ = token_layout(keys, heads_, g.block, g.global);
      layout_.rule = strided ? TokenRule::kBand : TokenRule::kCausal;
      layout_.band_left = strided ? g.block - 1 : 0;
      cached_length_ = g.length;
    }
    return layout_;
  }

  AttentionConfig config_;
  int64_t heads_;
  std::optional<int64_t> cached_length_;
  BlockSparseLayout layout_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<SparseTransformerAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const SparseTransformerAttention&>(instance);
  const double bhd = static_cast<double>(s.batch * s.heads * s.head_dim);
  // Scores and weights times values, 2 FLOPs per multiply-add; backward twice that.
  const double forward = 2 * (2 * bhd * self.pairs(s.length));
  return {forward, 2 * forward};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig& config) {
  return dense_pattern_attention(q, k, v, key_mask, config);
}

}  // namespace lra::backends::sparse_transformer

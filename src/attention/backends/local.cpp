// local (the LRA paper's Local Attention, Tay et al. 2021): block-local softmax attention. The
// sequence is cut into blocks of b = attention.block_size tokens and each query attends, with
// exact softmax weights, to the keys of its own block only: O(L b d) per head, no L x L matrix.
// It approximates exact softmax attention (its reference) and computes it where one block holds
// the sequence.
//
// attention.convention: lra_code computes what the official LRA code (local_attention.py)
// computes instead: it pads the sequence by b - (L mod b) positions (a whole block when b
// divides L) and reshapes the L' padded positions to (b, n = L' / b), attending along the first
// axis, so that a "block" is the strided group of the tokens t with the same t mod n. Both run on
// the block-sparse engine (cpu/block_sparse_attention.h): the code's groups are contiguous
// blocks of the positions taken column-major. No attention dropout (the engine has none).
#include <vector>

#include <torch/torch.h>

#include "attention/cpu/block_sparse_attention.h"
#include "attention/exact_softmax.h"
#include "attention/registry.h"

namespace lra::backends::local {
namespace {

// Each of `blocks` query blocks attends to its own key block.
BlockSparseLayout own_blocks(int64_t heads, int64_t blocks, int64_t block) {
  BlockSparseLayout layout;
  layout.block_size = block;
  layout.key_blocks = torch::arange(blocks, torch::kInt64)
                          .view({1, blocks, 1})
                          .expand({heads, blocks, 1});  // (H, nb, 1)
  layout.sparse_rows = torch::arange(blocks, torch::kInt64);
  layout.global_rows = torch::empty({0}, torch::kInt64);
  return layout;
}

// t: (B, H, n b, d) or (B, n b) in position order -> the LRA code's groups contiguous: position
// r n + g (row r of the code's (b, n) reshape, group g) goes to g b + r. `back` undoes it.
torch::Tensor regroup(const torch::Tensor& t, int64_t block, int64_t groups, bool back) {
  const bool rows = t.dim() == 4;
  auto shape = t.sizes().vec();
  std::vector<int64_t> split(shape.begin(), shape.begin() + (rows ? 2 : 1));
  split.push_back(back ? groups : block);
  split.push_back(back ? block : groups);
  if (rows) split.push_back(shape[3]);
  const int64_t axis = rows ? 2 : 1;
  return t.reshape(split).transpose(axis, axis + 1).reshape(shape);
}

// t (B, H, L, d) or (B, L) with `extra` zero positions appended along the length.
torch::Tensor pad_length(const torch::Tensor& t, int64_t extra) {
  if (extra == 0) return t;
  return torch::constant_pad_nd(
      t, t.dim() == 4 ? std::vector<int64_t>{0, 0, 0, extra} : std::vector<int64_t>{0, extra});
}

class LocalAttention : public AttentionBackend {
 public:
  LocalAttention(const AttentionConfig& config, const AttentionContext& context)
      : config_(config), heads_(context.heads) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t L = q.size(2), b = config_.block_size;
    if (exact(L)) return softmax_attention_fused(q, k, v, key_mask, 0.0, false);
    if (!code()) return block_sparse_attention(q, k, v, key_mask, own_blocks(heads_, blocks(L), b));
    // The code's padded length L' = n b; its padding is masked here (see docs/attention.md).
    const int64_t n = blocks(L), extra = n * b - L;
    auto grouped = [&](const torch::Tensor& t) {
      return regroup(pad_length(t, extra), b, n, false);
    };
    auto out = block_sparse_attention(grouped(q), grouped(k), grouped(v), grouped(key_mask),
                                      own_blocks(heads_, n, b));  // (B, H, n b, d)
    return regroup(out, b, n, true).narrow(2, 0, L);
  }

  bool exact(int64_t length) const {
    return !exact_forms::local_block_covers_length(config_, length).empty();
  }
  bool code() const { return config_.convention == "lra_code"; }
  // Query blocks (paper) or strided groups of the LRA code's reshape (lra_code, which always
  // pads at least one position).
  int64_t blocks(int64_t length) const {
    const int64_t b = config_.block_size;
    return code() ? length / b + 1 : (length + b - 1) / b;
  }
  int64_t block_size() const { return config_.block_size; }

 private:
  AttentionConfig config_;
  int64_t heads_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<LocalAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const LocalAttention&>(instance);
  const double bhd = static_cast<double>(s.batch * s.heads * s.head_dim);
  // Query-key products of one head: every block (padded ones included) against itself.
  const double b = static_cast<double>(self.block_size());
  const double pairs = self.exact(s.length) ? static_cast<double>(s.length) * s.length
                                            : static_cast<double>(self.blocks(s.length)) * b * b;
  // Scores and weights times values, 2 FLOPs per multiply-add; backward twice that.
  const double forward = 2 * (2 * bhd * pairs);
  return {forward, 2 * forward};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::local

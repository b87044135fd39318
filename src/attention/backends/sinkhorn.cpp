// sinkhorn (Tay et al. 2020, "Sparse Sinkhorn Attention", the LRA paper's Sinkhorn Transformer):
// the sequence is cut into N blocks of attention.block_size tokens; a sort network scores, from
// each block's summed keys, which key blocks belong beside it (R, N x N), Sinkhorn balancing turns
// (R + Gumbel noise while training) / attention.temperature into a doubly stochastic soft
// permutation P, and each query block attends, in one softmax, to its own keys and to its sorted
// block sum_j P_ij K_j (sinkhorn_attention.h). O(L b d + N^2 b d) per head. It approximates exact
// softmax attention (its reference) and computes it where one block holds the sequence.
//
// attention.convention: lra_code computes what the official LRA code computes instead (strided
// blocks, a second softmax over sums of consecutive keys added to the first, no sort: its
// einsum sums the permutation away); docs/attention.md says where the two differ. The noise is
// draw number `last optimizer step` of the layer seed (buffers draw_index and draw_seed, saved
// with checkpoints); evaluation sorts without noise.
#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "attention/exact_softmax.h"
#include "attention/nystrom.h"
#include "attention/registry.h"
#include "attention/sinkhorn_attention.h"
#include "attention/step_draw.h"

namespace lra::backends::sinkhorn {
namespace {

using namespace lra::sinkhorn;

int64_t blocks_of(int64_t length, int64_t block) {
  return (length + block - 1) / block;
}

// t (B, H, L, d) or (B, L) with `extra` zero positions appended along the length.
torch::Tensor pad_length(const torch::Tensor& t, int64_t extra) {
  if (extra == 0) return t;
  if (t.dim() == 4) return torch::constant_pad_nd(t, {0, 0, 0, extra}, 0.0);
  return torch::constant_pad_nd(t, {0, extra}, 0.0);
}

class SinkhornAttention : public AttentionBackend {
 public:
  SinkhornAttention(const AttentionConfig& config, const AttentionContext& context)
      : block_(config.block_size),
        iterations_(config.sinkhorn_iterations),
        temperature_(config.temperature),
        code_(config.convention == "lra_code"),
        dropout_(context.dropout),
        max_blocks_(blocks_of(context.max_length, config.block_size)),
        draw_(*this),
        draw_seed_(register_draw_seed(*this, context.seed)) {
    if (code_) return;  // the code's sort network gets no gradient: it has none
    if (context.max_length < 1)
      throw std::invalid_argument(
          "sinkhorn: its sort network scores up to max_length / block_size blocks "
          "(AttentionContext::max_length), which was not set");
    // As the LRA code's sort network: one dense layer from the head dimension to the block
    // count, shared by the heads, lecun-normal weights and zero bias.
    auto gen = landmark_generator(context.seed, 0);
    const int64_t d = context.head_dim;
    auto w = torch::randn({d, max_blocks_}, gen, torch::kFloat64) / std::sqrt(double(d));
    sort_weight_ = register_parameter("sort_weight", w.to(torch::kFloat32));    // (d, N_max)
    sort_bias_ = register_parameter("sort_bias", torch::zeros({max_blocks_}));  // (N_max)
  }

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask) override {
    const int64_t L = q.size(2), N = blocks_of(L, block_), extra = N * block_ - L;
    if (code_)
      return lra_code_sinkhorn_attention(pad_length(q, extra), pad_length(k, extra),
                                         pad_length(v, extra), pad_length(key_mask, extra), block_,
                                         dropout_, is_training())
          .narrow(2, 0, L);
    // exact_forms::sinkhorn_block_covers_length: one block, its keys listed twice.
    if (N == 1) return softmax_attention_fused(q, k, v, key_mask, dropout_, is_training());
    if (N > max_blocks_)
      throw std::invalid_argument("sinkhorn: sequence length " + std::to_string(L) + " has " +
                                  std::to_string(N) + " blocks, more than the " +
                                  std::to_string(max_blocks_) +
                                  " its sort network was built for (max_length)");
    auto qp = pad_length(q, extra), kp = pad_length(k, extra), vp = pad_length(v, extra);
    auto mask = pad_length(key_mask, extra);  // (B, N b)
    auto support = permutation_support(real_blocks(mask, block_));
    auto log_p = sinkhorn_log_permutation(sort_logits(kp, mask), support, iterations_,
                                          temperature_);  // (B, H, N, N)
    return sorted_block_attention(qp, kp, vp, mask, log_p.exp(), block_, dropout_, is_training())
        .narrow(2, 0, L);
  }

  void on_train_step(int64_t step) override { draw_.on_train_step(step); }

  // The sort logits R (+ this step's Gumbel noise while training) of the block-padded keys
  // (B, H, N b, d): relu(block sums of the real keys . W + bias), (B, H, N, N).
  torch::Tensor sort_logits(const torch::Tensor& k, const torch::Tensor& mask) const {
    const int64_t B = k.size(0), H = k.size(1), N = k.size(2) / block_, d = k.size(3);
    auto sums = k.masked_fill(padded_key_rows(mask), 0.0)
                    .reshape({B, H, N, block_, d})
                    .sum(3);  // (B, H, N, d)
    auto logits = torch::relu(torch::matmul(sums, sort_weight_.narrow(1, 0, N)) +
                              sort_bias_.narrow(0, 0, N));  // (B, H, N, N)
    if (!is_training()) return logits;
    auto noise = gumbel_noise(draw_seed(draw_seed_), draw_.current(true), B, H, max_blocks_);
    return logits + noise.narrow(2, 0, N).narrow(3, 0, N).to(logits.scalar_type());
  }

  int64_t block() const { return block_; }
  bool code() const { return code_; }

 private:
  int64_t block_, iterations_;
  double temperature_;
  bool code_;
  double dropout_;
  int64_t max_blocks_;
  StepDraw draw_;
  torch::Tensor draw_seed_;  // (1) int64: the layer seed's bits, restored from checkpoints
  torch::Tensor sort_weight_, sort_bias_;
};

}  // namespace

AttentionPtr make(const AttentionConfig& config, const AttentionContext& context) {
  return std::make_shared<SinkhornAttention>(config, context);
}

FlopCount flops(const AttentionShape& s, const AttentionBackend& instance) {
  const auto& self = dynamic_cast<const SinkhornAttention&>(instance);
  const int64_t b = self.block(), N = blocks_of(s.length, b);
  if (N == 1 && !self.code()) return quadratic_attention_flops(s);  // the exact branch
  const double bh = static_cast<double>(s.batch * s.heads), d = static_cast<double>(s.head_dim);
  const double n = static_cast<double>(N), bd = static_cast<double>(b) * d;
  // Each query meets 2b keys (its block's and its sorted block's, or the code's two attentions
  // of b): scores and weights times values, 2 FLOPs per multiply-add.
  const double attention = 2 * (2 * n * static_cast<double>(b) * 2 * bd);
  // The paper's sort: block sums times W (N x d x N), and P times the key and the value blocks
  // (N x N x b d each): N^2 b d = L^2 d / b, the quadratic term of a linear method.
  const double sort = self.code() ? 0.0 : 2 * (n * d * n + 2 * n * n * bd);
  const double forward = bh * (attention + sort);
  return {forward, 2 * forward};
}

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, const AttentionConfig&) {
  return softmax_attention_reference(q, k, v, key_mask, 0.0, false);
}

}  // namespace lra::backends::sinkhorn

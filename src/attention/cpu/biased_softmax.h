// Softmax attention with an additive, learned (L x L) score bias on the CPU, never forming the
// (L x L) weights: the blocked scheme of blocked_softmax.h (online softmax forward, recomputation
// from the log-sum-exp backward, dropout regenerated from a counter) with the bias block added
// to each score block, and its gradient (the score gradient, summed over the batch when the
// batch shares the bias) written block by block. What the synthesizer backend runs: its random
// and dense synthetic logits are such a bias, its mixture with dot-product attention the q.k term.
#pragma once
#include <torch/types.h>

namespace lra {

// Whether biased_softmax_attention takes these inputs: CPU, float32 or float64.
bool biased_softmax_supported(const torch::Tensor& q);

// softmax_j(dot ? scale q_i.k_j + c bias_ij : c bias_ij) over the real keys j, times v, with
// c = bias_scale (a scalar tensor; undefined = 1).
// q, k, v: (B, H, L, D); key_mask: (B, L), 1 = real key (padded keys get exactly zero weight);
// bias: (1, H, L, L) (shared by the batch) or (B, H, L, L). Dropout in [0, 1) as
// blocked_softmax_attention. Differentiable in q, k (when dot), v, bias and bias_scale. Returns
// (B, H, L, D); rows with no real key, and the rows after a sequence's last real key, are zero.
torch::Tensor biased_softmax_attention(const torch::Tensor& q, const torch::Tensor& k,
                                       const torch::Tensor& v, const torch::Tensor& key_mask,
                                       const torch::Tensor& bias, const torch::Tensor& bias_scale,
                                       double dropout, double scale, bool dot);

// The same from plain ops ((B, H, L, L) scores), on any device and dtype: what the synthesizer
// runs off the CPU, and the tests' check of the kernel. Rows of padded queries are computed
// (unspecified); dropout from torch::dropout while training.
torch::Tensor biased_softmax_attention_ops(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v, const torch::Tensor& key_mask,
                                           const torch::Tensor& bias,
                                           const torch::Tensor& bias_scale, double dropout,
                                           double scale, bool dot, bool training);

}  // namespace lra

// Exact softmax attention, two implementations of the same formula: the softmax backend runs
// the fused one; the plain one is its reference and that of every backend approximating softmax.
#pragma once
#include <optional>

#include <torch/types.h>

namespace lra {

// softmax(q k^T / sqrt(d)) v from plain ops: forms the (B, H, L, L) scores and weights.
// q, k, v: (B, H, L, d); key_mask: (B, L), padded keys at -inf (exactly zero weight).
torch::Tensor softmax_attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                          const torch::Tensor& v, const torch::Tensor& key_mask,
                                          double dropout, bool training);

// The same without the L x L matrix, with scores q.k * scale (default d^-1/2): on the CPU in
// float32 / float64 the blocked kernel (cpu/blocked_softmax.h: dropout and padding without
// leaving the blocked path; padded queries' rows zero), elsewhere LibTorch's
// scaled_dot_product_attention (flash / memory-efficient attention on CUDA) with the boolean mask
// applied as -inf. Padded keys get exactly zero weight either way.
torch::Tensor softmax_attention_fused(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& key_mask,
                                      double dropout, bool training,
                                      std::optional<double> scale = std::nullopt);

}  // namespace lra

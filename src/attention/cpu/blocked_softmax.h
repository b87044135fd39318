// Exact softmax attention on the CPU with key padding and attention-weight dropout, never forming
// the (L x L) weights: blocks of 64 query rows x 512 keys that stay in the L2 cache, an online
// softmax in the forward and recomputation from the saved log-sum-exp in the backward (the flash
// attention scheme). LibTorch's CPU flash kernel has no dropout, so with dropout
// scaled_dot_product_attention falls back to (L x L) tensors; this kernel keeps the blocked path
// and regenerates the dropout mask in the backward from a counter (counter_dropout.h).
// Trailing padding is skipped: keys after a sequence's last real token are never visited and the
// rows of those padded queries (unspecified by the attention contract) come out zero.
#pragma once
#include <torch/types.h>

namespace lra {

// Whether blocked_softmax_attention takes these inputs: CPU, float32 or float64.
bool blocked_softmax_supported(const torch::Tensor& q);

// q, k, v: (B, H, L, D); key_mask: (B, L), 1 = real key. Weights softmax(q.k * scale) over the
// real keys; dropout in [0, 1): each weight kept with probability 1 - dropout and scaled by
// 1 / (1 - dropout), the mask seeded by one draw from LibTorch's default CPU generator per call.
// Returns (B, H, L, D); rows with no real key are zero.
torch::Tensor blocked_softmax_attention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, const torch::Tensor& key_mask,
                                        double dropout, double scale);

}  // namespace lra

// SchoenbAt's scaling normalisations around its random Maclaurin attention: pre-SBN on the
// queries and keys, post-SBN on the output. Each has its plain tensor-op form (the reference and
// what other devices run) and, on the CPU, one fused row pass forward and one backward
// (custom autograd nodes): the tensor-op forms cost about as much as the attention between them,
// ~10 elementwise passes each way over (B, H, L, d). Tests compare the two in float64.
#pragma once

#include <torch/types.h>

namespace lra {

// SchoenbAt pre-SBN over the last axis: standardise (mean, biased std, eps 1e-12), then scale to
// unit L2 norm. The reference: the official module's steps as written.
torch::Tensor pre_sbn(const torch::Tensor& x);

// pre_sbn(x) * d^-1/4: the input every dot-product-kernel backend feeds to f, so |q.k| <= d^-1/2.
// x: (..., d). cpu_row_loops: the fused row pass on the CPU (float32/float64); false, or another
// device or dtype: a short tensor-op form (three elementwise passes over x instead of eight).
torch::Tensor schoenbat_normalize(const torch::Tensor& x, bool cpu_row_loops = true);

// The smallest |z| post-SBN raises to a power (its slope stays bounded near z = 0).
constexpr double kPostSbnFloor = 1e-4;

// post-SBN, extended oddly to every sign (schoenbat.cpp says why):
// gamma z max(|z|, kPostSbnFloor)^(beta - 1), exactly z while gamma = beta = 1.
// z: (..., D); gamma: (1); beta: (D); gradients reach all three. cpu_row_loops as above.
torch::Tensor post_sbn(const torch::Tensor& z, const torch::Tensor& gamma,
                       const torch::Tensor& beta, bool cpu_row_loops = true);

}  // namespace lra

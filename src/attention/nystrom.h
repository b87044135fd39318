// The pieces the Nyström-type backends share: nystromformer (softmax kernel, segment-mean
// landmarks) and skyformer (Gaussian kernel, sampled landmarks), plus the Gaussian kernel that
// skyformer approximates and gaussian_kernelized computes exactly.
#pragma once
#include <cstdint>

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace lra {

// Moore-Penrose pseudo-inverse of every (.., m, m) matrix of `a` by the iteration Nyströmformer
// uses (Razavi et al. 2014): Z <- Z (13 I - A Z (15 I - A Z (7 I - A Z))) / 4, started from
// Z0 = A^T / (|A|_1 |A|_inf) of each matrix, which keeps the spectrum of A Z0 in (0, 1] and so
// converges to pinv(A) for every matrix. Differentiable (the iterations are matmuls).
// batch_wide_start: Z0 = A^T / (the largest column sum over the whole batch), as the Skyformer
// repository's code (attention.convention: skyformer_code); it couples the batch elements.
torch::Tensor iterative_pinv(const torch::Tensor& a, int64_t iterations,
                             bool batch_wide_start = false);

// (B, segments, L) matrix whose row j averages segment j of each sequence's real tokens: with n
// real tokens, those of rank [floor(j n / segments), floor((j + 1) n / segments)) (at least one
// token, so segments > n repeats tokens). Padded positions get weight 0, so the averages are the
// same whatever the padding. key_mask: (B, L), 1 = real token; result in key_mask's dtype.
torch::Tensor segment_means_matrix(const torch::Tensor& key_mask, int64_t segments);

// exp(x.y - |x|^2 / 2 - |y|^2 / 2) = exp(-|x - y|^2 / 2): (.., n, d), (.., p, d) -> (.., n, p).
torch::Tensor gaussian_kernel(const torch::Tensor& x, const torch::Tensor& y);

// gaussian_kernelized's attention from plain float64 ops, the squared distances formed directly
// ((B, H, L, L, d) differences): sum_j exp(-|x_i - y_j|^2 / 2) v_j over real keys, x = q d^-1/4,
// y = k d^-1/4, no normalisation, no dropout. Returns v's dtype.
torch::Tensor gaussian_attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v, const torch::Tensor& key_mask);

// A CPU generator for draw `index` of a layer's `seed`: distinct, reproducible streams per pair.
at::Generator landmark_generator(uint64_t seed, int64_t index);

}  // namespace lra
